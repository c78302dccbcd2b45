import type { Queryable } from '../db/sql.ts';

/** What an erased customer's business events keep as `customer` (the column is required; callers cannot send `erased`). */
const ERASED_CUSTOMER = { id: 'erased', erased: true } as const;

/** Whether a business event's customer was erased (its processing then publishes nothing and stores no customer). */
export function isErasedCustomer(customer: object): boolean {
  return (customer as { erased?: unknown }).erased === true;
}

/**
 * Erasure of a customer: the business events recorded for it keep their type, data and outcome, but their
 * `customer` becomes the erased marker; one not processed yet still applies its order change, and nothing else.
 */
export async function eraseBusinessEventCustomer(tx: Queryable, customerId: string): Promise<number> {
  const { rowCount } = await tx.query(`update business_events set customer = $2 where customer ->> 'id' = $1`, [
    customerId,
    ERASED_CUSTOMER,
  ]);
  return rowCount ?? 0;
}
