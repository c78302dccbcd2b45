import { findGeneration, generationView } from '../../generations/generations.ts';
import type { RouteModule } from '../context.ts';

export const generationRoutes: RouteModule = (router, { platform }) => {
  router.get('/generations/:id', async (req, res) => {
    res.json(generationView(await findGeneration(platform.db, req.params.id)));
  });
};
