import type { z } from 'zod';
import type { Config } from '../../config/index.ts';
import { type Queryable, rowById } from '../db/sql.ts';
import type { Platform } from '../platform.ts';
import { type JobRequest, jobIdOf } from '../queues/catalog.ts';
import { keyPrefix } from '../queues/connection.ts';
import { enqueueBulk } from '../queues/enqueue.ts';
import type { QueueSet } from '../queues/queues.ts';
import { NotFoundError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { messages } from '../shared/metrics.ts';
import { RatePacer } from '../shared/pacing.ts';
import { KeyedPermits } from '../shared/permits.ts';
import { resourceKind } from '../shared/process-resources.ts';
import { tickBatcher } from '../shared/tick-batch.ts';
import { createEmailSender, type EmailSender } from './email.ts';
import { SendFailure } from './outcome.ts';
import { linkSettings, voucherLinks } from './public-links.ts';
import type { deliveryViewSchema } from './schemas.ts';
import { createSmsProvider, type SmsProvider } from './sms.ts';
import { symbolFor } from './symbol-cache.ts';
import { type RenderContext, renderTemplate, type TemplateRow, usesQrInHtml } from './templates.ts';

export type DeliveryStatus = 'queued' | 'sent' | 'failed' | 'bounced';

export interface DeliveryRow {
  id: string;
  channel: 'email' | 'sms';
  status: DeliveryStatus;
  recipient: string;
  customer_id: string | null;
  voucher_id: string | null;
  publication_id: string | null;
  distribution_id: string | null;
  template_id: string;
  purpose: string;
  provider: string | null;
  provider_message_id: string | null;
  error: string | null;
  attempts: number;
  unconfirmed: number;
  sending_started_at: Date | null;
  created_at: Date;
  updated_at: Date;
  sent_at: Date | null;
}

export interface QueueMessageInput {
  channel: 'email' | 'sms';
  templateId: string;
  voucherId: string | number;
  /** Where the message goes: an email address, or an E.164 phone number for SMS. */
  recipient: string;
  customerId?: string | null;
  publicationId?: string | null;
  distributionId?: string | null;
  /** What the message is for, e.g. 'publication' or 'expiry_reminder'. */
  purpose?: string;
}

/**
 * Records messages to send, inside the caller's transaction, in one statement (`at`: their created time, the
 * caller's clock; the database's by default). After commit, pass the result to `dispatchDeliveries` (a row that
 * never got its job gets one from the reconciler, src/queues/reconcile.ts). This module is the one writer of
 * `deliveries`.
 */
export async function queueMessages(
  tx: Queryable,
  inputs: QueueMessageInput[],
  at?: Date,
): Promise<{ id: string; channel: 'email' | 'sms'; publicationId: string | null }[]> {
  if (inputs.length === 0) return [];
  const { rows } = await tx.query<{ id: string; channel: 'email' | 'sms'; publication_id: string | null }>(
    `insert into deliveries (channel, recipient, customer_id, voucher_id, publication_id, distribution_id, template_id, purpose,
                             created_at, updated_at)
     select channel, recipient, customer_id, voucher_id, publication_id, distribution_id, template_id, purpose,
            coalesce($9::timestamptz, now()), coalesce($9::timestamptz, now())
     from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::uuid[], $6::uuid[], $7::uuid[], $8::text[])
       with ordinality as t(channel, recipient, customer_id, voucher_id, publication_id, distribution_id, template_id, purpose, n)
     order by n
     returning id, channel, publication_id`,
    [
      inputs.map((i) => i.channel),
      inputs.map((i) => i.recipient),
      inputs.map((i) => i.customerId ?? null),
      inputs.map((i) => i.voucherId),
      inputs.map((i) => i.publicationId ?? null),
      inputs.map((i) => i.distributionId ?? null),
      inputs.map((i) => i.templateId),
      inputs.map((i) => i.purpose ?? 'publication'),
      at ?? null,
    ],
  );
  return rows.map((r) => ({ id: r.id, channel: r.channel, publicationId: r.publication_id }));
}

/** One message to send, inside the caller's transaction (see queueMessages). */
export async function queueMessage(tx: Queryable, input: QueueMessageInput): Promise<{ id: string; channel: 'email' | 'sms' }> {
  const [queued] = await queueMessages(tx, [input]);
  const { id, channel } = queued as { id: string; channel: 'email' | 'sms' };
  return { id, channel };
}

export async function getDelivery(q: Queryable, id: string): Promise<DeliveryRow> {
  return rowById<DeliveryRow>(q, 'deliveries', 'delivery', id);
}

/** A publication's message (its first, should there be several), or null when it was published without one. */
export async function deliveryOfPublication(q: Queryable, publicationId: string): Promise<{ id: string; status: DeliveryStatus } | null> {
  const { rows } = await q.query<{ id: string; status: DeliveryStatus }>(
    'select id, status from deliveries where publication_id = $1 order by created_at limit 1',
    [publicationId],
  );
  return rows[0] ?? null;
}

/** The messages of these publications that still wait to be sent. */
export async function queuedDeliveriesOf(q: Queryable, publicationIds: string[]): Promise<{ id: string; channel: 'email' | 'sms' }[]> {
  if (publicationIds.length === 0) return [];
  const { rows } = await q.query<{ id: string; channel: 'email' | 'sms' }>(
    `select id, channel from deliveries where publication_id = any($1::uuid[]) and status = 'queued'`,
    [publicationIds],
  );
  return rows;
}

/** How many of a distribution's messages are in each status. */
export async function deliveryCountsOfDistribution(q: Queryable, distributionId: string): Promise<Partial<Record<DeliveryStatus, number>>> {
  const { rows } = await q.query<{ status: DeliveryStatus; n: number }>(
    'select status, count(*)::int as n from deliveries where distribution_id = $1 group by status',
    [distributionId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/**
 * Enqueues send jobs: per channel, the messages (sorted by id) in batch jobs of up to DELIVERY_BATCH_SIZE, each id
 * deterministic, so enqueuing twice is harmless. Each message first keeps its batch job's id (one statement per
 * batch), so the reconciler knows the job that carries it; an enqueue that then fails leaves it to the reconciler.
 */
export async function dispatchDeliveries(
  db: Queryable,
  queues: QueueSet,
  deliveries: readonly { id: string; channel: 'email' | 'sms' }[],
): Promise<void> {
  const requests = deliveryBatchJobs(deliveries, queues.config.DELIVERY_BATCH_SIZE);
  if (requests.length === 0) return;
  const ids: string[] = [];
  const jobIds: string[] = [];
  for (const request of requests) {
    const jobId = jobIdOf(request.name, request.payload) as string;
    for (const id of request.payload.deliveryIds) {
      ids.push(id);
      jobIds.push(jobId);
    }
  }
  await db.query(
    `update deliveries d set batch_job_id = u.job_id from unnest($1::uuid[], $2::text[]) as u(id, job_id)
      where d.id = any($1::uuid[]) and d.id = u.id and d.status = 'queued'`,
    [ids, jobIds],
  );
  await enqueueBulk(queues, requests);
}

function deliveryBatchJobs(
  deliveries: readonly { id: string; channel: 'email' | 'sms' }[],
  size: number,
): JobRequest<'delivery.email-batch' | 'delivery.sms-batch'>[] {
  const requests: JobRequest<'delivery.email-batch' | 'delivery.sms-batch'>[] = [];
  for (const channel of ['email', 'sms'] as const) {
    const ids = [...new Set(deliveries.filter((d) => d.channel === channel).map((d) => d.id))].sort();
    for (let i = 0; i < ids.length; i += size) {
      const payload = { deliveryIds: ids.slice(i, i + size) };
      requests.push(channel === 'email' ? { name: 'delivery.email-batch', payload } : { name: 'delivery.sms-batch', payload });
    }
  }
  return requests;
}

type ClaimedRow = DeliveryRow & { ctx: ContextRow | null; interrupted_attempt_at: Date | null };
type SentRecord = { id: string; provider: string; providerMessageId: string };

/**
 * Claims: one conditional update opens an attempt on each row still queued with no other attempt open (or one
 * older than the lease, i.e. its worker died), committed before any send; answers the rows claimed, in the order
 * asked, with what rendering needs. The same id twice: only the first gets the claim.
 */
async function claimRows(db: Queryable, leaseMs: number, ids: readonly string[]): Promise<(ClaimedRow | undefined)[]> {
  const { rows } = await db.query<ClaimedRow>(
    `with claimed as (
       update deliveries d set attempts = d.attempts + 1, unconfirmed = d.unconfirmed + (d.sending_started_at is not null)::int,
              sending_started_at = clock_timestamp(), updated_at = clock_timestamp()
       from deliveries old
       where old.id = d.id and d.id = any($1::uuid[]) and d.status = 'queued'
         and (d.sending_started_at is null or d.sending_started_at < clock_timestamp() - make_interval(secs => $2::double precision / 1000))
         and d.unconfirmed + (d.sending_started_at is not null)::int <= 1
       -- old.* is the row before this update: an attempt still open there was cut off by a crash.
       returning d.*, old.sending_started_at as interrupted_attempt_at)
     select claimed.*, (
       select jsonb_build_object('template', to_jsonb(t), 'code', v.code, 'expiration_date', v.expiration_date,
                'start_date', v.start_date, 'v_metadata', v.metadata, 'campaign_id', c.id, 'campaign_name', c.name,
                'c_metadata', c.metadata,
                'customer', (select jsonb_build_object('id', cu.id, 'name', cu.name, 'email', cu.email, 'phone', cu.phone,
                                                       'metadata', cu.metadata)
                             from customers cu where cu.id = claimed.customer_id))
       from message_templates t, vouchers v join campaigns c on c.id = v.campaign_id
       where t.id = claimed.template_id and v.id = claimed.voucher_id) as ctx
     from claimed`,
    [[...new Set(ids)], leaseMs],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => {
    const row = byId.get(id);
    byId.delete(id);
    return row;
  });
}

/**
 * Closes the attempts of messages the provider took, in one statement. `d.id = any($1)` keeps the rows found by id:
 * in a burst (many queued rows, statistics not caught up) the planner would otherwise read every queued row.
 */
export const RECORD_SENT = `
  update deliveries d set status = 'sent', provider = u.provider, provider_message_id = u.pmid, error = null,
         sending_started_at = null, sent_at = clock_timestamp(), updated_at = clock_timestamp()
    from unnest($1::uuid[], $2::text[], $3::text[]) as u(id, provider, pmid)
   where d.id = any($1::uuid[]) and d.id = u.id and d.status = 'queued'`;

async function recordSentRows(db: Queryable, items: readonly SentRecord[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(RECORD_SENT, [items.map((i) => i.id), items.map((i) => i.provider), items.map((i) => i.providerMessageId)]);
}

/**
 * What sending holds in a process: the providers (nodemailer's SMTP pool), made on first send, and the group commit
 * of single sends' claims and "sent" records (retry jobs): concurrent ones share statements, each row still claimed
 * by its own conditional update, committed before its send.
 */
class DeliveryResources {
  email?: EmailSender;
  sms?: SmsProvider;
  readonly claim: (id: string) => Promise<ClaimedRow | undefined>;
  readonly recordSent: (sent: SentRecord) => Promise<undefined>;

  constructor(platform: Platform) {
    const { db, config } = platform;
    // Sends start as their jobs do, spread over a few milliseconds: a short window gathers them.
    const groupCommit = { maxBatch: 100, windowMs: 2, maxInFlight: Number.POSITIVE_INFINITY };
    this.claim = tickBatcher((ids: string[]) => claimRows(db, config.DELIVERY_SEND_LEASE_MS, ids), groupCommit);
    this.recordSent = tickBatcher(async (items: SentRecord[]) => {
      await recordSentRows(db, items);
      return items.map(() => undefined);
    }, groupCommit);
  }

  close(): void {
    this.email?.close();
  }
}

const deliveryResources = resourceKind('delivery', (platform: Platform) => new DeliveryResources(platform));

export type SendResult = 'sent' | 'failed' | 'bounced' | `already_${DeliveryStatus}` | 'in_doubt_failed';

export class AttemptInFlightError extends Error {
  constructor(id: string) {
    super(`delivery ${id} has an attempt in flight; retrying later`);
    this.name = 'AttemptInFlightError';
  }
}

const IN_DOUBT_ERROR =
  'two attempts were interrupted between handing the message to the provider and recording the outcome; not sent again, so the recipient gets at most one duplicate';

/**
 * Sends one delivery at most once in normal operation.
 * 1. Claim: a conditional UPDATE opens an attempt (status still queued, no other attempt open, or the open one
 *    is older than DELIVERY_SEND_LEASE_MS, i.e. its worker died). The attempt is committed before sending.
 * 2. Hand the message to the provider.
 * 3. Record the outcome, closing the attempt.
 * A worker that dies between 2 and 3 leaves the attempt open: the next run counts it as unconfirmed and sends
 * once more (the single duplicate a crash window may cause). A second unconfirmed attempt is never followed by
 * a third: the delivery is recorded as failed with the reason.
 */
export async function sendDelivery(platform: Platform, deliveryId: string, attempt: { number: number; max: number }): Promise<SendResult> {
  const sending = platform.resources.get(deliveryResources);
  const delivery = await sending.claim(deliveryId);
  if (!delivery) return settleUnclaimed(platform, deliveryId);
  const outcome = await attemptClaimed(platform, delivery, attempt);
  if (outcome === 'failed' || outcome === 'bounced') return outcome;
  await sending.recordSent(outcome);
  messages.inc({ channel: delivery.channel, outcome: 'sent' });
  return 'sent';
}

/**
 * Steps 2 and 3 of sendDelivery for a claimed row, but a message the provider took is answered, not recorded: the
 * caller closes its attempt (alone or with its batch). A temporary failure with attempts left is recorded, its
 * attempt closed, and thrown (SendFailure) for a retry; a final one is recorded as failed or bounced.
 */
async function attemptClaimed(
  platform: Platform,
  delivery: ClaimedRow,
  attempt: { number: number; max: number },
): Promise<SentRecord | 'failed' | 'bounced'> {
  const { db } = platform;
  const { id, channel } = delivery;
  try {
    const { provider, providerMessageId, reconciled } = await deliver(platform, delivery);
    if (reconciled) messages.inc({ channel, outcome: 'reconciled' });
    return { id, provider, providerMessageId };
  } catch (error) {
    const failure = error instanceof SendFailure ? error : new SendFailure('temporary', (error as Error).message);
    const last = attempt.number >= attempt.max;
    if (failure.kind === 'temporary' && !last) {
      await db.query('update deliveries set error = $2, sending_started_at = null, updated_at = clock_timestamp() where id = $1', [
        id,
        failure.message.slice(0, 2000),
      ]);
      messages.inc({ channel, outcome: 'retried' });
      throw failure;
    }
    const status = failure.kind === 'bounced' ? 'bounced' : 'failed';
    await db.query(
      `update deliveries set status = $2, error = $3, sending_started_at = null, updated_at = clock_timestamp()
       where id = $1 and status = 'queued'`,
      [id, status, failure.message.slice(0, 2000)],
    );
    messages.inc({ channel, outcome: status });
    return status;
  }
}

async function settleUnclaimed(platform: Platform, deliveryId: string): Promise<SendResult> {
  const { rows } = await platform.db.query<DeliveryRow & { lease_open: boolean }>(
    `select *, sending_started_at >= clock_timestamp() - make_interval(secs => $2::double precision / 1000) as lease_open
     from deliveries where id = $1`,
    [deliveryId, platform.config.DELIVERY_SEND_LEASE_MS],
  );
  const d = rows[0];
  if (!d) throw new NotFoundError('delivery', deliveryId);
  if (d.status !== 'queued') return `already_${d.status}`;
  if (d.lease_open) throw new AttemptInFlightError(deliveryId);
  const failed = await platform.db.query(
    `update deliveries set status = 'failed', error = $2, unconfirmed = unconfirmed + 1, sending_started_at = null, updated_at = clock_timestamp()
     where id = $1 and status = 'queued' and sending_started_at is not null`,
    [deliveryId, IN_DOUBT_ERROR],
  );
  if ((failed.rowCount ?? 0) > 0) {
    messages.inc({ channel: d.channel, outcome: 'in_doubt' });
    return 'in_doubt_failed';
  }
  return `already_${d.status}`;
}

interface DeliveryContext {
  template: TemplateRow;
  context: RenderContext;
}

interface ContextRow {
  template: TemplateRow;
  code: string;
  expiration_date: string | null;
  start_date: string | null;
  v_metadata: Record<string, unknown> | null;
  campaign_id: string;
  campaign_name: string;
  c_metadata: Record<string, unknown>;
  customer: { id: string; name: string | null; email: string | null; phone: string | null; metadata: Record<string, unknown> } | null;
}

function contextFromRow(config: Config, d: DeliveryRow, r: ContextRow | null): DeliveryContext {
  if (!r) throw new SendFailure('permanent', 'template or voucher no longer exists');
  const template = { ...r.template, updated_at: new Date(r.template.updated_at), created_at: new Date(r.template.created_at) };
  return {
    template,
    context: {
      voucher: {
        code: r.code,
        ...voucherLinks(linkSettings(config), r.code),
        expiration_date: r.expiration_date ? new Date(r.expiration_date) : null,
        start_date: r.start_date ? new Date(r.start_date) : null,
        campaign_id: r.campaign_id,
        metadata: r.v_metadata ?? {},
      },
      customer: {
        id: r.customer?.id ?? d.customer_id ?? '',
        name: r.customer?.name ?? null,
        email: r.customer?.email ?? (d.channel === 'email' ? d.recipient : null),
        phone: r.customer?.phone ?? (d.channel === 'sms' ? d.recipient : null),
        metadata: r.customer?.metadata ?? {},
      },
      campaign: { id: r.campaign_id, name: r.campaign_name, metadata: r.c_metadata ?? {} },
    },
  };
}

function messageDomain(from: string): string {
  const match = /@([A-Za-z0-9.-]+)/.exec(from);
  return match?.[1] ?? 'promo.local';
}

interface Handover {
  provider: string;
  providerMessageId: string;
  /** The provider already had the message from an interrupted attempt: nothing was sent this time. */
  reconciled: boolean;
}

async function deliver(platform: Platform, d: ClaimedRow): Promise<Handover> {
  const { config } = platform;
  const { template, context } = contextFromRow(config, d, d.ctx);
  const s = platform.resources.get(deliveryResources);
  const interrupted = d.interrupted_attempt_at ? new Date(d.interrupted_attempt_at) : null;
  if (d.channel === 'email') {
    const inlineQr = usesQrInHtml(template);
    const cid = `qr-${d.id}@promo`;
    const htmlContext = inlineQr ? { ...context, voucher: { ...context.voucher, qr_url: `cid:${cid}` } } : context;
    const rendered = await renderTemplate(template, context, htmlContext).catch((e: Error) => {
      throw new SendFailure('permanent', e.message);
    });
    s.email ??= createEmailSender(config);
    const message = {
      to: d.recipient,
      subject: rendered.subject ?? '',
      text: rendered.text,
      html: rendered.html,
      messageId: `<${d.id}@${messageDomain(config.MAIL_FROM)}>`,
      headers: { 'X-Promo-Delivery-Id': d.id },
    };
    const found = interrupted && s.email.findSent ? await s.email.findSent(message) : null;
    if (found) return { provider: s.email.provider, providerMessageId: found.providerMessageId, reconciled: true };
    const sent = await s.email.send({
      ...message,
      attachments: inlineQr
        ? [{ filename: 'code.png', content: await symbolFor('qr', 'png', context.voucher.code), contentType: 'image/png', cid }]
        : undefined,
    });
    return { provider: s.email.provider, providerMessageId: sent.providerMessageId, reconciled: false };
  }
  const rendered = await renderTemplate(template, context).catch((e: Error) => {
    throw new SendFailure('permanent', e.message);
  });
  s.sms ??= createSmsProvider(config);
  const message = { to: d.recipient, body: rendered.text, reference: d.id };
  if (interrupted && s.sms.findSent) {
    // Look back a minute before the interrupted attempt: provider clocks are not ours.
    const found = await s.sms.findSent(message, new Date(interrupted.getTime() - 60_000)).catch(() => null);
    if (found) return { provider: s.sms.name, providerMessageId: found.providerMessageId, reconciled: true };
  }
  const sent = await s.sms.send(message);
  return { provider: s.sms.name, providerMessageId: sent.providerMessageId, reconciled: false };
}

export function deliveryView(d: DeliveryRow): z.output<typeof deliveryViewSchema> {
  return {
    id: d.id,
    channel: d.channel,
    status: d.status,
    recipient: d.recipient,
    customer_id: d.customer_id,
    publication_id: d.publication_id,
    distribution_id: d.distribution_id,
    template_id: d.template_id,
    provider: d.provider,
    provider_message_id: d.provider_message_id,
    error: d.error,
    attempts: d.attempts,
    created_at: isoTime(d.created_at),
    sent_at: isoTime(d.sent_at),
  };
}

/** The provider's rate, shared by every worker process: tokens taken for a wave of a batch at a time. */
const providerPacer = resourceKind(
  'delivery provider pacer',
  (platform: Platform) => new RatePacer(platform.redis, `${keyPrefix(platform.config)}:delivery-pace`),
);
/**
 * Claimed messages waiting for or in a send in this process, per channel (DELIVERY_CONCURRENCY, as the channel's
 * queue had): a wave takes its permits before it claims, so no claim waits long enough for its lease to run out.
 */
const sendPermits = resourceKind('delivery send permits', (platform: Platform) => new KeyedPermits(platform.config.DELIVERY_CONCURRENCY));

/** A rate wait up to this long is slept in the job; a longer one moves the job to the delayed set. */
const SHORT_RATE_WAIT_MS = 1_000;

export type BatchSendResult = SendResult | 'retry_scheduled' | 'in_flight';

export interface BatchSend {
  results: Map<string, BatchSendResult>;
  /** Messages the rate holds back: come back to them in `waitMs`. */
  later?: { deliveryIds: string[]; waitMs: number };
}

/**
 * Sends the first attempt of a batch of one channel's messages in waves of up to half the channel's permits (two
 * waves in flight keep the provider's connections busy). A wave takes its permits, the provider's rate tokens for
 * as many (one script call), claims them all in one statement (committed before any send, as in sendDelivery),
 * sends them concurrently, frees each permit as its send ends, and records every message the provider took in one
 * statement. Each message that failed for a while is queued as its own delayed retry job with the remaining
 * attempts. An infrastructure failure (the database away) fails the whole job after the wave, which BullMQ
 * retries: messages already recorded are not claimed again, and one sent but not recorded has its attempt open,
 * so the retry waits out its lease and counts it unconfirmed (sendDelivery's crash window).
 */
export async function sendDeliveries(platform: Platform, channel: 'email' | 'sms', deliveryIds: readonly string[]): Promise<BatchSend> {
  const { config, db } = platform;
  const pacer = platform.resources.get(providerPacer);
  const permits = platform.resources.get(sendPermits);
  const limit =
    channel === 'email'
      ? { max: config.EMAIL_RATE_MAX, durationMs: config.EMAIL_RATE_DURATION_MS, burst: config.EMAIL_RATE_MAX }
      : { max: config.SMS_RATE_MAX, durationMs: config.SMS_RATE_DURATION_MS, burst: config.SMS_RATE_MAX };
  const max = config.DELIVERY_MAX_ATTEMPTS;
  const waveMax = Math.ceil(permits.width / 2);
  const retryName = channel === 'email' ? 'delivery.email' : 'delivery.sms';
  const results = new Map<string, BatchSendResult>();
  const retries: JobRequest<'delivery.email' | 'delivery.sms'>[] = [];
  let infrastructure: unknown;
  let later: BatchSend['later'];
  let todo = [...deliveryIds];
  const started = Date.now();
  while (todo.length > 0) {
    const held = await permits.acquire(channel, Math.min(todo.length, waveMax));
    let grant: Awaited<ReturnType<RatePacer['take']>>;
    try {
      grant = await pacer.take(channel, held, limit);
    } catch (error) {
      permits.release(channel, held);
      throw error;
    }
    permits.release(channel, held - grant.granted);
    if (grant.granted === 0) {
      if (Date.now() - started + grant.waitMs <= SHORT_RATE_WAIT_MS) {
        await new Promise((resolve) => setTimeout(resolve, grant.waitMs));
        continue;
      }
      later = { deliveryIds: todo, waitMs: grant.waitMs };
      break;
    }
    const wave = todo.slice(0, grant.granted);
    todo = todo.slice(grant.granted);
    let claimed: (ClaimedRow | undefined)[];
    try {
      claimed = await claimRows(db, config.DELIVERY_SEND_LEASE_MS, wave);
    } catch (error) {
      permits.release(channel, wave.length);
      infrastructure = error;
      break;
    }
    const sent: SentRecord[] = [];
    await Promise.all(
      wave.map(async (id, i) => {
        try {
          const row = claimed[i];
          const outcome = row ? await attemptClaimed(platform, row, { number: 1, max }) : await settleUnclaimed(platform, id);
          if (typeof outcome === 'string') results.set(id, outcome);
          else sent.push(outcome);
        } catch (error) {
          if (error instanceof SendFailure) {
            results.set(id, 'retry_scheduled');
            retries.push({
              name: retryName,
              payload: { deliveryId: id },
              overrides: { delay: config.DELIVERY_BACKOFF_MS, attempts: max - 1 },
            });
          } else if (error instanceof AttemptInFlightError) {
            results.set(id, 'in_flight');
            retries.push({ name: retryName, payload: { deliveryId: id }, overrides: { delay: config.DELIVERY_SEND_LEASE_MS } });
          } else {
            infrastructure ??= error;
          }
        } finally {
          permits.release(channel);
        }
      }),
    );
    try {
      await recordSentRows(db, sent);
      for (const s of sent) results.set(s.id, 'sent');
      if (sent.length > 0) messages.inc({ channel, outcome: 'sent' }, sent.length);
    } catch (error) {
      infrastructure ??= error;
    }
    if (infrastructure) break;
  }
  if (retries.length > 0) await enqueueBulk(platform.queues, retries);
  if (infrastructure) throw infrastructure;
  return { results, later };
}

/** The recipient an erased customer's deliveries keep: the address is gone, the record of the message stays. */
export const ERASED_RECIPIENT = 'erased';

/**
 * Erasure of a customer: its deliveries keep their record (channel, template, status, dates) but not its address; one
 * still queued is not sent (failed, `customer erased`), so nothing goes out to an erased customer.
 */
export async function eraseDeliveryRecipient(tx: Queryable, customerId: string): Promise<number> {
  const { rowCount } = await tx.query(
    `update deliveries set recipient = $2, customer_id = null, updated_at = now(),
            status = case when status = 'queued' then 'failed' else status end,
            error = case when status = 'queued' then 'customer erased' else error end
      where customer_id = $1`,
    [customerId, ERASED_RECIPIENT],
  );
  return rowCount ?? 0;
}
