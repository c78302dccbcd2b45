import type pg from 'pg';
import { normalizeCode } from '../codes/index.ts';
import { deliveryOfPublication, dispatchDeliveries, queuedDeliveriesOf } from '../delivery/deliveries.ts';
import { templateForChannel } from '../delivery/templates.ts';
import type { Platform } from '../platform.ts';
import { DomainError } from '../shared/errors.ts';
import type { Actor } from '../shared/events.ts';
import {
  CampaignExhaustedError,
  campaignForPublishing,
  type PublicationRow,
  type PublishItem,
  type PublishOutcome,
  publishBatch,
  resolveRecipient,
} from './publications.ts';
import type { CreatePublicationInput } from './schemas.ts';

export interface PublishResult {
  publication: PublicationRow;
  created: boolean;
  delivery: { id: string; status: string } | null;
}

/**
 * Publishes in one transaction, then, after commit, enqueues the messages of the publications `publish` names that
 * still wait to be sent (new ones, and ones a run that died before enqueuing left behind): the one way publishing
 * hands over to delivery, for single publications, distribution chunks and triggers alike.
 */
export async function publishThenDispatch<T>(
  platform: Platform,
  publish: (tx: pg.PoolClient) => Promise<{ result: T; publicationIds: string[] }>,
): Promise<{ result: T; dispatched: number }> {
  const { result, publicationIds } = await platform.db.transaction(publish);
  const queued = await queuedDeliveriesOf(platform.db, publicationIds);
  await dispatchDeliveries(platform.db, platform.queues, queued);
  return { result, dispatched: queued.length };
}

/** The publications that outcomes name (published now, or found from before). */
export function publicationIdsOf(outcomes: PublishOutcome[]): string[] {
  return outcomes.flatMap((o) => (o.status === 'published' || o.status === 'existing' ? [o.publication.id] : []));
}

/**
 * Publishes one code to one customer (POST /v1/publications). Retries with the same source_id, concurrent or not,
 * get the same publication; the delivery job is enqueued after commit. `joinOnce` asks for the campaign's join_once
 * behaviour for this one call (Voucherify's `join_once` request parameter) when the campaign does not set it; `code`
 * publishes that code of the campaign (422 voucher_not_publishable when it is not there or already held).
 */
export async function publishToCustomer(
  platform: Platform,
  input: CreatePublicationInput,
  actor: Actor,
  options: { joinOnce?: boolean; code?: string } = {},
): Promise<PublishResult> {
  const { db, config } = platform;
  const stored = await campaignForPublishing(db, input.campaign_id);
  const campaign = options.joinOnce ? { ...stored, settings: { ...stored.settings, join_once: true } } : stored;
  if (!campaign.active || campaign.status !== 'active') {
    throw new DomainError('unprocessable', 'campaign_inactive', `Campaign ${campaign.id} is not active.`);
  }
  const recipient = resolveRecipient(input.channel, input.customer, config.SMS_DEFAULT_COUNTRY);
  await templateForChannel(db, input.template_id, input.channel);
  const item: PublishItem = {
    customer: recipient && input.channel === 'sms' ? { ...input.customer, phone: recipient } : input.customer,
    sourceId: input.source_id ?? null,
    channel: input.channel,
    templateId: input.channel === 'none' ? null : (input.template_id ?? null),
    recipient,
    ...(options.code !== undefined ? { code: normalizeCode(options.code) } : {}),
  };
  const { result: outcome } = await publishThenDispatch(platform, async (tx) => {
    const outcomes = await publishBatch(tx, [item], { campaign, actor, now: platform.clock.now() });
    const [o] = outcomes;
    if (o?.status === 'exhausted' && options.code !== undefined) {
      throw new DomainError('unprocessable', 'voucher_not_publishable', 'This code is not in the campaign, or it is already published.', {
        code: options.code,
      });
    }
    if (!o || o.status === 'exhausted' || o.status === 'duplicate') throw new CampaignExhaustedError(campaign.id);
    return { result: o, publicationIds: publicationIdsOf(outcomes) };
  });
  if (outcome.status === 'published') {
    return {
      publication: outcome.publication,
      created: true,
      delivery: outcome.deliveryId ? { id: outcome.deliveryId, status: 'queued' } : null,
    };
  }
  return { publication: outcome.publication, created: false, delivery: await deliveryOfPublication(db, outcome.publication.id) };
}
