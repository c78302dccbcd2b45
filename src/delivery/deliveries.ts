import type { z } from 'zod';
import type { Config } from '../../config/index.ts';
import type { Queryable } from '../db/sql.ts';
import type { Platform } from '../platform.ts';
import { enqueueBulk } from '../queues/enqueue.ts';
import type { QueueSet } from '../queues/queues.ts';
import { NotFoundError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { messages } from '../shared/metrics.ts';
import { Batcher } from './batcher.ts';
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
 * Records one message to send, inside the caller's transaction. After commit, pass the result to
 * `dispatchDeliveries` (a row that never got its job gets one from the reconciler, src/queues/reconcile.ts).
 */
export async function queueMessage(tx: Queryable, input: QueueMessageInput): Promise<{ id: string; channel: 'email' | 'sms' }> {
  const { rows } = await tx.query<{ id: string }>(
    `insert into deliveries (channel, recipient, customer_id, voucher_id, publication_id, distribution_id, template_id, purpose)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
    [
      input.channel,
      input.recipient,
      input.customerId ?? null,
      input.voucherId,
      input.publicationId ?? null,
      input.distributionId ?? null,
      input.templateId,
      input.purpose ?? 'publication',
    ],
  );
  return { id: (rows[0] as { id: string }).id, channel: input.channel };
}

/** Enqueues send jobs; the job id is the delivery's, so enqueuing twice is harmless. */
export async function dispatchDeliveries(queues: QueueSet, deliveries: readonly { id: string; channel: 'email' | 'sms' }[]): Promise<void> {
  await enqueueBulk(
    queues,
    deliveries.map((d) => ({ name: d.channel === 'email' ? 'delivery.email' : 'delivery.sms', payload: { deliveryId: d.id } })),
  );
}

interface Senders {
  email?: EmailSender;
  sms?: SmsProvider;
}
const senders = new WeakMap<Config, Senders>();

function sendersFor(config: Config): Senders {
  let s = senders.get(config);
  if (!s) {
    s = {};
    senders.set(config, s);
  }
  return s;
}

/** Closes pooled SMTP connections this process opened for `config`. */
export function closeSenders(config: Config): void {
  const s = senders.get(config);
  s?.email?.close();
  senders.delete(config);
}

type ClaimedRow = DeliveryRow & { ctx: ContextRow | null; interrupted_attempt_at: Date | null };

interface DeliveryBatchers {
  claim: Batcher<string, ClaimedRow | undefined>;
  recordSent: Batcher<{ id: string; provider: string; providerMessageId: string }, void>;
}
const batchers = new WeakMap<Config, DeliveryBatchers>();

/**
 * Claims and "sent" records of concurrent sends share statements (group commit): at high volume that halves
 * nothing in semantics (each row is still claimed by its own conditional update, committed before its send) but
 * divides the round trips by the batch size.
 */
function batchersFor(platform: Platform): DeliveryBatchers {
  let b = batchers.get(platform.config);
  if (b) return b;
  const { db, config } = platform;
  b = {
    claim: new Batcher(
      async (ids: string[]) => {
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
          [[...new Set(ids)], config.DELIVERY_SEND_LEASE_MS],
        );
        const byId = new Map(rows.map((r) => [r.id, r]));
        // The same id twice in one batch (a duplicate job): only the first caller gets the claim.
        return ids.map((id) => {
          const row = byId.get(id);
          byId.delete(id);
          return row;
        });
      },
      100,
      2,
    ),
    recordSent: new Batcher(
      async (items: { id: string; provider: string; providerMessageId: string }[]) => {
        await db.query(
          `update deliveries d set status = 'sent', provider = u.provider, provider_message_id = u.pmid, error = null,
                  sending_started_at = null, sent_at = clock_timestamp(), updated_at = clock_timestamp()
           from unnest($1::uuid[], $2::text[], $3::text[]) as u(id, provider, pmid)
           where d.id = u.id and d.status = 'queued'`,
          [items.map((i) => i.id), items.map((i) => i.provider), items.map((i) => i.providerMessageId)],
        );
        return items.map(() => undefined);
      },
      100,
      2,
    ),
  };
  batchers.set(config, b);
  return b;
}

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
  const { db } = platform;
  const delivery = await batchersFor(platform).claim.add(deliveryId);
  if (!delivery) return settleUnclaimed(platform, deliveryId);

  const channel = delivery.channel;
  let result: SendResult;
  try {
    const { provider, providerMessageId, reconciled } = await deliver(platform, delivery);
    if (reconciled) messages.inc({ channel, outcome: 'reconciled' });
    await batchersFor(platform).recordSent.add({ id: deliveryId, provider, providerMessageId });
    result = 'sent';
  } catch (error) {
    const failure = error instanceof SendFailure ? error : new SendFailure('temporary', (error as Error).message);
    const last = attempt.number >= attempt.max;
    if (failure.kind === 'temporary' && !last) {
      await db.query('update deliveries set error = $2, sending_started_at = null, updated_at = clock_timestamp() where id = $1', [
        deliveryId,
        failure.message.slice(0, 2000),
      ]);
      messages.inc({ channel, outcome: 'retried' });
      throw failure;
    }
    const status = failure.kind === 'bounced' ? 'bounced' : 'failed';
    await db.query(
      `update deliveries set status = $2, error = $3, sending_started_at = null, updated_at = clock_timestamp()
       where id = $1 and status = 'queued'`,
      [deliveryId, status, failure.message.slice(0, 2000)],
    );
    result = status;
  }
  messages.inc({ channel, outcome: result });
  return result;
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
  const s = sendersFor(config);
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
