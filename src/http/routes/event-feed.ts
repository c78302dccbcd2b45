import { listEvents } from '../../outbox/feed.ts';
import { eventPageQuerySchema, eventPageSchema } from '../../webhooks/schemas.ts';
import { routeModule } from '../context.ts';

/** GET /v1/events: the outbox as a feed, for systems catching up on webhooks they missed. */
export const eventFeedRoutes = routeModule({ tag: 'webhooks' }, (api, { platform }) => {
  api.get(
    '/events',
    {
      summary: 'The event feed (what webhooks deliver), in commit order',
      description:
        'Pass the `next_cursor` of a page as `after` to continue; poll with it to follow new events. `type` takes a comma-separated list.',
      query: eventPageQuerySchema,
      errors: { 400: ['invalid_cursor'] },
      ok: ['Events', eventPageSchema],
    },
    async ({ query }) => ({ status: 200, body: await listEvents(platform, query) }),
  );
});
