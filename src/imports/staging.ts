import type { AcceptedRow } from './records.ts';

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

/** A chunk's staging payload, built as rows are accepted, in pieces of 1,000 rows (for COPY's stream). */
export class StagingPayload {
  readonly #pieces: string[] = [];
  #lines: string[] = [];
  #rows = 0;

  get rows(): number {
    return this.#rows;
  }

  add(row: AcceptedRow): void {
    this.#lines.push(payloadLine(row));
    if (++this.#rows % 1_000 === 0) this.#cut();
  }

  /** The whole payload, in pieces. */
  pieces(): string[] {
    this.#cut();
    return this.#pieces;
  }

  #cut(): void {
    if (this.#lines.length > 0) this.#pieces.push(this.#lines.join(''));
    this.#lines = [];
  }
}
