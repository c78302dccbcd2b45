import { findGeneration, generationView } from '../../generations/generations.ts';
import { generationViewSchema } from '../../generations/schemas.ts';
import type { RouteModule } from '../context.ts';
import { idParam, route } from '../operation.ts';

export const generationRoutes: RouteModule = (routes, { platform }) => {
  route(
    routes,
    {
      method: 'get',
      path: '/generations/:id',
      tag: 'generation',
      params: { id: idParam('generation') },
      summary: 'Generation status and progress',
      responses: { 200: { description: 'queued | running | completed | failed | exhausted', schema: generationViewSchema } },
    },
    async ({ params }) => ({ status: 200, body: generationView(await findGeneration(platform.db, params.id)) }),
  );
};
