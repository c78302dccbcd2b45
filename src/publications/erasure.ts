import type { Queryable } from '../db/sql.ts';
import type { CustomerErasure } from '../vouchers/voucher-events.ts';

/**
 * Erasure of a customer: its publications are kept (a code was published, once, by this campaign) but no longer name
 * it. The column is required and unique per join-once campaign, so each row gets its own marker `erased:<publication id>`.
 */
export async function erasePublicationCustomer(tx: Queryable, customerId: string): Promise<CustomerErasure> {
  const { rows } = await tx.query<{ rows: number; voucher_ids: string[] }>(
    `with erased as (
       update publications set customer_id = 'erased:' || id::text where customer_id = $1 returning voucher_id
     )
     select count(*)::int as rows, coalesce(array_agg(distinct voucher_id::text), '{}') as voucher_ids from erased`,
    [customerId],
  );
  return { rows: rows[0]?.rows ?? 0, voucherIds: rows[0]?.voucher_ids ?? [] };
}
