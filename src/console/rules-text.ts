import type { Check, Condition, ItemsPredicate, Predicate } from '../rules/conditions.ts';
import type { ItemMatch } from '../rules/item-match.ts';
import type { Discount } from '../rules/order-discount.ts';
import type { StackingInput } from '../rules/stacking.ts';
import { countText, moneyText } from './format.ts';

/**
 * A campaign's code shape and rules in plain words, read from the JSON the API stores (defensively: a key this
 * does not know is shown as JSON rather than dropped). Lines are plain text: the page escapes them (html.ts).
 * Budget lines come from the reservations extension point (pages/extensions.ts).
 */

type Json = Record<string, unknown>;

const DAY_SHORT = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const DAY_NAMES = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export function describeShape(template: string, charset: string): string[] {
  const random = [...template].filter((c) => c === '#').length;
  const space = BigInt(charset.length) ** BigInt(random);
  const bits = random * Math.log2(charset.length);
  return [
    `Codes look like ${template.replaceAll('#', 'X')}: ${random} random characters (X) drawn from ${charset.length} (${charset}).`,
    `${space.toLocaleString('en-US')} possible codes, ${bits.toFixed(1)} bits of entropy each; compared case-insensitively.`,
  ];
}

/** “a”, “b” or “c” (`and` for lists that must all hold). */
function listText(values: readonly string[], last = 'or'): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} ${last} ${values.at(-1)}`;
}

/** "not “a”", "neither “a” nor “b”", "none of “a”, “b” and “c”". */
function notAnyOf(values: readonly string[]): string {
  if (values.length === 1) return `not ${values[0]}`;
  if (values.length === 2) return `neither ${values[0]} nor ${values[1]}`;
  return `none of ${listText(values, 'and')}`;
}

const quoted = (value: unknown) => `“${String(value)}”`;

/** A scalar as an operator reads it: strings quoted, numbers with separators. */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'number') return Number.isInteger(value) ? countText(value) : String(value);
  return JSON.stringify(value) ?? String(value);
}

/** Minor units in the campaign's currency, or with their unit said when the rules name no currency. */
function amountText(minor: number, currency: string | undefined): string {
  return currency ? moneyText(minor, currency) : `${countText(minor)} (minor units of the order's currency)`;
}

/** Each criterion of an item match as [how it qualifies items, what it names]: ["in", "category “shoes”"]. */
function matchCriteria(match: ItemMatch): [qualifier: string, criterion: string][] {
  const many = (value: string | string[]) => listText((Array.isArray(value) ? value : [value]).map(quoted));
  const criteria: [string, string][] = [];
  if (match.categories) criteria.push(['in', `${match.categories.length > 1 ? 'categories' : 'category'} ${many(match.categories)}`]);
  if (match.sku !== undefined) criteria.push(['with', `SKU ${many(match.sku)}`]);
  if (match.product_id !== undefined) criteria.push(['of', `product ${many(match.product_id)}`]);
  for (const [key, value] of Object.entries(match.metadata ?? {})) criteria.push(['with', `${key} ${scalarText(value)}`]);
  return criteria;
}

/** "category “shoes” and SKU “RUN-42”", or "any line" for `{}`. */
export function describeMatch(match: ItemMatch): string {
  const criteria = matchCriteria(match);
  return criteria.length === 0
    ? 'any line'
    : listText(
        criteria.map(([, c]) => c),
        'and',
      );
}

/** "in category “shoes” and with SKU “RUN-42”" (empty for `{}`): what follows "items". */
function itemsQualifier(match: ItemMatch): string {
  const criteria = matchCriteria(match);
  return criteria.length === 0
    ? ''
    : ` ${listText(
        criteria.map(([q, c]) => `${q} ${c}`),
        'and',
      )}`;
}

const itemsWord = (n: number) => (n === 1 ? '1 item' : `${countText(n)} items`);

function itemsText({ items }: ItemsPredicate, currency: string | undefined): string {
  const what = itemsQualifier(items.match);
  const { min_quantity: min, max_quantity: max, min_amount: minAmount } = items;
  const worth = minAmount === undefined ? '' : ` worth at least ${amountText(minAmount, currency)} together`;
  if (min !== undefined && max !== undefined) {
    const range = min === max ? `exactly ${itemsWord(min)}` : `between ${countText(min)} and ${itemsWord(max)}`;
    return `the order has ${range}${what}${worth}`;
  }
  if (min !== undefined) return `the order has at least ${itemsWord(min)}${what}${worth}`;
  if (max !== undefined) return `the order has at most ${itemsWord(max)}${what}${worth}`;
  if (minAmount !== undefined) return `the order has items${what}${worth}`;
  return `the order has an item${what}`;
}

/** How a field reads in a sentence, and how its values read. */
function fieldText(field: string, currency: string | undefined): { subject: string; value: (v: unknown) => string } {
  const metadata = /^(order|customer|redemption)\.metadata\.(.+)$/.exec(field);
  if (metadata) return { subject: `${metadata[1]} metadata ${quoted(metadata[2])}`, value: scalarText };
  switch (field) {
    case 'order.amount':
      return { subject: 'the order total', value: (v) => (typeof v === 'number' ? amountText(v, currency) : scalarText(v)) };
    case 'order.items_quantity':
      return { subject: 'the number of items', value: scalarText };
    case 'order.currency':
      return { subject: 'the order currency', value: (v) => String(v).toUpperCase() };
    case 'customer.id':
      return { subject: 'the customer id', value: scalarText };
    case 'customer.redemptions_in_campaign':
      return { subject: "the customer's redemption count in this campaign", value: scalarText };
    case 'now.day_of_week':
      return { subject: 'the day', value: (v) => DAY_NAMES[Number(v)] ?? scalarText(v) };
    case 'now.time':
      return { subject: 'the time', value: String };
    default:
      return { subject: field, value: scalarText };
  }
}

/** Comparison words; days and times read as before/after. */
function comparisonText(field: string, op: 'gt' | 'gte' | 'lt' | 'lte', value: string): string {
  if (field === 'now.day_of_week' || field === 'now.time') {
    const later = field === 'now.time' ? 'later' : 'later in the week';
    const earlier = field === 'now.time' ? 'earlier' : 'earlier in the week';
    return { gt: `after ${value}`, gte: `${value} or ${later}`, lt: `before ${value}`, lte: `${value} or ${earlier}` }[op];
  }
  return { gt: `more than ${value}`, gte: `at least ${value}`, lt: `less than ${value}`, lte: `at most ${value}` }[op];
}

function predicateText(p: Predicate, currency: string | undefined): string {
  const values = Array.isArray(p.value) ? p.value : [p.value];
  if (p.field === 'customer.segment') {
    const names = values.map(quoted);
    if (p.op === 'eq') return `the customer is in segment ${names[0]}`;
    if (p.op === 'ne') return `the customer is not in segment ${names[0]}`;
    if (p.op === 'in') return `the customer is in segment ${listText(names)}`;
    if (p.op === 'not_in') {
      return names.length === 1
        ? `the customer is not in segment ${names[0]}`
        : `the customer is in none of the segments ${listText(names, 'and')}`;
    }
  }
  const { subject, value } = fieldText(p.field, currency);
  switch (p.op) {
    case 'eq':
      return `${subject} is ${value(p.value)}`;
    case 'ne':
      return `${subject} is not ${value(p.value)}`;
    case 'in':
      return `${subject} is ${listText(values.map(value))}`;
    case 'not_in':
      return `${subject} is ${notAnyOf(values.map(value))}`;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return `${subject} is ${comparisonText(p.field, p.op, value(p.value))}`;
    case 'exists':
      return p.value === false ? `${subject} is not set` : `${subject} is set`;
    case 'contains':
      return `${subject} contains ${value(p.value)}`;
    case 'starts_with':
      return `${subject} starts with ${value(p.value)}`;
    default:
      return JSON.stringify(p);
  }
}

/**
 * A condition in words: `all` joins with ", and", `any` with ", or", a nested group is parenthesized, and `not`
 * of "has an item…" reads "has no item…". `currency` is the campaign's (order totals are in it).
 */
export function describeCondition(condition: Condition, currency?: string): string {
  const nested = (c: Condition) => ('all' in c || 'any' in c ? `(${describeCondition(c, currency)})` : describeCondition(c, currency));
  if ('all' in condition) return condition.all.map(nested).join(', and ');
  if ('any' in condition) return `${condition.any.length > 1 ? 'either ' : ''}${condition.any.map(nested).join(', or ')}`;
  if ('not' in condition) {
    const inner = condition.not;
    if ('items' in inner && Object.keys(inner.items).length === 1) return `the order has no item${itemsQualifier(inner.items.match)}`;
    return `not: ${nested(inner)}`;
  }
  if ('items' in condition) return itemsText(condition, currency);
  if ('field' in condition) return predicateText(condition, currency);
  return JSON.stringify(condition);
}

/** "members-only" → "Members only". */
function checkLabel(name: string): string {
  const words = name.replaceAll(/[-_.]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** One check: "Members only: the customer is in segment “gold”. Refused with: “This code is for members.”" */
export function describeCheck(check: Check, currency?: string): string {
  const message = check.message ? ` Refused with: ${quoted(check.message)}` : '';
  return `${checkLabel(check.name)}: ${describeCondition(check.when, currency)}.${message}`;
}

/** The discount in words, e.g. "20 % off matching lines (category “shoes”), at most €30.00." */
export function describeDiscount(discount: Discount): string {
  if (discount.type === 'unit') {
    const units = discount.quantity === 1 ? '1 unit' : `${countText(discount.quantity)} units`;
    const among = Object.keys(discount.match).length === 0 ? 'any lines' : `matching lines (${describeMatch(discount.match)})`;
    return `${units} of ${among} free, the cheapest first.`;
  }
  const target =
    discount.apply_to === undefined || discount.apply_to === 'order'
      ? null
      : `matching lines (${describeMatch(discount.apply_to.items.match)})`;
  if (discount.type === 'percent') {
    const cap = discount.max_amount === undefined ? '' : `, at most ${amountText(discount.max_amount, discount.currency)}`;
    const only = discount.currency ? ` (${discount.currency.toUpperCase()} orders only)` : '';
    return `${discount.value} % off ${target ?? 'the order'}${cap}${only}.`;
  }
  const money = moneyText(discount.value, discount.currency);
  if (discount.type === 'amount') return `${money} off ${target ?? 'the order'}.`;
  if (discount.type === 'fixed_price') {
    return target ? `The ${target} cost ${money} together (never more than before).` : `The order costs ${money} (never more than before).`;
  }
  return `Discount: ${JSON.stringify(discount)}.`;
}

/** How the campaign's codes combine with others in one order. */
export function describeStacking(stacking: StackingInput | null | undefined): string {
  const priority = stacking?.priority ?? 0;
  const combines = stacking?.exclusive
    ? 'combines with no other code'
    : stacking?.exclusive_group
      ? `combines with other codes, but never with another code of group ${quoted(stacking.exclusive_group)}`
      : 'combines with other codes';
  return `Stacking: ${combines}; priority ${countText(priority)} (higher applies first).`;
}

function limitText(value: unknown, one: string, many: (n: string) => string, none: string): string {
  if (value === null) return none;
  if (value === 1) return one;
  return many(countText(Number(value)));
}

function windowText(w: Json): string {
  const days = Array.isArray(w.days_of_week) ? (w.days_of_week as number[]).map((d) => DAY_SHORT[d] ?? String(d)).join(', ') : 'every day';
  const from = typeof w.start_time === 'string' ? w.start_time : '00:00';
  const to = typeof w.end_time === 'string' ? w.end_time : '24:00';
  return `${days}, ${from}–${to}`;
}

/** A currency the condition requires with `order.currency eq`, at its top or under `all`. */
function requiredCurrency(condition: Condition): string | undefined {
  if ('all' in condition) {
    for (const child of condition.all) {
      const found = requiredCurrency(child);
      if (found) return found;
    }
  }
  if ('field' in condition && condition.field === 'order.currency' && condition.op === 'eq' && typeof condition.value === 'string') {
    return condition.value.toUpperCase();
  }
  return undefined;
}

/** The currency order totals are in: the discount's, the minimum order's, or one a condition requires. */
function rulesCurrency(rules: Json): string | undefined {
  const discount = rules.discount as Json | null | undefined;
  if (typeof discount?.currency === 'string') return discount.currency;
  const order = rules.order as Json | null | undefined;
  if (typeof order?.currency === 'string') return order.currency;
  const checks = Array.isArray(rules.conditions) ? (rules.conditions as Check[]) : [];
  for (const check of checks) {
    const found = requiredCurrency(check.when);
    if (found) return found;
  }
  return undefined;
}

/** Every rule, one sentence each; the timezone is the campaign's (validity windows are local to it). */
export function describeRules(rules: Json, timezone: string): string[] {
  const lines: string[] = [];
  const currency = rulesCurrency(rules);
  const redemption = (rules.redemption ?? {}) as Json;
  lines.push(
    limitText(
      redemption.per_code_limit === undefined ? 1 : redemption.per_code_limit,
      'Each code can be redeemed once.',
      (n) => `Each code can be redeemed ${n} times.`,
      'Each code can be redeemed any number of times.',
    ),
  );
  if (redemption.per_customer_limit != null) {
    lines.push(`A customer can redeem one code at most ${limitText(redemption.per_customer_limit, 'once', (n) => `${n} times`, '')}.`);
  }
  if (redemption.per_customer_campaign_limit != null) {
    lines.push(
      `A customer can redeem at most ${limitText(redemption.per_customer_campaign_limit, 'once', (n) => `${n} times`, '')} across the campaign.`,
    );
  }
  if (rules.discount && typeof rules.discount === 'object') lines.push(describeDiscount(rules.discount as Discount));
  else lines.push('No discount is set (the checkout applies its own).');
  const order = rules.order as Json | null | undefined;
  if (order && typeof order.min_amount === 'number' && typeof order.currency === 'string') {
    lines.push(`Only for orders of at least ${moneyText(order.min_amount, order.currency)}.`);
  }
  const checks = rules.conditions as Check[] | null | undefined;
  if (Array.isArray(checks) && checks.length > 0) {
    lines.push(checks.length === 1 ? 'One condition must hold:' : `All ${countText(checks.length)} conditions must hold:`);
    for (const check of checks) lines.push(describeCheck(check, currency));
  }
  const windows = rules.validity_windows as Json[] | null | undefined;
  if (Array.isArray(windows) && windows.length > 0) {
    lines.push(`Only usable ${windows.map(windowText).join('; ')} (${timezone}).`);
  }
  if (rules.holder_only) lines.push('Only the customer a code was published to can use it; for anyone else it does not exist.');
  lines.push(describeStacking(rules.stacking as StackingInput | null | undefined));
  const known = new Set(['redemption', 'discount', 'order', 'conditions', 'validity_windows', 'holder_only', 'stacking']);
  for (const [key, value] of Object.entries(rules)) if (!known.has(key)) lines.push(`${key}: ${JSON.stringify(value)}`);
  return lines;
}
