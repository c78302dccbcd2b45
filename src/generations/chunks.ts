import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { validatedShape } from '../campaigns/campaigns.ts';
import { type CodeConfig, CodeGenerator } from '../codes/index.ts';
import type { Database } from '../db/sql.ts';
import { emitEvent } from '../events/outbox.ts';

export interface ChunkResult {
  status: 'written' | 'already_written' | 'generation_finished';
  inserted: number;
  collisions: number;
  exhausted: boolean;
}

/** Which process wrote a chunk (host:pid), for operators following a generation across workers. */
const WRITER = `${hostname()}:${process.pid}`;

/** Rounds in a row that add no new code before a chunk declares its code space exhausted. */
const FRUITLESS_ROUNDS_LIMIT = 5;
const MAX_ROUNDS = 2_000;

/**
 * Writes one chunk of a generation: exactly `size` new unique codes, or fewer if the code space runs out.
 * Codes are COPY'd straight into vouchers; when one collides (rare in a safe space) that COPY rolls back to its
 * savepoint and the chunk goes through a transaction-local staging table instead, moved with INSERT … ON CONFLICT
 * DO NOTHING; whatever collided is drawn again. The chunk's completion row is written in the same transaction as its
 * codes, so a re-run (or a retry after the worker died mid-write) either finds it done or starts clean.
 */
export async function writeGenerationChunk(db: Database, generationId: string, chunkIndex: number, size: number): Promise<ChunkResult> {
  const started = await db.query<{ status: string }>(
    `update generations set status = 'running', started_at = coalesce(started_at, now())
     where id = $1 and status in ('queued', 'running') returning status`,
    [generationId],
  );
  if (started.rowCount === 0) return { status: 'generation_finished', inserted: 0, collisions: 0, exhausted: false };

  return db.transaction(async (tx) => {
    // Two deliveries of the same chunk serialize here; the second sees the first one's completion row.
    await tx.query('select pg_advisory_xact_lock(hashtext($1), $2)', [generationId, chunkIndex]);
    const done = await tx.query<{ inserted: number; collisions: number; exhausted: boolean }>(
      'select inserted, collisions, exhausted from generation_chunks where generation_id = $1 and chunk_index = $2',
      [generationId, chunkIndex],
    );
    if (done.rows[0]) return { status: 'already_written', ...done.rows[0] };

    const { rows } = await tx.query<{ campaign_id: string; code_config: CodeConfig }>(
      'select g.campaign_id, c.code_config from generations g join campaigns c on c.id = g.campaign_id where g.id = $1',
      [generationId],
    );
    const { campaign_id: campaignId, code_config: codeConfig } = rows[0] as { campaign_id: string; code_config: CodeConfig };
    const generator = new CodeGenerator(validatedShape(codeConfig));
    const { inserted, collisions, exhausted } = await insertUniqueCodes(tx, generator, size, campaignId, generationId);

    await tx.query(
      `insert into generation_chunks (generation_id, chunk_index, size, inserted, collisions, exhausted, written_by)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [generationId, chunkIndex, size, inserted, collisions, exhausted, WRITER],
    );
    await tx.query('update generations set generated = generated + $2, collisions = collisions + $3 where id = $1', [
      generationId,
      inserted,
      collisions,
    ]);
    await tx.query('update campaigns set issued_count = issued_count + $2 where id = $1', [campaignId, inserted]);
    return { status: 'written', inserted, collisions, exhausted };
  });
}

async function copyCodes(tx: pg.PoolClient, payload: Buffer): Promise<void> {
  await pipeline(Readable.from([payload]), tx.query(copyFrom('copy generation_staging (code) from stdin')));
}

/** `code\n` lines as `code\tcampaign\tgeneration\n` rows of vouchers' COPY format. */
function voucherRows(codes: Buffer, codeLength: number, campaignId: string, generationId: string): Buffer {
  const suffix = Buffer.from(`\t${campaignId}\t${generationId}\n`, 'latin1');
  const stride = codeLength + 1;
  const count = codes.length / stride;
  const rowLength = codeLength + suffix.length;
  const out = Buffer.allocUnsafe(count * rowLength);
  for (let i = 0, from = 0, to = 0; i < count; i++, from += stride, to += rowLength) {
    codes.copy(out, to, from, from + codeLength);
    suffix.copy(out, to + codeLength);
  }
  return out;
}

const UNIQUE_VIOLATION = '23505';

/**
 * The fast path: the chunk's codes COPY'd straight into vouchers, inside a savepoint. In a safe code space a
 * collision (with a code already there, or within the chunk) is rare; when one happens the unique index aborts the
 * COPY, only the savepoint rolls back, and the chunk takes the staging path. Returns false then.
 */
async function copyStraightIntoVouchers(
  tx: pg.PoolClient,
  generator: CodeGenerator,
  size: number,
  campaignId: string,
  generationId: string,
): Promise<boolean> {
  const codes = generator.generateBuffer(size);
  const rows = voucherRows(codes, codes.length / size - 1, campaignId, generationId);
  await tx.query('savepoint straight_copy');
  try {
    await pipeline(Readable.from([rows]), tx.query(copyFrom('copy vouchers (code, campaign_id, generation_id) from stdin')));
  } catch (error) {
    if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
    await tx.query('rollback to savepoint straight_copy');
    return false;
  }
  await tx.query('release savepoint straight_copy');
  return true;
}

async function insertUniqueCodes(
  tx: pg.PoolClient,
  generator: CodeGenerator,
  size: number,
  campaignId: string,
  generationId: string,
): Promise<{ inserted: number; collisions: number; exhausted: boolean }> {
  if (size > 0 && (await copyStraightIntoVouchers(tx, generator, size, campaignId, generationId))) {
    return { inserted: size, collisions: 0, exhausted: false };
  }
  await tx.query('create temp table generation_staging (code text not null) on commit drop');
  let inserted = 0;
  let collisions = 0;
  let fruitless = 0;
  // First round: exactly the missing count, inserted as-is (the fast path; collisions are rare in a safe space).
  await copyCodes(tx, generator.generateBuffer(size));
  const first = await tx.query(
    `insert into vouchers (code, campaign_id, generation_id)
     select code, $1, $2 from generation_staging on conflict (code) do nothing`,
    [campaignId, generationId],
  );
  inserted += first.rowCount ?? 0;
  collisions += size - (first.rowCount ?? 0);
  // Later rounds: oversample, keep only codes not taken yet, and never insert more than still missing.
  for (let round = 0; inserted < size && round < MAX_ROUNDS; round++) {
    const missing = size - inserted;
    const candidates = Math.min(Math.max(missing * 4, 256), 200_000);
    await tx.query('truncate generation_staging');
    await copyCodes(tx, generator.generateBuffer(candidates));
    const next = await tx.query(
      `insert into vouchers (code, campaign_id, generation_id)
       select code, $1, $2 from (
         select distinct s.code from generation_staging s
         where not exists (select 1 from vouchers v where v.code = s.code) limit $3
       ) fresh on conflict (code) do nothing`,
      [campaignId, generationId, missing],
    );
    const added = next.rowCount ?? 0;
    inserted += added;
    collisions += candidates - added;
    fruitless = added === 0 ? fruitless + 1 : 0;
    if (fruitless >= FRUITLESS_ROUNDS_LIMIT) break;
  }
  return { inserted, collisions, exhausted: inserted < size };
}

/**
 * Ends a generation from what its chunks recorded: completed, exhausted (space ran out), or failed
 * (some chunk never completed). Idempotent: only a generation still queued or running changes, and
 * its outcome event is written in the same transaction.
 */
export async function finalizeGeneration(db: Database, generationId: string): Promise<string> {
  return db.transaction(async (tx) => {
    const locked = await tx.query<{ chunk_count: number; campaign_id: string; requested: number; status: string }>(
      'select chunk_count, campaign_id, requested, status from generations where id = $1 for update',
      [generationId],
    );
    const generation = locked.rows[0];
    if (!generation) return 'missing';
    if (generation.status !== 'queued' && generation.status !== 'running') return generation.status;
    const { rows } = await tx.query<{ done: number; inserted: string; collisions: string; exhausted: boolean }>(
      `select count(*)::int as done, coalesce(sum(inserted), 0) as inserted, coalesce(sum(collisions), 0) as collisions,
              coalesce(bool_or(exhausted), false) as exhausted
       from generation_chunks where generation_id = $1`,
      [generationId],
    );
    const g = { ...generation, ...(rows[0] as { done: number; inserted: string; collisions: string; exhausted: boolean }) };
    const status = g.done < g.chunk_count ? 'failed' : g.exhausted ? 'exhausted' : 'completed';
    const error = status === 'failed' ? `${g.chunk_count - g.done} of ${g.chunk_count} chunks could not be written` : null;
    await tx.query(
      `update generations set status = $2, generated = $3, collisions = $4, error = $5,
              started_at = coalesce(started_at, now()), finished_at = now() where id = $1`,
      [generationId, status, Number(g.inserted), Number(g.collisions), error],
    );
    const outcome = { generation_id: generationId, campaign_id: g.campaign_id, requested: g.requested, generated: Number(g.inserted) };
    if (status === 'failed') await emitEvent(tx, 'campaign.generation.failed', { ...outcome, status, error: error as string });
    else await emitEvent(tx, 'campaign.generation.completed', { ...outcome, status });
    return status;
  });
}
