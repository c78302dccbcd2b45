import { listEvents } from '../../outbox/feed.ts';
import { eventPageQuerySchema } from '../../webhooks/schemas.ts';
import type { RouteModule } from '../context.ts';
import { parse } from '../validate.ts';

/** GET /v1/events: the outbox as a feed, for systems catching up on webhooks they missed. */
export const eventFeedRoutes: RouteModule = (router, { platform }) => {
  router.get('/events', async (req, res) => {
    const query = parse(eventPageQuerySchema, req.query);
    res.json(await listEvents(platform, query));
  });
};
