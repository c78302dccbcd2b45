import { dispatchDeliveries } from '../delivery/deliveries.ts';
import { templateForChannel } from '../delivery/templates.ts';
import type { Platform } from '../platform.ts';
import { DomainError } from '../shared/errors.ts';
import type { Actor } from '../shared/events.ts';
import {
  CampaignExhaustedError,
  campaignForPublishing,
  type PublicationRow,
  type PublishItem,
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
 * Publishes one code to one customer (POST /v1/publications, triggers). Retries with the same source_id,
 * concurrent or not, get the same publication; the delivery job is enqueued after commit.
 */
export async function publishToCustomer(platform: Platform, input: CreatePublicationInput, actor: Actor): Promise<PublishResult> {
  const { db, config } = platform;
  const campaign = await campaignForPublishing(db, input.campaign_id);
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
  };
  const outcome = await db.transaction(async (tx) => {
    const [o] = await publishBatch(tx, [item], { campaign, actor, now: platform.clock.now() });
    if (!o || o.status === 'exhausted' || o.status === 'duplicate') throw new CampaignExhaustedError(campaign.id);
    return o;
  });
  if (outcome.status === 'published') {
    if (outcome.deliveryId && input.channel !== 'none') {
      await dispatchDeliveries(platform.queues, [{ id: outcome.deliveryId, channel: input.channel }]);
    }
    return {
      publication: outcome.publication,
      created: true,
      delivery: outcome.deliveryId ? { id: outcome.deliveryId, status: 'queued' } : null,
    };
  }
  const { rows } = await db.query<{ id: string; status: string }>(
    'select id, status from deliveries where publication_id = $1 order by created_at limit 1',
    [outcome.publication.id],
  );
  return { publication: outcome.publication, created: false, delivery: rows[0] ?? null };
}
