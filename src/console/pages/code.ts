import type { CampaignView } from '../../campaigns/schemas.ts';
import { problemFor } from '../../http/problem.ts';
import type { RedemptionView } from '../../redemptions/schemas.ts';
import { reservationsOfCode } from '../../reservations/reservations.ts';
import type { VoucherEventView, VoucherView } from '../../vouchers/schemas.ts';
import type { FormAction } from '../actions.ts';
import { CONSOLE_PATH, type ConsoleRequest } from '../context.ts';
import { badge, count, date, moneyText, relative } from '../format.ts';
import { type Html, html, type Renderable } from '../html.ts';
import type { ConsoleModule, ConsoleRoutes } from '../index.ts';
import { layout, problemBox } from '../layout.ts';
import { reservationsSection } from './extensions.ts';

const codeUrl = (code: string) => `${CONSOLE_PATH}/codes/${encodeURIComponent(code)}`;

function activeAction(active: boolean): FormAction {
  return {
    path: `/codes/:code/${active ? 'enable' : 'disable'}`,
    operation: { method: 'post', path: `/v1/vouchers/:code/${active ? 'enable' : 'disable'}` },
    submitLabel: active ? 'Enable code' : 'Disable code',
    title: (_c, p) => `${active ? 'Enable' : 'Disable'} ${p.code}`,
    fields: (v) => html`<label for="reason-${active}">Reason <span class="muted">(kept in the code's history)</span></label>
      <input id="reason-${active}" name="reason" maxlength="500" value="${v.reason ?? ''}">`,
    input: (f) => ({ body: f.reason?.trim() ? { reason: f.reason.trim() } : {} }),
    confirm: (_c, f, p) =>
      active
        ? `Enable ${p.code}? It validates and redeems again${f.reason ? ` (reason: ${f.reason})` : ''}.`
        : `Disable ${p.code}? Validations and redemptions of it are refused (disabled) until it is enabled${f.reason ? ` (reason: ${f.reason})` : ''}.`,
    done: (reply) => codeUrl(String(reply?.body?.code)),
  };
}
const disableAction = activeAction(false);
const enableAction = activeAction(true);

function codeState(v: VoucherView): string {
  if (v.status === 'expired') return 'expired';
  return v.active ? 'active' : 'disabled';
}

function eventDetails(e: VoucherEventView): Renderable {
  const d = e.details as Record<string, unknown>;
  const parts: Renderable[] = [];
  if (typeof d.customer_id === 'string') parts.push(html`customer <code>${d.customer_id}</code>`);
  if (typeof d.redemption_count === 'number') parts.push(html`use ${count(d.redemption_count)}`);
  if (typeof d.discount_amount === 'number' && typeof d.currency === 'string') parts.push(moneyText(d.discount_amount, d.currency));
  if (typeof d.reason === 'string') parts.push(html`reason: ${d.reason}`);
  if (typeof d.channel === 'string') parts.push(html`by ${d.channel}`);
  if (typeof d.source === 'string') parts.push(html`${d.source}`);
  const known = new Set(['customer_id', 'redemption_count', 'discount_amount', 'currency', 'reason', 'channel', 'source', 'redemption_id']);
  const rest = Object.fromEntries(Object.entries(d).filter(([k]) => !known.has(k)));
  if (Object.keys(rest).length > 0) parts.push(html`<code class="json">${JSON.stringify(rest)}</code>`);
  return parts.map((p, i) => html`${i > 0 ? ' · ' : ''}${p}`);
}

/** Bulk-generated codes have no `created` entry of their own (a million rows of log for nothing): the row says it. */
function createdEntry(v: VoucherView): VoucherEventView {
  return {
    id: '0',
    type: 'created',
    actor: null,
    details: v.generation_id ? { source: `generation ${v.generation_id}` } : {},
    created_at: v.created_at,
  };
}

/** A code's history: its redemptions and its lifecycle timeline; polled every 5 s so a redemption shows up. */
async function history(c: ConsoleRequest, voucher: VoucherView): Promise<Html> {
  const { code } = voucher;
  const [redemptions, events] = await Promise.all([
    c.call('get', '/v1/redemptions', { query: { code, limit: '50' } }),
    c.call('get', '/v1/vouchers/:code/events', { params: { code }, query: { limit: '500' } }),
  ]);
  const uses = (redemptions?.body?.data ?? []) as RedemptionView[];
  const logged = (events?.body?.data ?? []) as VoucherEventView[];
  const timeline = logged.some((e) => e.type === 'created') ? logged : [createdEntry(voucher), ...logged];
  return html`<div id="history" hx-get="${codeUrl(code)}/history" hx-trigger="every 5s" hx-swap="outerHTML">
    <section aria-labelledby="redemptions-heading"><h2 id="redemptions-heading">Redemptions</h2>
    ${
      uses.length === 0
        ? html`<p class="muted">Not redeemed.</p>`
        : html`<table class="data" id="redemptions"><caption class="sr-only">Redemptions, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Status</th><th scope="col">Customer</th><th scope="col">Order</th><th scope="col">Discount</th><th scope="col">Id</th></tr></thead>
          <tbody>${uses.map(
            (r) => html`<tr><td>${relative(r.created_at, c.now)}</td><td>${badge(r.status)}</td>
            <td>${r.customer ? html`<code>${r.customer.id}</code>` : html`<span class="muted">—</span>`}</td>
            <td>${r.order?.currency ? moneyText(r.order.amount, r.order.currency) : html`<span class="muted">—</span>`}</td>
            <td>${r.discount_amount !== null && r.currency ? moneyText(r.discount_amount, r.currency) : html`<span class="muted">—</span>`}</td>
            <td><code>${r.id}</code></td></tr>`,
          )}</tbody></table>`
    }</section>
    <section aria-labelledby="timeline-heading"><h2 id="timeline-heading">Lifecycle</h2>
    <ol class="timeline" id="timeline">${timeline.map(
      (
        e,
      ) => html`<li data-type="${e.type}">${badge(e.type)} <span>${date(e.created_at)}</span> <span class="muted">(${relative(e.created_at, c.now)})</span>
        ${e.actor ? html`<span class="muted">by <code>${e.actor}</code></span>` : ''}<div class="details">${eventDetails(e)}</div></li>`,
    )}</ol></section>
  </div>`;
}

async function codePage(c: ConsoleRequest, routes: ConsoleRoutes, code: string): Promise<Html> {
  const voucher = (await c.call('get', '/v1/vouchers/:code', { params: { code } }))?.body as VoucherView;
  const campaign = (await c.call('get', '/v1/campaigns/:id', { params: { id: voucher.campaign_id } }))?.body as CampaignView;
  const perCode = (voucher.rules as { redemption?: { per_code_limit?: number | null } }).redemption?.per_code_limit;
  const campaignLimit = (campaign.rules as { redemption?: { per_code_limit?: number | null } }).redemption?.per_code_limit;
  const limit = perCode !== undefined ? perCode : campaignLimit !== undefined ? campaignLimit : 1;
  const params = { code: voucher.code };
  const body = html`
    <div class="code-head">
      <dl class="facts">
        <div><dt>Status</dt><dd>${badge(codeState(voucher))}</dd></div>
        <div><dt>Campaign</dt><dd><a href="${CONSOLE_PATH}/campaigns/${campaign.id}">${campaign.name}</a></dd></div>
        <div><dt>Holder</dt><dd>${voucher.holder_customer_id ? html`<code>${voucher.holder_customer_id}</code>` : html`<span class="muted">not published</span>`}</dd></div>
        <div><dt>Redeemed</dt><dd>${count(voucher.redemption_count)} <span class="muted">of</span> ${limit === null ? 'unlimited' : count(limit)}</dd></div>
        <div><dt>Created</dt><dd>${date(voucher.created_at)}</dd></div>
        <div><dt>Expires</dt><dd>${relative(voucher.expiration_date ?? campaign.expiration_date, c.now, 'never')}</dd></div>
      </dl>
      <figure class="symbols">
        <img src="${codeUrl(voucher.code)}/qr.svg" alt="QR code of ${voucher.code}" width="160" height="160">
        <img src="${codeUrl(voucher.code)}/barcode.svg" alt="Barcode (Code 128) of ${voucher.code}" height="80">
        <figcaption><a href="${codeUrl(voucher.code)}/qr.png" download>QR PNG</a> · <a href="${codeUrl(voucher.code)}/barcode.png" download>Barcode PNG</a></figcaption>
      </figure>
    </div>
    ${reservationsSection(await reservationsOfCode(c.platform.db, voucher.code))}
    ${
      routes.forms.allowed(c, disableAction)
        ? html`<section aria-labelledby="actions-heading"><h2 id="actions-heading">Actions</h2>
          ${routes.forms.form(c, voucher.active ? disableAction : enableAction, params)}</section>`
        : ''
    }
    ${await history(c, voucher)}`;
  return layout(c, { title: voucher.code, heading: html`<code>${voucher.code}</code>`, body });
}

function lookupForm(value = ''): Html {
  return html`<form class="filters" method="get" action="${CONSOLE_PATH}/codes" role="search" aria-label="Look up a code">
    <label for="code">Code <span class="muted">(any case)</span></label>
    <input id="code" name="code" value="${value}" required autocomplete="off" spellcheck="false">
    <button type="submit">Look up</button></form>`;
}

/** Look up any code (case-insensitive), and a code's page: status, holder, redemptions, timeline, symbols, actions. */
export const codePages: ConsoleModule = (routes) => {
  routes.action(disableAction);
  routes.action(enableAction);

  routes.page('/codes', async (c) => {
    const code = typeof c.req.query.code === 'string' ? c.req.query.code.trim() : '';
    if (!code) return layout(c, { title: 'Look up a code', body: lookupForm() });
    try {
      const voucher = (await c.call('get', '/v1/vouchers/:code', { params: { code } }))?.body as VoucherView;
      c.res.redirect(303, codeUrl(voucher.code));
      return html``;
    } catch (error) {
      const refused = problemFor(error);
      if (!refused) throw error;
      c.res.status(refused.status);
      return layout(c, { title: 'Look up a code', body: html`${problemBox(refused)}${lookupForm(code)}` });
    }
  });

  routes.page('/codes/:code', (c, p) => codePage(c, routes, p.code as string));
  routes.fragment('/codes/:code/history', async (c, p) =>
    history(c, (await c.call('get', '/v1/vouchers/:code', { params: { code: p.code as string } }))?.body as VoucherView),
  );
  for (const file of ['qr.svg', 'qr.png', 'barcode.svg', 'barcode.png']) {
    routes.raw(`/codes/:code/${file}`, async (c, p) => {
      await c.call('get', `/v1/vouchers/:code/${file}`, { params: { code: p.code as string } });
    });
  }
};
