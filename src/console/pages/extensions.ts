import type { BudgetUsage } from '../../campaigns/budgets.ts';
import type { Budget } from '../../campaigns/schemas.ts';
import type { ReservationView } from '../../reservations/schemas.ts';
import { badge, count, date } from '../format.ts';
import { html } from '../html.ts';

/**
 * The console's view of budgets and reservations (issue 14):
 *
 * - budgetUsedCell: the Campaigns list's "Budget used" column (used of total, from the budget counter rows);
 * - budgetLines: the campaign page's rules ("Budget: 4,120.00 EUR of 10,000.00 EUR used, 5,880.00 EUR left");
 * - reservationsSection: a code's open and past reservations on the Code page;
 * - refusals per reason: the campaign page's chart reads src/stats/refusals.ts (refusals of real codes, from their
 *   `voucher.redemption.failed` events, budget_exhausted included).
 */

/** Minor units shown in major units (two decimals: the currencies campaigns use here have two). */
function money(minor: number, currency: string | null): string {
  const major = (minor / 100).toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return currency ? `${major} ${currency}` : major;
}

export function budgetUsedCell(usage: BudgetUsage | null | undefined) {
  if (!usage) return html`<span class="muted" title="No budget">—</span>`;
  if (usage.remaining_discount_amount !== null) {
    const total = usage.used_discount_amount + usage.remaining_discount_amount;
    return html`<span title="${money(usage.remaining_discount_amount, usage.currency)} left">${money(usage.used_discount_amount, usage.currency)} / ${money(total, usage.currency)}</span>`;
  }
  if (usage.remaining_redemptions !== null) {
    return html`${count(usage.used_redemptions)} / ${count(usage.used_redemptions + usage.remaining_redemptions)}`;
  }
  return html`${money(usage.used_discount_amount, usage.currency)}`;
}

export function budgetLines(budget: Budget | null, usage: BudgetUsage | null): string[] {
  if (!budget || !usage) return [];
  const lines: string[] = [];
  if (usage.remaining_discount_amount !== null) {
    const total = usage.used_discount_amount + usage.remaining_discount_amount;
    lines.push(
      `Budget: ${money(usage.used_discount_amount, usage.currency)} of ${money(total, usage.currency)} used, ${money(usage.remaining_discount_amount, usage.currency)} left${budget.allow_partial ? ' (the last redemption gets what is left)' : ''}.`,
    );
  }
  if (usage.remaining_redemptions !== null) {
    lines.push(
      `Budget: ${usage.used_redemptions.toLocaleString('en')} of ${(usage.used_redemptions + usage.remaining_redemptions).toLocaleString('en')} redemptions used.`,
    );
  }
  if (budget.max_discount_per_customer != null) {
    lines.push(`At most ${money(budget.max_discount_per_customer, budget.currency ?? null)} of discount per customer.`);
  }
  if (usage.exhausted) lines.push(`The budget ran out${usage.exhausted_at ? ` on ${usage.exhausted_at.slice(0, 10)}` : ''}.`);
  return lines;
}

export function reservationsSection(reservations: readonly ReservationView[]) {
  if (reservations.length === 0) return html``;
  return html`<section aria-labelledby="reservations-heading">
    <h2 id="reservations-heading">Reservations</h2>
    <table class="data" id="reservations">
      <thead><tr><th scope="col">Order</th><th scope="col">Status</th><th scope="col">Customer</th><th scope="col">Held</th><th scope="col">Expires</th></tr></thead>
      <tbody>${reservations.map(
        (r) => html`<tr data-reservation="${r.id}">
          <td><code>${r.order?.id ?? ''}</code></td><td>${badge(r.status)}</td>
          <td>${r.customer ? html`<code>${r.customer.id}</code>` : html`<span class="muted">guest</span>`}</td>
          <td>${date(r.created_at)}</td><td>${date(r.expires_at)}</td>
        </tr>`,
      )}</tbody>
    </table>
  </section>`;
}
