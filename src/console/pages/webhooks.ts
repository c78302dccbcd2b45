import type { z } from 'zod';
import { BULL_BOARD_PATH } from '../../http/bull-board.ts';
import type { endpointViewSchema, WebhookDeliveryView } from '../../webhooks/schemas.ts';
import { type FormAction, utcField } from '../actions.ts';
import { CONSOLE_PATH, type ConsoleRequest } from '../context.ts';
import { badge, count, countText, date, relative } from '../format.ts';
import { type Html, html } from '../html.ts';
import type { ConsoleModule, ConsoleRoutes } from '../index.ts';
import { layout } from '../layout.ts';
import { type EndpointHealth, endpointHealth } from '../webhook-health.ts';

type Endpoint = z.output<typeof endpointViewSchema>;

const DISABLED_WHY: Record<string, string> = {
  gone: 'it answered 410 Gone',
  failing: 'it failed without a 2xx for WEBHOOK_DISABLE_AFTER_MS',
  manual: 'someone disabled it',
};

function endpointState(e: Endpoint): string {
  if (!e.enabled) return 'disabled';
  return e.failing_since ? 'failing' : 'healthy';
}

function healthCells(c: ConsoleRequest, e: Endpoint, h: EndpointHealth): Html {
  return html`<td>${badge(endpointState(e))}${!e.enabled && e.disabled_reason ? html` <span class="muted">${DISABLED_WHY[e.disabled_reason] ?? e.disabled_reason}, ${relative(e.disabled_at, c.now)}</span>` : ''}</td>
    <td>${relative(h.lastSuccessAt, c.now, 'never')}</td>
    <td>${h.failureStreak === 0 ? html`<span class="num">0</span>` : html`<span class="num">${countText(h.failureStreak)}${h.streakAtLeast ? '+' : ''}</span>`}${e.failing_since ? html` <span class="muted">since ${relative(e.failing_since, c.now)}</span>` : ''}</td>`;
}

const retryAction: FormAction = {
  path: '/webhook-deliveries/:id/retry',
  operation: { method: 'post', path: '/v1/webhook-deliveries/:id/retry' },
  submitLabel: 'Retry',
  title: () => 'Retry a webhook delivery',
  fields: () => '',
  input: () => ({}),
  confirm: (_c, _f, p) => `Send delivery ${p.id} again now (a new round of attempts, the same webhook-id)?`,
  done: (reply) => `${CONSOLE_PATH}/webhooks/${reply?.body?.endpoint_id}?retried=${reply?.body?.id}#delivery-${reply?.body?.id}`,
};

const replayAction: FormAction = {
  path: '/webhooks/:id/replay',
  operation: { method: 'post', path: '/v1/webhooks/:id/replay' },
  submitLabel: 'Replay events',
  title: () => 'Replay events to an endpoint',
  fields: (v) => html`<label for="since">Every event since <span class="muted">(UTC)</span></label>
    <input id="since" name="since" type="datetime-local" required value="${v.since ?? ''}">`,
  input: (f) => ({ body: { since: utcField(f.since) } }),
  confirm: (_c, f) =>
    `Send every subscribed event since ${utcField(f.since)} again, each with its original webhook-id? This runs as a job.`,
  done: (reply, p) => `${CONSOLE_PATH}/webhooks/${p.id}?replay=${encodeURIComponent(reply?.body?.replay_id ?? '')}`,
};

function deliveryRow(c: ConsoleRequest, routes: ConsoleRoutes, d: WebhookDeliveryView, endpointEnabled: boolean): Html {
  return html`<tr id="delivery-${d.id}" data-delivery="${d.id}" data-status="${d.status}">
    <td>${badge(d.status)}</td><td><code>${d.event_type}</code></td><td>${relative(d.created_at, c.now)}</td>
    <td>${count(d.attempts)}</td>
    <td>${d.last_status_code ?? html`<span class="muted">—</span>`}</td>
    <td>
      ${
        d.attempt_log.length === 0
          ? html`<span class="muted">${d.next_attempt_at ? html`first attempt ${relative(d.next_attempt_at, c.now)}` : 'none'}</span>`
          : html`<details><summary>${count(d.attempt_log.length)} attempts</summary><ol class="attempts">${d.attempt_log.map(
              (
                a,
              ) => html`<li data-status-code="${a.status_code ?? ''}">round ${a.round}, attempt ${a.attempt}: ${a.status_code ? html`<strong>HTTP ${a.status_code}</strong>` : html`<strong>no response</strong>`}
                in ${countText(a.latency_ms)} ms, ${date(a.attempted_at)}${a.error ? html` · <span class="error">${a.error}</span>` : ''}${a.response_body ? html`<pre>${a.response_body}</pre>` : ''}</li>`,
            )}</ol></details>`
      }
      ${d.status === 'pending' && d.next_attempt_at ? html`<div class="muted">next attempt ${relative(d.next_attempt_at, c.now)}</div>` : ''}
    </td>
    <td>${d.status !== 'pending' && endpointEnabled ? routes.forms.form(c, retryAction, { id: d.id }) : ''}</td>
  </tr>`;
}

/** Webhook endpoints with their health; an endpoint's recent deliveries with every attempt; retry one; replay since a time. */
export const webhookPages: ConsoleModule = (routes) => {
  routes.action(retryAction);
  routes.action(replayAction);

  routes.page('/webhooks', async (c) => {
    const endpoints = ((await c.call('get', '/v1/webhooks'))?.body?.data ?? []) as Endpoint[];
    const health = await Promise.all(endpoints.map((e) => endpointHealth(c.platform.db, e.id)));
    const body = html`<table class="data" id="endpoints"><caption class="sr-only">Webhook endpoints</caption>
      <thead><tr><th scope="col">Endpoint</th><th scope="col">Events</th><th scope="col">Health</th><th scope="col">Last success</th><th scope="col">Failure streak</th></tr></thead>
      <tbody>${
        endpoints.length === 0
          ? html`<tr><td colspan="5">No webhook endpoints (POST /v1/webhooks registers one).</td></tr>`
          : endpoints.map(
              (
                e,
                i,
              ) => html`<tr data-endpoint="${e.id}"><th scope="row"><a href="${CONSOLE_PATH}/webhooks/${e.id}">${e.url}</a>${e.description ? html`<div class="muted">${e.description}</div>` : ''}</th>
              <td>${e.events.map((t) => html`<code>${t}</code> `)}</td>${healthCells(c, e, health[i] as EndpointHealth)}</tr>`,
            )
      }</tbody></table>`;
    return layout(c, { title: 'Webhooks', body });
  });

  routes.page('/webhooks/:id', async (c, p) => {
    const id = p.id as string;
    const endpoint = (await c.call('get', '/v1/webhooks/:id', { params: { id } }))?.body as Endpoint;
    const status = typeof c.req.query.status === 'string' ? c.req.query.status : undefined;
    const [health, page] = await Promise.all([
      endpointHealth(c.platform.db, id),
      c.call('get', '/v1/webhooks/:id/deliveries', { params: { id }, query: { limit: '50', ...(status ? { status } : {}) } }),
    ]);
    const deliveries = (page?.body?.data ?? []) as WebhookDeliveryView[];
    const replay = typeof c.req.query.replay === 'string' ? c.req.query.replay : undefined;
    const retried = typeof c.req.query.retried === 'string' ? c.req.query.retried : undefined;
    const body = html`
      ${replay ? html`<p class="notice" role="status">Replay queued as job <a href="${BULL_BOARD_PATH}/queue/webhook/${replay}"><code>${replay}</code></a>.</p>` : ''}
      ${retried ? html`<p class="notice" role="status">Delivery <code>${retried}</code> queued for another round.</p>` : ''}
      <table class="data" id="endpoint-health"><caption class="sr-only">Health</caption>
        <thead><tr><th scope="col">Events</th><th scope="col">Health</th><th scope="col">Last success</th><th scope="col">Failure streak</th></tr></thead>
        <tbody><tr><td>${endpoint.events.map((t) => html`<code>${t}</code> `)}</td>${healthCells(c, endpoint, health)}</tr></tbody></table>
      ${endpoint.enabled ? html`<section aria-labelledby="replay-heading"><h2 id="replay-heading">Replay</h2>${routes.forms.form(c, replayAction, { id })}</section>` : ''}
      <section aria-labelledby="deliveries-heading"><h2 id="deliveries-heading">Recent deliveries</h2>
      <form class="filters" method="get" action="${CONSOLE_PATH}/webhooks/${id}" aria-label="Deliveries">
        <label for="status">Status</label><select id="status" name="status">
        ${['', 'pending', 'succeeded', 'failed', 'cancelled'].map((s) => html`<option value="${s}"${(status ?? '') === s ? html` selected` : ''}>${s || 'any'}</option>`)}
        </select><button type="submit">Filter</button></form>
      <table class="data" id="deliveries"><caption class="sr-only">Deliveries, newest first</caption>
        <thead><tr><th scope="col">Status</th><th scope="col">Event</th><th scope="col">Created</th><th scope="col" class="num">Attempts</th><th scope="col">Last code</th><th scope="col">Attempt log</th><th scope="col"><span class="sr-only">Retry</span></th></tr></thead>
        <tbody>${deliveries.length === 0 ? html`<tr><td colspan="7">No deliveries.</td></tr>` : deliveries.map((d) => deliveryRow(c, routes, d, endpoint.enabled))}</tbody></table>
      </section>`;
    return layout(c, { title: endpoint.url, heading: html`Webhook <code>${endpoint.url}</code>`, body });
  });
};
