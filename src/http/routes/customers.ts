import { deleteCustomer, getCustomer, listCustomers, putCustomer } from '../../customers/customers.ts';
import { customerDetailViewSchema, customerViewSchema, listCustomersQuery, putCustomerSchema } from '../../customers/schemas.ts';
import { pageSchema } from '../../shared/paging.ts';
import type { RouteModule } from '../context.ts';
import { type PathParam, route } from '../operation.ts';

const customerId: Record<'id', PathParam> = { id: { description: "The customer's id (yours, up to 255 characters)" } };

export const customerRoutes: RouteModule = (routes, { platform }) => {
  route(
    routes,
    {
      method: 'put',
      path: '/customers/:id',
      tag: 'customers',
      params: customerId,
      errors: { 404: ['customer_not_found'] },
      summary: 'Create or replace a stored customer (conditions read its metadata)',
      body: putCustomerSchema,
      bodyExample: { email: 'ada@example.com', name: 'Ada', metadata: { tier: 'gold' } },
      responses: {
        200: { description: 'Replaced', schema: customerViewSchema },
        201: { description: 'Created', schema: customerViewSchema },
      },
    },
    async ({ params, body }) => {
      const { customer, created } = await putCustomer(platform.db, params.id, body);
      return created ? { status: 201, body: customer } : { status: 200, body: customer };
    },
  );

  route(
    routes,
    {
      method: 'get',
      path: '/customers/:id',
      tag: 'customers',
      params: customerId,
      errors: { 404: ['customer_not_found'] },
      summary: 'Get a customer with the codes published to it and its redemption counts',
      responses: { 200: { description: 'The customer', schema: customerDetailViewSchema } },
    },
    async ({ params }) => ({ status: 200, body: await getCustomer(platform.db, params.id) }),
  );

  route(
    routes,
    {
      method: 'get',
      path: '/customers',
      tag: 'customers',
      summary: 'List customers by id, optionally those with one email',
      query: listCustomersQuery,
      responses: { 200: { description: 'Customers', schema: pageSchema(customerViewSchema) } },
    },
    async ({ query }) => ({ status: 200, body: await listCustomers(platform.db, query) }),
  );

  route(
    routes,
    {
      method: 'delete',
      path: '/customers/:id',
      tag: 'customers',
      params: customerId,
      errors: { 404: ['customer_not_found'] },
      summary: "Erase a customer's personal data (its redemptions are kept, anonymized)",
      responses: { 204: { description: 'Erased' } },
    },
    async ({ params }) => {
      await deleteCustomer(platform.db, params.id);
      return { status: 204 };
    },
  );
};
