import type pg from 'pg';
import { validatedShape } from '../campaigns/campaigns.ts';
import { type CodeConfig, CodeGenerator } from '../codes/index.ts';
import { upsertCustomers } from '../customers/customers.ts';
import { type Queryable, rowById } from '../db/sql.ts';
import { queueMessages } from '../delivery/deliveries.ts';
import { normalizePhone } from '../delivery/phone.ts';
import type { CustomerInput } from '../delivery/schemas.ts';
import type { EventPayload } from '../events/catalog.ts';
import { emitEvents } from '../events/outbox.ts';
import { DomainError, NotFoundError, ValidationError } from '../shared/errors.ts';
import type { Actor } from '../shared/events.ts';
import { isoTime } from '../shared/fields.ts';
import { isUuid } from '../shared/uuid.ts';
import { recordVoucherEvents } from '../vouchers/voucher-events.ts';
import type { PublicationView } from './schemas.ts';

export type PublicationChannel = 'email' | 'sms' | 'none';

export interface PublishingSettings {
  join_once: boolean;
  generate_on_demand: boolean;
}

export interface CampaignForPublishing {
  id: string;
  name: string;
  active: boolean;
  status: string;
  code_config: CodeConfig;
  expiration_date: Date | null;
  settings: PublishingSettings;
}

export interface PublicationRow {
  id: string;
  campaign_id: string;
  voucher_id: string;
  code: string;
  customer_id: string;
  source_id: string | null;
  channel: PublicationChannel;
  template_id: string | null;
  distribution_id: string | null;
  created_at: Date;
}

/** One customer to publish a code to, with where the message goes (already validated and normalized). */
export interface PublishItem {
  customer: CustomerInput;
  sourceId: string | null;
  channel: PublicationChannel;
  templateId: string | null;
  /** Email address or E.164 number; null when channel is none. */
  recipient: string | null;
  /** This code of the campaign (normalized), when the caller chose it; otherwise an unassigned one is claimed. */
  code?: string;
}

export type PublishOutcome =
  | { status: 'published'; publication: PublicationRow; deliveryId: string | null }
  | { status: 'existing'; publication: PublicationRow }
  | { status: 'duplicate' }
  | { status: 'exhausted' };

export class CampaignExhaustedError extends DomainError {
  constructor(campaignId: string) {
    super('unprocessable', 'campaign_exhausted', `Campaign ${campaignId} has no unassigned code left.`, { campaign_id: campaignId });
  }
}

/**
 * The campaign and its publishing settings. Settings live in campaign_publishing; `join_once` and
 * `generate_on_demand` in campaigns.rules are honoured too, so either place can switch them on.
 */
export async function campaignForPublishing(q: Queryable, campaignId: string): Promise<CampaignForPublishing> {
  const { rows } = isUuid(campaignId)
    ? await q.query<CampaignForPublishing & { join_once: boolean; generate_on_demand: boolean }>(
        `select c.id, c.name, c.active, c.status, c.code_config, c.expiration_date,
                coalesce(s.join_once, false) or coalesce((c.rules->>'join_once')::boolean, false) as join_once,
                coalesce(s.generate_on_demand, false) or coalesce((c.rules->>'generate_on_demand')::boolean, false) as generate_on_demand
         from campaigns c left join campaign_publishing s on s.campaign_id = c.id where c.id = $1`,
        [campaignId],
      )
    : { rows: [] };
  const row = rows[0];
  if (!row) throw new NotFoundError('campaign', campaignId);
  return { ...row, settings: { join_once: row.join_once, generate_on_demand: row.generate_on_demand } };
}

export async function setPublishingSettings(
  q: Queryable,
  campaignId: string,
  input: Partial<PublishingSettings>,
): Promise<PublishingSettings> {
  await campaignForPublishing(q, campaignId);
  const { rows } = await q.query<PublishingSettings>(
    `insert into campaign_publishing (campaign_id, join_once, generate_on_demand) values ($1, coalesce($2, false), coalesce($3, false))
     on conflict (campaign_id) do update set join_once = coalesce($2, campaign_publishing.join_once),
       generate_on_demand = coalesce($3, campaign_publishing.generate_on_demand), updated_at = now()
     returning join_once, generate_on_demand`,
    [campaignId, input.join_once ?? null, input.generate_on_demand ?? null],
  );
  return rows[0] as PublishingSettings;
}

/** Validates and normalizes where a message for this customer goes; null when channel is none. */
export function resolveRecipient(
  channel: PublicationChannel,
  customer: CustomerInput,
  defaultCountry: string,
  field = 'customer',
): string | null {
  if (channel === 'none') return null;
  if (channel === 'email') {
    if (!customer.email) throw new ValidationError([{ field: `${field}.email`, message: 'required for channel email' }]);
    return customer.email.trim();
  }
  if (!customer.phone) throw new ValidationError([{ field: `${field}.phone`, message: 'required for channel sms' }]);
  const phone = normalizePhone(customer.phone, defaultCountry);
  if (!phone) throw new ValidationError([{ field: `${field}.phone`, message: 'not a valid phone number' }], 'invalid_phone_number');
  return phone;
}

export interface PublishContext {
  campaign: CampaignForPublishing;
  actor: Actor;
  now: Date;
  distributionId?: string | null;
}

/**
 * Publishes one code to each item, in the caller's transaction, with a constant number of statements
 * however many items there are:
 *  - an item whose source_id already has a publication gets that publication back (`existing`);
 *  - with join_once, a customer who already holds a code of the campaign gets it back (`existing`);
 *  - within a distribution a customer named twice is published once (`duplicate`);
 *  - the rest claim unassigned codes with FOR UPDATE SKIP LOCKED (concurrent publishers never see the same
 *    row), or fresh codes when the campaign generates on demand; with neither left, `exhausted`.
 * Unique indexes settle races the reads above cannot see: a losing insert releases its code and reports the
 * winner's publication. The lifecycle log, the outbox and the delivery rows are written in the same transaction.
 */
export async function publishBatch(tx: pg.PoolClient, items: PublishItem[], ctx: PublishContext): Promise<PublishOutcome[]> {
  const { campaign, now } = ctx;
  const outcomes: (PublishOutcome | undefined)[] = new Array(items.length);
  const distributionId = ctx.distributionId ?? null;

  const sourceIds = items.map((i) => i.sourceId).filter((s): s is string => s !== null);
  if (sourceIds.length > 0) {
    const existing = await tx.query<PublicationRow>('select * from publications where source_id = any($1::text[])', [sourceIds]);
    const bySource = new Map(existing.rows.map((p) => [p.source_id, p]));
    items.forEach((item, i) => {
      const p = item.sourceId ? bySource.get(item.sourceId) : undefined;
      if (p) outcomes[i] = { status: 'existing', publication: p };
    });
  }
  if (campaign.settings.join_once) {
    const ids = items.filter((_, i) => !outcomes[i]).map((item) => item.customer.id);
    if (ids.length > 0) {
      const existing = await tx.query<PublicationRow>(
        'select * from publications where campaign_id = $1 and join_once and customer_id = any($2::text[])',
        [campaign.id, ids],
      );
      const byCustomer = new Map(existing.rows.map((p) => [p.customer_id, p]));
      items.forEach((item, i) => {
        const p = byCustomer.get(item.customer.id);
        if (!outcomes[i] && p) outcomes[i] = { status: 'existing', publication: p };
      });
    }
  }
  if (distributionId) {
    const ids = items.filter((_, i) => !outcomes[i]).map((item) => item.customer.id);
    const existing = await tx.query<{ customer_id: string }>(
      'select customer_id from publications where distribution_id = $1 and customer_id = any($2::text[])',
      [distributionId, ids],
    );
    const seen = new Set(existing.rows.map((r) => r.customer_id));
    items.forEach((item, i) => {
      if (outcomes[i]) return;
      if (seen.has(item.customer.id)) outcomes[i] = { status: 'duplicate' };
      else seen.add(item.customer.id);
    });
  }
  // Within one batch a join_once customer also gets one code (the first item; the others share it below).
  const firstOfCustomer = new Map<string, number>();
  const pending: number[] = [];
  items.forEach((item, i) => {
    if (outcomes[i]) return;
    if (campaign.settings.join_once) {
      if (firstOfCustomer.has(item.customer.id)) return;
      firstOfCustomer.set(item.customer.id, i);
    }
    pending.push(i);
  });

  const assigned = new Map<number, { voucherId: string; code: string }>();
  if (pending.length > 0) {
    await upsertCustomers(
      tx,
      pending.map((i) => (items[i] as PublishItem).customer),
    );
    // A chosen code is claimed as it is, if the campaign has it and nobody holds it yet.
    const pool: number[] = [];
    for (const i of pending) {
      const chosen = (items[i] as PublishItem).code;
      if (chosen === undefined) {
        pool.push(i);
        continue;
      }
      const { rows } = await tx.query<{ id: string; code: string }>(
        `update vouchers set published_at = $3, holder_customer_id = $4, updated_at = $3
         where code = $1 and campaign_id = $2 and published_at is null and holder_customer_id is null returning id, code`,
        [chosen, campaign.id, now, (items[i] as PublishItem).customer.id],
      );
      if (rows[0]) assigned.set(i, { voucherId: rows[0].id, code: rows[0].code });
    }
    const claimed = await tx.query<{ id: string; code: string; rn: string }>(
      `with picked as (
         select id from vouchers
         where campaign_id = $1 and published_at is null and holder_customer_id is null and active and status = 'active'
           and redemption_count = 0
           and (expiration_date is null or expiration_date > $2)
         order by id limit $3 for update skip locked),
       numbered as (select id, row_number() over (order by id) as rn from picked),
       input as (select customer_id, rn from unnest($4::text[]) with ordinality as t(customer_id, rn))
       update vouchers v set published_at = $2, holder_customer_id = input.customer_id, updated_at = $2
       from numbered join input using (rn) where v.id = numbered.id
       returning v.id, v.code, input.rn`,
      [campaign.id, now, pool.length, pool.map((i) => (items[i] as PublishItem).customer.id)],
    );
    for (const row of claimed.rows) {
      assigned.set(pool[Number(row.rn) - 1] as number, { voucherId: row.id, code: row.code });
    }
    const unserved = pool.filter((i) => !assigned.has(i));
    if (unserved.length > 0 && campaign.settings.generate_on_demand) {
      await generateOnDemand(tx, campaign, unserved, items, assigned, now);
    }
  }

  // Insert publications for every assigned item; unique indexes decide races with concurrent transactions.
  // Sorted by customer for the same reason: unique-index waits between concurrent batches happen in one order.
  const customerOf = (i: number) => (items[i] as PublishItem).customer.id;
  const order = [...assigned.keys()].sort((a, b) => (customerOf(a) < customerOf(b) ? -1 : customerOf(a) > customerOf(b) ? 1 : a - b));
  const inserted = new Map<string, PublicationRow>();
  const lostRace = new Set<number>();
  if (order.length > 0) {
    const res = await tx.query<PublicationRow>(
      `insert into publications (campaign_id, voucher_id, code, customer_id, source_id, join_once, channel, template_id, distribution_id, actor, created_at)
       select $1, voucher_id, code, customer_id, source_id, $2, channel, template_id, $3, $4, $5
       from unnest($6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::uuid[])
         as t(voucher_id, code, customer_id, source_id, channel, template_id)
       on conflict do nothing
       returning *`,
      [
        campaign.id,
        campaign.settings.join_once,
        distributionId,
        ctx.actor,
        now,
        order.map((i) => assigned.get(i)?.voucherId),
        order.map((i) => assigned.get(i)?.code),
        order.map((i) => (items[i] as PublishItem).customer.id),
        order.map((i) => (items[i] as PublishItem).sourceId),
        order.map((i) => (items[i] as PublishItem).channel),
        order.map((i) => (items[i] as PublishItem).templateId),
      ],
    );
    for (const p of res.rows) inserted.set(String(p.voucher_id), p);
    const lost = order.filter((i) => !inserted.has(String(assigned.get(i)?.voucherId)));
    if (lost.length > 0) {
      // A concurrent transaction won the source_id / join_once / distribution slot: give the code back.
      await tx.query('update vouchers set published_at = null, holder_customer_id = null, updated_at = $2 where id = any($1::bigint[])', [
        lost.map((i) => assigned.get(i)?.voucherId),
        now,
      ]);
      for (const i of lost) {
        assigned.delete(i);
        lostRace.add(i);
      }
    }
  }

  // Log, outbox and deliveries for the new publications (set-based: one statement each).
  const fresh = [...assigned.keys()].map((i) => ({ i, p: inserted.get(String(assigned.get(i)?.voucherId)) as PublicationRow }));
  const deliveryByPublication = new Map<string, string>();
  if (fresh.length > 0) {
    await recordVoucherEvents(
      tx,
      'published',
      ctx.actor,
      fresh.map(({ p }) => ({
        voucherId: p.voucher_id,
        details: {
          publication_id: p.id,
          customer_id: p.customer_id,
          source_id: p.source_id,
          distribution_id: p.distribution_id,
          channel: p.channel,
        },
      })),
    );
    await emitEvents(
      tx,
      'voucher.published',
      fresh.map(({ p }) => publishedEventData(p)),
    );
    const queued = await queueMessages(
      tx,
      fresh.flatMap(({ i, p }) => {
        const item = items[i] as PublishItem;
        if (item.channel === 'none') return [];
        return [
          {
            channel: item.channel,
            recipient: item.recipient as string,
            customerId: p.customer_id,
            voucherId: p.voucher_id,
            publicationId: p.id,
            distributionId,
            templateId: item.templateId as string,
          },
        ];
      }),
      now,
    );
    for (const d of queued) deliveryByPublication.set(d.publicationId as string, d.id);
    for (const { i, p } of fresh)
      outcomes[i] = { status: 'published', publication: p, deliveryId: deliveryByPublication.get(p.id) ?? null };
  }

  // Items that lost a race or repeated a join_once customer get the winner's publication; the rest found no code.
  const open = items.map((_, i) => i).filter((i) => !outcomes[i]);
  if (open.length > 0) {
    const existing = await tx.query<PublicationRow>(
      `select * from publications where source_id = any($1::text[])
       union select * from publications where campaign_id = $2 and join_once and customer_id = any($3::text[])`,
      [
        open.map((i) => (items[i] as PublishItem).sourceId).filter(Boolean),
        campaign.id,
        open.map((i) => (items[i] as PublishItem).customer.id),
      ],
    );
    for (const i of open) {
      const item = items[i] as PublishItem;
      const p =
        existing.rows.find((r) => item.sourceId !== null && r.source_id === item.sourceId) ??
        (campaign.settings.join_once ? existing.rows.find((r) => r.customer_id === item.customer.id) : undefined);
      if (p) outcomes[i] = { status: 'existing', publication: p };
      else outcomes[i] = lostRace.has(i) ? { status: 'duplicate' } : { status: 'exhausted' };
    }
  }
  return outcomes as PublishOutcome[];
}

/** A code brought along by an import already held by a customer elsewhere (its holder is set on the voucher). */
export interface HeldImportedCode {
  voucherId: string;
  code: string;
  customer: CustomerInput;
}

/**
 * Records the publications of imported codes that already had a holder: customers upserted, one publication each
 * (channel none, actor the importer). With join_once, a customer's first code is their one code of the campaign
 * (later publications return it); a second code of theirs, imported or held already, is kept but not marked. No
 * `voucher.published` events: nothing was published here (the import's `imported` lifecycle entries name the holder).
 */
export async function recordImportedPublications(
  tx: Queryable,
  campaign: CampaignForPublishing,
  held: HeldImportedCode[],
  actor: Actor,
  now: Date,
): Promise<void> {
  if (held.length === 0) return;
  await upsertCustomers(
    tx,
    held.map((h) => h.customer),
  );
  const rows = [...held].sort((a, b) => (a.customer.id < b.customer.id ? -1 : a.customer.id > b.customer.id ? 1 : 0));
  const params = [
    campaign.id,
    campaign.settings.join_once,
    actor,
    now,
    rows.map((h) => h.voucherId),
    rows.map((h) => h.code),
    rows.map((h) => h.customer.id),
  ];
  const heldRows = `select voucher_id, code, customer_id, row_number() over (partition by customer_id order by voucher_id) as nth
                 from unnest($5::bigint[], $6::text[], $7::text[]) as t(voucher_id, code, customer_id)`;
  // join_once's unique index refuses a customer who holds a marked code already: those rows go in unmarked below.
  await tx.query(
    `insert into publications (campaign_id, voucher_id, code, customer_id, join_once, channel, actor, created_at)
     select $1, voucher_id, code, customer_id, $2 and nth = 1, 'none', $3, $4 from (${heldRows}) h
     on conflict do nothing`,
    params,
  );
  if (campaign.settings.join_once) {
    await tx.query(
      `insert into publications (campaign_id, voucher_id, code, customer_id, join_once, channel, actor, created_at)
       select $1, voucher_id, code, customer_id, false, 'none', $3, $4 from (${heldRows}) h
       where $2 and not exists (select 1 from publications p where p.voucher_id = h.voucher_id)`,
      params,
    );
  }
}

async function generateOnDemand(
  tx: Queryable,
  campaign: CampaignForPublishing,
  unserved: number[],
  items: PublishItem[],
  assigned: Map<number, { voucherId: string; code: string }>,
  now: Date,
): Promise<void> {
  const generator = new CodeGenerator(validatedShape(campaign.code_config));
  let missing = [...unserved];
  for (let round = 0; missing.length > 0 && round < 20; round++) {
    const codes = generator.generateBuffer(missing.length).toString('latin1').split('\n').slice(0, missing.length);
    const res = await tx.query<{ id: string; code: string }>(
      `insert into vouchers (code, campaign_id, published_at, holder_customer_id, created_at, updated_at)
       select code, $1, $2, customer_id, $2, $2 from unnest($3::text[], $4::text[]) as t(code, customer_id)
       on conflict (code) do nothing returning id, code`,
      [campaign.id, now, codes, missing.map((i) => (items[i] as PublishItem).customer.id)],
    );
    const byCode = new Map(res.rows.map((r) => [r.code, r.id]));
    const still: number[] = [];
    missing.forEach((i, k) => {
      const id = byCode.get(codes[k] as string);
      if (id) assigned.set(i, { voucherId: id, code: codes[k] as string });
      else still.push(i);
    });
    missing = still;
    if (res.rows.length > 0)
      await tx.query('update campaigns set issued_count = issued_count + $2 where id = $1', [campaign.id, res.rows.length]);
  }
}

export function publishedEventData(p: PublicationRow): EventPayload<'voucher.published'> {
  return {
    publication_id: p.id,
    campaign_id: p.campaign_id,
    code: p.code,
    customer_id: p.customer_id,
    source_id: p.source_id,
    channel: p.channel,
    distribution_id: p.distribution_id,
    published_at: new Date(p.created_at).toISOString(),
  };
}

export function publicationView(p: PublicationRow, delivery?: { id: string; status: string } | null): PublicationView {
  return {
    id: p.id,
    campaign_id: p.campaign_id,
    code: p.code,
    voucher: { code: p.code },
    customer_id: p.customer_id,
    source_id: p.source_id,
    channel: p.channel,
    template_id: p.template_id,
    distribution_id: p.distribution_id,
    delivery: delivery ? { id: delivery.id, status: delivery.status } : null,
    created_at: isoTime(p.created_at),
  };
}

/** The ids of the publications made for these source ids. */
export async function publicationIdsBySource(q: Queryable, sourceIds: string[]): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>('select id from publications where source_id = any($1::text[])', [sourceIds]);
  return rows.map((r) => r.id);
}

export async function getPublication(q: Queryable, id: string): Promise<PublicationRow> {
  return rowById<PublicationRow>(q, 'publications', 'publication', id);
}
