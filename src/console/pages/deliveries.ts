import type { DistributionView } from '../../distributions/schemas.ts';
import { BULL_BOARD_PATH } from '../../http/bull-board.ts';
import { CONSOLE_PATH, type ConsoleRequest } from '../context.ts';
import { badge, count, relative } from '../format.ts';
import { type Html, html } from '../html.ts';
import type { ConsoleModule } from '../index.ts';
import { layout } from '../layout.ts';

interface FailedMessage {
  id: string;
  channel: string;
  status: string;
  recipient: string;
  provider: string | null;
  error: string | null;
  attempts: number;
  updated_at: Date;
}

/** The newest failed and bounced messages of a distribution (null: those sent outside any), from their partial index. */
async function failedMessages(c: ConsoleRequest, distributionId: string | null): Promise<FailedMessage[]> {
  const { rows } = await c.platform.db.query<FailedMessage>(
    `select id, channel, status, recipient, provider, error, attempts, updated_at from deliveries
      where ${distributionId === null ? 'distribution_id is null' : 'distribution_id = $1'} and status in ('failed', 'bounced')
      order by updated_at desc limit 50`,
    distributionId === null ? [] : [distributionId],
  );
  return rows;
}

function failedTable(c: ConsoleRequest, rows: FailedMessage[], id: string): Html {
  if (rows.length === 0) return html`<p class="muted">No failed messages.</p>`;
  return html`<table class="data" id="${id}"><caption class="sr-only">Failed messages, newest first</caption>
    <thead><tr><th scope="col">Status</th><th scope="col">Channel</th><th scope="col">Recipient</th><th scope="col" class="num">Attempts</th><th scope="col">Provider error</th><th scope="col">When</th></tr></thead>
    <tbody>${rows.map(
      (
        m,
      ) => html`<tr data-delivery="${m.id}"><td>${badge(m.status)}</td><td>${m.channel}</td><td>${m.recipient}</td><td>${count(m.attempts)}</td>
      <td><span class="error">${m.error ?? ''}</span>${m.provider ? html` <span class="muted">(${m.provider})</span>` : ''}</td><td>${relative(m.updated_at, c.now)}</td></tr>`,
    )}</tbody></table>`;
}

function outcomeCells(d: DistributionView): Html {
  return html`<td>${count(d.total)}</td><td>${count(d.published)}</td><td>${count(d.queued)}</td><td>${count(d.sent)}</td>
    <td>${count(d.failed + d.bounced)}</td><td>${count(d.skipped + d.invalid + d.exhausted)}</td>`;
}

const OUTCOME_HEADERS = html`<th scope="col" class="num">Recipients</th><th scope="col" class="num">Published</th><th scope="col" class="num">Queued</th>
  <th scope="col" class="num">Sent</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Not sent</th>`;

/** Distributions with their progress and messages by outcome; a distribution's failed messages with the provider's error. */
export const deliveryPages: ConsoleModule = (routes) => {
  routes.page('/distributions', async (c) => {
    const { rows } = await c.platform.db.query<{ id: string; campaign_id: string; campaign_name: string }>(
      `select d.id, d.campaign_id, c.name as campaign_name from distributions d join campaigns c on c.id = d.campaign_id
        order by d.created_at desc limit 20`,
    );
    const views = await Promise.all(
      rows.map(async (r) => (await c.call('get', '/v1/distributions/:id', { params: { id: r.id } }))?.body as DistributionView),
    );
    const others = await failedMessages(c, null);
    const body = html`<table class="data" id="distributions"><caption class="sr-only">Distributions, newest first</caption>
      <thead><tr><th scope="col">Distribution</th><th scope="col">Campaign</th><th scope="col">Status</th><th scope="col">Progress</th>${OUTCOME_HEADERS}<th scope="col">Started</th></tr></thead>
      <tbody>${
        views.length === 0
          ? html`<tr><td colspan="11">No distributions yet.</td></tr>`
          : views.map(
              (
                d,
                i,
              ) => html`<tr data-distribution="${d.id}"><th scope="row"><a href="${CONSOLE_PATH}/distributions/${d.id}">${d.channel} · ${d.id.slice(0, 8)}</a></th>
              <td><a href="${CONSOLE_PATH}/campaigns/${d.campaign_id}">${rows[i]?.campaign_name}</a></td><td>${badge(d.status)}</td>
              <td><progress max="100" value="${Math.round(d.progress * 100)}" aria-label="Distribution ${d.id.slice(0, 8)}">${Math.round(d.progress * 100)} %</progress> <span class="num">${Math.round(d.progress * 100)} %</span></td>
              ${outcomeCells(d)}<td>${relative(d.started_at ?? d.created_at, c.now)}</td></tr>`,
            )
      }</tbody></table>
      <section aria-labelledby="others-heading"><h2 id="others-heading">Failed messages outside distributions</h2>
      <p class="muted">Single publications and expiry reminders.</p>${failedTable(c, others, 'other-failures')}</section>`;
    return layout(c, { title: 'Deliveries and distributions', body });
  });

  routes.page('/distributions/:id', async (c, p) => {
    const d = (await c.call('get', '/v1/distributions/:id', { params: { id: p.id as string } }))?.body as DistributionView;
    const failed = await failedMessages(c, d.id);
    const body = html`<p>${badge(d.status)} <a href="${CONSOLE_PATH}/campaigns/${d.campaign_id}">Campaign</a> ·
        ${count(d.chunks.done)} of ${count(d.chunks.total)} chunks · job <a href="${BULL_BOARD_PATH}/queue/distribution/${d.job_id ?? ''}"><code>${d.job_id}</code></a>
        ${d.error ? html` · <span class="error">${d.error}</span>` : ''}</p>
      <table class="data" id="distribution-outcomes"><caption class="sr-only">Messages by outcome</caption>
        <thead><tr>${OUTCOME_HEADERS}</tr></thead><tbody><tr>${outcomeCells(d)}</tr></tbody></table>
      <p class="muted">Not sent: ${count(d.skipped)} already had a code, ${count(d.invalid)} without a usable address, ${count(d.exhausted)} left without a code.</p>
      <section aria-labelledby="failed-heading"><h2 id="failed-heading">Failed messages</h2>${failedTable(c, failed, 'failed-messages')}</section>`;
    return layout(c, { title: `Distribution ${d.id.slice(0, 8)}`, body });
  });
};
