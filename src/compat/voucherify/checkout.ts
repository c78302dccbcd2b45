import type { Router } from 'express';
import { normalizeCode } from '../../codes/index.ts';
import { withGuessingDefence } from '../../http/guessing.ts';
import { type FailedRedemptionView, listFailedRedemptions } from '../../redemptions/failures.ts';
import {
  findRedemptionGroup,
  getRedemption,
  guessesOf,
  listRedemptions,
  redeemVoucher,
  rollbackRedemption,
  validateCodes,
  validationView,
} from '../../redemptions/redemptions.ts';
import {
  type RedemptionGroupView,
  type RedemptionRefusal,
  type RedemptionView,
  redemptionRequestSchema,
  validationRequestSchema,
} from '../../redemptions/schemas.ts';
import { type CheckoutAnswer, type CheckoutReason, type CodeResult, MAX_CODES } from '../../rules/checkout.ts';
import type { PricedOrder } from '../../rules/order-discount.ts';
import type { ValidationView } from '../../vouchers/schemas.ts';
import { actorOf, type CompatContext, redemptionObjects, trackingIdOf } from './context.ts';
import { customerInput, customerRefId } from './customers.ts';
import { invalidPayload, notFound, notSupported, REFUSALS, refusalDetails, VOUCHERIFY_KEYS, VoucherifyApiError } from './errors.ts';
import { failedRedemptionId, parentRedemptionId, redemptionId, rollbackId } from './ids.ts';
import { countUpTo, onlyParams, pageOfPages, paging } from './lists.ts';
import { failedRedemptionById, resolveCampaign, vouchersByCodes } from './lookups.ts';
import { checkFields, fieldTable, isInteger, isObject, isString, metadataOf, onceMoreDecoded, typed } from './request.ts';
import { type CompatCall, type CompatReply, compatRoute } from './routes.ts';
import {
  checkoutWriteOf,
  consumeSession,
  heldSessionOf,
  openSession,
  releaseSession,
  type SessionRequest,
  sessionObject,
  sessionRequest,
} from './sessions.ts';
import {
  customerRef,
  failedRedemptionObject,
  redemptionHead,
  type redemptionObject,
  rollbackObject,
  type VoucherifyVoucher,
  voucherView,
} from './translate.ts';

/**
 * Validations, redemptions, rollbacks and qualifications: Voucherify's requests translated into the platform's
 * checkout (src/redemptions/, src/rules/), its answers translated back. Every decision is the platform's.
 */

const ITEM_FIELDS = fieldTable(
  'sku_id product_id source_id related_object quantity price amount metadata object sku product',
  'discount_quantity discount_amount',
  { initial_quantity: 'not supported' },
);

/** One order line: Voucherify names the product or sku (`sku_id`, `product_id`, `source_id`, nested objects). */
function itemInput(value: unknown, path: string) {
  const i = checkFields(value, path, ITEM_FIELDS);
  const nested = (v: unknown) => (isObject(v) ? ((v.source_id ?? v.id) as unknown) : undefined);
  const skuRef = i.sku_id ?? nested(i.sku) ?? (i.related_object !== 'product' ? i.source_id : undefined);
  const productRef = i.product_id ?? nested(i.product) ?? (i.related_object === 'product' ? i.source_id : undefined);
  const sku = typed(skuRef ?? productRef, `${path}.sku_id`, isString, 'a string');
  if (!sku) throw invalidPayload(`${path}: name the item (sku_id, product_id or source_id)`);
  const quantity = typed(i.quantity, `${path}.quantity`, isInteger, 'an integer') ?? 1;
  const amount = typed(i.amount, `${path}.amount`, isInteger, 'an integer (minor units)');
  let price = typed(i.price, `${path}.price`, isInteger, 'an integer (minor units)');
  if (price === undefined && amount !== undefined && amount % quantity === 0) price = amount / quantity;
  if (price === undefined) throw invalidPayload(`${path}.price: give the unit price (or an amount that quantity divides)`);
  if (amount !== undefined && amount !== price * quantity) throw invalidPayload(`${path}.amount: must be quantity × price`);
  const product = typeof productRef === 'string' ? productRef : undefined;
  const metadata = metadataOf(i.metadata, `${path}.metadata`);
  return { sku, ...(product && product !== sku ? { product_id: product } : {}), quantity, price, ...(metadata ? { metadata } : {}) };
}

const ORDER_FIELDS = fieldTable('amount items id source_id status metadata object', 'referrer', {
  customer: 'give the customer at the top level',
});

/** Voucherify's order (amounts in minor units, no currency) as the platform's, in VOUCHERIFY_COMPAT_CURRENCY. */
export function orderInput(value: unknown, currency: string) {
  if (value === undefined || value === null) return undefined;
  const o = checkFields(value, 'order', ORDER_FIELDS);
  const amount = typed(o.amount, 'order.amount', isInteger, 'an integer (minor units)');
  const id = typed(o.source_id ?? o.id, 'order.source_id', isString, 'a string');
  if (o.items !== undefined && !Array.isArray(o.items)) throw invalidPayload('order.items: must be a list');
  const items = (o.items as unknown[] | undefined)?.map((item, n) => itemInput(item, `order.items[${n}]`));
  if (amount === undefined && !items) return undefined;
  const metadata = metadataOf(o.metadata, 'order.metadata');
  return {
    currency,
    ...(amount !== undefined ? { amount } : {}),
    ...(items ? { items } : {}),
    ...(id ? { id } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

function contextOf(ctx: CompatContext, call: CompatCall) {
  const customer = customerInput(call.body.customer, trackingIdOf(call));
  return {
    ...(customer
      ? {
          customer: {
            id: customer.id,
            ...(customer.email ? { email: customer.email } : {}),
            ...(customer.metadata ? { metadata: customer.metadata } : {}),
          },
        }
      : {}),
    order: orderInput(call.body.order, ctx.platform.config.VOUCHERIFY_COMPAT_CURRENCY),
    metadata: metadataOf(call.body.metadata),
  };
}

function orderSummary(order: PricedOrder | null | undefined, amount?: number, discount?: number | null) {
  const total = order?.amount ?? amount;
  if (total === undefined) return undefined;
  const off = order?.discount_amount ?? discount ?? 0;
  return {
    ...(order?.id ? { source_id: order.id } : {}),
    amount: total,
    discount_amount: off,
    total_discount_amount: off,
    total_amount: total - off,
    applied_discount_amount: off,
    total_applied_discount_amount: off,
    items_discount_amount: order?.items?.reduce((sum, line) => sum + line.discount_amount, 0) ?? 0,
    ...(order?.items
      ? {
          items: order.items.map((line) => ({
            sku_id: line.sku,
            quantity: line.quantity,
            price: line.price,
            amount: line.amount,
            discount_amount: line.discount_amount,
            total_amount: line.total_amount,
            object: 'order_item' as const,
          })),
        }
      : {}),
    object: 'order' as const,
  };
}

function refusalError(reason: CheckoutReason, code: string, rule?: { name: string; message?: string }): VoucherifyApiError {
  const details = reason === 'not_found' ? `Cannot find voucher with id ${code}` : refusalDetails(reason, rule);
  return new VoucherifyApiError(REFUSALS[reason], details, { id: code, type: 'voucher' });
}

async function validate(ctx: CompatContext, call: CompatCall, request: Record<string, unknown>) {
  const parsed = validationRequestSchema.parse(request);
  return withGuessingDefence(
    ctx.platform,
    call.req,
    call.res,
    parsed.customer?.id,
    () => validateCodes({ candidates: ctx.candidates, segments: ctx.segments }, parsed, ctx.platform.clock.now()),
    (o) => ({ guesses: guessesOf(o.evaluation.codes) }),
    { readOnly: true },
  );
}

async function redeem(ctx: CompatContext, call: CompatCall, request: Record<string, unknown>) {
  const parsed = redemptionRequestSchema.parse(request);
  return checkoutWriteOf(ctx, call, parsed.customer?.id, (redeem) => redeemVoucher(ctx.platform.db, parsed, redeem));
}

type SessionAnswer = Pick<CheckoutAnswer, 'valid' | 'codes' | 'order'>;

/**
 * A validation that may hold its codes in a session: a held session asked for again under its key answers itself
 * (renewed; its own hold would count against it otherwise); else the platform validates and, when the codes are
 * valid and a session is asked for, reserves them, deciding again under its locks (its refusal is the answer).
 */
async function validateInSession(
  ctx: CompatContext,
  call: CompatCall,
  codes: readonly string[],
  context: ReturnType<typeof contextOf>,
  session: SessionRequest | undefined,
): Promise<{ answer: SessionAnswer; opened?: ReturnType<typeof sessionObject> }> {
  const held = session ? await heldSessionOf(ctx, call, session, codes, context.order) : null;
  if (held && session) return { answer: { valid: true, codes: held.codes, order: held.order }, opened: sessionObject(held.id, session) };
  const outcome = await validate(ctx, call, { codes, ...context });
  const answer = outcome.evaluation.answer as CheckoutAnswer;
  if (!session || !answer.valid) return { answer };
  const reserved = await openSession(ctx, call, codes, context, session);
  if (reserved.status === 201) return { answer, opened: sessionObject(reserved.body.id, session) };
  return { answer: { ...answer, valid: false, codes: reserved.body.codes ?? answer.codes } };
}

const LEGACY_FIELDS = fieldTable('customer order metadata tracking_id session', 'reward gift');
const LEGACY_REDEMPTION_FIELDS = { ...LEGACY_FIELDS, ...fieldTable('channel') };

/** `POST /v1/vouchers/{code}/validate` (and the client's `GET /validate`): one code, Voucherify's legacy answer. */
export async function legacyValidate(ctx: CompatContext, call: CompatCall, code: string): Promise<CompatReply> {
  checkFields(call.body, '', LEGACY_FIELDS);
  const session = sessionRequest(call.body.session);
  const context = contextOf(ctx, call);
  const { answer, opened } = await validateInSession(ctx, call, [code], context, session);
  const result = answer.codes[0] as CodeResult;
  const trackingId = context.customer?.id ?? null;
  if (!answer.valid) {
    const reason = (result.reason ?? 'not_found') as CheckoutReason;
    if (reason === 'not_found') throw refusalError('not_found', code);
    const entry = REFUSALS[reason];
    return {
      status: 200,
      body: {
        valid: false,
        code: result.code,
        reason: entry.message,
        error: { code: entry.status, key: entry.key, message: entry.message },
        tracking_id: trackingId,
        metadata: {},
      },
    };
  }
  const voucher = voucherView((await vouchersByCodes(ctx.platform.db, [result.code])).get(normalizeCode(result.code)) as never);
  return {
    status: 200,
    body: {
      valid: true,
      code: voucher.code,
      applicable_to: { data: [], total: 0, object: 'list' },
      inapplicable_to: { data: [], total: 0, object: 'list' },
      campaign: voucher.campaign,
      campaign_id: voucher.campaign_id,
      metadata: voucher.metadata,
      discount: voucher.discount,
      gift: null,
      loyalty: null,
      start_date: voucher.start_date,
      expiration_date: voucher.expiration_date,
      redemption: voucher.redemption,
      order: orderSummary(context.order?.items ? answer.order : null, context.order?.amount, result.discount_amount),
      tracking_id: trackingId,
      ...(opened ? { session: opened } : {}),
    },
  };
}

/**
 * `POST /v1/vouchers/{code}/redemption` (and the client's `POST /redeem?code=`): one code, one redemption; with
 * `session: {key}`, the session's hold confirmed.
 */
export async function redeemOnce(ctx: CompatContext, call: CompatCall, code: string): Promise<CompatReply> {
  checkFields(call.body, '', LEGACY_REDEMPTION_FIELDS);
  if (call.body.session !== undefined && call.body.session !== null) {
    const group = await consumeSession(ctx, call, call.body.session, [code]);
    const [redemption] = await redemptionObjects(ctx, group.redemptions);
    return { status: 200, body: redemption };
  }
  const context = contextOf(ctx, call);
  const response = await redeem(ctx, call, { code, ...context, metadata: context.metadata ?? {} });
  if (response.status !== 201) {
    const refusal = response.body as RedemptionRefusal;
    throw refusalError(refusal.reason, code, refusal.rule);
  }
  const [redemption] = await redemptionObjects(ctx, [response.body as RedemptionView]);
  return { status: 200, body: redemption };
}

const STACKABLE_FIELDS = fieldTable('redeemables order customer session metadata tracking_id channel options');

const OPTIONS_FIELDS = fieldTable('expand');

const REDEEMABLE_FIELDS = fieldTable('object id', 'gift reward');

/** The redeemables of a stackable request: 1 to 5 vouchers (the platform's limit, answered in `stacking_rules`). */
function redeemableCodes(body: Record<string, unknown>): string[] {
  const list = body.redeemables;
  if (!Array.isArray(list) || list.length === 0) throw invalidPayload('redeemables: give at least one');
  if (list.length > MAX_CODES) {
    throw new VoucherifyApiError(VOUCHERIFY_KEYS.redeemables_limit, `redeemables: at most ${MAX_CODES} (stacking_rules.redeemables_limit)`);
  }
  if (body.options !== undefined) checkFields(body.options, 'options', OPTIONS_FIELDS);
  return list.map((item, n) => {
    const r = checkFields(item, `redeemables[${n}]`, REDEEMABLE_FIELDS);
    if (r.object !== 'voucher') {
      throw notSupported(`redeemables[${n}].object`, 'only vouchers are supported (no promotion tiers, promotion stacks or loyalty)');
    }
    const id = typed(r.id, `redeemables[${n}].id`, isString, 'a voucher code');
    if (!id) throw invalidPayload(`redeemables[${n}].id: the voucher code is required`);
    return id;
  });
}

function stackingRules(ctx: CompatContext) {
  return {
    redeemables_limit: MAX_CODES,
    applicable_redeemables_limit: MAX_CODES,
    applicable_redeemables_per_category_limit: MAX_CODES,
    applicable_exclusive_redeemables_limit: 1,
    applicable_exclusive_redeemables_per_category_limit: 1,
    exclusive_categories: [],
    joint_categories: [],
    redeemables_application_mode: ctx.platform.config.VOUCHERIFY_COMPAT_APPLICATION_MODE,
    redeemables_sorting_rule: 'REQUESTED_ORDER',
  };
}

/** Each code's answer as Voucherify's redeemable: APPLICABLE, INAPPLICABLE with its error, or SKIPPED (stacking). */
function redeemableResults(codes: readonly CodeResult[], vouchers: Map<string, ReturnType<typeof voucherView>>, order: PricedOrder | null) {
  return codes.map((c) => {
    const voucher = vouchers.get(normalizeCode(c.code));
    if (c.valid) {
      return {
        status: 'APPLICABLE' as const,
        id: c.code,
        object: 'voucher' as const,
        order: orderSummary(order ? { ...order, discount_amount: c.discount_amount ?? 0, items: undefined } : null),
        applicable_to: { data: [], total: 0, object: 'list' },
        inapplicable_to: { data: [], total: 0, object: 'list' },
        result: { discount: voucher?.discount ?? null },
        metadata: voucher?.metadata ?? {},
        categories: [],
      };
    }
    const entry = REFUSALS[c.reason as CheckoutReason];
    const details = refusalDetails(c.reason as CheckoutReason, c.rule);
    if (c.reason === 'not_combinable') {
      return {
        status: 'SKIPPED' as const,
        id: c.code,
        object: 'voucher' as const,
        result: { details: { key: entry.key, message: entry.message } },
        metadata: {},
        categories: [],
      };
    }
    return {
      status: 'INAPPLICABLE' as const,
      id: c.code,
      object: 'voucher' as const,
      result: { error: { code: entry.status, key: entry.key, message: entry.message, details } },
      metadata: voucher?.metadata ?? {},
      categories: [],
    };
  });
}

async function voucherViews(ctx: CompatContext, codes: readonly string[]) {
  const rows = await vouchersByCodes(ctx.platform.db, [...codes]);
  return new Map([...rows].map(([code, v]) => [code, voucherView(v)]));
}

/** `POST /v1/validations`: stackable validation of 1 to 5 vouchers with an order (items, customer, stacking). */
export async function stackableValidate(ctx: CompatContext, call: CompatCall): Promise<CompatReply> {
  checkFields(call.body, '', STACKABLE_FIELDS);
  const session = sessionRequest(call.body.session);
  const codes = redeemableCodes(call.body);
  const context = contextOf(ctx, call);
  const { answer, opened } = await validateInSession(ctx, call, codes, context, session);
  const redeemables = redeemableResults(answer.codes, await voucherViews(ctx, codes), answer.order);
  return {
    status: 200,
    body: {
      valid: answer.valid,
      redeemables,
      inapplicable_redeemables: redeemables.filter((r) => r.status === 'INAPPLICABLE'),
      skipped_redeemables: redeemables.filter((r) => r.status === 'SKIPPED'),
      order: orderSummary(answer.order),
      tracking_id: context.customer?.id ?? null,
      ...(opened ? { session: opened } : {}),
      stacking_rules: stackingRules(ctx),
    },
  };
}

/** The parent redemption of a group: the request as a whole, its children named. */
function parentObject(group: RedemptionGroupView, children: ReturnType<typeof redemptionObject>[]) {
  const id = parentRedemptionId.encode(group.id);
  return {
    ...redemptionHead(id, 'redemption', group.created_at, group.customer?.id, group.metadata, group.order?.discount_amount ?? 0),
    redemption: null,
    result: 'SUCCESS' as const,
    status: group.status === 'rolled_back' ? ('ROLLED_BACK' as const) : ('SUCCEEDED' as const),
    order: orderSummary(group.order),
    customer: customerRef(group.customer?.id),
    related_object_type: 'redemption' as const,
    related_object_id: id,
    related_redemptions: { redemptions: children.map((c) => ({ id: c.id, date: c.date })), rollbacks: [] },
    channel: { channel_type: 'API' },
  };
}

/** `POST /v1/redemptions`: stackable redemption, ALL or PARTIAL (VOUCHERIFY_COMPAT_APPLICATION_MODE), with a parent. */
export async function stackableRedeem(ctx: CompatContext, call: CompatCall): Promise<CompatReply> {
  checkFields(call.body, '', STACKABLE_FIELDS);
  const codes = redeemableCodes(call.body);
  if (call.body.session !== undefined && call.body.session !== null) {
    return { status: 200, body: await groupAnswer(ctx, await consumeSession(ctx, call, call.body.session, codes), codes) };
  }
  const context = contextOf(ctx, call);
  const mode = ctx.platform.config.VOUCHERIFY_COMPAT_APPLICATION_MODE === 'PARTIAL' ? 'partial' : 'all';
  const response = await redeem(ctx, call, { codes, mode, ...context, metadata: context.metadata ?? {} });
  if (response.status !== 201) {
    const refusal = response.body as RedemptionRefusal;
    const failing = refusal.codes?.find((c) => !c.valid);
    const error = refusalError(refusal.reason, failing?.code ?? codes[0] ?? '', refusal.rule);
    throw error;
  }
  const group = response.body as RedemptionGroupView;
  return { status: 200, body: await groupAnswer(ctx, group, codes) };
}

async function groupAnswer(ctx: CompatContext, group: RedemptionGroupView, codes: readonly string[]) {
  const children = await redemptionObjects(ctx, group.redemptions);
  const parent = parentObject(group, children);
  const refused = redeemableResults(
    group.codes.filter((c) => !c.valid),
    await voucherViews(ctx, codes),
    null,
  );
  return {
    redemptions: children.map((c) => ({ ...c, parent_redemption_id: parent.id, redemption: parent.id })),
    parent_redemption: parent,
    order: orderSummary(group.order),
    inapplicable_redeemables: refused.filter((r) => r.status === 'INAPPLICABLE'),
    skipped_redeemables: refused.filter((r) => r.status === 'SKIPPED'),
  };
}

/** Succeeded and failed redemptions, in their order, as Voucherify objects. */
async function listObjects(ctx: CompatContext, rows: (RedemptionView | FailedRedemptionView)[]): Promise<unknown[]> {
  const isFailed = (r: RedemptionView | FailedRedemptionView): r is FailedRedemptionView => r.status === 'failed';
  const succeeded = await redemptionObjects(ctx, rows.filter((r) => !isFailed(r)) as RedemptionView[]);
  const vouchers = await voucherViews(ctx, [...new Set(rows.filter(isFailed).map((r) => r.code))]);
  let next = 0;
  return rows.map((r) => (isFailed(r) ? failedRedemptionObject(r, vouchers.get(r.code) ?? null) : succeeded[next++]));
}

async function withVoucher(ctx: CompatContext, r: RedemptionView): Promise<VoucherifyVoucher | null> {
  return (await voucherViews(ctx, [r.code])).get(r.code) ?? null;
}

export function checkoutRoutes(router: Router, ctx: CompatContext): void {
  const { db } = ctx.platform;

  compatRoute(router, 'post', '/vouchers/:code/validate', (call) => legacyValidate(ctx, call, call.params.code as string));
  compatRoute(router, 'post', '/vouchers/:code/redemption', (call) => redeemOnce(ctx, call, call.params.code as string));
  compatRoute(router, 'post', '/validations', (call) => stackableValidate(ctx, call));
  compatRoute(router, 'post', '/redemptions', (call) => stackableRedeem(ctx, call));
  compatRoute(router, 'delete', '/vouchers/:code/sessions/:key', async (call) => {
    await releaseSession(ctx, call, call.params.code as string, call.params.key as string);
    return { status: 204 };
  });

  compatRoute(router, 'get', '/redemptions/:id', async ({ params }) => {
    const id = params.id as string;
    const rollbackOf = rollbackId.decode(id);
    if (rollbackOf) {
      const r = await getRedemption(db, rollbackOf).catch(() => null);
      if (r?.status !== 'rolled_back') throw notFound('redemption_rollback', id);
      return { status: 200, body: rollbackObject(r, await withVoucher(ctx, r)) };
    }
    const groupId = parentRedemptionId.decode(id);
    if (groupId) {
      const group = await findRedemptionGroup(db, groupId);
      if (!group) throw notFound('redemption', id);
      return { status: 200, body: parentObject(group, await redemptionObjects(ctx, group.redemptions)) };
    }
    const failed = failedRedemptionId.decode(id);
    if (failed) {
      const f = await failedRedemptionById(db, failed).catch(() => {
        throw notFound('redemption', id);
      });
      return { status: 200, body: failedRedemptionObject(f, (await voucherViews(ctx, [f.code])).get(f.code) ?? null) };
    }
    const child = redemptionId.decode(id);
    const r = child ? await getRedemption(db, child).catch(() => null) : null;
    if (!r) throw notFound('redemption', id);
    const [object] = await redemptionObjects(ctx, [r]);
    return { status: 200, body: { ...object, ...(r.group_id ? { parent_redemption_id: parentRedemptionId.encode(r.group_id) } : {}) } };
  });

  compatRoute(router, 'get', '/redemptions', async ({ query }) => {
    onlyParams(query, ['limit', 'page', 'result', 'campaign', 'customer', 'voucher', 'object']);
    const { page, limit } = paging(query);
    if (query.result !== undefined && query.result !== 'SUCCESS' && query.result !== 'FAILURE') {
      throw notSupported('result', 'SUCCESS or FAILURE');
    }
    const campaign = query.campaign !== undefined ? await resolveCampaign(db, query.campaign) : undefined;
    const customer = customerRefId(query.customer);
    const code = typeof query.voucher === 'string' ? normalizeCode(query.voucher) : undefined;
    const filter = { campaign_id: campaign, customer_id: customer, code };
    const where: string[] = [];
    const params: unknown[] = [];
    if (campaign) where.push(`campaign_id = $${params.push(campaign)}`);
    if (customer) where.push(`customer_id = $${params.push(customer)}`);
    if (code) where.push(`code = $${params.push(code)}`);
    const condition = where.length ? `where ${where.join(' and ')}` : '';
    const succeeded = (n: number, cursor?: readonly [string]) => listRedemptions(db, { ...filter, limit: n, cursor });
    const failed = (n: number, cursor?: readonly [string]) => listFailedRedemptions(db, { ...filter, limit: n, cursor });
    const cursorOf = (next: string | null) =>
      next ? (JSON.parse(Buffer.from(next, 'base64url').toString('utf8')) as [string]) : undefined;
    const [successes, failures] = await Promise.all([
      query.result === 'FAILURE' ? 0 : countUpTo(db, `from redemptions ${condition}`, params),
      query.result === 'SUCCESS' ? 0 : countUpTo(db, `from failed_redemptions ${condition}`, params),
    ]);
    let objects: unknown[];
    if (query.result === 'SUCCESS' || query.result === 'FAILURE') {
      const list = query.result === 'SUCCESS' ? succeeded : failed;
      const data = await pageOfPages<RedemptionView | FailedRedemptionView, readonly [string]>(page, limit, async (n, cursor) => {
        const result = await list(n, cursor);
        return { data: result.data, next: cursorOf(result.next_cursor) };
      });
      objects = await listObjects(ctx, data);
    } else {
      // Both lists, newest first: the first page × limit of each, merged (at most 99 pages of 100, as Voucherify).
      const [s, f] = await Promise.all([succeeded(page * limit), failed(page * limit)]);
      const merged = [...s.data, ...f.data].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
      objects = await listObjects(ctx, merged.slice((page - 1) * limit, page * limit));
    }
    return { status: 200, body: { object: 'list', data_ref: 'redemptions', redemptions: objects, total: successes + failures } };
  });

  const ROLLBACK_FIELDS = fieldTable('customer reason', '', { metadata: 'rollback metadata is not stored' });

  /** A rollback call: its query and body checked, the redemption (or group) its path names rolled back. */
  const rollBack = async (call: CompatCall, decode: (id: string) => string | null) => {
    onlyParams(call.query, ['reason', 'tracking_id']);
    checkFields(call.body, '', ROLLBACK_FIELDS);
    const id = decode(call.params.id as string);
    if (!id) throw notFound('redemption', call.params.id as string);
    const reason = onceMoreDecoded(call.query.reason) ?? (typeof call.body.reason === 'string' ? call.body.reason : undefined);
    return rollbackRedemption(db, id, reason, actorOf(call), ctx.platform.clock.now());
  };

  compatRoute(router, 'post', '/redemptions/:id/rollback', async (call) => {
    const rolled = (await rollBack(call, redemptionId.decode)) as RedemptionView;
    return { status: 200, body: rollbackObject(rolled, await withVoucher(ctx, rolled)) };
  });

  compatRoute(router, 'post', '/redemptions/:id/rollbacks', async (call) => {
    const group = (await rollBack(call, parentRedemptionId.decode)) as RedemptionGroupView;
    const vouchers = await voucherViews(
      ctx,
      group.redemptions.map((r) => r.code),
    );
    const rollbacks = group.redemptions.map((r) => rollbackObject(r, vouchers.get(r.code) ?? null));
    return {
      status: 200,
      body: {
        rollbacks,
        parent_rollback: {
          id: rollbackId.encode(group.id),
          object: 'redemption_rollback',
          date: group.rolled_back_at,
          redemption: call.params.id,
          reason: group.rollback_reason,
          result: 'SUCCESS',
          status: 'SUCCEEDED',
          customer: customerRef(group.customer?.id),
          related_object_type: 'redemption',
          related_object_id: call.params.id,
        },
        order: orderSummary(group.order),
      },
    };
  });

  compatRoute(router, 'post', '/qualifications', (call) => qualify(ctx, call));
}

const QUALIFICATION_FIELDS = fieldTable('customer order scenario tracking_id metadata mode options');

const QUALIFICATION_OPTIONS = fieldTable('limit expand sorting_rule', '', {
  filters: 'qualification filters are not supported',
  starting_after: 'one page of at most 50',
});

/**
 * `POST /v1/qualifications`: which codes apply to this order. `CUSTOMER_WALLET`: the codes published to the
 * customer; `ALL`: those, and the standalone vouchers nobody holds. Each is validated on its own by the platform.
 */
export async function qualify(ctx: CompatContext, call: CompatCall): Promise<CompatReply> {
  const q = checkFields(call.body, '', QUALIFICATION_FIELDS);
  const scenario = q.scenario ?? 'ALL';
  if (scenario !== 'ALL' && scenario !== 'CUSTOMER_WALLET') throw notSupported('scenario', 'ALL or CUSTOMER_WALLET');
  if (q.mode !== undefined && q.mode !== 'BASIC') throw notSupported('mode', 'only BASIC');
  const options = checkFields(q.options, 'options', QUALIFICATION_OPTIONS);
  const limit = typed(options.limit, 'options.limit', isInteger, 'an integer') ?? 5;
  if (limit < 1 || limit > 50) throw invalidPayload('options.limit: from 1 to 50');
  if (options.sorting_rule !== undefined && options.sorting_rule !== 'DEFAULT' && options.sorting_rule !== 'BEST_DEAL') {
    throw notSupported('options.sorting_rule', 'DEFAULT or BEST_DEAL');
  }
  const context = contextOf(ctx, call);
  if (scenario === 'CUSTOMER_WALLET' && !context.customer) throw invalidPayload('customer: CUSTOMER_WALLET needs the customer');
  const { db } = ctx.platform;
  const wallet = context.customer
    ? (
        await db.query<{ code: string }>('select code from publications where customer_id = $1 order by created_at desc limit 200', [
          context.customer.id,
        ])
      ).rows.map((r) => r.code)
    : [];
  const open =
    scenario === 'ALL'
      ? (
          await db.query<{ code: string }>(
            `select v.code from vouchers v join campaigns c on c.id = v.campaign_id
             where coalesce((c.metadata->>'voucherify_standalone')::boolean, false) and v.holder_customer_id is null
               and v.active and v.deleted_at is null order by v.id desc limit 200`,
          )
        ).rows.map((r) => r.code)
      : [];
  const candidates = [...new Set([...wallet, ...open])];
  const outcomes = await Promise.all(candidates.map((code) => validate(ctx, call, { code, ...context })));
  const applicable = outcomes
    .map((o) => ({ o, view: validationView(o) as ValidationView }))
    .filter(({ view }) => view.valid)
    .map(({ o, view }) => ({ code: view.code, off: view.valid ? (view.discount?.amount ?? 0) : 0, order: o.input.order }));
  if (options.sorting_rule === 'BEST_DEAL') applicable.sort((a, b) => b.off - a.off);
  const vouchers = await voucherViews(
    ctx,
    applicable.map((a) => a.code),
  );
  const data = applicable.slice(0, limit).map((a) => {
    const voucher = vouchers.get(a.code);
    return {
      id: a.code,
      object: 'voucher' as const,
      created_at: voucher?.created_at ?? null,
      result: { discount: voucher?.discount ?? null },
      order: orderSummary(null, a.order?.amount, a.off),
      applicable_to: { data: [], total: 0, object: 'list' },
      inapplicable_to: { data: [], total: 0, object: 'list' },
      metadata: voucher?.metadata ?? {},
      categories: [],
      campaign_name: voucher?.campaign ?? null,
      campaign_id: voucher?.campaign_id ?? null,
    };
  });
  return {
    status: 200,
    body: {
      redeemables: { object: 'list', data_ref: 'data', data, total: applicable.length, has_more: applicable.length > limit },
      tracking_id: context.customer?.id ?? null,
      order: orderSummary(null, context.order?.amount),
      stacking_rules: stackingRules(ctx),
    },
  };
}
