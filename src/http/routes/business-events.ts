import { businessEventSchema, createTriggerSchema } from '../../triggers/schemas.ts';
import {
  businessEventView,
  createTrigger,
  deleteTrigger,
  listTriggers,
  recordBusinessEvent,
  triggerView,
} from '../../triggers/triggers.ts';
import type { RouteModule } from '../context.ts';
import { parse } from '../validate.ts';

/** Business event intake (POST only; GET /v1/events lists outbox events and lives elsewhere) and campaign triggers. */
export const businessEventIntakeRoutes: RouteModule = (router, { platform }) => {
  router.post('/events', async (req, res) => {
    const { event, created } = await recordBusinessEvent(platform, parse(businessEventSchema, req.body));
    res
      .status(created ? 202 : 200)
      .set('Idempotent-Replayed', String(!created))
      .json(businessEventView(event));
  });

  router.post('/campaigns/:id/triggers', async (req, res) => {
    const t = await createTrigger(platform.db, req.params.id, parse(createTriggerSchema, req.body));
    res.status(201).json(triggerView(t));
  });

  router.get('/campaigns/:id/triggers', async (req, res) => {
    res.json({ data: (await listTriggers(platform.db, req.params.id)).map(triggerView) });
  });

  router.delete('/campaigns/:id/triggers/:triggerId', async (req, res) => {
    await deleteTrigger(platform.db, req.params.id, req.params.triggerId);
    res.status(204).end();
  });
};
