import type { Queryable } from '../db/sql.ts';

/**
 * Erasure of a customer: the business events recorded for it keep their type, data and outcome, but their
 * `customer` becomes `{"id": "erased"}` (the column is required).
 */
export async function eraseBusinessEventCustomer(tx: Queryable, customerId: string): Promise<number> {
  const { rowCount } = await tx.query(`update business_events set customer = '{"id": "erased"}' where customer ->> 'id' = $1`, [
    customerId,
  ]);
  return rowCount ?? 0;
}
