import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { z } from 'zod';
import { type Database, type Queryable, rowById } from '../db/sql.ts';
import { enqueue } from '../queues/enqueue.ts';
import type { QueueSet } from '../queues/queues.ts';
import { DomainError, NotFoundError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { isUuid } from '../shared/uuid.ts';
import type { CreateExportInput, exportViewSchema } from './schemas.ts';

export interface ExportRow {
  id: string;
  campaign_id: string;
  format: 'csv';
  filter: { status?: 'active' | 'expired'; metadata?: Record<string, unknown> };
  status: 'queued' | 'running' | 'completed' | 'failed' | 'expired';
  total_rows: string | null;
  exported_rows: string;
  file_path: string | null;
  file_size: string | null;
  error: string | null;
  requested_by: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  expires_at: Date | string | null;
}

export const EXPORT_COLUMNS = ['code', 'status', 'active', 'redemption_count', 'start_date', 'expiration_date', 'metadata', 'created_at'];

const ISO_SQL = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export function exportView(e: ExportRow): z.output<typeof exportViewSchema> {
  const total = e.total_rows === null ? null : Number(e.total_rows);
  const exported = Number(e.exported_rows);
  return {
    id: e.id,
    campaign_id: e.campaign_id,
    format: e.format,
    filter: e.filter,
    status: e.status,
    progress: {
      exported_rows: exported,
      total_rows: total,
      percent: e.status === 'completed' ? 100 : total ? Math.min(99, Math.floor((exported * 100) / total)) : 0,
    },
    file_size: e.file_size === null ? null : Number(e.file_size),
    download_url: e.status === 'completed' ? `/v1/exports/${e.id}/download` : null,
    error: e.error,
    created_at: isoTime(e.created_at),
    started_at: isoTime(e.started_at),
    finished_at: isoTime(e.finished_at),
    expires_at: isoTime(e.expires_at),
  };
}

/** Records an export and queues its job; a repeated Idempotency-Key returns the first export. */
export async function requestExport(
  db: Database,
  queues: QueueSet,
  input: CreateExportInput & { campaignId: string; requestedBy: string | null; idempotencyKey?: string },
): Promise<{ export: ExportRow; created: boolean }> {
  const campaign = isUuid(input.campaignId)
    ? (await db.query('select id from campaigns where id = $1', [input.campaignId])).rows[0]
    : undefined;
  if (!campaign) throw new NotFoundError('campaign', input.campaignId);
  const inserted = await db.query<ExportRow>(
    `insert into exports (campaign_id, format, filter, requested_by, idempotency_key) values ($1, $2, $3, $4, $5)
     on conflict (campaign_id, idempotency_key) do nothing returning *`,
    [input.campaignId, input.format, input.filter, input.requestedBy, input.idempotencyKey ?? null],
  );
  const row =
    inserted.rows[0] ??
    (
      await db.query<ExportRow>('select * from exports where campaign_id = $1 and idempotency_key = $2', [
        input.campaignId,
        input.idempotencyKey,
      ])
    ).rows[0];
  if (!row) throw new Error('export vanished after insert');
  await enqueueExport(queues, row.id);
  return { export: row, created: inserted.rows.length > 0 };
}

/** Deterministic job id: a replayed request, a retried enqueue or the reconciler never queues a second run. */
export async function enqueueExport(queues: QueueSet, exportId: string): Promise<void> {
  await enqueue(queues, 'export.run', { exportId });
}

export async function getExport(db: Queryable, id: string): Promise<ExportRow> {
  return rowById<ExportRow>(db, 'exports', 'export', id);
}

export class ExportNotReadyError extends DomainError {
  constructor(status: string) {
    super('conflict', 'export_not_ready', `The export is ${status}; download it once it is completed.`, { export_status: status });
  }
}

/** The path of a completed export's file, or why there is none. Expired exports are reported by the route as 410. */
export function downloadablePath(e: ExportRow): string {
  if (e.status !== 'completed' || !e.file_path) throw new ExportNotReadyError(e.status);
  return e.file_path;
}

function filterSql(filter: ExportRow['filter'], params: unknown[]): string {
  let sql = '';
  if (filter.status) {
    params.push(filter.status);
    sql += ` and status = $${params.length}`;
  }
  if (filter.metadata && Object.keys(filter.metadata).length > 0) {
    params.push(JSON.stringify(filter.metadata));
    sql += ` and metadata @> $${params.length}::jsonb`;
  }
  return sql;
}

export interface ExportRunOptions {
  dir: string;
  batchSize: number;
  ttlSeconds: number;
  now: () => Date;
  onProgress?: (exported: number, total: number) => void | Promise<void>;
}

/** Advisory lock class for export runs (the second key is the export's). */
const EXPORT_RUN_LOCK = 0x6578706f;

/**
 * Writes an export's CSV: keyset pages over the campaign's (campaign_id, id) index piped through csv-stringify to
 * a `.part` file, so memory stays flat however many codes; renamed and marked completed at the end. Idempotent: a
 * completed export is left alone, and a rerun after a crash starts the file over. One run per export at a time:
 * a run that finds another still writing (its job was lost from Redis and re-created meanwhile) leaves it alone.
 */
export async function runExport(
  db: Database,
  exportId: string,
  options: ExportRunOptions,
): Promise<ExportRow['status'] | 'missing' | 'already_running'> {
  // The writer's statements run on the pool, not in the lock's transaction, so its progress is seen as it goes.
  const run = await db.withAdvisoryLock([EXPORT_RUN_LOCK, exportId], { wait: false }, () => writeExport(db, exportId, options));
  return run.locked ? run.result : 'already_running';
}

async function writeExport(db: Queryable, exportId: string, options: ExportRunOptions): Promise<ExportRow['status'] | 'missing'> {
  const claimed = await db.query<ExportRow>(
    `update exports set status = 'running', started_at = coalesce(started_at, $2), exported_rows = 0, error = null
     where id = $1 and status in ('queued', 'running', 'failed') returning *`,
    [exportId, options.now()],
  );
  const e = claimed.rows[0];
  if (!e) {
    const existing = (await db.query<ExportRow>('select status from exports where id = $1', [exportId])).rows[0];
    return existing?.status ?? 'missing';
  }
  const countParams: unknown[] = [e.campaign_id];
  const where = filterSql(e.filter, countParams);
  const total = Number(
    (await db.query<{ n: string }>(`select count(*) as n from vouchers where campaign_id = $1${where}`, countParams)).rows[0]?.n ?? 0,
  );
  await db.query('update exports set total_rows = $2 where id = $1', [exportId, total]);

  await mkdir(options.dir, { recursive: true });
  const finalPath = path.resolve(options.dir, `${exportId}.csv`);
  const partPath = `${finalPath}.part`;
  let exported = 0;
  let lastReported = 0;
  async function* rows() {
    let after = '0';
    for (;;) {
      const params: unknown[] = [e?.campaign_id];
      const filter = filterSql((e as ExportRow).filter, params);
      params.push(after, options.batchSize);
      const page = await db.query<Record<string, unknown> & { id: string }>(
        `select id, code, status, active, redemption_count, ${ISO_SQL('start_date')} as start_date,
                ${ISO_SQL('expiration_date')} as expiration_date, metadata, ${ISO_SQL('created_at')} as created_at
         from vouchers where campaign_id = $1${filter} and id > $${params.length - 1} order by id limit $${params.length}`,
        params,
      );
      for (const row of page.rows) {
        yield [
          row.code,
          row.status,
          row.active,
          row.redemption_count,
          row.start_date ?? '',
          row.expiration_date ?? '',
          row.metadata ? JSON.stringify(row.metadata) : '',
          row.created_at,
        ];
      }
      exported += page.rows.length;
      if (exported - lastReported >= options.batchSize * 5 || page.rows.length < options.batchSize) {
        lastReported = exported;
        await db.query('update exports set exported_rows = $2 where id = $1', [exportId, exported]);
        await options.onProgress?.(exported, total);
      }
      const last = page.rows.at(-1);
      if (!last || page.rows.length < options.batchSize) return;
      after = last.id;
    }
  }
  await pipeline(
    Readable.from(rows()),
    stringify({ header: true, columns: EXPORT_COLUMNS, cast: { boolean: (v) => String(v) } }),
    createWriteStream(partPath),
  );
  await rename(partPath, finalPath);
  const { size } = await stat(finalPath);
  const now = options.now();
  const done = await db.query<ExportRow>(
    `update exports set status = 'completed', exported_rows = $2, total_rows = $2, file_path = $3, file_size = $4,
            finished_at = $5, expires_at = $6
     where id = $1 and status = 'running' returning status`,
    [exportId, exported, finalPath, size, now, new Date(now.getTime() + options.ttlSeconds * 1000)],
  );
  return done.rows[0]?.status ?? 'missing';
}

/** Records a failure that retries did not fix, removing any partial file. */
export async function failExport(db: Queryable, exportId: string, dir: string, error: string): Promise<void> {
  await rm(path.resolve(dir, `${exportId}.csv.part`), { force: true });
  await db.query(`update exports set status = 'failed', error = $2 where id = $1 and status in ('queued', 'running')`, [exportId, error]);
}

/**
 * Expires exports past their time and removes their files. The file goes first and the row after: a crash in
 * between leaves a row that the next run finishes (removing a missing file is not an error).
 */
export async function cleanupExpiredExports(db: Queryable, now: Date, ttlSeconds: number, dir: string): Promise<number> {
  const { rows } = await db.query<{ id: string; file_path: string | null }>(
    `select id, file_path from exports
     where status <> 'expired' and (expires_at <= $1 or (status in ('failed', 'queued') and created_at <= $1 - make_interval(secs => $2)))
     order by id limit 1000`,
    [now, ttlSeconds],
  );
  for (const row of rows) {
    if (row.file_path) await rm(row.file_path, { force: true });
    await rm(path.resolve(dir, `${row.id}.csv.part`), { force: true });
    await db.query(`update exports set status = 'expired', file_path = null where id = $1 and status <> 'expired'`, [row.id]);
  }
  return rows.length;
}
