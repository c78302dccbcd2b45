import type { Queryable } from '../db/sql.ts';
import type { CustomerErasure } from '../vouchers/voucher-events.ts';

/**
 * Erasure of a customer: its reservations and their uses are kept (a held one still holds its codes until it is
 * confirmed, released or expires) but no longer name it.
 */
export async function eraseReservationCustomer(tx: Queryable, customerId: string): Promise<CustomerErasure> {
  const { rows } = await tx.query<{ rows: number; voucher_ids: string[] }>(
    `with held as (
       update reservations set customer_id = null, customer_email = null where customer_id = $1 returning 1
     ), uses as (
       update reservation_uses set customer_id = null, customer_email_key = null where customer_id = $1 returning voucher_id
     )
     select ((select count(*) from held) + (select count(*) from uses))::int as rows,
            coalesce((select array_agg(distinct voucher_id::text) from uses), '{}') as voucher_ids`,
    [customerId],
  );
  return { rows: rows[0]?.rows ?? 0, voucherIds: rows[0]?.voucher_ids ?? [] };
}
