import type { Queryable } from '../db/sql.ts';

/** How far back the failure streak is counted: beyond this many deliveries it reads "1,000+". */
export const STREAK_WINDOW = 1000;

export interface EndpointHealth {
  lastSuccessAt: Date | null;
  /** Failed deliveries (dead-lettered, or pending after a failed attempt) since the newest success, newest first. */
  failureStreak: number;
  /** The streak reached STREAK_WINDOW without meeting a success. */
  streakAtLeast: boolean;
}

/**
 * An endpoint's health from two index reads: its last success (the partial index on delivered_at) and the
 * failures among its newest deliveries before the first success (at most STREAK_WINDOW rows of the endpoint's
 * (endpoint_id, created_at) index), so a failing endpoint with millions of deliveries costs the same.
 */
export async function endpointHealth(db: Queryable, endpointId: string): Promise<EndpointHealth> {
  const [success, streak] = await Promise.all([
    db.query<{ at: Date | null }>(
      'select max(delivered_at) as at from webhook_deliveries where endpoint_id = $1 and delivered_at is not null',
      [endpointId],
    ),
    db.query<{ streak: number; looked: number; succeeded: boolean }>(
      `with recent as (
         select status, total_attempts, row_number() over (order by created_at desc, id desc) as rn
           from (select status, total_attempts, created_at, id from webhook_deliveries
                  where endpoint_id = $1 order by created_at desc, id desc limit $2) d
       ), first_ok as (select min(rn) as rn from recent where status = 'succeeded')
       select count(*) filter (where (first_ok.rn is null or recent.rn < first_ok.rn)
                                 and (recent.status = 'failed' or (recent.status = 'pending' and recent.total_attempts > 0)))::int as streak,
              count(*)::int as looked, bool_or(first_ok.rn is not null) as succeeded
         from recent, first_ok`,
      [endpointId, STREAK_WINDOW],
    ),
  ]);
  const row = streak.rows[0] ?? { streak: 0, looked: 0, succeeded: false };
  return {
    lastSuccessAt: success.rows[0]?.at ?? null,
    failureStreak: row.streak,
    streakAtLeast: row.looked >= STREAK_WINDOW && !row.succeeded,
  };
}
