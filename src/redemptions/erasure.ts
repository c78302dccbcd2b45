import type { Queryable } from '../db/sql.ts';
import type { CustomerErasure } from '../vouchers/voucher-events.ts';

/**
 * Erasure of a customer: its redemptions, redemption groups and refused redemptions are kept (counts, stats and
 * reports still add up) but no longer name it: no customer id, no e-mail, no e-mail key.
 */
export async function eraseRedemptionCustomer(tx: Queryable, customerId: string): Promise<CustomerErasure> {
  const { rows } = await tx.query<{ rows: number; voucher_ids: string[] }>(
    `with redeemed as (
       update redemptions set customer_id = null, customer_email = null, customer_email_key = null
       where customer_id = $1 returning voucher_id
     ), grouped as (
       update redemption_groups set customer_id = null, customer_email = null where customer_id = $1 returning 1
     ), refused as (
       update failed_redemptions set customer_id = null where customer_id = $1 returning 1
     )
     select ((select count(*) from redeemed) + (select count(*) from grouped) + (select count(*) from refused))::int as rows,
            coalesce((select array_agg(distinct voucher_id::text) from redeemed), '{}') as voucher_ids`,
    [customerId],
  );
  return { rows: rows[0]?.rows ?? 0, voucherIds: rows[0]?.voucher_ids ?? [] };
}
