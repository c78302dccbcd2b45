import { type CampaignRow, getCampaign, validatedShape } from '../campaigns/campaigns.ts';
import { checkCodeSpace } from '../codes/index.ts';
import { type Database, type Queryable, rowById } from '../db/sql.ts';
import { generationWork } from '../queues/catalog.ts';
import { enqueueFlow, type Progress } from '../queues/enqueue.ts';
import type { QueueSet } from '../queues/queues.ts';
import { DomainError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import type { GenerationView } from './schemas.ts';

export type GenerationStatus = 'queued' | 'running' | 'completed' | 'failed' | 'exhausted';

export interface GenerationRow {
  id: string;
  campaign_id: string;
  status: GenerationStatus;
  requested: number;
  generated: number;
  collisions: string;
  chunk_size: number;
  chunk_count: number;
  idempotency_key: string | null;
  entropy_bits: number;
  guess_probability: number;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export function generationView(g: GenerationRow): GenerationView {
  return {
    id: g.id,
    campaign_id: g.campaign_id,
    status: g.status,
    requested: g.requested,
    generated: g.generated,
    progress: g.requested === 0 ? 100 : Math.min(100, Math.floor((g.generated * 100) / g.requested)),
    collisions: Number(g.collisions),
    chunk_size: g.chunk_size,
    chunk_count: g.chunk_count,
    entropy_bits: Math.round(g.entropy_bits * 100) / 100,
    guess_probability: g.guess_probability,
    created_at: isoTime(g.created_at),
    started_at: isoTime(g.started_at),
    finished_at: isoTime(g.finished_at),
    ...(g.error ? { error: g.error } : {}),
  };
}

export async function findGeneration(db: Queryable, id: string): Promise<GenerationRow> {
  return rowById<GenerationRow>(db, 'generations', 'generation', id);
}

/** Codes issued, or reserved by unfinished generations, in one code space (all campaigns sharing a shape). */
async function spaceUsage(tx: Queryable, spaceKey: string): Promise<bigint> {
  const { rows } = await tx.query<{ used: string }>(
    `select (select coalesce(sum(issued_count), 0) from campaigns where space_key = $1)
          + (select coalesce(sum(g.requested - g.generated), 0) from generations g join campaigns c on c.id = g.campaign_id
             where c.space_key = $1 and g.status in ('queued', 'running')) as used`,
    [spaceKey],
  );
  return BigInt(rows[0]?.used ?? '0');
}

export interface RequestGenerationInput {
  campaignId: string;
  count: number;
  idempotencyKey?: string;
  chunkSize: number;
}

/**
 * Records a generation and enqueues its flow. Refuses before any work when the code space cannot hold
 * the request or would make codes guessable. Same idempotency key: same generation, enqueued again only
 * if it never started (job ids are deterministic, so a second enqueue is a no-op in BullMQ).
 */
export async function requestGeneration(
  db: Database,
  queues: QueueSet,
  input: RequestGenerationInput,
): Promise<{ generation: GenerationRow; created: boolean; enqueued: boolean }> {
  const campaign = await getCampaign(db, input.campaignId);
  const shape = validatedShape(campaign.code_config);
  const result = await db.transaction(async (tx) => {
    if (input.idempotencyKey) {
      const existing = await tx.query<GenerationRow>('select * from generations where campaign_id = $1 and idempotency_key = $2', [
        campaign.id,
        input.idempotencyKey,
      ]);
      if (existing.rows[0]) return { generation: existing.rows[0], created: false };
    }
    // One request at a time per code space, so two requests cannot both claim the last free codes.
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [shape.spaceKey]);
    const verdict = checkCodeSpace(shape, await spaceUsage(tx, shape.spaceKey), BigInt(input.count), campaign.allow_guessable);
    if (!verdict.ok) throw spaceError(verdict.reason, campaign, verdict);
    const chunkCount = Math.ceil(input.count / input.chunkSize);
    const { rows } = await tx.query<GenerationRow>(
      `insert into generations (campaign_id, requested, chunk_size, chunk_count, idempotency_key, entropy_bits, guess_probability)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (campaign_id, idempotency_key) do nothing returning *`,
      [campaign.id, input.count, input.chunkSize, chunkCount, input.idempotencyKey ?? null, verdict.entropyBits, verdict.guessProbability],
    );
    if (rows[0]) return { generation: rows[0], created: true };
    const raced = await tx.query<GenerationRow>('select * from generations where campaign_id = $1 and idempotency_key = $2', [
      campaign.id,
      input.idempotencyKey,
    ]);
    return { generation: raced.rows[0] as GenerationRow, created: false };
  });
  let enqueued = result.generation.status !== 'queued';
  if (!enqueued) {
    // The row is committed: if Redis is unreachable now, the reconciler enqueues it later.
    enqueued = await enqueueGeneration(queues, result.generation).then(
      () => true,
      () => false,
    );
  }
  return { ...result, enqueued };
}

function spaceError(
  reason: 'code_space_exhausted' | 'code_space_too_small',
  campaign: CampaignRow,
  verdict: { space: bigint; available: bigint; entropyBits: number; guessProbability: number },
): DomainError {
  const details = {
    campaign_id: campaign.id,
    code_space: verdict.space.toString(),
    available: verdict.available.toString(),
    entropy_bits: Math.round(verdict.entropyBits * 100) / 100,
    guess_probability: verdict.guessProbability,
  };
  return reason === 'code_space_exhausted'
    ? new DomainError('unprocessable', reason, `Only ${verdict.available} unused codes are left in this pattern's space.`, details)
    : new DomainError(
        'unprocessable',
        reason,
        'Issuing this many codes would let more than one random guess in a million hit a valid code. Use longer codes, a larger charset, or set allow_guessable: true.',
        details,
      );
}

/** One parent (finalize) job whose children are the chunks; children may run on any worker, in parallel. */
export async function enqueueGeneration(queues: QueueSet, g: GenerationRow): Promise<void> {
  await enqueueFlow(queues, generationWork(g));
}

/** How far a generation is: codes written of codes asked for (a flow's progress). */
export async function generationProgress(db: Queryable, id: string): Promise<Progress | undefined> {
  return (await db.query<Progress>('select generated as done, requested as total from generations where id = $1', [id])).rows[0];
}
