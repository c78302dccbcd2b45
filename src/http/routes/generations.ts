import { findGeneration, generationView } from '../../generations/generations.ts';
import { generationViewSchema } from '../../generations/schemas.ts';
import type { RouteModule } from '../context.ts';
import { idParam, routesOf } from '../operation.ts';

export const generationRoutes: RouteModule = (routes, { platform }) => {
  const api = routesOf(routes, { tag: 'generation' });
  api.get(
    '/generations/:id',
    {
      params: { id: idParam('generation') },
      summary: 'Generation status and progress',
      ok: ['queued | running | completed | failed | exhausted', generationViewSchema],
    },
    async ({ params }) => ({ status: 200, body: generationView(await findGeneration(platform.db, params.id)) }),
  );
};
