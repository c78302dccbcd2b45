import { deleteCustomer, getCustomer, listCustomers, putCustomer } from '../../customers/customers.ts';
import { customerDetailViewSchema, customerViewSchema, listCustomersQuery, putCustomerSchema } from '../../customers/schemas.ts';
import { pageSchema } from '../../shared/paging.ts';
import { routeModule } from '../context.ts';
import type { PathParam } from '../operation.ts';

const customerId: Record<'id', PathParam> = { id: { description: "The customer's id (yours, up to 255 characters)" } };
const notFound = { 404: ['customer_not_found'] };

export const customerRoutes = routeModule({ tag: 'customers' }, (api, { platform }) => {
  const aCustomer = api.resource('/customers/:id', customerId, { errors: notFound });
  aCustomer.put(
    {
      summary: 'Create or replace a stored customer (conditions read its metadata)',
      body: putCustomerSchema,
      bodyExample: { email: 'ada@example.com', name: 'Ada', metadata: { tier: 'gold' } },
      ok: ['Replaced', customerViewSchema],
      created: ['Created', customerViewSchema],
    },
    async ({ params, body }) => {
      const { customer, created } = await putCustomer(platform.db, params.id, body);
      return created ? { status: 201, body: customer } : { status: 200, body: customer };
    },
  );

  aCustomer.read(
    { summary: 'Get a customer with the codes published to it and its redemption counts', ok: ['The customer', customerDetailViewSchema] },
    ({ id }) => getCustomer(platform.db, id),
  );

  api.get(
    '/customers',
    {
      summary: 'List customers by id, optionally those with one email',
      query: listCustomersQuery,
      ok: ['Customers', pageSchema(customerViewSchema)],
    },
    async ({ query }) => ({ status: 200, body: await listCustomers(platform.db, query) }),
  );

  aCustomer.remove({ summary: "Erase a customer's personal data (its redemptions are kept, anonymized)", noContent: 'Erased' }, ({ id }) =>
    deleteCustomer(platform.db, id),
  );
});
