import type { Queryable } from '../db/sql.ts';

/**
 * The customer id a recipient row stands for, as `toItem` in distributions.ts derives it (its own id, else
 * `email:<lowercased e-mail>`, else `phone:<digits>`); indexed by Migration1100CustomerErasure with this expression.
 */
const RECIPIENT_CUSTOMER_ID = `coalesce(customer_id, 'email:' || lower(nullif(email, '')), 'phone:' || regexp_replace(nullif(phone, ''), '[^+\\d]', '', 'g'))`;

/**
 * Erasure of a customer: its rows in uploaded recipient lists lose every personal field. The row stays (chunk
 * boundaries are positions in the list); a chunk not yet processed counts it as invalid and sends nothing.
 */
export async function eraseDistributionRecipient(tx: Queryable, customerId: string): Promise<number> {
  const { rowCount } = await tx.query(
    `update distribution_recipients set customer_id = null, email = null, phone = null, name = null, metadata = '{}'
     where ${RECIPIENT_CUSTOMER_ID} = $1`,
    [customerId],
  );
  return rowCount ?? 0;
}
