import { validatedShape } from '../campaigns/campaigns.ts';
import { type CodeConfig, CodeGenerator, normalizeCode } from '../codes/index.ts';
import type { Database, Queryable } from '../db/sql.ts';
import { emitEvent } from '../events/outbox.ts';
import { assertSegmentsExist } from '../segments/segments.ts';
import { DomainError, NotFoundError } from '../shared/errors.ts';
import type { Actor } from '../shared/events.ts';
import { isoTime } from '../shared/fields.ts';
import { pageOf } from '../shared/paging.ts';
import type { CreateVoucherInput, UpdateVoucherInput, VoucherEventView, VoucherView } from './schemas.ts';
import { recordVoucherEvent } from './voucher-events.ts';
import { type VoucherRow, voucherView } from './vouchers.ts';

const DRAW_ATTEMPTS = 20;

/**
 * Creates one voucher outside any bulk generation, with its `created` lifecycle entry and `voucher.created`
 * event in the same transaction. A custom code that exists is a 409; a drawn code that collides is drawn again.
 */
export async function createStandaloneVoucher(db: Database, input: CreateVoucherInput, actor: Actor, now: Date): Promise<VoucherView> {
  await assertSegmentsExist(db, input.rules.conditions);
  return db.transaction(async (tx) => {
    const { rows: campaigns } = await tx.query<{ code_config: CodeConfig }>('select code_config from campaigns where id = $1', [
      input.campaign_id,
    ]);
    const campaign = campaigns[0];
    if (!campaign) throw new NotFoundError('campaign', input.campaign_id);
    const generator = input.code ? null : new CodeGenerator(validatedShape(campaign.code_config));
    let voucher: VoucherRow | undefined;
    for (let attempt = 0; !voucher && attempt < (generator ? DRAW_ATTEMPTS : 1); attempt++) {
      const code = generator ? generator.generateBuffer(1).toString('latin1').trimEnd() : normalizeCode(input.code as string);
      const { rows } = await tx.query<VoucherRow>(
        `insert into vouchers (code, campaign_id, active, start_date, expiration_date, rules, metadata, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8) on conflict (code) do nothing returning *`,
        [code, input.campaign_id, input.active, input.start_date ?? null, input.expiration_date ?? null, input.rules, input.metadata, now],
      );
      voucher = rows[0];
    }
    if (!voucher) {
      if (input.code) throw new DomainError('conflict', 'voucher_code_taken', 'A voucher with this code already exists.');
      throw new DomainError('conflict', 'code_space_exhausted', "No free code could be drawn from the campaign's code config.");
    }
    await tx.query('update campaigns set issued_count = issued_count + 1 where id = $1', [input.campaign_id]);
    const view = voucherView(voucher);
    await recordVoucherEvent(tx, voucher.id, 'created', actor, { source: 'standalone', custom_code: Boolean(input.code) });
    await emitEvent(tx, 'voucher.created', view);
    return view;
  });
}

/**
 * Changes dates, rule overrides or metadata; rule and date changes are logged as `rules_changed`, metadata as
 * `metadata_changed`, and `voucher.updated` names the fields set, in the same transaction.
 */
export async function updateVoucher(db: Database, code: string, patch: UpdateVoucherInput, actor: Actor, now: Date): Promise<VoucherView> {
  await assertSegmentsExist(db, patch.rules?.conditions);
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<VoucherRow>('select * from vouchers where code = $1 for update', [normalizeCode(code)]);
    const before = rows[0];
    if (!before) throw new NotFoundError('voucher', code);
    const { rows: updated } = await tx.query<VoucherRow>(
      `update vouchers set
         start_date = case when $2 then $3::timestamptz else start_date end,
         expiration_date = case when $4 then $5::timestamptz else expiration_date end,
         rules = coalesce($6::jsonb, rules),
         metadata = coalesce($7::jsonb, metadata),
         updated_at = $8
       where id = $1 returning *`,
      [
        before.id,
        patch.start_date !== undefined,
        patch.start_date ?? null,
        patch.expiration_date !== undefined,
        patch.expiration_date ?? null,
        patch.rules ?? null,
        patch.metadata ?? null,
        now,
      ],
    );
    const after = updated[0] as VoucherRow;
    const ruleChanges: Record<string, { from: unknown; to: unknown }> = {};
    for (const field of ['start_date', 'expiration_date', 'rules'] as const) {
      if (patch[field] === undefined) continue;
      const [from, to] = field === 'rules' ? [before.rules, after.rules] : [isoTime(before[field]), isoTime(after[field])];
      ruleChanges[field] = { from, to };
    }
    if (Object.keys(ruleChanges).length > 0) await recordVoucherEvent(tx, before.id, 'rules_changed', actor, ruleChanges);
    if (patch.metadata !== undefined) {
      await recordVoucherEvent(tx, before.id, 'metadata_changed', actor, { from: before.metadata, to: after.metadata });
    }
    const view = voucherView(after);
    const changed = (['start_date', 'expiration_date', 'rules', 'metadata'] as const).filter((f) => patch[f] !== undefined);
    await emitEvent(tx, 'voucher.updated', { ...view, changed });
    return view;
  });
}

/**
 * Disables or enables a voucher. Only a real change (conditional UPDATE) writes the lifecycle entry and the
 * `voucher.disabled` / `voucher.enabled` event; repeating the call is a no-op that returns the voucher.
 */
export async function setVoucherActive(db: Database, code: string, active: boolean, actor: Actor, now: Date, reason?: string) {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<VoucherRow>(
      'update vouchers set active = $2, updated_at = $3 where code = $1 and active <> $2 returning *',
      [normalizeCode(code), active, now],
    );
    const changed = rows[0];
    if (!changed) {
      const current = await tx.query<VoucherRow>('select * from vouchers where code = $1', [normalizeCode(code)]);
      if (!current.rows[0]) throw new NotFoundError('voucher', code);
      return { voucher: voucherView(current.rows[0]), changed: false };
    }
    const view = voucherView(changed);
    const type = active ? 'enabled' : 'disabled';
    await recordVoucherEvent(tx, changed.id, type, actor, reason ? { reason } : {});
    await emitEvent(tx, `voucher.${type}`, { ...view, ...(reason ? { reason } : {}) });
    return { voucher: view, changed: true };
  });
}

/**
 * Deletes a voucher as Voucherify does, without losing its history: it is disabled and hidden (`deleted_at`), its
 * lifecycle log and redemptions stay, and its code stays taken. `force` marks it hidden for good. Deleting a deleted
 * voucher again changes nothing unless it newly forces; the answer says whether this call deleted it.
 */
export async function deleteVoucher(db: Database, code: string, force: boolean, actor: Actor, now: Date) {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<VoucherRow>(
      `update vouchers set active = false, deleted_at = coalesce(deleted_at, $2), deleted_for_good = coalesce(deleted_for_good, false) or $3,
         updated_at = $2
       where code = $1 and (deleted_at is null or ($3 and not coalesce(deleted_for_good, false))) returning *`,
      [normalizeCode(code), now, force],
    );
    const deleted = rows[0];
    if (!deleted) {
      const current = await tx.query<{ id: string }>('select id from vouchers where code = $1 and deleted_at is null', [
        normalizeCode(code),
      ]);
      if (!current.rows[0]) throw new NotFoundError('voucher', code);
      return { deleted: false };
    }
    await recordVoucherEvent(tx, deleted.id, 'deleted', actor, { force });
    await emitEvent(tx, 'voucher.deleted', { ...voucherView(deleted), force });
    return { deleted: true };
  });
}

export interface VoucherEventRow {
  id: string;
  type: string;
  actor: string | null;
  details: Record<string, unknown>;
  created_at: Date | string;
}

function voucherEventView(e: VoucherEventRow): VoucherEventView {
  return {
    id: String(e.id),
    type: e.type as VoucherEventView['type'],
    actor: e.actor,
    details: e.details,
    created_at: isoTime(e.created_at),
  };
}

/** A voucher's lifecycle log, oldest first, a page at a time. */
export async function listVoucherEvents(db: Queryable, code: string, limit: number, after?: readonly [string]) {
  const { rows: vouchers } = await db.query<{ id: string }>('select id from vouchers where code = $1', [normalizeCode(code)]);
  const voucher = vouchers[0];
  if (!voucher) throw new NotFoundError('voucher', code);
  const { rows } = await db.query<VoucherEventRow>(
    'select id, type, actor, details, created_at from voucher_events where voucher_id = $1 and id > $2 order by id limit $3',
    [voucher.id, after?.[0] ?? '0', limit + 1],
  );
  const page = pageOf(rows, limit, (e) => [String(e.id)]);
  return { data: page.data.map(voucherEventView), next_cursor: page.next_cursor };
}

/** Vouchers filtered by campaign, state and metadata containment (GIN index over standalone vouchers' metadata). */
export async function listVouchers(
  db: Queryable,
  filter: {
    campaign_id?: string;
    metadata?: Record<string, unknown>;
    active?: 'true' | 'false';
    status?: string;
    limit: number;
    cursor?: readonly [string];
  },
) {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (filter.campaign_id) add((n) => `campaign_id = $${n}`, filter.campaign_id);
  if (filter.metadata) add((n) => `metadata is not null and metadata @> $${n}::jsonb`, JSON.stringify(filter.metadata));
  if (filter.active) add((n) => `active = $${n}`, filter.active === 'true');
  if (filter.status) add((n) => `status = $${n}`, filter.status);
  if (filter.cursor) add((n) => `id > $${n}`, filter.cursor[0]);
  params.push(filter.limit + 1);
  const { rows } = await db.query<VoucherRow>(
    `select * from vouchers ${where.length ? `where ${where.join(' and ')}` : ''} order by id limit $${params.length}`,
    params,
  );
  const page = pageOf(rows, filter.limit, (v) => [String(v.id)]);
  return { data: page.data.map(voucherView), next_cursor: page.next_cursor };
}
