import type { Queryable } from '../db/sql.ts';

/**
 * Claims an Idempotency-Key for one redemption, in the redemption's transaction: true when this request owns it
 * now (a new key, or one older than the retention, which counts as new), false when a request with this key
 * committed within the retention (the caller then replays or refuses). A concurrent claim waits for the first.
 */
export async function claimIdempotencyKey(
  tx: Queryable,
  claim: { apiKeyId: string; key: string; requestHash: string; now: Date; ttlSeconds: number },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `insert into redemption_idempotency_keys (api_key_id, key, request_hash, created_at) values ($1, $2, $3, $4)
     on conflict (api_key_id, key) do update
       set request_hash = excluded.request_hash, response_status = null, response_body = null, created_at = excluded.created_at
       where redemption_idempotency_keys.created_at <= $4::timestamptz - make_interval(secs => $5)`,
    [claim.apiKeyId, claim.key, claim.requestHash, claim.now, claim.ttlSeconds],
  );
  return rowCount === 1;
}

/**
 * Deletes Idempotency-Keys older than the retention, `batchSize` rows per statement (each its own short
 * transaction, so checkout never waits behind a long delete). Safe to run twice or from several workers.
 */
export async function deleteExpiredIdempotencyKeys(
  db: Queryable,
  options: { now: Date; ttlSeconds: number; batchSize: number },
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `delete from redemption_idempotency_keys where ctid = any (array(
         select ctid from redemption_idempotency_keys
         where created_at <= $1::timestamptz - make_interval(secs => $2)
         limit $3 for update skip locked))`,
      [options.now, options.ttlSeconds, options.batchSize],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < options.batchSize) return deleted;
  }
}
