import type { Router } from 'express';
import { deleteCustomer, getCustomer, putCustomer } from '../../customers/customers.ts';
import type { CustomerDetailView, CustomerView } from '../../customers/schemas.ts';
import { NotFoundError } from '../../shared/errors.ts';
import type { CompatContext } from './context.ts';
import { invalidPayload, notFound } from './errors.ts';
import { customerId } from './ids.ts';
import { checkFields, fieldTable, isString, metadataOf, typed } from './request.ts';
import { compatRoute } from './routes.ts';

export interface CustomerInput {
  id: string;
  email?: string;
  name?: string;
  phone?: string;
  metadata?: Record<string, unknown>;
}

const CUSTOMER_FIELDS = fieldTable('id source_id email name metadata object phone', 'address birthdate birthday', {
  description: 'customer descriptions are not stored; use metadata',
});

/** Voucherify's customer object (`id` = `cust_…`, or `source_id`) as the platform's customer; the tracking id stands in. */
export function customerInput(value: unknown, trackingId?: string): CustomerInput | undefined {
  if (value === undefined || value === null) return trackingId ? { id: trackingId } : undefined;
  const c = checkFields(value, 'customer', CUSTOMER_FIELDS);
  const sourceId = typed(c.source_id, 'customer.source_id', isString, 'a string');
  const id = typed(c.id, 'customer.id', isString, 'a string');
  if (id && !sourceId && !customerId.decode(id)) throw notFound('customer', id);
  const platformId = sourceId ?? (id ? customerId.decode(id) : null) ?? trackingId;
  if (!platformId) return undefined;
  const email = typed(c.email, 'customer.email', isString, 'a string');
  const name = typed(c.name, 'customer.name', isString, 'a string');
  const phone = typed(c.phone, 'customer.phone', isString, 'a string');
  const metadata = metadataOf(c.metadata, 'customer.metadata');
  return {
    id: platformId,
    ...(email ? { email } : {}),
    ...(name ? { name } : {}),
    ...(phone ? { phone } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

/** A customer named in a query or path: `cust_…` or the source id. */
export function customerRefId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return customerId.decode(value) ?? value;
}

/** Voucherify's customer object over the platform's stored customer (its id is Voucherify's `source_id`). */
export function customerObject(c: CustomerView | CustomerDetailView) {
  const detail = 'redemptions' in c ? c : null;
  return {
    id: customerId.encode(c.id),
    source_id: c.id,
    name: c.name,
    email: c.email,
    phone: c.phone,
    metadata: c.metadata,
    address: null,
    birthdate: null,
    summary: detail
      ? {
          redemptions: {
            total_redeemed: detail.redemptions.succeeded + detail.redemptions.rolled_back,
            total_failed: 0,
            total_succeeded: detail.redemptions.succeeded,
            total_rolled_back: detail.redemptions.rolled_back,
            total_rollback_failed: 0,
            total_rollback_succeeded: detail.redemptions.rolled_back,
          },
          orders: null,
        }
      : null,
    loyalty: null,
    referrals: null,
    system_metadata: {},
    created_at: c.created_at,
    updated_at: c.updated_at,
    object: 'customer' as const,
  };
}

async function existing(ctx: CompatContext, id: string): Promise<CustomerDetailView | null> {
  return getCustomer(ctx.platform.db, id).catch((error) => {
    if (error instanceof NotFoundError) return null;
    throw error;
  });
}

/** Creates or updates a stored customer: fields given replace, fields left out keep (Voucherify's upsert by source_id). */
async function upsert(ctx: CompatContext, id: string, given: ReturnType<typeof customerInput>) {
  const before = await existing(ctx, id);
  const { customer, created } = await putCustomer(ctx.platform.db, id, {
    email: given?.email ?? before?.email ?? null,
    phone: given?.phone ?? before?.phone ?? null,
    name: given?.name ?? before?.name ?? null,
    metadata: given?.metadata ?? before?.metadata ?? {},
  });
  return { customer, created };
}

export function customerRoutes(router: Router, ctx: CompatContext): void {
  compatRoute(router, 'post', '/customers', async ({ body }) => {
    const given = customerInput(body);
    if (!given || typeof body.source_id !== 'string') {
      throw invalidPayload("source_id: give the customer's own id");
    }
    const { customer } = await upsert(ctx, given.id, given);
    return { status: 200, body: customerObject(customer) };
  });

  compatRoute(router, 'get', '/customers/:id', async ({ params }) => {
    const id = customerRefId(params.id) as string;
    const found = await existing(ctx, id);
    if (!found) throw notFound('customer', params.id as string);
    return { status: 200, body: customerObject(found) };
  });

  compatRoute(router, 'put', '/customers/:id', async ({ params, body }) => {
    const id = customerRefId(params.id) as string;
    if (!(await existing(ctx, id))) throw notFound('customer', params.id as string);
    const { source_id: _sourceId, ...fields } = body;
    const { customer } = await upsert(ctx, id, customerInput({ ...fields, source_id: id }));
    return { status: 200, body: customerObject(customer) };
  });

  compatRoute(router, 'delete', '/customers/:id', async ({ params }) => {
    await deleteCustomer(ctx.platform.db, customerRefId(params.id) as string).catch((error) => {
      if (error instanceof NotFoundError) throw notFound('customer', params.id as string);
      throw error;
    });
    return { status: 204 };
  });
}
