import { listSchema } from '../../shared/paging.ts';
import { businessEventSchema, businessEventViewSchema, createTriggerSchema, triggerViewSchema } from '../../triggers/schemas.ts';
import {
  businessEventView,
  createTrigger,
  deleteTrigger,
  listTriggers,
  recordBusinessEvent,
  triggerView,
} from '../../triggers/triggers.ts';
import { routeModule } from '../context.ts';
import { idParam } from '../operation.ts';

/** Business event intake (POST only; GET /v1/events lists outbox events and lives elsewhere) and campaign triggers. */
export const businessEventIntakeRoutes = routeModule({ tag: 'triggers' }, (api, { platform }) => {
  api.post(
    '/events',
    {
      summary: 'Report a business event (passed on to webhooks; may publish codes via triggers)',
      body: businessEventSchema,
      bodyExample: {
        type: 'order.created',
        customer: { id: 'cust_42', email: 'ada@example.com' },
        data: { amount: 5000, currency: 'EUR' },
      },
      responses: {
        202: { description: 'Accepted', schema: businessEventViewSchema, headers: ['Idempotent-Replayed'] },
        200: { description: 'Already received (same source_id)', schema: businessEventViewSchema, headers: ['Idempotent-Replayed'] },
      },
    },
    async ({ body }) => {
      const { event, created } = await recordBusinessEvent(platform, body);
      return { status: created ? 202 : 200, headers: { 'Idempotent-Replayed': String(!created) }, body: businessEventView(event) };
    },
  );

  const aCampaign = api.resource('/campaigns/:id', 'campaign');
  aCampaign.post(
    '/triggers',
    {
      summary: 'Publish a code when a business event arrives',
      body: createTriggerSchema,
      bodyExample: { event: 'customer.created', channel: 'email', template_id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f' },
      errors: { 404: ['template_not_found'] },
      created: ['Created', triggerViewSchema],
    },
    async ({ params, body }) => ({ status: 201, body: triggerView(await createTrigger(platform.db, params.id, body)) }),
  );

  aCampaign.get(
    '/triggers',
    { summary: "A campaign's triggers", ok: ['Triggers, oldest first', listSchema(triggerViewSchema)] },
    async ({ params }) => ({ status: 200, body: { data: (await listTriggers(platform.db, params.id)).map(triggerView) } }),
  );

  aCampaign
    .resource('/triggers/:triggerId', { triggerId: idParam('trigger') })
    .remove({ summary: 'Remove a trigger', noContent: 'Removed' }, ({ id, triggerId }) => deleteTrigger(platform.db, id, triggerId));
});
