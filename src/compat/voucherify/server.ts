import express, { type Router } from 'express';
import { createCampaign, updateCampaign } from '../../campaigns/campaigns.ts';
import { createCampaignSchema } from '../../campaigns/schemas.ts';
import type { Queryable } from '../../db/sql.ts';
import { findGeneration, generationView, requestGeneration } from '../../generations/generations.ts';
import { createImport, getImport, importView } from '../../imports/imports.ts';
import type { Platform } from '../../platform.ts';
import { setPublishingSettings } from '../../publications/publications.ts';
import { publishToCustomer } from '../../publications/publish.ts';
import { listRedemptions } from '../../redemptions/redemptions.ts';
import { type Rules, rulesSchema } from '../../rules/index.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { recordBusinessEvent } from '../../triggers/triggers.ts';
import { createStandaloneVoucher, deleteVoucher, setVoucherActive, updateVoucher } from '../../vouchers/lifecycle.ts';
import { checkoutRoutes } from './checkout.ts';
import { actorOf, type CompatContext, redemptionObjects } from './context.ts';
import { customerInput, customerRefId, customerRoutes } from './customers.ts';
import { invalidPayload, notFound, notSupported } from './errors.ts';
import { type AsyncActionKind, asyncActionId, campaignId as campaignIds, customerId, publicationId } from './ids.ts';
import { countUpTo, listEnvelope, onlyParams, pageOfPages, paging } from './lists.ts';
import { campaignWithState, resolveCampaign, voucherByCode, vouchersByCodes } from './lookups.ts';
import { checkFields, dateField, fieldTable, flag, intParam, isBoolean, isObject, isString, metadataOf, typed } from './request.ts';
import { type CompatCall, compatRoute } from './routes.ts';
import {
  campaignView,
  customerRef,
  discountToPlatform,
  quantityToPlatform,
  type VoucherifyVoucher,
  voucherView,
  weekdaysToPlatform,
} from './translate.ts';

export type { CompatContext };

/** The name of the campaign that holds Voucherify's standalone vouchers (the platform files every code in one). */
export const STANDALONE_CAMPAIGN = 'Voucherify standalone vouchers';

/** The campaign that holds standalone vouchers, made on first use (names are unique: a racing creator's wins). */
async function standaloneCampaign(platform: Platform): Promise<string> {
  const find = async () =>
    (
      await platform.db.query<{ id: string }>(`select id from campaigns where lower(name) = lower($1) and not name_duplicate`, [
        STANDALONE_CAMPAIGN,
      ])
    ).rows[0]?.id;
  const existing = await find();
  if (existing) return existing;
  try {
    const created = await createCampaign(
      platform.db,
      createCampaignSchema.parse({
        name: STANDALONE_CAMPAIGN,
        code_config: { length: 8 },
        metadata: { voucherify_standalone: true },
        rules: { redemption: { per_code_limit: null } },
      }),
    );
    return created.id;
  } catch (error) {
    const raced = await find();
    if (raced) return raced;
    throw error;
  }
}

const VOUCHER_FIELDS = fieldTable(
  'code campaign campaign_id type discount start_date expiration_date validity_day_of_week active metadata redemption object',
  'category category_id gift loyalty_card validity_timeframe validity_hours additional_info validation_rules is_referral_code',
  { code_config: "a standalone code is drawn from its campaign's code config" },
);

/**
 * The rule overrides a Voucherify voucher sets (its type, discount and quantity, at `path` in the body: a campaign's
 * are under `voucher`), and the weekdays, over `base`.
 */
function voucherRules(v: Record<string, unknown>, path: string, weekdays: unknown, currency: string, base: Rules = {}): Rules {
  const at = (field: string) => (path ? `${path}.${field}` : field);
  if (v.type !== undefined && v.type !== 'DISCOUNT_VOUCHER') throw notSupported(at('type'), 'only DISCOUNT_VOUCHER is supported');
  const rules: Rules = { ...base };
  const discount = discountToPlatform(v.discount, currency, at('discount'));
  if (discount !== undefined) rules.discount = discount;
  const quantity = quantityToPlatform(v.redemption, at('redemption'));
  if (quantity !== undefined) rules.redemption = { ...rules.redemption, per_code_limit: quantity };
  const days = weekdaysToPlatform(weekdays, 'validity_day_of_week');
  if (days !== undefined) rules.validity_windows = [{ days_of_week: days }];
  return rulesSchema.parse(rules);
}

async function voucherAnswer(platform: Platform, code: string): Promise<VoucherifyVoucher> {
  return voucherView(await voucherByCode(platform.db, code));
}

/** Creates one voucher in a campaign (or the standalone one) with a given or drawn code. */
async function createVoucher(ctx: CompatContext, call: CompatCall, campaign: string | null, code: string | undefined) {
  const { platform } = ctx;
  const v = checkFields(call.body, '', VOUCHER_FIELDS);
  if (code !== undefined && typeof v.code === 'string' && v.code !== code) throw notSupported('code', 'differs from the code in the path');
  const campaignId =
    campaign ??
    (v.campaign || v.campaign_id ? await resolveCampaign(platform.db, v.campaign ?? v.campaign_id) : await standaloneCampaign(platform));
  const standalone = !campaign && !v.campaign && !v.campaign_id;
  // Voucherify: a standalone voucher without `redemption.quantity` is unlimited; a campaign's inherits the campaign's.
  const base: Rules = standalone && v.redemption === undefined ? { redemption: { per_code_limit: null } } : {};
  const created = await createStandaloneVoucher(
    platform.db,
    {
      campaign_id: campaignId,
      code: code ?? (typeof v.code === 'string' ? v.code : undefined),
      active: typed(v.active, 'active', isBoolean, 'a boolean') ?? true,
      start_date: dateField(v.start_date, 'start_date'),
      expiration_date: dateField(v.expiration_date, 'expiration_date'),
      rules: voucherRules(v, '', v.validity_day_of_week, platform.config.VOUCHERIFY_COMPAT_CURRENCY, base),
      metadata: metadataOf(v.metadata) ?? {},
    },
    actorOf(call),
    platform.clock.now(),
  );
  return voucherAnswer(platform, created.code);
}

interface AsyncAction {
  row: { id: string; status: string; created_at: Date | string; finished_at: Date | string | null; started_at: Date | string | null };
  progress: number;
  result: Record<string, unknown>;
  type: string;
}

/** What an async action reports: its generation's or its import's progress and result; null when there is none. */
async function asyncActionOf(db: Queryable, kind: AsyncActionKind, id: string): Promise<AsyncAction | null> {
  const missing = (error: unknown) => {
    if (error instanceof NotFoundError) return null;
    throw error;
  };
  if (kind === 'generation') {
    const g = await findGeneration(db, id).catch(missing);
    if (!g) return null;
    const view = generationView(g);
    const { requested, generated, error } = view;
    const result = { message: `${generated} of ${requested} vouchers generated`, requested, generated, ...(error ? { error } : {}) };
    return {
      row: g,
      progress: view.progress,
      type: 'CAMPAIGN.VOUCHERS_GENERATE',
      result: { ...result, campaign_id: campaignIds.encode(g.campaign_id) },
    };
  }
  const i = await getImport(db, id).catch(missing);
  if (!i) return null;
  const { progress, errors_url } = importView(i);
  const message = `${progress.imported} vouchers imported, ${progress.rejected} rejected`;
  return {
    row: i,
    progress: progress.percent,
    type: 'CAMPAIGN.VOUCHERS_IMPORT',
    result: { message, campaign_id: campaignIds.encode(i.campaign_id), ...progress, errors_url },
  };
}

function asyncActionView(kind: AsyncActionKind, { row, progress, result, type }: AsyncAction) {
  const status =
    row.status === 'queued' ? 'ENQUEUED' : row.status === 'running' ? 'IN_PROGRESS' : row.status === 'failed' ? 'FAILED' : 'DONE';
  const created = new Date(row.created_at);
  const finished = row.finished_at ? new Date(row.finished_at) : null;
  return {
    id: asyncActionId.encode(kind, row.id),
    type,
    status,
    result,
    progress,
    created_at: created.toISOString(),
    updated_at: (finished ?? (row.started_at ? new Date(row.started_at) : created)).toISOString(),
    processing_time: finished ? finished.getTime() - created.getTime() : null,
    object: 'async_action' as const,
  };
}

const IMPORT_FIELDS = fieldTable(
  'code active redemption start_date expiration_date metadata type object',
  'category additional_info gift loyalty_card',
  { discount: "imported codes take their campaign's discount" },
);

/** Voucherify's import element (`{code, active, redemption, …}`) as the platform's import record. */
function importRecord(item: unknown, index: number): unknown {
  if (!isObject(item)) return item;
  const path = `[${index}]`;
  const v = checkFields(item, path, IMPORT_FIELDS);
  if (v.type !== undefined && v.type !== 'DISCOUNT_VOUCHER') throw notSupported(`${path}.type`, 'only DISCOUNT_VOUCHER is supported');
  const { type: _type, object: _object, ...record } = v;
  return record;
}

async function startImport(ctx: CompatContext, call: CompatCall, campaign: string): Promise<{ status: number; body: unknown }> {
  const { platform } = ctx;
  if (!Array.isArray(call.rawBody)) throw invalidPayload('(body): must be an array of vouchers');
  const records = call.rawBody.map(importRecord);
  const idempotencyKey = call.req.get('Idempotency-Key') ?? undefined;
  const { import: row } = await createImport(
    platform,
    { campaignId: campaign, codeShape: 'any', idempotencyKey, actor: actorOf(call) },
    { format: 'json', records },
    { chunkSize: platform.config.IMPORT_CHUNK_SIZE, maxRows: platform.config.IMPORT_MAX_ROWS },
  );
  return { status: 202, body: { async_action_id: asyncActionId.encode('import', row.id) } };
}

const RANGE_FIELDS = fieldTable('after before');

const CAMPAIGN_VOUCHER_FIELDS = fieldTable('type discount code_config redemption', 'is_referral_code gift loyalty_card');

const CODE_CONFIG_FIELDS = fieldTable('length charset prefix postfix pattern');

export function serverRoutes(router: Router, ctx: CompatContext): void {
  checkoutRoutes(router, ctx);
  customerRoutes(router, ctx);
  const { platform } = ctx;
  const { db } = platform;
  const currency = platform.config.VOUCHERIFY_COMPAT_CURRENCY;
  const importBody = express.json({
    limit: platform.config.IMPORT_JSON_BODY_LIMIT,
    strict: false,
    type: ['application/json', 'application/*+json'],
  });

  // ---- vouchers
  compatRoute(
    router,
    'post',
    '/vouchers/import',
    (call) => standaloneCampaign(platform).then((id) => startImport(ctx, call, id)),
    importBody,
  );
  compatRoute(router, 'post', '/vouchers', async (call) => ({ status: 200, body: await createVoucher(ctx, call, null, undefined) }));
  compatRoute(router, 'post', '/vouchers/:code', async (call) => ({
    status: 200,
    body: await createVoucher(ctx, call, null, call.params.code),
  }));
  compatRoute(router, 'get', '/vouchers/:code', async ({ params }) => ({
    status: 200,
    body: await voucherAnswer(platform, params.code as string),
  }));

  compatRoute(router, 'put', '/vouchers/:code', async (call) => {
    const code = call.params.code as string;
    const current = await voucherByCode(db, code);
    const v = checkFields(call.body, '', VOUCHER_FIELDS);
    if (typeof v.code === 'string' && v.code.toUpperCase() !== current.code)
      throw notSupported('code', 'differs from the code in the path');
    const hasRules = v.discount !== undefined || v.redemption !== undefined || v.validity_day_of_week !== undefined || v.type !== undefined;
    const rules = hasRules ? voucherRules(v, '', v.validity_day_of_week, currency, (current.rules ?? {}) as Rules) : undefined;
    const start = dateField(v.start_date, 'start_date');
    const end = dateField(v.expiration_date, 'expiration_date');
    const metadata = metadataOf(v.metadata);
    if (rules !== undefined || start !== undefined || end !== undefined || metadata !== undefined) {
      await updateVoucher(db, code, { rules, start_date: start, expiration_date: end, metadata }, actorOf(call), platform.clock.now());
    }
    const active = typed(v.active, 'active', isBoolean, 'a boolean');
    if (active !== undefined) await setVoucherActive(db, code, active, actorOf(call), platform.clock.now());
    return { status: 200, body: await voucherAnswer(platform, code) };
  });

  compatRoute(router, 'delete', '/vouchers/:code', async (call) => {
    onlyParams(call.query, ['force']);
    await deleteVoucher(db, call.params.code as string, flag(call.query.force, 'force') ?? false, actorOf(call), platform.clock.now());
    return { status: 204 };
  });

  for (const [action, active] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    compatRoute(router, 'post', `/vouchers/:code/${action}`, async (call) => {
      await voucherByCode(db, call.params.code as string);
      await setVoucherActive(db, call.params.code as string, active, actorOf(call), platform.clock.now());
      return { status: 200, body: await voucherAnswer(platform, call.params.code as string) };
    });
  }

  compatRoute(router, 'get', '/vouchers', async ({ query }) => {
    onlyParams(query, ['limit', 'page', 'campaign', 'campaign_id', 'customer', 'created_at', 'updated_at', 'order']);
    const { page, limit } = paging(query);
    const where: string[] = ['v.deleted_at is null'];
    const params: unknown[] = [];
    const add = (sql: (n: number) => string, value: unknown) => {
      params.push(value);
      where.push(sql(params.length));
    };
    const campaignRef = query.campaign ?? query.campaign_id;
    if (campaignRef !== undefined) add((n) => `v.campaign_id = $${n}`, await resolveCampaign(db, campaignRef));
    if (query.customer !== undefined) {
      add((n) => `v.holder_customer_id = $${n}`, customerRefId(query.customer) ?? '');
    }
    for (const field of ['created_at', 'updated_at'] as const) {
      const range = query[field];
      if (range === undefined) continue;
      const r = checkFields(range, field, RANGE_FIELDS);
      const after = dateField(r.after, `${field}[after]`);
      const before = dateField(r.before, `${field}[before]`);
      if (after) add((n) => `v.${field} > $${n}`, after);
      if (before) add((n) => `v.${field} < $${n}`, before);
    }
    if (query.order !== undefined && query.order !== 'created_at')
      throw notSupported('order', 'vouchers are listed in the order they were made (created_at)');
    const fromWhere = `from vouchers v where ${where.join(' and ')}`;
    const rows = await pageOfPages<string, string>(page, limit, async (n, cursor) => {
      const cursorParams = [...params, cursor ?? '0', n + 1];
      const { rows } = await db.query<{ code: string; id: string }>(
        `select v.id, v.code ${fromWhere} and v.id > $${params.length + 1} order by v.id limit $${params.length + 2}`,
        cursorParams,
      );
      const data = rows.slice(0, n);
      return { data: data.map((r) => r.code), next: rows.length > n ? String(data.at(-1)?.id) : undefined };
    });
    const vouchers = await vouchersByCodes(db, rows);
    const total = await countUpTo(db, fromWhere, params);
    return {
      status: 200,
      body: listEnvelope(
        'vouchers',
        rows.flatMap((c) => {
          const v = vouchers.get(c);
          return v ? [voucherView(v)] : [];
        }),
        total,
      ),
    };
  });

  compatRoute(router, 'get', '/vouchers/:code/redemption', async ({ params }) => {
    const voucher = await voucherByCode(db, params.code as string);
    const view = voucherView(voucher);
    const list = await listRedemptions(db, { code: voucher.code, limit: 100 });
    const entries = await redemptionObjects(ctx, list.data);
    return {
      status: 200,
      body: {
        quantity: view.redemption.quantity,
        redeemed_quantity: view.redemption.redeemed_quantity,
        object: 'list',
        url: view.redemption.url,
        data_ref: 'redemption_entries',
        total: entries.length,
        redemption_entries: entries,
      },
    };
  });

  // ---- campaigns
  const CAMPAIGN_FIELDS = fieldTable(
    'name campaign_type type voucher vouchers_count start_date expiration_date join_once metadata validity_day_of_week',
    'auto_join use_voucher_metadata_schema category category_id validity_timeframe validity_hours activity_duration_after_publishing validation_rules promotion referral_program unset_metadata_fields',
    { description: 'descriptions are not stored; use metadata' },
  );

  const CAMPAIGN_UPDATE_FIELDS = {
    ...CAMPAIGN_FIELDS,
    ...fieldTable('campaign_type active', '', { vouchers_count: 'add codes with POST /v1/campaigns/{id}/vouchers' }),
  };

  const campaignRules = (c: Record<string, unknown>, base: Rules): Rules =>
    voucherRules(checkFields(c.voucher, 'voucher', CAMPAIGN_VOUCHER_FIELDS), 'voucher', c.validity_day_of_week, currency, base);

  const generate = async (campaign: string, count: number, idempotencyKey?: string) => {
    const max = platform.config.GENERATION_MAX_COUNT;
    if (count > max) throw notSupported('vouchers_count', `at most ${max} codes per generation`);
    const { generation } = await requestGeneration(db, platform.queues, {
      campaignId: campaign,
      count,
      idempotencyKey,
      chunkSize: platform.config.GENERATION_CHUNK_SIZE,
    });
    return generation;
  };

  compatRoute(router, 'post', '/campaigns', async (call) => {
    const c = checkFields(call.body, '', CAMPAIGN_FIELDS);
    if (c.campaign_type !== undefined && c.campaign_type !== 'DISCOUNT_COUPONS')
      throw notSupported('campaign_type', 'only DISCOUNT_COUPONS campaigns are supported');
    if (c.type !== undefined && c.type !== 'AUTO_UPDATE' && c.type !== 'STATIC') throw notSupported('type', 'AUTO_UPDATE or STATIC');
    const voucher = isObject(c.voucher) ? c.voucher : {};
    const codeConfig =
      voucher.code_config === undefined ? { length: 8 } : checkFields(voucher.code_config, 'voucher.code_config', CODE_CONFIG_FIELDS);
    const cleanConfig = Object.fromEntries(Object.entries(codeConfig).filter(([, value]) => value !== null && value !== undefined));
    const count =
      c.vouchers_count === undefined || c.vouchers_count === null
        ? 0
        : intParam(c.vouchers_count, 'vouchers_count', 0, Number.MAX_SAFE_INTEGER, 0);
    const input = createCampaignSchema.parse({
      name: c.name,
      code_config: cleanConfig,
      metadata: { ...(metadataOf(c.metadata) ?? {}), ...(c.type === 'STATIC' ? { voucherify_type: 'STATIC' } : {}) },
      start_date: dateField(c.start_date, 'start_date') ?? null,
      expiration_date: dateField(c.expiration_date, 'expiration_date') ?? null,
      // Voucherify: a campaign's codes are unlimited unless voucher.redemption.quantity says otherwise.
      rules: campaignRules(c, { redemption: { per_code_limit: null } }),
    });
    const created = await createCampaign(db, input);
    if (flag(c.join_once, 'join_once')) await setPublishingSettings(db, created.id, { join_once: true });
    if (count > 0) await generate(created.id, count, call.req.get('Idempotency-Key') ?? undefined);
    return { status: 200, body: campaignView(await campaignWithState(db, created.id)) };
  });

  compatRoute(router, 'get', '/campaigns/:ref', async ({ params }) => ({
    status: 200,
    body: campaignView(await campaignWithState(db, await resolveCampaign(db, params.ref))),
  }));

  compatRoute(router, 'put', '/campaigns/:ref', async (call) => {
    const id = await resolveCampaign(db, call.params.ref);
    const current = await campaignWithState(db, id);
    const c = checkFields(call.body, '', CAMPAIGN_UPDATE_FIELDS);
    if (isObject(c.voucher) && c.voucher.code_config !== undefined)
      throw notSupported('voucher.code_config', "a campaign's code config cannot change once it has codes");
    const rules = c.voucher !== undefined || c.validity_day_of_week !== undefined ? campaignRules(c, current.rules as Rules) : undefined;
    const metadata = metadataOf(c.metadata);
    await updateCampaign(db, id, {
      name: typed(c.name, 'name', isString, 'a string'),
      start_date: dateField(c.start_date, 'start_date'),
      expiration_date: dateField(c.expiration_date, 'expiration_date'),
      active: typed(c.active, 'active', isBoolean, 'a boolean'),
      rules,
      metadata:
        metadata === undefined
          ? undefined
          : { ...metadata, ...Object.fromEntries(Object.entries(current.metadata ?? {}).filter(([k]) => k.startsWith('voucherify_'))) },
    });
    const joinOnce = flag(c.join_once, 'join_once');
    if (joinOnce !== undefined) await setPublishingSettings(db, id, { join_once: joinOnce });
    return { status: 200, body: campaignView(await campaignWithState(db, id)) };
  });

  compatRoute(router, 'delete', '/campaigns/:ref', async (call) => {
    onlyParams(call.query, ['force']);
    // Soft, as for vouchers: the campaign is disabled (its codes refuse with campaign_not_active) and hidden from the
    // compatible API; its codes, redemptions and logs stay, and /v1 still shows it. The name stays taken.
    const id = await resolveCampaign(db, call.params.ref);
    const current = await campaignWithState(db, id);
    const force = flag(call.query.force, 'force') ?? false;
    await updateCampaign(db, id, { active: false, metadata: { ...current.metadata, voucherify_deleted: force ? 'force' : 'soft' } });
    return { status: 204 };
  });

  for (const [action, active] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    compatRoute(router, 'post', `/campaigns/:ref/${action}`, async ({ params }) => {
      const id = await resolveCampaign(db, params.ref);
      await updateCampaign(db, id, { active });
      return { status: 200, body: campaignView(await campaignWithState(db, id)) };
    });
  }

  compatRoute(router, 'get', '/campaigns', async ({ query }) => {
    onlyParams(query, ['limit', 'page', 'campaign_type', 'order']);
    if (query.campaign_type !== undefined && query.campaign_type !== 'DISCOUNT_COUPONS')
      throw notSupported('campaign_type', 'only DISCOUNT_COUPONS campaigns exist here');
    if (query.order !== undefined && query.order !== '-created_at')
      throw notSupported('order', 'campaigns are listed newest first (-created_at)');
    const { page, limit } = paging(query);
    const visible = `coalesce((metadata->>'voucherify_standalone')::boolean, false) = false and metadata->>'voucherify_deleted' is null`;
    const ids = await pageOfPages<string, [string, string]>(page, limit, async (n, cursor) => {
      const { rows } = cursor
        ? await db.query<{ id: string; created_at: Date }>(
            `select id, created_at from campaigns where ${visible} and (created_at, id) < ($1::timestamptz, $2::uuid) order by created_at desc, id desc limit $3`,
            [cursor[0], cursor[1], n + 1],
          )
        : await db.query<{ id: string; created_at: Date }>(
            `select id, created_at from campaigns where ${visible} order by created_at desc, id desc limit $1`,
            [n + 1],
          );
      const data = rows.slice(0, n);
      const last = data.at(-1);
      return {
        data: data.map((r) => r.id),
        next: rows.length > n && last ? [new Date(last.created_at).toISOString(), last.id] : undefined,
      };
    });
    const campaigns = await Promise.all(ids.map((id) => campaignWithState(db, id)));
    return {
      status: 200,
      body: listEnvelope('campaigns', campaigns.map(campaignView), await countUpTo(db, `from campaigns where ${visible}`, [])),
    };
  });

  compatRoute(router, 'post', '/campaigns/:ref/vouchers', async (call) => {
    onlyParams(call.query, ['vouchers_count']);
    const id = await resolveCampaign(db, call.params.ref);
    const count = intParam(call.query.vouchers_count, 'vouchers_count', 1, Number.MAX_SAFE_INTEGER, 1);
    if (count > 1) {
      if (Object.keys(call.body).length > 0)
        throw notSupported(Object.keys(call.body)[0] as string, "codes generated in bulk take their campaign's settings");
      const generation = await generate(id, count, call.req.get('Idempotency-Key') ?? undefined);
      return { status: 202, body: { async_action_id: asyncActionId.encode('generation', generation.id) } };
    }
    return { status: 200, body: await createVoucher(ctx, call, id, undefined) };
  });

  compatRoute(router, 'post', '/campaigns/:ref/vouchers/:code', async (call) => {
    const id = await resolveCampaign(db, call.params.ref);
    return { status: 200, body: await createVoucher(ctx, call, id, call.params.code) };
  });

  compatRoute(
    router,
    'post',
    '/campaigns/:ref/import',
    async (call) => startImport(ctx, call, await resolveCampaign(db, call.params.ref)),
    importBody,
  );

  // ---- async actions
  compatRoute(router, 'get', '/async-actions/:id', async ({ params }) => {
    const action = asyncActionId.decode(params.id as string);
    const found = action ? await asyncActionOf(db, action.kind, action.id) : null;
    if (!action || !found) throw notFound('async_action', params.id as string);
    return { status: 200, body: asyncActionView(action.kind, found) };
  });

  // ---- publications
  compatRoute(router, 'post', '/publications', async (call) => {
    const { publication, voucher } = await publish(ctx, call, call.body, flag(call.query.join_once, 'join_once'));
    return { status: 200, body: publicationObject(publication, voucher) };
  });

  compatRoute(router, 'get', '/publications', async ({ query }) => {
    onlyParams(query, ['limit', 'page', 'campaign', 'customer', 'voucher', 'source_id', 'order']);
    const { page, limit } = paging(query);
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.campaign !== undefined) where.push(`campaign_id = $${params.push(await resolveCampaign(db, query.campaign))}`);
    if (query.customer !== undefined)
      where.push(
        `customer_id = $${params.push(typeof query.customer === 'string' ? (customerId.decode(query.customer) ?? query.customer) : '')}`,
      );
    if (typeof query.voucher === 'string') where.push(`code = upper(trim($${params.push(query.voucher)}))`);
    if (typeof query.source_id === 'string') where.push(`source_id = $${params.push(query.source_id)}`);
    const fromWhere = `from publications ${where.length ? `where ${where.join(' and ')}` : ''}`;
    const rows = await pageOfPages<PublicationRecord, [string, string]>(page, limit, async (n, cursor) => {
      const keyset = cursor
        ? `${where.length ? 'and' : 'where'} (created_at, id) < ($${params.length + 1}::timestamptz, $${params.length + 2}::uuid)`
        : '';
      const { rows } = await db.query<PublicationRecord>(
        `select * ${fromWhere} ${keyset} order by created_at desc, id desc limit ${n + 1}`,
        cursor ? [...params, cursor[0], cursor[1]] : params,
      );
      const data = rows.slice(0, n);
      const last = data.at(-1);
      return { data, next: rows.length > n && last ? [new Date(last.created_at).toISOString(), last.id] : undefined };
    });
    const vouchers = await vouchersByCodes(
      db,
      rows.map((p) => p.code),
    );
    const items = rows.map((p) => {
      const v = vouchers.get(p.code);
      return publicationObject(p, v ? voucherView(v) : null);
    });
    return { status: 200, body: listEnvelope('publications', items, await countUpTo(db, fromWhere, params)) };
  });

  // ---- events
  compatRoute(router, 'post', '/events', async (call) => ({ status: 200, body: await trackEvent(ctx, call.body) }));
}

interface PublicationRecord {
  id: string;
  campaign_id: string;
  code: string;
  customer_id: string;
  source_id: string | null;
  created_at: Date | string;
}

export function publicationObject(p: PublicationRecord, voucher: VoucherifyVoucher | null) {
  return {
    id: publicationId.encode(p.id),
    object: 'publication' as const,
    created_at: new Date(p.created_at).toISOString(),
    customer_id: customerId.encode(p.customer_id),
    tracking_id: p.customer_id,
    metadata: {},
    channel: 'API',
    source_id: p.source_id,
    result: 'SUCCESS' as const,
    customer: customerRef(p.customer_id),
    vouchers_id: voucher ? [voucher.id] : [],
    voucher,
  };
}

const PUBLICATION_FIELDS = fieldTable('campaign voucher customer source_id channel join_once', '', {
  metadata: 'publication metadata is not stored',
});

const PUBLICATION_CAMPAIGN_FIELDS = fieldTable('id name', '', { count: 'one code per publication' });

/**
 * Publishes a code to a customer: the campaign form (`campaign` as a name, an id or an object: an unassigned code of
 * it) or the voucher form (`voucher`: that code); `join_once` from the body or the query.
 */
export async function publish(ctx: CompatContext, call: CompatCall, body: Record<string, unknown>, joinOnceQuery: boolean | undefined) {
  const { platform } = ctx;
  const p = checkFields(body, '', PUBLICATION_FIELDS);
  if (isObject(p.campaign)) checkFields(p.campaign, 'campaign', PUBLICATION_CAMPAIGN_FIELDS);
  const code = typed(isObject(p.voucher) ? p.voucher.code : p.voucher, 'voucher', isString, 'a voucher code');
  if (p.campaign === undefined && code === undefined) {
    throw invalidPayload('campaign: give the campaign to publish from, or the voucher');
  }
  const chosen = code === undefined ? undefined : await voucherByCode(platform.db, code);
  const campaign = chosen ? chosen.campaign_id : await resolveCampaign(platform.db, p.campaign);
  if (chosen && p.campaign !== undefined && (await resolveCampaign(platform.db, p.campaign)) !== chosen.campaign_id) {
    throw notSupported('campaign', 'the voucher is not in this campaign');
  }
  const customer = customerInput(p.customer);
  if (!customer) throw invalidPayload('customer: give the customer (source_id or id)');
  const joinOnce = flag(p.join_once, 'join_once') ?? joinOnceQuery;
  const result = await publishToCustomer(
    platform,
    { campaign_id: campaign, customer, source_id: typed(p.source_id, 'source_id', isString, 'a string'), channel: 'none' },
    actorOf(call),
    { joinOnce, ...(chosen ? { code: chosen.code } : {}) },
  );
  const voucher = voucherView(await voucherByCode(platform.db, result.publication.code));
  return { publication: result.publication, voucher, created: result.created };
}

const EVENT_FIELDS = fieldTable('event customer metadata', 'referral loyalty');

/** A custom event (`POST /v1/events`) as a platform business event; names that are not dotted get `voucherify.`. */
export async function trackEvent(ctx: CompatContext, body: Record<string, unknown>) {
  const e = checkFields(body, '', EVENT_FIELDS);
  const name = typed(e.event, 'event', isString, 'a string');
  if (!name) throw invalidPayload('event: give the event name');
  const type = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/.test(name) ? name : `voucherify.${name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  const customer = customerInput(e.customer);
  if (!customer) throw invalidPayload('customer: give the customer (source_id or id)');
  await recordBusinessEvent(ctx.platform, { type, customer, data: metadataOf(e.metadata) ?? {} });
  return { object: 'event', type: name, customer: { ...customerRef(customer.id) }, referral: null, loyalty: null };
}
