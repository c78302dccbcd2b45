import { type AcceptedRow, isRejected, type RejectedRow } from './records.ts';

/** A chunk's accepted rows as a COPY text payload for its transaction-local staging table, loaded with one COPY. */
export const STAGING_TABLE = `create temp table import_staging (
  row_number integer not null,
  line integer,
  code text not null,
  active boolean not null,
  rules jsonb,
  start_date timestamptz,
  expiration_date timestamptz,
  metadata jsonb,
  holder jsonb,
  redeemed integer not null
) on commit drop`;

export const STAGING_COPY = 'copy import_staging from stdin';

const NULL = '\\N';
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const SPECIAL = /[\\\t\n\r]/;

function escaped(value: string): string {
  return SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c] as string) : value;
}

function json(value: unknown): string {
  return value === null || value === undefined ? NULL : escaped(JSON.stringify(value));
}

/** The rules a row's redemption quantity becomes: the code's own per-code limit, overriding the campaign's. */
function rulesOf(quantity: AcceptedRow['quantity']): string {
  return quantity === undefined ? NULL : `{"redemption":{"per_code_limit":${quantity === null ? 'null' : quantity}}}`;
}

/** One accepted row as a line of the COPY payload (dates are ISO 8601 already checked: nothing to escape). */
function payloadLine(r: AcceptedRow): string {
  return `${r.row}\t${r.line ?? NULL}\t${escaped(r.code)}\t${r.active ? 't' : 'f'}\t${rulesOf(r.quantity)}\t${r.startDate ?? NULL}\t${r.expirationDate ?? NULL}\t${json(r.metadata)}\t${json(r.holder)}\t${r.redeemed}\n`;
}

/**
 * Turns a chunk's checked rows into its staging COPY payload as they come, in pieces of 1,000 rows (so the check of
 * the next rows overlaps PostgreSQL reading the last ones), setting the rejected rows aside.
 */
export class StagingPayload {
  readonly rejected: RejectedRow[] = [];
  #rows = 0;

  /** Rows staged so far. */
  get rows(): number {
    return this.#rows;
  }

  *pieces(checked: Iterable<AcceptedRow | RejectedRow>): Generator<string> {
    let lines: string[] = [];
    for (const row of checked) {
      if (isRejected(row)) {
        this.rejected.push(row);
        continue;
      }
      lines.push(payloadLine(row));
      this.#rows++;
      if (lines.length === 1_000) {
        yield lines.join('');
        lines = [];
      }
    }
    if (lines.length > 0) yield lines.join('');
  }
}
