import { eraseBudgetCustomer } from '../campaigns/budgets.ts';
import type { Database, Queryable } from '../db/sql.ts';
import { eraseDeliveryRecipient } from '../delivery/deliveries.ts';
import type { CustomerInput } from '../delivery/schemas.ts';
import { eraseDistributionRecipient } from '../distributions/erasure.ts';
import { emitEvent } from '../events/outbox.ts';
import { erasePublicationCustomer } from '../publications/erasure.ts';
import { eraseRedemptionCustomer } from '../redemptions/erasure.ts';
import { eraseReservationCustomer } from '../reservations/erasure.ts';
import type { Metadata } from '../rules/order.ts';
import { NotFoundError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { pageOf } from '../shared/paging.ts';
import { eraseBusinessEventCustomer } from '../triggers/erasure.ts';
import { eraseVoucherEventCustomer } from '../vouchers/voucher-events.ts';
import { eraseVoucherHolder } from '../vouchers/vouchers.ts';
import type { CustomerDetailView, CustomerView, PutCustomerInput } from './schemas.ts';

/**
 * Stored customers: the one writer of the `customers` table. Conditions read a stored customer's metadata (with the
 * request's laid over it); publications refresh the customers they publish to; DELETE erases personal data.
 */

interface CustomerRow {
  id: string;
  email: string | null;
  phone: string | null;
  name: string | null;
  metadata: Metadata;
  created_at: Date;
  updated_at: Date;
}

const MAX_ID = 255;

function customerView(row: CustomerRow): CustomerView {
  return {
    id: row.id,
    email: row.email,
    phone: row.phone,
    name: row.name,
    metadata: row.metadata,
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
  };
}

function assertId(id: string): void {
  if (id.length === 0 || id.length > MAX_ID) throw new NotFoundError('customer', id);
}

/** A person's contact fields as the column arrays of an `unnest($::text[], $::text[], $::text[], $::jsonb[])`: email, phone, name, metadata. */
export function contactColumns(
  people: readonly Omit<CustomerInput, 'id'>[],
): [(string | null)[], (string | null)[], (string | null)[], string[]] {
  return [
    people.map((c) => c.email ?? null),
    people.map((c) => c.phone ?? null),
    people.map((c) => c.name ?? null),
    people.map((c) => JSON.stringify(c.metadata ?? {})),
  ];
}

/** Inserts or refreshes customers (one statement, ids deduplicated: the last occurrence wins); given fields win, metadata merges. */
export async function upsertCustomers(tx: Queryable, customers: CustomerInput[]): Promise<void> {
  const byId = new Map<string, CustomerInput>();
  for (const c of customers) byId.set(c.id, c);
  if (byId.size === 0) return;
  // Sorted, so concurrent batches lock customer rows in the same order and cannot deadlock each other.
  const list = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  await tx.query(
    `insert into customers (id, email, phone, name, metadata)
     select id, email, phone, name, coalesce(metadata, '{}'::jsonb)
     from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) as t(id, email, phone, name, metadata)
     on conflict (id) do update set
       email = coalesce(excluded.email, customers.email),
       phone = coalesce(excluded.phone, customers.phone),
       name = coalesce(excluded.name, customers.name),
       metadata = customers.metadata || excluded.metadata,
       updated_at = now()
     where (customers.email, customers.phone, customers.name, customers.metadata)
       is distinct from (coalesce(excluded.email, customers.email), coalesce(excluded.phone, customers.phone),
                         coalesce(excluded.name, customers.name), customers.metadata || excluded.metadata)`,
    [list.map((c) => c.id), ...contactColumns(list)],
  );
}

/**
 * PUT: creates the customer or replaces it as a whole (fields left out are cleared); `created` says which. A creation
 * emits `customers.created` in the same transaction.
 */
export async function putCustomer(
  db: Database,
  id: string,
  input: PutCustomerInput,
): Promise<{ customer: CustomerView; created: boolean }> {
  assertId(id);
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<CustomerRow & { created: boolean }>(
      `insert into customers (id, email, phone, name, metadata, created_at, updated_at)
     values ($1, $2, $3, $4, $5, date_trunc('milliseconds', now()), date_trunc('milliseconds', now()))
     on conflict (id) do update set email = excluded.email, phone = excluded.phone, name = excluded.name,
       metadata = excluded.metadata, updated_at = excluded.updated_at
     returning *, (xmax = 0) as created`,
      [id, input.email ?? null, input.phone ?? null, input.name ?? null, input.metadata],
    );
    const row = rows[0] as CustomerRow & { created: boolean };
    const customer = customerView(row);
    if (row.created) await emitEvent(tx, 'customers.created', customer);
    return { customer, created: row.created };
  });
}

/** The customer with the codes published to it (newest 100) and its redemption counts. */
export async function getCustomer(db: Database, id: string): Promise<CustomerDetailView> {
  assertId(id);
  const { rows } = await db.read<
    CustomerRow & { publications: CustomerDetailView['publications']; succeeded: number; rolled_back: number }
  >(
    `select c.*,
       coalesce((select json_agg(json_build_object('id', p.id, 'campaign_id', p.campaign_id, 'code', p.code, 'channel', p.channel,
                   'created_at', p.created_at) order by p.created_at desc, p.id)
                 from (select * from publications where customer_id = c.id order by created_at desc, id limit 100) p), '[]'::json) as publications,
       (select count(*)::int from redemptions r where r.customer_id = c.id and r.status = 'succeeded') as succeeded,
       (select count(*)::int from redemptions r where r.customer_id = c.id and r.status = 'rolled_back') as rolled_back
     from customers c where c.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError('customer', id);
  return {
    ...customerView(row),
    publications: row.publications.map((p) => ({ ...p, created_at: isoTime(p.created_at) })),
    redemptions: { succeeded: row.succeeded, rolled_back: row.rolled_back },
  };
}

/** By id, a page at a time; with `email`, only the customers with that email (case-insensitive). */
export async function listCustomers(
  db: Database,
  filter: { email?: string; limit: number; cursor?: readonly [string] },
): Promise<{ data: CustomerView[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.email) {
    params.push(filter.email.toLowerCase());
    where.push(`lower(email) = $${params.length}`);
  }
  if (filter.cursor) {
    params.push(filter.cursor[0]);
    where.push(`id > $${params.length}`);
  }
  params.push(filter.limit + 1);
  const { rows } = await db.read<CustomerRow>(
    `select * from customers ${where.length ? `where ${where.join(' and ')}` : ''} order by id limit $${params.length}`,
    params,
  );
  const page = pageOf(rows, filter.limit, (c) => [c.id]);
  return { data: page.data.map(customerView), next_cursor: page.next_cursor };
}

/**
 * Erases a customer: the stored row (email, phone, name, metadata) goes; every other table that names the customer
 * keeps its rows, anonymized by the table's owner: redemptions, redemption groups and refusals (no customer id, no
 * email; codes, amounts and dates stay, so counts and reports still add up), reservations, publications (customer id
 * replaced by a marker), the codes published to it (no holder), its message deliveries (no address; a queued one is
 * not sent), distribution recipient lists, business events, per-customer budget use, and the lifecycle entries of
 * the vouchers it touched (no customer id). One transaction. A customer known only from those tables (never stored)
 * is erased the same way; 404 when the id names nothing.
 */
export async function deleteCustomer(db: Database, id: string): Promise<void> {
  assertId(id);
  await db.transaction(async (tx) => {
    const stored = await tx.query('delete from customers where id = $1', [id]);
    // Each table's owner erases its own rows, in this transaction; the lifecycle log last, over the vouchers they name.
    const touched = [await eraseRedemptionCustomer(tx, id), await eraseReservationCustomer(tx, id), await erasePublicationCustomer(tx, id)];
    const counts = [
      await eraseVoucherHolder(tx, id),
      await eraseDeliveryRecipient(tx, id),
      await eraseDistributionRecipient(tx, id),
      await eraseBusinessEventCustomer(tx, id),
      await eraseBudgetCustomer(tx, id),
    ];
    await eraseVoucherEventCustomer(tx, id, [...new Set(touched.flatMap((t) => t.voucherIds))]);
    const known = [stored.rowCount ?? 0, ...touched.map((t) => t.rows), ...counts].some((n) => n > 0);
    if (!known) throw new NotFoundError('customer', id);
  });
}
