import { createSegmentSchema, putSegmentSchema, segmentViewSchema } from '../../segments/schemas.ts';
import { createSegment, deleteSegment, getSegment, putSegment } from '../../segments/segments.ts';
import type { RouteModule } from '../context.ts';
import { type PathParam, route } from '../operation.ts';

const segmentName: Record<'name', PathParam> = { name: { description: 'The segment name' } };

export const segmentRoutes: RouteModule = (routes, { platform }) => {
  route(
    routes,
    {
      method: 'post',
      path: '/segments',
      tag: 'customers',
      summary: 'Name a condition over the customer; rule conditions test it as customer.segment',
      body: createSegmentSchema,
      bodyExample: { name: 'members', when: { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] } },
      errors: { 409: ['segment_exists'] },
      responses: { 201: { description: 'Created', schema: segmentViewSchema } },
    },
    async ({ body }) => ({ status: 201, body: await createSegment(platform.db, body) }),
  );

  route(
    routes,
    {
      method: 'get',
      path: '/segments/:name',
      tag: 'customers',
      params: segmentName,
      summary: 'Get a segment',
      errors: { 404: ['segment_not_found'] },
      responses: { 200: { description: 'The segment', schema: segmentViewSchema } },
    },
    async ({ params }) => ({ status: 200, body: await getSegment(platform.db, params.name) }),
  );

  route(
    routes,
    {
      method: 'put',
      path: '/segments/:name',
      tag: 'customers',
      params: segmentName,
      summary: 'Create a segment or replace its condition (the next validation sees it)',
      body: putSegmentSchema,
      bodyExample: { when: { field: 'customer.metadata.tier', op: 'eq', value: 'gold' } },
      responses: {
        200: { description: 'Replaced', schema: segmentViewSchema },
        201: { description: 'Created', schema: segmentViewSchema },
      },
    },
    async ({ params, body }) => {
      const { segment, created } = await putSegment(platform.db, params.name, body.when);
      return created ? { status: 201, body: segment } : { status: 200, body: segment };
    },
  );

  route(
    routes,
    {
      method: 'delete',
      path: '/segments/:name',
      tag: 'customers',
      params: segmentName,
      summary: 'Delete a segment (conditions naming it then hold for nobody)',
      errors: { 404: ['segment_not_found'] },
      responses: { 204: { description: 'Deleted' } },
    },
    async ({ params }) => {
      await deleteSegment(platform.db, params.name);
      return { status: 204 };
    },
  );
};
