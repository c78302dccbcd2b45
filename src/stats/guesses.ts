import type { Queryable } from '../db/sql.ts';
import type { Logger } from '../shared/logger.ts';
import { tickBatcher } from '../shared/tick-batch.ts';
import { dailySums } from './daily-series.ts';

interface Guess {
  campaignId: string | null;
  at: Date;
}

/**
 * Counts failed lookups (guesses) per campaign and hour in `campaign_guesses_hourly`; a guess of a code that does
 * not exist has no campaign. A validation writes nothing, so there is no transaction to count in: guesses that
 * arrive during one turn of the event loop (or while the previous write is out) are summed and written with one
 * upsert, never awaited by the request. Under an attack that is one statement per turn, not one per guess; what a
 * process holds when it dies (one batch) is lost, which a chart of guesses per day can afford.
 */
export class GuessTally {
  readonly #write: (guess: Guess) => Promise<void>;
  readonly #logger: Logger;

  constructor(db: Queryable, logger: Logger) {
    this.#logger = logger;
    this.#write = tickBatcher<Guess, undefined>(
      async (guesses) => {
        const sums = new Map<string, { campaignId: string | null; hour: Date; n: number }>();
        for (const g of guesses) {
          const hour = new Date(Math.floor(g.at.getTime() / 3_600_000) * 3_600_000);
          const key = `${g.campaignId ?? ''}|${hour.getTime()}`;
          const sum = sums.get(key);
          if (sum) sum.n += 1;
          else sums.set(key, { campaignId: g.campaignId, hour, n: 1 });
        }
        const rows = [...sums.values()];
        await db.query(
          `insert into campaign_guesses_hourly as g (campaign_id, hour, guesses)
           select * from unnest($1::uuid[], $2::timestamptz[], $3::bigint[])
           on conflict on constraint campaign_guesses_hourly_key do update set guesses = g.guesses + excluded.guesses`,
          [rows.map((r) => r.campaignId), rows.map((r) => r.hour), rows.map((r) => r.n)],
        );
        return guesses.map(() => undefined);
      },
      { maxBatch: 10_000, maxInFlight: 1 },
    );
  }

  /** Counts one guess (returns at once; a failed write is logged, not thrown). */
  count(campaignId: string | null | undefined, at: Date): void {
    this.#write({ campaignId: campaignId ?? null, at }).catch((error: Error) =>
      this.#logger.warn({ err: error.message }, 'guess count not recorded'),
    );
  }
}

const tallies = new WeakMap<object, GuessTally>();

/** One tally per platform. */
export function guessTallyFor(platform: { db: Queryable; logger: Logger }): GuessTally {
  let tally = tallies.get(platform);
  if (!tally) {
    tally = new GuessTally(platform.db, platform.logger);
    tallies.set(platform, tally);
  }
  return tally;
}

/**
 * Guesses per day: of one campaign's codes (a code held by someone else), of codes that do not exist
 * (`campaignId` null), or of all (`campaignId` undefined), as two series (unknown codes, known codes).
 */
export async function guessesPerDay(
  db: Queryable,
  campaignId: string | null | undefined,
  range: { from: string; to: string; timezone: string },
) {
  if (campaignId === undefined) {
    return dailySums(
      db,
      {
        relation: 'campaign_guesses_hourly',
        value: 'guesses',
        by: "case when campaign_id is null then 'unknown' else 'known' end",
        where: 'true',
        params: [],
      },
      range,
    );
  }
  return dailySums(
    db,
    campaignId === null
      ? { relation: 'campaign_guesses_hourly', value: 'guesses', where: 'campaign_id is null', params: [] }
      : { relation: 'campaign_guesses_hourly', value: 'guesses', where: 'campaign_id = $4', params: [campaignId] },
    range,
  );
}
