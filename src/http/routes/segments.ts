import { createSegmentSchema, putSegmentSchema, segmentViewSchema } from '../../segments/schemas.ts';
import { createSegment, deleteSegment, getSegment, putSegment } from '../../segments/segments.ts';
import { routeModule } from '../context.ts';
import type { PathParam } from '../operation.ts';

const segmentName: Record<'name', PathParam> = { name: { description: 'The segment name' } };
const notFound = { 404: ['segment_not_found'] };

export const segmentRoutes = routeModule({ tag: 'customers' }, (api, { platform }) => {
  api.post(
    '/segments',
    {
      summary: 'Name a condition over the customer; rule conditions test it as customer.segment',
      body: createSegmentSchema,
      bodyExample: { name: 'members', when: { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] } },
      errors: { 409: ['segment_exists'] },
      created: ['Created', segmentViewSchema],
    },
    async ({ body }) => ({ status: 201, body: await createSegment(platform.db, body) }),
  );

  const aSegment = api.resource('/segments/:name', segmentName);
  aSegment.read({ errors: notFound, summary: 'Get a segment', ok: ['The segment', segmentViewSchema] }, ({ name }) =>
    getSegment(platform.db, name),
  );

  aSegment.put(
    {
      summary: 'Create a segment or replace its condition (the next validation sees it)',
      body: putSegmentSchema,
      bodyExample: { when: { field: 'customer.metadata.tier', op: 'eq', value: 'gold' } },
      ok: ['Replaced', segmentViewSchema],
      created: ['Created', segmentViewSchema],
    },
    async ({ params, body }) => {
      const { segment, created } = await putSegment(platform.db, params.name, body.when);
      return created ? { status: 201, body: segment } : { status: 200, body: segment };
    },
  );

  aSegment.remove(
    { errors: notFound, summary: 'Delete a segment (conditions naming it then hold for nobody)', noContent: 'Deleted' },
    ({ name }) => deleteSegment(platform.db, name),
  );
});
