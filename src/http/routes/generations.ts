import { findGeneration, generationView } from '../../generations/generations.ts';
import { generationViewSchema } from '../../generations/schemas.ts';
import { routeModule } from '../context.ts';

export const generationRoutes = routeModule({ tag: 'generation' }, (api, { platform }) => {
  api
    .resource('/generations/:id', 'generation')
    .read(
      { summary: 'Generation status and progress', ok: ['queued | running | completed | failed | exhausted', generationViewSchema] },
      async ({ id }) => generationView(await findGeneration(platform.db, id)),
    );
});
