import type { Queryable } from '../db/sql.ts';
import { addDays } from './stats.ts';

/** Every calendar day from `from` to `to` (YYYY-MM-DD, inclusive). */
export function calendarDays(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return days;
}

export interface HourlySource {
  /** A relation with an `hour` column (a table, or a parenthesised union of a rollup and its pending deltas). */
  relation: string;
  /** The column summed. */
  value: string;
  /** A column to split the sums by (a reason); without it, one series. */
  by?: string;
  /** The rows to count, with $4, $5… for `params` ($1 and $2 are the range's bounds, $3 its time zone). */
  where: string;
  params: unknown[];
}

/**
 * Per-day sums of an hourly rollup in a time zone, one series per `by` value, zeros on days without rows. Reads
 * only the range's hours of the rows `where` selects: an index on (key, hour) makes it cost what the range holds.
 */
export async function dailySums(
  db: Queryable,
  source: HourlySource,
  range: { from: string; to: string; timezone: string },
): Promise<{ days: string[]; series: Map<string, number[]> }> {
  const days = calendarDays(range.from, range.to);
  const index = new Map(days.map((d, i) => [d, i]));
  const { rows } = await db.query<{ day: string; key: string | null; total: string }>(
    `select to_char((hour at time zone $3)::date, 'YYYY-MM-DD') as day, ${source.by ?? "''"} as key, sum(${source.value}) as total
       from ${source.relation} s
      where ${source.where} and hour >= ($1::date)::timestamp at time zone $3 and hour < ($2::date + 1)::timestamp at time zone $3
      group by 1, 2`,
    [range.from, range.to, range.timezone, ...source.params],
  );
  const series = new Map<string, number[]>();
  for (const row of rows) {
    const i = index.get(row.day);
    if (i === undefined) continue;
    const key = row.key ?? '';
    let values = series.get(key);
    if (!values) {
      values = days.map(() => 0);
      series.set(key, values);
    }
    values[i] = (values[i] ?? 0) + Number(row.total);
  }
  return { days, series };
}
