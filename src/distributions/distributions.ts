import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { contactColumns } from '../customers/customers.ts';
import { type Queryable, rowById } from '../db/sql.ts';
import { deliveryCountsOfDistribution } from '../delivery/deliveries.ts';
import type { CustomerInput } from '../delivery/schemas.ts';
import { templateForChannel } from '../delivery/templates.ts';
import type { Platform } from '../platform.ts';
import {
  campaignForPublishing,
  type PublishItem,
  publicationIdsBySource,
  publishBatch,
  resolveRecipient,
} from '../publications/publications.ts';
import { publicationIdsOf, publishThenDispatch } from '../publications/publish.ts';
import { distributionWork, jobIdOf } from '../queues/catalog.ts';
import { enqueueFlow } from '../queues/enqueue.ts';
import { DomainError, ValidationError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { findUnstorable } from '../shared/storable.ts';
import type { DistributionView, RecipientInput } from './schemas.ts';

export interface DistributionRow {
  id: string;
  campaign_id: string;
  channel: 'email' | 'sms';
  template_id: string;
  status: 'receiving' | 'queued' | 'running' | 'delivering' | 'failed';
  source: string;
  total: number;
  chunk_size: number;
  chunk_count: number;
  idempotency_key: string | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  published_at: Date | null;
}

interface DistributionRequest {
  campaignId: string;
  channel: 'email' | 'sms';
  templateId: string;
  idempotencyKey?: string;
  source: 'inline' | 'csv';
}

const INSERT_BATCH = 1_000;

async function openDistribution(
  platform: Platform,
  req: DistributionRequest,
): Promise<{ distribution: DistributionRow; created: boolean }> {
  const { db } = platform;
  const campaign = await campaignForPublishing(db, req.campaignId);
  if (!campaign.active || campaign.status !== 'active') {
    throw new DomainError('unprocessable', 'campaign_inactive', `Campaign ${campaign.id} is not active.`);
  }
  await templateForChannel(db, req.templateId, req.channel);
  const { rows } = await db.query<DistributionRow>(
    `insert into distributions (campaign_id, channel, template_id, source, chunk_size, idempotency_key)
     values ($1, $2, $3, $4, $5, $6) on conflict (campaign_id, idempotency_key) do nothing returning *`,
    [campaign.id, req.channel, req.templateId, req.source, platform.config.DISTRIBUTION_CHUNK_SIZE, req.idempotencyKey ?? null],
  );
  if (rows[0]) return { distribution: rows[0], created: true };
  const existing = await db.query<DistributionRow>('select * from distributions where campaign_id = $1 and idempotency_key = $2', [
    campaign.id,
    req.idempotencyKey,
  ]);
  return { distribution: existing.rows[0] as DistributionRow, created: false };
}

async function insertRecipients(db: Queryable, distributionId: string, firstOrd: number, rows: RecipientInput[]) {
  if (rows.length === 0) return;
  await db.query(
    `insert into distribution_recipients (distribution_id, ord, customer_id, email, phone, name, metadata)
     select $1, $2 + o - 1, customer_id, email, phone, name, coalesce(metadata, '{}'::jsonb)
     from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) with ordinality as t(customer_id, email, phone, name, metadata, o)
     on conflict do nothing`,
    [distributionId, firstOrd, rows.map((r) => r.customer_id ?? null), ...contactColumns(rows)],
  );
}

/** Inline recipients (≤ 10,000): stored, then published and delivered by chunk jobs. */
export async function createDistribution(
  platform: Platform,
  req: Omit<DistributionRequest, 'source'>,
  recipients: RecipientInput[],
): Promise<{ distribution: DistributionRow; created: boolean }> {
  const opened = await openDistribution(platform, { ...req, source: 'inline' });
  if (!opened.created) return opened;
  const id = opened.distribution.id;
  for (let i = 0; i < recipients.length; i += INSERT_BATCH)
    await insertRecipients(platform.db, id, i, recipients.slice(i, i + INSERT_BATCH));
  return { distribution: await startDistribution(platform, id, recipients.length), created: true };
}

const KNOWN_COLUMNS = new Set(['email', 'phone', 'name', 'customer_id']);

/**
 * A CSV upload (header row: any of email, phone, name, customer_id; other columns become metadata), parsed as
 * a stream and written in batches of 1,000 rows: memory stays flat however long the file is.
 */
export async function createDistributionFromCsv(
  platform: Platform,
  req: Omit<DistributionRequest, 'source'>,
  body: Readable,
): Promise<{ distribution: DistributionRow; created: boolean }> {
  const opened = await openDistribution(platform, { ...req, source: 'csv' });
  if (!opened.created) {
    body.resume();
    return opened;
  }
  const id = opened.distribution.id;
  const parser = body.pipe(
    parseCsv({
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      bom: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
    }),
  );
  let count = 0;
  let batch: RecipientInput[] = [];
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      const unstorable = findUnstorable(record, [`line ${count + batch.length + 2}`]);
      if (unstorable) throw new ValidationError([unstorable], 'csv_invalid', 'The CSV upload holds text that cannot be stored.');
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(record)) if (!KNOWN_COLUMNS.has(k) && v !== '' && v !== undefined) metadata[k] = v;
      batch.push({
        customer_id: record.customer_id || undefined,
        email: record.email || undefined,
        phone: record.phone || undefined,
        name: record.name || undefined,
        metadata,
      });
      if (batch.length >= INSERT_BATCH) {
        await insertRecipients(platform.db, id, count, batch);
        count += batch.length;
        batch = [];
      }
    }
    await insertRecipients(platform.db, id, count, batch);
    count += batch.length;
  } catch (error) {
    await platform.db.query(`update distributions set status = 'failed', error = $2 where id = $1`, [id, (error as Error).message]);
    if (error instanceof DomainError) throw error;
    throw new ValidationError(
      [{ field: '(body)', message: (error as Error).message }],
      'csv_invalid',
      'The CSV upload could not be parsed.',
    );
  }
  if (count === 0) {
    await platform.db.query(`update distributions set status = 'failed', error = 'no recipients' where id = $1`, [id]);
    throw new ValidationError(
      [{ field: '(body)', message: 'the CSV has no recipient rows' }],
      'csv_invalid',
      'The CSV upload has no rows.',
    );
  }
  return { distribution: await startDistribution(platform, id, count), created: true };
}

async function startDistribution(platform: Platform, id: string, total: number): Promise<DistributionRow> {
  const size = platform.config.DISTRIBUTION_CHUNK_SIZE;
  const chunkCount = Math.ceil(total / size);
  const { rows } = await platform.db.query<DistributionRow>(
    `update distributions set status = 'queued', total = $2, chunk_count = $3 where id = $1 returning *`,
    [id, total, chunkCount],
  );
  const d = rows[0] as DistributionRow;
  await enqueueDistribution(platform, d);
  return d;
}

/** A parent job (finalize) with one child per chunk, so Bull Board shows the distribution and its progress. */
export async function enqueueDistribution(platform: Platform, d: DistributionRow): Promise<void> {
  await enqueueFlow(platform.queues, distributionWork(d));
}

interface RecipientRow {
  ord: number;
  customer_id: string | null;
  email: string | null;
  phone: string | null;
  name: string | null;
  metadata: Record<string, unknown>;
}

export interface ChunkSummary {
  status: 'processed' | 'already_processed' | 'missing';
  published: number;
  skipped: number;
  invalid: number;
  exhausted: number;
  dispatched: number;
}

function recipientSourceId(distributionId: string, ord: number): string {
  return `dist-${distributionId}-${ord}`;
}

/**
 * Publishes and queues one chunk of recipients in one transaction (the chunk's completion row included), then
 * enqueues its deliveries. A re-run finds the completion row and only re-enqueues what is still queued.
 */
export async function processDistributionChunk(platform: Platform, distributionId: string, chunkIndex: number): Promise<ChunkSummary> {
  const { db } = platform;
  const found = await db.query<DistributionRow>(
    `update distributions set status = case when status = 'queued' then 'running' else status end,
            started_at = coalesce(started_at, now()) where id = $1 returning *`,
    [distributionId],
  );
  const d = found.rows[0];
  if (!d) return { status: 'missing', published: 0, skipped: 0, invalid: 0, exhausted: 0, dispatched: 0 };
  const from = chunkIndex * d.chunk_size;
  const to = from + d.chunk_size;

  const sourceIds = Array.from({ length: d.chunk_size }, (_, k) => recipientSourceId(distributionId, from + k));
  const { result: summary, dispatched } = await publishThenDispatch<Omit<ChunkSummary, 'dispatched'>>(platform, async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtext($1), $2)', [distributionId, chunkIndex]);
    const done = await tx.query<Omit<ChunkSummary, 'status' | 'dispatched'>>(
      'select published, skipped, invalid, exhausted from distribution_chunks where distribution_id = $1 and chunk_index = $2',
      [distributionId, chunkIndex],
    );
    if (done.rows[0]) {
      // Done before: only what that run published and never got to enqueue is dispatched again.
      return {
        result: { ...done.rows[0], status: 'already_processed' as const },
        publicationIds: await publicationIdsBySource(tx, sourceIds),
      };
    }
    const campaign = await campaignForPublishing(tx, d.campaign_id);
    const { rows } = await tx.query<RecipientRow>(
      'select * from distribution_recipients where distribution_id = $1 and ord >= $2 and ord < $3 order by ord',
      [distributionId, from, to],
    );
    const items: PublishItem[] = [];
    let invalid = 0;
    for (const r of rows) {
      const item = toItem(r, d, platform.config.SMS_DEFAULT_COUNTRY);
      if (item) items.push(item);
      else invalid++;
    }
    const outcomes = await publishBatch(tx, items, {
      campaign,
      actor: `distribution:${distributionId}`,
      now: platform.clock.now(),
      distributionId,
    });
    const count = (s: string) => outcomes.filter((o) => o.status === s).length;
    const result = {
      published: count('published'),
      skipped: count('duplicate') + count('existing'),
      invalid,
      exhausted: count('exhausted'),
    };
    await tx.query(
      `insert into distribution_chunks (distribution_id, chunk_index, published, skipped, invalid, exhausted) values ($1, $2, $3, $4, $5, $6)`,
      [distributionId, chunkIndex, result.published, result.skipped, result.invalid, result.exhausted],
    );
    return { result: { ...result, status: 'processed' as const }, publicationIds: publicationIdsOf(outcomes) };
  });
  return { ...summary, dispatched };
}

function toItem(r: RecipientRow, d: DistributionRow, defaultCountry: string): PublishItem | null {
  const customerId =
    r.customer_id ?? (r.email ? `email:${r.email.toLowerCase()}` : r.phone ? `phone:${r.phone.replace(/[^+\d]/g, '')}` : null);
  if (!customerId) return null;
  const customer: CustomerInput = {
    id: customerId,
    email: r.email ?? undefined,
    phone: r.phone ?? undefined,
    name: r.name ?? undefined,
    metadata: r.metadata,
  };
  let recipient: string | null;
  try {
    recipient = resolveRecipient(d.channel, customer, defaultCountry);
  } catch {
    return null;
  }
  if (d.channel === 'sms') customer.phone = recipient ?? undefined;
  return { customer, sourceId: recipientSourceId(d.id, r.ord), channel: d.channel, templateId: d.template_id, recipient };
}

/**
 * All chunks ran (or failed for good): the distribution moves on to delivering what was published, or is marked
 * failed, naming how many chunks never completed (their recipients got nothing).
 */
export async function finalizeDistribution(platform: Platform, distributionId: string): Promise<string> {
  const { rows } = await platform.db.query<{ status: string }>(
    `with done as (select count(*)::int as n from distribution_chunks where distribution_id = $1)
     update distributions d set
       status = case when done.n < d.chunk_count then 'failed' else 'delivering' end,
       error = case when done.n < d.chunk_count then (d.chunk_count - done.n) || ' of ' || d.chunk_count || ' chunks could not be processed' end,
       published_at = coalesce(d.published_at, now())
     from done where d.id = $1 and d.status in ('queued', 'running') returning d.status`,
    [distributionId],
  );
  return rows[0]?.status ?? 'unchanged';
}

export async function getDistribution(platform: Platform, id: string): Promise<DistributionView> {
  const { db } = platform;
  const d = await rowById<DistributionRow>(db, 'distributions', 'distribution', id);
  const [chunks, deliveries] = await Promise.all([
    db.query<{ done: number; published: number; skipped: number; invalid: number; exhausted: number }>(
      `select count(*)::int as done, coalesce(sum(published), 0)::int as published, coalesce(sum(skipped), 0)::int as skipped,
              coalesce(sum(invalid), 0)::int as invalid, coalesce(sum(exhausted), 0)::int as exhausted
       from distribution_chunks where distribution_id = $1`,
      [id],
    ),
    deliveryCountsOfDistribution(db, id),
  ]);
  const c = chunks.rows[0] as { done: number; published: number; skipped: number; invalid: number; exhausted: number };
  const byStatus = deliveries;
  const counts = {
    total: d.total,
    published: c.published,
    queued: byStatus.queued ?? 0,
    sent: byStatus.sent ?? 0,
    failed: byStatus.failed ?? 0,
    bounced: byStatus.bounced ?? 0,
    skipped: c.skipped,
    invalid: c.invalid,
    exhausted: c.exhausted,
  };
  const status: DistributionView['status'] = d.status === 'delivering' && counts.queued === 0 ? 'completed' : d.status;
  const processed = counts.sent + counts.failed + counts.bounced + counts.skipped + counts.invalid + counts.exhausted;
  return {
    id: d.id,
    campaign_id: d.campaign_id,
    channel: d.channel,
    template_id: d.template_id,
    source: d.source,
    status,
    job_id: jobIdOf('distribution.finalize', { distributionId: d.id }) ?? null,
    chunks: { total: d.chunk_count, done: c.done },
    progress: d.total === 0 ? 0 : Math.min(1, Math.round((processed / d.total) * 1000) / 1000),
    counts,
    ...counts,
    error: d.error,
    created_at: isoTime(d.created_at),
    started_at: isoTime(d.started_at),
    published_at: isoTime(d.published_at),
  };
}
