import { findGeneration, generationView } from '../../generations/generations.ts';
import { generationViewSchema } from '../../generations/schemas.ts';
import { routeModule } from '../context.ts';
import { idParams } from '../operation.ts';

export const generationRoutes = routeModule({ tag: 'generation' }, (api, { platform }) => {
  api.get(
    '/generations/:id',
    {
      params: idParams('generation'),
      summary: 'Generation status and progress',
      ok: ['queued | running | completed | failed | exhausted', generationViewSchema],
    },
    async ({ params }) => ({ status: 200, body: generationView(await findGeneration(platform.db, params.id)) }),
  );
});
