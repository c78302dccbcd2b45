import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type pg from 'pg';
import { type Queryable, rowById } from '../db/sql.ts';
import type { Platform } from '../platform.ts';
import { importWork } from '../queues/catalog.ts';
import { enqueueFlow, type Progress } from '../queues/enqueue.ts';
import type { QueueSet } from '../queues/queues.ts';
import { DomainError, NotFoundError, ValidationError } from '../shared/errors.ts';
import type { Actor } from '../shared/events.ts';
import { isoTime } from '../shared/fields.ts';
import { maskCode } from '../shared/logger.ts';
import { jsonDepth, MAX_INPUT_DEPTH } from '../shared/storable.ts';
import { isUuid } from '../shared/uuid.ts';
import { CsvSyntaxError, csvPieces } from './csv.ts';
import { csvHeader, type RejectedRow } from './records.ts';
import type { ImportView } from './schemas.ts';

export interface ImportRow {
  id: string;
  campaign_id: string;
  status: ImportView['status'];
  source: ImportView['source'];
  code_shape: ImportView['code_shape'];
  received: number;
  imported: number;
  rejected: number;
  chunk_size: number;
  chunk_count: number;
  idempotency_key: string | null;
  actor: string | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export function importView(i: ImportRow): ImportView {
  const processed = i.imported + i.rejected;
  const finished = i.status === 'completed' || i.status === 'failed';
  return {
    id: i.id,
    campaign_id: i.campaign_id,
    status: i.status,
    source: i.source,
    code_shape: i.code_shape,
    progress: {
      received: i.received,
      imported: i.imported,
      rejected: i.rejected,
      percent: finished ? 100 : i.received === 0 ? 0 : Math.min(99, Math.floor((processed * 100) / i.received)),
    },
    chunk_size: i.chunk_size,
    chunk_count: i.chunk_count,
    errors_url: `/v1/imports/${i.id}/errors`,
    error: i.error,
    created_at: isoTime(i.created_at),
    started_at: isoTime(i.started_at),
    finished_at: isoTime(i.finished_at),
  };
}

export async function getImport(db: Queryable, id: string): Promise<ImportRow> {
  return rowById<ImportRow>(db, 'imports', 'import', id);
}

/** What to import into which campaign; the codes come separately (`ImportSource`). */
export interface ImportRequest {
  campaignId: string;
  /** `campaign`: codes must fit the campaign's code_config; `any`: codes of any shape (see docs/imports.md). */
  codeShape: ImportView['code_shape'];
  idempotencyKey?: string;
  /** Who imports (an API key id): the actor of the codes' `imported` lifecycle entries. */
  actor: Actor;
}

/**
 * The codes: a CSV byte stream (header row, see docs/imports.md), or records in the JSON element format
 * (`importRecordSchema`), checked one by one. Either is read once, as it arrives.
 */
export type ImportSource = { format: 'csv'; body: Readable } | { format: 'json'; records: Iterable<unknown> | AsyncIterable<unknown> };

export interface ImportLimits {
  /** Rows per chunk job (IMPORT_CHUNK_SIZE). */
  chunkSize: number;
  /** Most rows one import may have (IMPORT_MAX_ROWS). */
  maxRows: number;
}

/**
 * Receives an import: the upload is read as it arrives (a CSV's syntax and header checked, rows counted) and stored
 * a chunk at a time, each chunk's rows in the upload's own format, in one transaction, so the upload is durable (and
 * whole) before the caller hears 202; then the chunk jobs are enqueued, and they check and write the rows. A failed
 * upload (bad CSV, too many rows, a lost connection) leaves nothing. The same Idempotency-Key for the same campaign
 * returns the first import without reading the body.
 */
export async function createImport(
  platform: Pick<Platform, 'db' | 'queues' | 'logger'>,
  request: ImportRequest,
  source: ImportSource,
  limits: ImportLimits,
): Promise<{ import: ImportRow; created: boolean; enqueued: boolean }> {
  const { db } = platform;
  try {
    const campaignId = await importedCampaign(db, request.campaignId);
    if (request.idempotencyKey) {
      const existing = await byIdempotencyKey(db, campaignId, request.idempotencyKey);
      if (existing) {
        discard(source);
        return { import: existing, created: false, enqueued: true };
      }
    }
    const received = await db.transaction(async (tx) => {
      const { rows } = await tx.query<ImportRow>(
        `insert into imports (campaign_id, source, code_shape, chunk_size, idempotency_key, actor)
         values ($1, $2, $3, $4, $5, $6) on conflict (campaign_id, idempotency_key) do nothing returning *`,
        [campaignId, source.format, request.codeShape, limits.chunkSize, request.idempotencyKey ?? null, request.actor],
      );
      // A concurrent request with the same key committed first (the insert waited for it).
      if (!rows[0]) return { import: await byIdempotencyKey(tx, campaignId, request.idempotencyKey as string), created: false };
      const chunks = new ChunkStore(tx, rows[0].id, limits);
      if (source.format === 'csv') await storeCsv(source.body, chunks);
      else await storeJson(source.records, chunks);
      return { import: await chunks.finish(), created: true };
    });
    if (!received.import) throw new Error('import vanished after its idempotency key was found taken');
    if (!received.created) {
      discard(source);
      return { import: received.import, created: false, enqueued: true };
    }
    // The upload is committed: if Redis is unreachable now, the reconciler enqueues it later.
    const enqueued = await enqueueImport(platform.queues, received.import).then(
      () => true,
      (error: Error) => {
        platform.logger.warn({ importId: received.import?.id, err: error.message }, 'import stored but not enqueued; the reconciler will');
        return false;
      },
    );
    return { import: received.import, created: true, enqueued };
  } catch (error) {
    discard(source);
    if (error instanceof CsvSyntaxError) {
      throw new ValidationError([{ field: '(body)', message: error.message }], 'csv_invalid', 'The CSV upload could not be parsed.');
    }
    // The client went away mid-upload (the lost socket reaches here as a connection error): nothing was stored, and
    // it is the client's doing, not the database's.
    if (source.format === 'csv' && (source.body.errored || (error as { code?: string })?.code === 'ECONNRESET')) {
      throw new ValidationError(
        [{ field: '(body)', message: 'the upload ended before it was complete' }],
        'upload_incomplete',
        'The upload did not arrive whole; nothing was stored.',
      );
    }
    throw error;
  }
}

/** Lets the rest of an upload that will not be read flow past (a client would otherwise wait on a full socket). */
function discard(source: ImportSource): void {
  if (source.format === 'csv') source.body.resume();
}

async function importedCampaign(db: Queryable, id: string): Promise<string> {
  const { rows } = isUuid(id) ? await db.query<{ id: string }>('select id from campaigns where id = $1', [id]) : { rows: [] };
  if (!rows[0]) throw new NotFoundError('campaign', id);
  return rows[0].id;
}

async function byIdempotencyKey(db: Queryable, campaignId: string, key: string): Promise<ImportRow | undefined> {
  const { rows } = await db.query<ImportRow>('select * from imports where campaign_id = $1 and idempotency_key = $2', [campaignId, key]);
  return rows[0];
}

function emptyUpload(message: string): ValidationError {
  return new ValidationError([{ field: '(body)', message }], 'import_empty', 'The upload has no rows.');
}

/**
 * A CSV upload as chunks of IMPORT_CHUNK_SIZE rows, each stored as the header line and the chunk's rows exactly as
 * they came (cut between records), so the upload costs one tokenizing pass (rows checked for syntax and bounded, not
 * split into fields: the chunk jobs do that) and a copy of the text.
 */
export async function storeCsv(body: Readable, chunks: ChunkSink): Promise<void> {
  let header: string | undefined;
  let pending: string[] = [];
  let rows = 0;
  let firstLine = 0;
  // Not destroyed when reading stops early (a bad header, say): discard() drains it, so the answer reaches the client.
  for await (const piece of csvPieces(body.iterator({ destroyOnReturn: false }), 'header')) {
    let from = piece.start;
    for (const record of piece.records) {
      if (header !== undefined) {
        if (rows === 0) firstLine = record.line;
        if (++rows < chunks.size) continue;
      }
      // A cut: the text since the last one is the header, or a whole chunk of rows.
      const text = pending.join('') + piece.text.slice(from, record.end);
      if (header === undefined) {
        csvHeader(record.fields);
        header = text;
      } else {
        await chunks.store(rows, firstLine, header + text);
        rows = 0;
      }
      pending = [];
      from = record.end;
    }
    pending.push(piece.text.slice(from));
  }
  if (header === undefined) throw emptyUpload('the CSV is empty');
  if (rows > 0) await chunks.store(rows, firstLine, header + pending.join(''));
}

/** A JSON upload (the array's elements) as chunks of IMPORT_CHUNK_SIZE elements, each stored as a JSON array. */
async function storeJson(records: Iterable<unknown> | AsyncIterable<unknown>, chunks: ChunkSink): Promise<void> {
  let batch: unknown[] = [];
  let index = 0;
  for await (const record of records) {
    // Deeper than any element can be (checked without recursion): refused whole, before JSON.stringify recurses into it.
    if (jsonDepth(record) > MAX_INPUT_DEPTH) {
      throw new ValidationError([{ field: String(index), message: `is nested deeper than ${MAX_INPUT_DEPTH} levels` }]);
    }
    index++;
    batch.push(record);
    if (batch.length < chunks.size) continue;
    await chunks.store(batch.length, null, JSON.stringify(batch));
    batch = [];
  }
  if (batch.length > 0) await chunks.store(batch.length, null, JSON.stringify(batch));
}

/** Where an upload's chunks go, as they are cut: `size` rows each (the last one shorter). */
export interface ChunkSink {
  readonly size: number;
  store(rows: number, firstLine: number | null, payload: string): Promise<void>;
}

/**
 * Writes an upload's chunks (import_payloads) in the upload's transaction, numbering rows and chunks. A chunk is
 * written while the next one is being read; `store` waits only when one write is still running and another is due,
 * so memory stays at about two chunks.
 */
class ChunkStore implements ChunkSink {
  readonly #tx: pg.PoolClient;
  readonly #importId: string;
  readonly #limits: ImportLimits;
  #received = 0;
  #chunks = 0;
  #inflight: Promise<void> = Promise.resolve();

  constructor(tx: pg.PoolClient, importId: string, limits: ImportLimits) {
    this.#tx = tx;
    this.#importId = importId;
    this.#limits = limits;
  }

  get size(): number {
    return this.#limits.chunkSize;
  }

  async store(rows: number, firstLine: number | null, payload: string): Promise<void> {
    const firstRow = this.#received + 1;
    this.#received += rows;
    if (this.#received > this.#limits.maxRows) {
      throw new DomainError('invalid', 'import_too_large', `One import takes at most ${this.#limits.maxRows} rows; split the file.`, {
        max_rows: this.#limits.maxRows,
      });
    }
    const previous = this.#inflight;
    const write = previous.then(async () => {
      await this.#tx.query(
        `insert into import_payloads (import_id, chunk_index, first_row, first_line, row_count, payload) values ($1, $2, $3, $4, $5, $6)`,
        [this.#importId, this.#chunks++, firstRow, firstLine, rows, payload],
      );
    });
    // Awaited by the next store or by finish(); this only keeps a failure from being reported as unhandled meanwhile.
    write.catch(() => undefined);
    this.#inflight = write;
    await previous;
  }

  async finish(): Promise<ImportRow> {
    await this.#inflight;
    if (this.#received === 0) throw emptyUpload('no rows');
    const { rows } = await this.#tx.query<ImportRow>('update imports set received = $2, chunk_count = $3 where id = $1 returning *', [
      this.#importId,
      this.#received,
      this.#chunks,
    ]);
    return rows[0] as ImportRow;
  }
}

/** The one writer of import_errors: rejected rows, codes masked the way logs mask them. */
export async function recordRejections(q: Queryable, importId: string, rows: RejectedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `insert into import_errors (import_id, row_number, line, masked_code, reason, message)
     select $1, * from unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[])`,
    [
      importId,
      rows.map((r) => r.row),
      rows.map((r) => r.line),
      rows.map((r) => (r.code ? maskCode(r.code) : null)),
      rows.map((r) => r.reason),
      rows.map((r) => r.message),
    ],
  );
}

/** One parent (finalize) job whose children are the chunks; children may run on any worker, in parallel. */
export async function enqueueImport(queues: QueueSet, i: Pick<ImportRow, 'id' | 'chunk_count'>): Promise<void> {
  await enqueueFlow(queues, importWork(i));
}

/** How far an import is: rows imported or rejected of rows received (a flow's progress). */
export async function importProgress(db: Queryable, id: string): Promise<Progress | undefined> {
  return (await db.query<Progress>('select imported + rejected as done, received as total from imports where id = $1', [id])).rows[0];
}

export interface ImportErrorRow {
  row_number: number;
  line: number | null;
  masked_code: string | null;
  reason: string;
  message: string;
}

/** The error report's columns: the row (1 = first data row) and its CSV line are how an operator finds a row. */
export const ERROR_REPORT_COLUMNS = ['row', 'line', 'code', 'reason', 'message'];

/** The error report as CSV text in row order, read a page at a time (keyset on the row number). */
async function* errorReportCsv(db: Queryable, importId: string, pageSize: number): AsyncGenerator<string> {
  yield stringify([ERROR_REPORT_COLUMNS]);
  let after = 0;
  for (;;) {
    const { rows } = await db.query<ImportErrorRow>(
      `select row_number, line, masked_code, reason, message from import_errors
       where import_id = $1 and row_number > $2 order by row_number limit $3`,
      [importId, after, pageSize],
    );
    if (rows.length > 0) yield stringify(rows.map((r) => [r.row_number, r.line, r.masked_code, r.reason, r.message]));
    if (rows.length < pageSize) return;
    after = (rows.at(-1) as ImportErrorRow).row_number;
  }
}

/** The error report as a CSV stream (a header row, then one row per rejected row): any number of rows. */
export function errorReport(db: Queryable, importId: string, pageSize = 5_000): Readable {
  return Readable.from(errorReportCsv(db, importId, pageSize));
}
