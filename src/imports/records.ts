import type { z } from 'zod';
import { type CodeShape, isWellFormedCode, normalizeCode, shapeMismatch } from '../codes/index.ts';
import type { CustomerInput } from '../delivery/schemas.ts';
import { ValidationError } from '../shared/errors.ts';
import { findUnstorable } from '../shared/storable.ts';
import { type CsvRecord, csvText } from './csv.ts';
import { type ImportRecord, importRecordSchema, MAX_QUANTITY } from './schemas.ts';

/** Why a row was not imported: the `reason` column of the error report (stable, documented in docs/imports.md). */
export const REJECTION_REASONS = [
  'row_invalid',
  'field_unknown',
  'code_missing',
  'code_invalid',
  'code_shape_mismatch',
  'code_duplicated',
  'code_exists',
  'active_invalid',
  'quantity_invalid',
  'redeemed_quantity_invalid',
  'redeemed_quantity_above_quantity',
  'date_invalid',
  'date_range_invalid',
  'metadata_invalid',
  'holder_invalid',
  'not_processed',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Where a row sits in the upload: its position among the data rows (1 = the first), and its CSV line. */
export interface RowPosition {
  row: number;
  line: number | null;
}

/** A row accepted at upload, normalized: what a chunk writes into `vouchers`. */
export interface AcceptedRow extends RowPosition {
  code: string;
  active: boolean;
  /** undefined: the campaign's per-code limit; null: unlimited. */
  quantity: number | null | undefined;
  redeemed: number;
  startDate: string | null;
  expirationDate: string | null;
  metadata: Record<string, unknown> | null;
  holder: CustomerInput | null;
}

export interface RejectedRow extends RowPosition {
  /** The normalized code when the row had one (masked before it is stored). */
  code: string | null;
  reason: RejectionReason;
  message: string;
}

export function isRejected(row: AcceptedRow | RejectedRow): row is RejectedRow {
  return 'reason' in row;
}

function reject(at: RowPosition, code: string | null, reason: RejectionReason, message: string): RejectedRow {
  return { ...at, code, reason, message };
}

const FIELD_REASONS: Record<string, RejectionReason> = {
  code: 'code_invalid',
  active: 'active_invalid',
  start_date: 'date_invalid',
  expiration_date: 'date_invalid',
  metadata: 'metadata_invalid',
  holder: 'holder_invalid',
};

/** The first problem zod found, as a reason and a message naming the field. */
function schemaProblem(issue: z.core.$ZodIssue): { reason: RejectionReason; message: string } {
  const path = issue.path.map(String);
  const field = path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (field ? `${field}.${k}` : k));
    return { reason: 'field_unknown', message: `Unknown field(s): ${keys.join(', ')}.` };
  }
  if (path.length === 0) return { reason: 'row_invalid', message: 'The row is not an object.' };
  const [top, inner] = path;
  const reason =
    top === 'redemption'
      ? inner === 'redeemed_quantity'
        ? 'redeemed_quantity_invalid'
        : 'quantity_invalid'
      : (FIELD_REASONS[top as string] ?? 'row_invalid');
  const expected: Partial<Record<RejectionReason, string>> = {
    quantity_invalid: `an integer from 1 to ${MAX_QUANTITY}, or null for unlimited`,
    redeemed_quantity_invalid: `an integer from 0 to ${MAX_QUANTITY}`,
    date_invalid: 'an ISO 8601 date-time with a time zone, such as 2026-06-30T23:59:59Z',
    metadata_invalid: 'a JSON object',
    holder_invalid: 'a customer id (1 to 200 characters) or a customer object {id, email?, phone?, name?, metadata?}',
    active_invalid: 'true or false',
  };
  return { reason, message: `${field}: ${expected[reason] ?? issue.message}.` };
}

/**
 * Checks one JSON element against the import format and, unless `shape` is null (`code_shape=any`), the campaign's
 * code shape. Pure: what needs the database (codes that exist, duplicates across chunks) is decided when the chunk
 * is written.
 */
export function checkRecord(raw: unknown, at: RowPosition, shape: CodeShape | null): AcceptedRow | RejectedRow {
  const parsed = importRecordSchema.safeParse(raw);
  if (parsed.success) return acceptRecord(parsed.data, at, shape);
  const rawCode = raw && typeof raw === 'object' ? (raw as { code?: unknown }).code : undefined;
  const { reason, message } = schemaProblem(parsed.error.issues[0] as z.core.$ZodIssue);
  if (rawCode === undefined && reason === 'code_invalid') return reject(at, null, 'code_missing', 'The row has no code.');
  return reject(at, typeof rawCode === 'string' ? normalizeCode(rawCode) || null : null, reason, message);
}

/** The checks past the format, shared by both forms: the code itself, its shape, and fields that must agree. */
function acceptRecord(r: ImportRecord, at: RowPosition, shape: CodeShape | null): AcceptedRow | RejectedRow {
  const code = normalizeCode(r.code);
  if (code === '') return reject(at, null, 'code_missing', 'The row has no code.');
  if (!isWellFormedCode(code)) return reject(at, code, 'code_invalid', 'A code is 1 to 96 printable ASCII characters without spaces.');
  if (shape) {
    const mismatch = shapeMismatch(code, shape);
    if (mismatch) {
      return reject(at, code, 'code_shape_mismatch', `The code ${mismatch}; import with code_shape=any to take codes of any shape.`);
    }
  }
  const quantity = r.redemption?.quantity;
  const redeemed = r.redemption?.redeemed_quantity ?? 0;
  if (typeof quantity === 'number' && redeemed > quantity) {
    return reject(
      at,
      code,
      'redeemed_quantity_above_quantity',
      `redemption.redeemed_quantity (${redeemed}) is above redemption.quantity (${quantity}).`,
    );
  }
  const startDate = r.start_date ?? null;
  const expirationDate = r.expiration_date ?? null;
  if (startDate && expirationDate && Date.parse(expirationDate) <= Date.parse(startDate)) {
    return reject(at, code, 'date_range_invalid', 'expiration_date is not after start_date.');
  }
  // Text PostgreSQL cannot store (U+0000, lone surrogates) refuses the row, not the chunk around it.
  const unstorable = (r.metadata && findUnstorable(r.metadata, ['metadata'])) || (r.holder && findUnstorable(r.holder, ['holder']));
  if (unstorable) {
    const reason = unstorable.field.startsWith('metadata') ? 'metadata_invalid' : 'holder_invalid';
    return reject(at, code, reason, `${unstorable.field}: ${unstorable.message}.`);
  }
  return {
    row: at.row,
    line: at.line,
    code,
    active: r.active ?? true,
    quantity,
    redeemed,
    startDate,
    expirationDate,
    metadata: r.metadata && Object.keys(r.metadata).length > 0 ? r.metadata : null,
    holder: r.holder ? (typeof r.holder === 'string' ? { id: r.holder } : r.holder) : null,
  };
}

/** How a CSV column fills a record, or why its value cannot (the row is rejected with that reason). */
type ColumnReader = (record: Record<string, unknown>, value: string) => { reason: RejectionReason; message: string } | undefined;

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no']);
const UNLIMITED = new Set(['unlimited', 'null']);

const REDEMPTION = importRecordSchema.shape.redemption.unwrap().shape;

/** A decimal integer cell, if it is one and its field's schema takes it. */
function integer(value: string, schema: z.ZodType): number | undefined {
  return /^\d{1,10}$/.test(value) && schema.safeParse(Number(value)).success ? Number(value) : undefined;
}

function redemptionOf(record: Record<string, unknown>): Record<string, unknown> {
  record.redemption ??= {};
  return record.redemption as Record<string, unknown>;
}

const readQuantity: ColumnReader = (record, value) => {
  const n = UNLIMITED.has(value.toLowerCase()) ? null : integer(value, REDEMPTION.quantity);
  if (n === undefined)
    return { reason: 'quantity_invalid', message: `redemption_quantity: an integer from 1 to ${MAX_QUANTITY}, or "unlimited".` };
  redemptionOf(record).quantity = n;
  return undefined;
};

const readRedeemed: ColumnReader = (record, value) => {
  const n = integer(value, REDEMPTION.redeemed_quantity);
  if (n === undefined) return { reason: 'redeemed_quantity_invalid', message: `redeemed_quantity: an integer from 0 to ${MAX_QUANTITY}.` };
  redemptionOf(record).redeemed_quantity = n;
  return undefined;
};

/** A cell checked with its field's own schema (the same as a JSON element's), reported with that field's reason. */
const checked =
  (field: 'start_date' | 'expiration_date' | 'holder'): ColumnReader =>
  (record, value) => {
    const result = importRecordSchema.shape[field].safeParse(value);
    if (!result.success) return schemaProblem({ ...(result.error.issues[0] as z.core.$ZodIssue), path: [field] });
    record[field] = result.data;
    return undefined;
  };

/** The CSV columns an import reads (header names are matched ignoring case, spaces and dashes becoming `_`). */
const CSV_COLUMNS: Record<string, ColumnReader> = {
  code: (record, value) => {
    record.code = value;
    return undefined;
  },
  active: (record, value) => {
    const v = value.toLowerCase();
    if (!TRUE.has(v) && !FALSE.has(v)) return { reason: 'active_invalid', message: 'active: true or false (also 1/0, yes/no).' };
    record.active = TRUE.has(v);
    return undefined;
  },
  redemption_quantity: readQuantity,
  'redemption.quantity': readQuantity,
  redeemed_quantity: readRedeemed,
  'redemption.redeemed_quantity': readRedeemed,
  start_date: checked('start_date'),
  expiration_date: checked('expiration_date'),
  metadata: (record, value) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return { reason: 'metadata_invalid', message: 'metadata: a JSON object (the text is not JSON).' };
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { reason: 'metadata_invalid', message: 'metadata: a JSON object.' };
    }
    // Keys from metadata.<key> columns win over the same keys in the JSON column.
    record.metadata = { ...(parsed as Record<string, unknown>), ...(record.metadata as Record<string, unknown> | undefined) };
    return undefined;
  },
  holder: checked('holder'),
};

const METADATA_PREFIX = /^metadata\./i;

/** The columns of an import CSV, in order: a reader per column. */
export interface CsvHeader {
  readers: ColumnReader[];
  codeIndex: number;
}

function normalizeColumn(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

/**
 * Reads the header row: every column must be known (an unknown one is refused rather than ignored, so a typo never
 * drops data silently), none may repeat, and `code` must be there. Refused as 400 `csv_header_invalid`.
 */
export function csvHeader(fields: string[]): CsvHeader {
  const errors: { field: string; message: string }[] = [];
  const seen = new Set<string>();
  const readers: ColumnReader[] = [];
  const names: string[] = [];
  for (const raw of fields) {
    const trimmed = raw.trim();
    const key = METADATA_PREFIX.test(trimmed) ? trimmed.slice('metadata.'.length) : null;
    const name = key === null ? normalizeColumn(trimmed) : `metadata.${key}`;
    names.push(name);
    if (seen.has(name)) errors.push({ field: name, message: 'the column appears twice' });
    seen.add(name);
    if (key !== null) {
      if (key === '') errors.push({ field: trimmed, message: 'metadata. needs a key after the dot' });
      readers.push((record, value) => {
        record.metadata = { ...(record.metadata as Record<string, unknown> | undefined), [key]: value };
        return undefined;
      });
      continue;
    }
    const reader = CSV_COLUMNS[name];
    if (!reader) {
      errors.push({
        field: trimmed === '' ? '(empty column name)' : trimmed,
        message: `unknown column; known: ${Object.keys(CSV_COLUMNS).join(', ')}, metadata.<key>`,
      });
      readers.push(() => undefined);
    } else readers.push(reader);
  }
  if (!seen.has('code')) errors.push({ field: 'code', message: 'the header has no code column' });
  if (errors.length > 0) throw new ValidationError(errors, 'csv_header_invalid', 'The CSV header is not one an import can read.');
  return { readers, codeIndex: names.indexOf('code') };
}

/** A CSV row checked like a JSON element (empty cells are absent), after converting its cells to the JSON types. */
export function checkCsvRecord(header: CsvHeader, csv: CsvRecord, at: RowPosition, shape: CodeShape | null): AcceptedRow | RejectedRow {
  const codeOf = () => normalizeCode(csv.fields[header.codeIndex] ?? '') || null;
  if (csv.fields.length !== header.readers.length) {
    return reject(at, codeOf(), 'row_invalid', `The row has ${csv.fields.length} fields; the header has ${header.readers.length}.`);
  }
  const record: Record<string, unknown> = {};
  for (let i = 0; i < csv.fields.length; i++) {
    const value = (csv.fields[i] as string).trim();
    if (value === '') continue;
    const problem = (header.readers[i] as ColumnReader)(record, value);
    if (problem) return reject(at, codeOf(), problem.reason, problem.message);
  }
  // Every cell is checked and typed by its reader: the record has the JSON element's shape without a second pass.
  if (record.code === undefined) return reject(at, null, 'code_missing', 'The row has no code.');
  return acceptRecord(record as ImportRecord, at, shape);
}

/** A stored chunk of an upload: its rows in the upload's format, the first one's row number and CSV line. */
export interface StoredChunk {
  source: 'csv' | 'json';
  payload: string;
  firstRow: number;
  firstLine: number | null;
}

/**
 * Every row of a stored chunk, checked, in order, one at a time (so a consumer can stream them on as they come).
 * What needs the database (a code that exists, or comes again in this upload) is decided when the chunk is written.
 */
export function* checkedRows(chunk: StoredChunk, shape: CodeShape | null): Generator<AcceptedRow | RejectedRow> {
  if (chunk.source === 'json') {
    const records = JSON.parse(chunk.payload) as unknown[];
    for (let i = 0; i < records.length; i++) yield checkRecord(records[i], { row: chunk.firstRow + i, line: null }, shape);
    return;
  }
  let header: CsvHeader | undefined;
  let row = chunk.firstRow;
  let shift = 0;
  for (const records of csvText(chunk.payload)) {
    for (const record of records) {
      if (!header) {
        header = csvHeader(record.fields);
        continue;
      }
      // The stored text starts at its header line; the upload knew the first row's line in the whole file.
      if (row === chunk.firstRow) shift = (chunk.firstLine ?? record.line) - record.line;
      yield checkCsvRecord(header, record, { row, line: record.line + shift }, shape);
      row++;
    }
  }
}
