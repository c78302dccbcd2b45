/**
 * npm run bench:rules -- [--rounds 15] [--pool 4000]
 * The pure rules evaluation of one validation, in process (no HTTP, no database), in CPU microseconds:
 * - baseline: today's single-code rules (effectiveRules, refusalReason with rules.order.min_amount, applyDiscount);
 * - single: the same single code through the checkout core (min_amount as a check, percent discount, one code);
 * - rich: 3 codes over a 20-line order with 5 conditions (item predicates and a segment among them), three discount
 *   types and stacking: order normalization, customer overlay, segment membership, per-code legacy refusal checks,
 *   compiled rules looked up, checks, and the combined priced answer.
 * Every evaluation reads rules objects it has never seen (fresh clones, as rows from the database are), so the
 * compile cache is hit by their JSON, never by identity; for comparison, "keyed" finds them by a text key the caller
 * gives (as the rows' jsonb text would be) and "same rules objects" by identity.
 * Each round times every variant back to back over a fresh pool of --pool inputs, so a burst of load from elsewhere
 * hits all alike; the figures are the medians over --rounds rounds. The parse of the 20-line order, which the
 * HTTP layer pays before any of this, is printed beside them: as the API parses it (well-formed lines skip zod,
 * src/rules/order.ts) and by zod alone.
 */
import type { Candidate } from '../src/redemptions/lookup.ts';
import { type CheckoutRules, type CodeDecision, combineCodes, compileCheckoutRules, decideCode } from '../src/rules/checkout.ts';
import { checksSchema } from '../src/rules/conditions.ts';
import { evaluationContext, overlayCustomer } from '../src/rules/context.ts';
import { applyDiscount, effectiveRules, type Rules, refusalReason } from '../src/rules/index.ts';
import { type NormalizedOrder, normalizeOrder, orderInputSchema } from '../src/rules/order.ts';
import { discountSchema } from '../src/rules/order-discount.ts';
import { SegmentCatalogue, segmentDefinitionSchema } from '../src/rules/segments.ts';
import { activeCandidate } from '../test/support/candidates.ts';
import { argValue, printTable } from './support.ts';

const rounds = argValue('rounds', 15);
const poolSize = argValue('pool', 4000);
const now = new Date('2026-03-04T10:15:00Z');

const candidate = activeCandidate({
  id: '00000000-0000-0000-0000-000000000001',
  code: 'WELCOME-20',
  campaign_id: '00000000-0000-0000-0000-0000000000c1',
  campaign_start_date: '2026-01-01 00:00:00+00',
  campaign_expiration_date: '2027-01-01 00:00:00+00',
  timezone: 'Europe/Paris',
  campaign_rules: {
    redemption: { per_code_limit: null, per_customer_campaign_limit: 3 },
    order: { min_amount: 5000, currency: 'EUR' },
    discount: { type: 'percent', value: 15, max_amount: 3000 },
  },
});

const customerInput = { id: 'cust-42', email: 'ada@example.com', metadata: { tier: 'gold' } };
const storedCustomer = { metadata: { tier: 'silver', since: '2024-05-01', newsletter: true } };
const simpleOrder = { amount: 12000, currency: 'EUR' };

const richOrderInput = {
  id: 'order-1',
  currency: 'EUR',
  metadata: { channel: 'web', country: 'FR' },
  items: Array.from({ length: 20 }, (_, i) => ({
    sku: i === 19 ? 'shipping' : `SKU-${i}`,
    product_id: `P-${i % 7}`,
    categories: i === 19 ? ['shipping'] : i % 4 === 0 ? ['shoes', 'sale'] : i % 4 === 1 ? ['t-shirts'] : ['accessories'],
    quantity: 1 + (i % 3),
    price: 990 + i * 250,
    metadata: { brand: i % 2 ? 'acme' : 'globex' },
  })),
};

const segments = new SegmentCatalogue([
  segmentDefinitionSchema.parse({ name: 'members', when: { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] } }),
  segmentDefinitionSchema.parse({ name: 'staff', when: { field: 'customer.id', op: 'starts_with', value: 'staff-' } }),
]);

/** Three campaigns' rules, as the effective rules of three codes; 5 conditions in all. */
const richRules: CheckoutRules[] = [
  {
    conditions: checksSchema.parse([
      { name: 'members', when: { field: 'customer.segment', op: 'eq', value: 'members' }, message: 'For members only' },
      { name: 'shoes', when: { items: { match: { categories: ['shoes'] }, min_quantity: 1 } } },
      { name: 'weekdays', when: { field: 'now.day_of_week', op: 'in', value: [1, 2, 3, 4, 5] } },
    ]),
    discount: discountSchema.parse({
      type: 'percent',
      value: 20,
      max_amount: 3000,
      apply_to: { items: { match: { categories: ['shoes'] } } },
    }),
    stacking: { priority: 10, exclusive_group: 'percent' },
  },
  {
    order: { min_amount: 5000, currency: 'EUR' },
    conditions: checksSchema.parse([
      { name: 'no-gift-cards', when: { not: { items: { match: { categories: ['gift-cards'] } } } } },
      {
        name: 'first-or-newsletter',
        when: {
          any: [
            { field: 'customer.redemptions_in_campaign', op: 'lt', value: 1 },
            { field: 'customer.metadata.newsletter', op: 'eq', value: true },
          ],
        },
      },
    ]),
    discount: discountSchema.parse({ type: 'amount', value: 1000, currency: 'EUR' }),
  },
  {
    discount: discountSchema.parse({ type: 'unit', quantity: 1, match: { sku: 'shipping' } }),
    stacking: { priority: -1, exclusive_group: 'shipping' },
  },
];
const legacyRules = candidate.campaign_rules as Rules;
const singleRules: CheckoutRules = { order: legacyRules.order, discount: legacyRules.discount };
const richCandidate: Candidate = { ...candidate, campaign_rules: { redemption: legacyRules.redemption } };
const parsedRichOrder = orderInputSchema.parse(richOrderInput);

let sink = 0;

function baseline(rows: Candidate[]): void {
  for (const row of rows) {
    const rules = effectiveRules(row);
    const reason = refusalReason(row, rules, {
      customerId: 'cust-42',
      order: simpleOrder,
      now,
      customerCodeCount: 0,
      customerCampaignCount: 1,
    });
    sink += reason === null ? (applyDiscount(rules.discount, simpleOrder)?.amount ?? 0) : 1;
  }
}

/** One validation through the checkout core: per code, today's refusal checks (min_amount now a check), then its checks. */
function checkout(
  order: NormalizedOrder,
  rows: Candidate[],
  rules: CheckoutRules[],
  keys: string[] | undefined,
  catalogue: SegmentCatalogue | null,
): void {
  const customer = overlayCustomer(customerInput, storedCustomer);
  const membership = catalogue ? catalogue.membership(customer) : null;
  const decisions: CodeDecision[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Candidate;
    const refused = refusalReason(
      row,
      { ...effectiveRules(row), order: null },
      { customerId: customer?.id, now, customerCodeCount: 0, customerCampaignCount: 1 },
    );
    if (refused) {
      decisions.push({ code: row.code, refusal: { reason: refused } });
      continue;
    }
    const ctx = evaluationContext({
      order,
      customer,
      redemptionMetadata: null,
      customerRedemptionsInCampaign: 1,
      now,
      timeZone: row.timezone,
      segments: membership,
    });
    decisions.push(decideCode(row.code, compileCheckoutRules(rules[i] as CheckoutRules, keys?.[i]), ctx));
  }
  sink += combineCodes(decisions, order).order?.total_amount ?? 0;
}

function single(pool: { row: Candidate; rules: CheckoutRules }[]): void {
  for (const { row, rules } of pool) checkout(normalizeOrder(simpleOrder), [row], [rules], undefined, null);
}

function rich(pool: { rows: Candidate[]; rules: CheckoutRules[]; keys?: string[] }[]): void {
  for (const { rows, rules, keys } of pool) checkout(normalizeOrder(parsedRichOrder), rows, rules, keys, segments);
}

const zodOnlyOrderSchema = orderInputSchema.clone();

function orderParse(count: number, schema = orderInputSchema): void {
  for (let i = 0; i < count; i++) sink += schema.parse(richOrderInput).items?.length ?? 0;
}

/**
 * CPU microseconds (user + system, this process) per evaluation of `run` over `count` inputs: on cores shared with
 * other work, wall time mostly measures how long the process waited for a core.
 */
function timed(count: number, run: () => void): number {
  const started = process.cpuUsage();
  run();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const clone = <T>(value: T): T => structuredClone(value);

function pools() {
  const rows = Array.from({ length: poolSize }, () => clone(candidate));
  return {
    rows,
    single: rows.map((row) => ({ row, rules: clone(singleRules) })),
    rich: Array.from({ length: poolSize }, () => ({ rows: richRules.map(() => clone(richCandidate)), rules: richRules.map(clone) })),
    // As if the lookup also selected the rules' jsonb text: a fresh string per row, whose hash is not computed yet.
    richKeyed: Array.from({ length: poolSize }, () => {
      const rules = richRules.map(clone);
      return { rows: richRules.map(() => clone(richCandidate)), rules, keys: rules.map((r) => JSON.stringify(r)) };
    }),
  };
}

const sameRichRules = Array.from({ length: poolSize }, () => ({ rows: richRules.map(() => clone(richCandidate)), rules: richRules }));

// Warm-up: let the JIT settle on every path.
for (let i = 0; i < 3; i++) {
  const p = pools();
  baseline(p.rows);
  single(p.single);
  rich(p.rich);
  rich(p.richKeyed);
  rich(sameRichRules);
  orderParse(500);
  orderParse(500, zodOnlyOrderSchema);
}

const results = Array.from({ length: rounds }, () => {
  const p = pools();
  return {
    baseline: timed(poolSize, () => baseline(p.rows)),
    single: timed(poolSize, () => single(p.single)),
    rich: timed(poolSize, () => rich(p.rich)),
    richKeyed: timed(poolSize, () => rich(p.richKeyed)),
    richSame: timed(poolSize, () => rich(sameRichRules)),
    orderParse: timed(1000, () => orderParse(1000)),
    orderParseZod: timed(1000, () => orderParse(1000, zodOnlyOrderSchema)),
  };
});

const round2 = (n: number) => Math.round(n * 100) / 100;
const result = {
  rules_eval_us: round2(median(results.map((r) => r.rich))),
  rules_eval_keyed_us: round2(median(results.map((r) => r.richKeyed))),
  rules_eval_same_objects_us: round2(median(results.map((r) => r.richSame))),
  single_code_us: round2(median(results.map((r) => r.single))),
  baseline_us: round2(median(results.map((r) => r.baseline))),
  rich_over_baseline: round2(median(results.map((r) => r.rich / r.baseline))),
  single_over_baseline: round2(median(results.map((r) => r.single / r.baseline))),
  order_parse_us: round2(median(results.map((r) => r.orderParse))),
  order_parse_zod_us: round2(median(results.map((r) => r.orderParseZod))),
  rounds,
  pool: poolSize,
};

printTable([
  ['baseline: today, one code, min_amount + percent', `${result.baseline_us} µs`],
  ['single: the same code through the checkout core', `${result.single_code_us} µs (${result.single_over_baseline}× baseline)`],
  ['rich: 3 codes, 20 lines, 5 conditions, segment, stacking', `${result.rules_eval_us} µs (${result.rich_over_baseline}× baseline)`],
  ['rich, rules found by a key the caller gives (row text)', `${result.rules_eval_keyed_us} µs`],
  ['rich, same rules objects (identity cache)', `${result.rules_eval_same_objects_us} µs`],
  ['parse of the 20-line order (HTTP layer, not counted)', `${result.order_parse_us} µs (zod alone: ${result.order_parse_zod_us} µs)`],
  ['rounds × pool', `${rounds} × ${poolSize}`],
]);
if (sink === 42) console.log('');
console.log(JSON.stringify(result));
