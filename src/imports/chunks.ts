import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { validatedShape } from '../campaigns/campaigns.ts';
import type { CodeConfig } from '../codes/index.ts';
import type { Database } from '../db/sql.ts';
import { emitEvent } from '../events/outbox.ts';
import { campaignForPublishing, type HeldImportedCode, recordImportedPublications } from '../publications/publications.ts';
import { recordImportedStats } from '../stats/rollup.ts';
import { voucherEventsFromRows } from '../vouchers/voucher-events.ts';
import { type ImportRow, recordRejections } from './imports.ts';
import { checkedRows, isRejected, type RejectedRow, type RowPosition, type StoredChunk } from './records.ts';
import { STAGING_COPY, STAGING_TABLE, StagingPayload } from './staging.ts';

export interface ImportChunkResult {
  status: 'written' | 'already_written' | 'import_finished';
  imported: number;
  rejected: number;
}

interface ChunkCounts {
  imported: number;
  redeemed: string;
  redeemed_codes: number;
  expired: number;
  held: HeldImportedCode[];
}

/** Which process wrote a chunk (host:pid), for operators following an import across workers. */
const WRITER = `${hostname()}:${process.pid}`;

/**
 * Writes one chunk of an import in one transaction: its stored rows are checked (bad ones go to the report), the
 * good ones COPY'd into a transaction-local staging table and moved into `vouchers` with INSERT … ON CONFLICT (code)
 * DO NOTHING, in code order (two chunks holding each other's codes then wait in one order, never in a cycle); codes
 * that brought state along get an `imported` lifecycle entry, held codes their publication, the uses they brought
 * their stat deltas; rows whose code exists are rejected; the completion row, the counters and the payload's deletion
 * commit with them. A chunk delivered twice, or retried after its worker died mid-write, writes exactly once.
 */
export async function writeImportChunk(db: Database, importId: string, chunkIndex: number, now: Date): Promise<ImportChunkResult> {
  const started = await db.query<Pick<ImportRow, 'campaign_id' | 'actor' | 'source' | 'code_shape'> & { code_config: CodeConfig }>(
    `update imports i set status = 'running', started_at = coalesce(started_at, now()) from campaigns c
     where i.id = $1 and i.status in ('queued', 'running') and c.id = i.campaign_id
     returning i.campaign_id, i.actor, i.source, i.code_shape, c.code_config`,
    [importId],
  );
  const parent = started.rows[0];
  if (!parent) return { status: 'import_finished', imported: 0, rejected: 0 };

  return db.transaction(async (tx) => {
    // Two deliveries of the same chunk serialize here; the second sees the first one's completion row.
    await tx.query('select pg_advisory_xact_lock(hashtext($1), $2)', [importId, chunkIndex]);
    const done = await tx.query<{ imported: number; rejected: number }>(
      'select imported, rejected from import_chunks where import_id = $1 and chunk_index = $2',
      [importId, chunkIndex],
    );
    if (done.rows[0]) return { status: 'already_written', ...done.rows[0] };
    const stored = await storedChunk(tx, importId, chunkIndex, parent.source);
    const staging = new StagingPayload();
    const shape = parent.code_shape === 'campaign' ? validatedShape(parent.code_config) : null;

    await tx.query(STAGING_TABLE);
    // Sorting a chunk by code spills past the default 4 MB; in memory it is a quicksort.
    await tx.query(`set local work_mem = '32MB'`);
    await pipeline(Readable.from(staging.pieces(checkedRows(stored, shape))), tx.query(copyFrom(STAGING_COPY)));
    const invalid = staging.rejected;
    // One statement: the codes, the lifecycle entries of those that brought state along, the counts, the held ones.
    // A plain code gets no entry (its import_id says where it came from, as a generated code's generation_id does):
    // an entry per plain code would cost about 40 % more per chunk (measured).
    const written = await tx.query<ChunkCounts>(
      `with inserted as (
         insert into vouchers (code, campaign_id, import_id, status, active, redemption_count, imported_redemptions,
                               start_date, expiration_date, rules, metadata, holder_customer_id, published_at, created_at)
         select code, $1, $2, case when expiration_date <= $3 then 'expired' else 'active' end, active, redeemed, nullif(redeemed, 0),
                start_date, expiration_date, rules, metadata, holder->>'id', case when holder is not null then $3::timestamptz end, $3
         from import_staging order by code, row_number
         on conflict (code) do nothing
         returning id, code, status, active, holder_customer_id, redemption_count as redeemed
       ), stateful as (
         select * from inserted where redeemed > 0 or holder_customer_id is not null or status <> 'active' or not active
       ), logged as (
         ${voucherEventsFromRows('stateful', {
           type: `'imported'`,
           actor: '$4',
           details: `jsonb_strip_nulls(jsonb_build_object('import_id', $2::text, 'status', nullif(status, 'active'),
                     'active', nullif(active, true), 'redeemed_quantity', nullif(redeemed, 0), 'holder_customer_id', holder_customer_id))`,
         })}
       )
       select count(*)::int as imported, coalesce(sum(redeemed), 0) as redeemed, count(*) filter (where redeemed > 0)::int as redeemed_codes,
              count(*) filter (where status = 'expired')::int as expired,
              (select coalesce(json_agg(json_build_object('voucherId', id, 'code', code, 'customer', holder)), '[]') from (
                 select distinct on (i.code) i.id::text, i.code, s.holder from inserted i join import_staging s using (code)
                 where i.holder_customer_id is not null order by i.code, s.row_number) h) as held
       from inserted`,
      [parent.campaign_id, importId, now, parent.actor],
    );
    const c = written.rows[0] as ChunkCounts;
    if (c.held.length > 0) {
      await recordImportedPublications(tx, await campaignForPublishing(tx, parent.campaign_id), c.held, parent.actor, now);
    }
    await recordImportedStats(tx, parent.campaign_id, now, {
      redeemed: Number(c.redeemed),
      redeemedCodes: c.redeemed_codes,
      expired: c.expired,
    });
    await recordRejections(tx, importId, invalid);
    // Every staged code inserted: none was taken, and there is nothing to look up.
    const rejected = invalid.length + (c.imported < staging.rows ? await rejectTaken(tx, importId) : 0);

    await tx.query(`insert into import_chunks (import_id, chunk_index, imported, rejected, written_by) values ($1, $2, $3, $4, $5)`, [
      importId,
      chunkIndex,
      c.imported,
      rejected,
      WRITER,
    ]);
    await tx.query('delete from import_payloads where import_id = $1 and chunk_index = $2', [importId, chunkIndex]);
    await tx.query('update imports set imported = imported + $2, rejected = rejected + $3 where id = $1', [importId, c.imported, rejected]);
    if (c.imported > 0)
      await tx.query('update campaigns set issued_count = issued_count + $2 where id = $1', [parent.campaign_id, c.imported]);
    return { status: 'written', imported: c.imported, rejected };
  });
}

async function storedChunk(tx: pg.PoolClient, importId: string, chunkIndex: number, source: ImportRow['source']): Promise<StoredChunk> {
  const { rows } = await tx.query<{ payload: string; first_row: number; first_line: number | null }>(
    'select payload, first_row, first_line from import_payloads where import_id = $1 and chunk_index = $2',
    [importId, chunkIndex],
  );
  const row = rows[0];
  if (!row) throw new Error(`import ${importId} chunk ${chunkIndex} has neither a payload nor a completion row`);
  return { source, payload: row.payload, firstRow: row.first_row, firstLine: row.first_line };
}

/**
 * The staged rows that were not inserted: a code that came earlier in this chunk (the first row wins: rows went in
 * in code and row order), in another chunk of this import, or anywhere else (codes are unique platform-wide). A
 * voucher is this chunk's own when this transaction wrote it (xmin). Read in a statement of its own, so it sees
 * codes that a concurrent transaction committed while the insert waited for it.
 */
async function rejectTaken(tx: pg.PoolClient, importId: string): Promise<number> {
  const { rows } = await tx.query<{
    row_number: number;
    line: number | null;
    code: string;
    first_row: number;
    ours: boolean;
    same_import: boolean;
  }>(
    `select s.row_number, s.line, s.code, s.first_row, v.xmin = pg_current_xact_id()::xid as ours,
            v.import_id is not distinct from $1::uuid as same_import
     from (select *, min(row_number) over (partition by code) as first_row from import_staging) s
     join vouchers v on v.code = s.code
     where v.xmin <> pg_current_xact_id()::xid or s.row_number <> s.first_row`,
    [importId],
  );
  const rejected = rows.map((r): RejectedRow => {
    const at = { row: r.row_number, line: r.line, code: r.code };
    if (r.ours) return { ...at, reason: 'code_duplicated', message: `The same code as row ${r.first_row}.` };
    if (r.same_import) return { ...at, reason: 'code_duplicated', message: 'Another row of this import has the same code.' };
    return { ...at, reason: 'code_exists', message: 'The code exists already (codes are unique across the platform).' };
  });
  await recordRejections(tx, importId, rejected);
  return rejected.length;
}

/**
 * The report rows of a chunk that could not be written: its bad rows with their own reasons, the others
 * `not_processed` (to import again).
 */
function unwritten(chunk: StoredChunk, chunkIndex: number, count: number): RejectedRow[] {
  const notProcessed = (r: RowPosition & { code: string | null }): RejectedRow => ({
    ...r,
    reason: 'not_processed',
    message: `Chunk ${chunkIndex} could not be written; import the row again.`,
  });
  try {
    return [...checkedRows(chunk, null)].map((r) => (isRejected(r) ? r : notProcessed({ row: r.row, line: r.line, code: r.code })));
  } catch {
    // A chunk that cannot even be read again is reported by row number alone.
    return Array.from({ length: count }, (_, k) => notProcessed({ row: chunk.firstRow + k, line: null, code: null }));
  }
}

/**
 * Ends an import from what its chunks recorded: completed, or failed when some chunk never completed (its retries ran
 * out), whose rows then go into the report as `not_processed` (to import again) and whose payloads are dropped.
 * Idempotent: only an import still queued or running changes, and its outcome event is written in the same
 * transaction: one `campaign.import.completed` (or `.failed`) with the counts, never an event per code.
 */
export async function finalizeImport(db: Database, importId: string): Promise<string> {
  return db.transaction(async (tx) => {
    const locked = await tx.query<ImportRow>('select * from imports where id = $1 for update', [importId]);
    const i = locked.rows[0];
    if (!i) return 'missing';
    if (i.status !== 'queued' && i.status !== 'running') return i.status;
    const left = await tx.query<{ chunk_index: number; payload: string; first_row: number; first_line: number | null; row_count: number }>(
      `select p.chunk_index, p.payload, p.first_row, p.first_line, p.row_count from import_payloads p
       where p.import_id = $1 and not exists (select 1 from import_chunks c where c.import_id = p.import_id and c.chunk_index = p.chunk_index)`,
      [importId],
    );
    let unwrittenRows = 0;
    for (const chunk of left.rows) {
      const stored = { source: i.source, payload: chunk.payload, firstRow: chunk.first_row, firstLine: chunk.first_line };
      const rows = unwritten(stored, chunk.chunk_index, chunk.row_count);
      await recordRejections(tx, importId, rows);
      unwrittenRows += rows.length;
    }
    await tx.query('delete from import_payloads where import_id = $1', [importId]);
    const status = left.rows.length > 0 ? 'failed' : 'completed';
    const error = status === 'failed' ? `${left.rows.length} of ${i.chunk_count} chunks could not be written` : null;
    const { rows } = await tx.query<ImportRow>(
      `update imports set status = $2, error = $3, rejected = rejected + $4, started_at = coalesce(started_at, now()), finished_at = now()
       where id = $1 returning *`,
      [importId, status, error, unwrittenRows],
    );
    const done = rows[0] as ImportRow;
    const outcome = {
      import_id: done.id,
      campaign_id: done.campaign_id,
      received: done.received,
      imported: done.imported,
      rejected: done.rejected,
      errors_url: `/v1/imports/${done.id}/errors`,
    };
    if (error) await emitEvent(tx, 'campaign.import.failed', { ...outcome, status: 'failed', error });
    else await emitEvent(tx, 'campaign.import.completed', { ...outcome, status: 'completed' });
    return status;
  });
}
