import type { z } from 'zod';
import { upsertCustomers } from '../customers/customers.ts';
import type { Queryable } from '../db/sql.ts';
import { templateForChannel } from '../delivery/templates.ts';
import { emitEvent } from '../events/outbox.ts';
import { applyOrderEvent } from '../orders/orders.ts';
import type { Platform } from '../platform.ts';
import { campaignForPublishing, type PublicationChannel, publishBatch, resolveRecipient } from '../publications/publications.ts';
import { publicationIdsOf, publishThenDispatch } from '../publications/publish.ts';
import { enqueue } from '../queues/enqueue.ts';
import { NotFoundError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { isUuid } from '../shared/uuid.ts';
import { isErasedCustomer } from './erasure.ts';
import type { BusinessEventInput, businessEventViewSchema, CreateTriggerInput, triggerViewSchema } from './schemas.ts';

export interface TriggerRow {
  id: string;
  campaign_id: string;
  event_type: string;
  channel: PublicationChannel;
  template_id: string | null;
  conditions: { min_amount?: number; currency?: string };
  active: boolean;
  created_at: Date;
}

export interface BusinessEventRow {
  id: string;
  type: string;
  customer: BusinessEventInput['customer'];
  data: Record<string, unknown>;
  source_id: string | null;
  status: 'received' | 'processed' | 'failed';
  result: unknown;
  created_at: Date;
  processed_at: Date | null;
}

export async function createTrigger(db: Queryable, campaignId: string, input: CreateTriggerInput): Promise<TriggerRow> {
  const campaign = await campaignForPublishing(db, campaignId);
  await templateForChannel(db, input.template_id, input.channel);
  const { rows } = await db.query<TriggerRow>(
    `insert into campaign_triggers (campaign_id, event_type, channel, template_id, conditions, active)
     values ($1, $2, $3, $4, $5, $6) returning *`,
    [campaign.id, input.event, input.channel, input.channel === 'none' ? null : input.template_id, input.conditions, input.active],
  );
  return rows[0] as TriggerRow;
}

export async function listTriggers(db: Queryable, campaignId: string): Promise<TriggerRow[]> {
  const campaign = await campaignForPublishing(db, campaignId);
  const { rows } = await db.query<TriggerRow>('select * from campaign_triggers where campaign_id = $1 order by created_at', [campaign.id]);
  return rows;
}

export async function deleteTrigger(db: Queryable, campaignId: string, triggerId: string): Promise<void> {
  const { rowCount } = isUuid(triggerId)
    ? await db.query('delete from campaign_triggers where campaign_id = $1 and id = $2', [campaignId, triggerId])
    : { rowCount: 0 };
  if (!rowCount) throw new NotFoundError('trigger', triggerId);
}

export function triggerView(t: TriggerRow): z.output<typeof triggerViewSchema> {
  return {
    id: t.id,
    campaign_id: t.campaign_id,
    event: t.event_type,
    channel: t.channel,
    template_id: t.template_id,
    conditions: t.conditions,
    active: t.active,
    created_at: isoTime(t.created_at),
  };
}

/**
 * Intake only: records the event (once per source_id), writes it to the outbox, and enqueues its processing.
 * Publishing and delivery happen in the job.
 */
export async function recordBusinessEvent(
  platform: Platform,
  input: BusinessEventInput,
): Promise<{ event: BusinessEventRow; created: boolean }> {
  const result = await platform.db.transaction(async (tx) => {
    const { rows } = await tx.query<BusinessEventRow>(
      `insert into business_events (type, customer, data, source_id) values ($1, $2, $3, $4)
       on conflict (source_id) do nothing returning *`,
      [input.type, input.customer, input.data, input.source_id ?? null],
    );
    const event = rows[0];
    if (event) {
      await emitEvent(tx, input.type, {
        event_id: event.id,
        source_id: event.source_id,
        customer: event.customer,
        data: event.data,
        occurred_at: new Date(event.created_at).toISOString(),
      });
      return { event, created: true };
    }
    const existing = await tx.query<BusinessEventRow>('select * from business_events where source_id = $1', [input.source_id]);
    return { event: existing.rows[0] as BusinessEventRow, created: false };
  });
  if (result.event.status === 'received') {
    await enqueue(platform.queues, 'business-event.process', { eventId: result.event.id });
  }
  return result;
}

function matches(t: TriggerRow, e: BusinessEventRow): boolean {
  const c = t.conditions ?? {};
  if (c.min_amount !== undefined) {
    const amount = Number(e.data.amount);
    if (!Number.isFinite(amount) || amount < c.min_amount) return false;
  }
  if (c.currency !== undefined && String(e.data.currency ?? '').toUpperCase() !== c.currency) return false;
  return true;
}

export interface TriggerOutcome {
  trigger_id: string;
  campaign_id: string;
  status: 'published' | 'existing' | 'exhausted' | 'duplicate' | 'invalid_recipient' | 'campaign_inactive' | 'not_matched';
  code?: string;
  publication_id?: string;
  error?: string;
}

/**
 * Runs every active trigger for the event's type. Each trigger publishes with source_id
 * `evt-<event>-<trigger>`, so a re-run (crash, retry) finds its publication instead of issuing again.
 */
export async function processBusinessEvent(
  platform: Platform,
  eventId: string,
): Promise<TriggerOutcome[] | 'missing' | 'already_processed'> {
  const { db, config } = platform;
  const { rows } = await db.query<BusinessEventRow>('select * from business_events where id = $1', [eventId]);
  const event = rows[0];
  if (!event) return 'missing';
  if (event.status === 'processed') return 'already_processed';
  // Order events change the order's redemptions and reservations first (idempotent, so a re-run changes nothing).
  const order = await applyOrderEvent(db, event, platform.clock.now());
  if (order) platform.logger.info({ eventId, ...order }, 'order event applied');
  // Every event keeps the customer record current, whether or not a trigger issues anything; an erased customer's
  // event (erased before it was processed) changes its order and nothing else.
  const erased = isErasedCustomer(event.customer);
  if (!erased) await upsertCustomers(db, [event.customer]);
  const triggers = erased
    ? { rows: [] }
    : await db.query<TriggerRow>('select * from campaign_triggers where event_type = $1 and active order by created_at', [event.type]);
  const outcomes: TriggerOutcome[] = [];
  for (const t of triggers.rows) {
    const base = { trigger_id: t.id, campaign_id: t.campaign_id };
    if (!matches(t, event)) {
      outcomes.push({ ...base, status: 'not_matched' });
      continue;
    }
    const campaign = await campaignForPublishing(db, t.campaign_id);
    if (!campaign.active || campaign.status !== 'active') {
      outcomes.push({ ...base, status: 'campaign_inactive' });
      continue;
    }
    let recipient: string | null;
    try {
      recipient = resolveRecipient(t.channel, event.customer, config.SMS_DEFAULT_COUNTRY);
    } catch (error) {
      outcomes.push({ ...base, status: 'invalid_recipient', error: (error as Error).message });
      continue;
    }
    const customer = t.channel === 'sms' && recipient ? { ...event.customer, phone: recipient } : event.customer;
    const { result: o } = await publishThenDispatch(platform, async (tx) => {
      const published = await publishBatch(
        tx,
        [{ customer, sourceId: `evt-${event.id}-${t.id}`, channel: t.channel, templateId: t.template_id, recipient }],
        { campaign, actor: `trigger:${t.id}`, now: platform.clock.now() },
      );
      return { result: published[0], publicationIds: publicationIdsOf(published) };
    });
    if (!o) continue;
    if (o.status === 'published' || o.status === 'existing') {
      outcomes.push({ ...base, status: o.status, code: o.publication.code, publication_id: o.publication.id });
    } else outcomes.push({ ...base, status: o.status });
  }
  await db.query(`update business_events set status = 'processed', result = $2, processed_at = now() where id = $1`, [
    eventId,
    JSON.stringify(outcomes),
  ]);
  return outcomes;
}

export function businessEventView(e: BusinessEventRow): z.output<typeof businessEventViewSchema> {
  return {
    id: e.id,
    type: e.type,
    customer_id: e.customer.id,
    source_id: e.source_id,
    status: e.status,
    result: e.result ?? null,
    created_at: isoTime(e.created_at),
    processed_at: isoTime(e.processed_at),
  };
}
