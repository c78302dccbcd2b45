import { html } from '../html.ts';

/**
 * EXTENSION POINTS for issue 14 (reservations and budgets), which adds the data these need. Until then each
 * renders its placeholder; when it lands, replace the body here (and only here) with the real figures:
 *
 * - budgetUsedCell: the Campaigns list's "Budget used" column (used of total, from the budget table);
 * - budgetLines: the campaign page's rules ("Budget: 4,120.00 EUR of 10,000.00 EUR used, 5,880.00 EUR left");
 * - reservationsSection: a code's open and released reservations on the Code page;
 * - refusals per reason: the campaign page's chart reads src/stats/refusals.ts today (refusals of real codes,
 *   from their `voucher.redemption.failed` events); once failed redemptions are kept in a table, point
 *   refusalsPerDay at it if it holds more (validations' refusals, for one).
 */

export function budgetUsedCell(_campaignId: string) {
  return html`<span class="muted" title="Budgets come with reservations and budgets (issue 14)">—</span>`;
}

export function budgetLines(_campaignId: string): string[] {
  return [];
}

export function reservationsSection(_code: string) {
  return html``;
}
