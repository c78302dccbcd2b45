import type { Queryable } from '../db/sql.ts';

/**
 * Erasure of a customer: its publications are kept (a code was published, once, by this campaign) but no longer name
 * it. The column is required and unique per join-once campaign, so each row gets its own marker `erased:<publication id>`.
 */
export async function erasePublicationCustomer(tx: Queryable, customerId: string): Promise<number> {
  const { rowCount } = await tx.query(`update publications set customer_id = 'erased:' || id::text where customer_id = $1`, [customerId]);
  return rowCount ?? 0;
}
