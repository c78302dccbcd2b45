import { countText, moneyText } from './format.ts';

/**
 * A campaign's code shape and rules in plain words, read from the JSON the API stores (defensively: a key this
 * does not know is shown as JSON rather than dropped). The checkout engine (issue 13) adds conditions and stacking,
 * reservations and budgets (issue 14) add budget lines: each becomes one more describer here.
 */

type Json = Record<string, unknown>;

const DAYS = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function describeShape(template: string, charset: string): string[] {
  const random = [...template].filter((c) => c === '#').length;
  const space = BigInt(charset.length) ** BigInt(random);
  const bits = random * Math.log2(charset.length);
  return [
    `Codes look like ${template.replaceAll('#', 'X')}: ${random} random characters (X) drawn from ${charset.length} (${charset}).`,
    `${space.toLocaleString('en-US')} possible codes, ${bits.toFixed(1)} bits of entropy each; compared case-insensitively.`,
  ];
}

function limitText(value: unknown, one: string, many: (n: string) => string, none: string): string {
  if (value === null) return none;
  if (value === 1) return one;
  return many(countText(Number(value)));
}

function windowText(w: Json): string {
  const days = Array.isArray(w.days_of_week) ? (w.days_of_week as number[]).map((d) => DAYS[d] ?? String(d)).join(', ') : 'every day';
  const from = typeof w.start_time === 'string' ? w.start_time : '00:00';
  const to = typeof w.end_time === 'string' ? w.end_time : '24:00';
  return `${days}, ${from}–${to}`;
}

function discountText(d: Json): string {
  const currency = typeof d.currency === 'string' ? d.currency : undefined;
  if (d.type === 'percent') {
    const cap = typeof d.max_amount === 'number' && currency ? ` (at most ${moneyText(d.max_amount, currency)})` : '';
    return `${d.value} % off the order${cap}.`;
  }
  if (d.type === 'amount' && currency) return `${moneyText(Number(d.value), currency)} off the order.`;
  return `Discount: ${JSON.stringify(d)}.`;
}

/** Every rule, one sentence each; the timezone is the campaign's (validity windows are local to it). */
export function describeRules(rules: Json, timezone: string): string[] {
  const lines: string[] = [];
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
  if (rules.discount && typeof rules.discount === 'object') lines.push(discountText(rules.discount as Json));
  else lines.push('No discount is set (the checkout applies its own).');
  const order = rules.order as Json | null | undefined;
  if (order && typeof order.min_amount === 'number' && typeof order.currency === 'string') {
    lines.push(`Only for orders of at least ${moneyText(order.min_amount, order.currency)}.`);
  }
  const windows = rules.validity_windows as Json[] | null | undefined;
  if (Array.isArray(windows) && windows.length > 0) {
    lines.push(`Only usable ${windows.map(windowText).join('; ')} (${timezone}).`);
  }
  if (rules.holder_only) lines.push('Only the customer a code was published to can use it; for anyone else it does not exist.');
  const known = new Set(['redemption', 'discount', 'order', 'validity_windows', 'holder_only']);
  for (const [key, value] of Object.entries(rules)) if (!known.has(key)) lines.push(`${key}: ${JSON.stringify(value)}`);
  return lines;
}
