import { BULL_BOARD_PATH } from '../../http/bull-board.ts';
import { count } from '../format.ts';
import { html } from '../html.ts';
import type { ConsoleModule } from '../index.ts';
import { layout } from '../layout.ts';

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** A line per queue (waiting, active, delayed, failed), each linking into Bull Board. */
export const jobPages: ConsoleModule = (routes) => {
  routes.page('/jobs', async (c) => {
    const queues = c.platform.queues.all();
    const counts = await Promise.all(
      queues.map((q) => q.getJobCounts('waiting', 'prioritized', 'waiting-children', 'active', 'delayed', 'failed')),
    );
    const body = html`<table class="data" id="queues"><caption class="sr-only">Jobs per queue</caption>
      <thead><tr><th scope="col">Queue</th>${STATES.map((s) => html`<th scope="col" class="num">${s}</th>`)}</tr></thead>
      <tbody>${queues.map((q, i) => {
        const n = counts[i] ?? {};
        const waiting = (n.waiting ?? 0) + (n.prioritized ?? 0) + (n['waiting-children'] ?? 0);
        const values = { waiting, active: n.active ?? 0, delayed: n.delayed ?? 0, failed: n.failed ?? 0 };
        return html`<tr data-queue="${q.name}"><th scope="row"><a href="${BULL_BOARD_PATH}/queue/${q.name}">${q.name}</a></th>
          ${STATES.map((s) => html`<td>${values[s] > 0 ? html`<a href="${BULL_BOARD_PATH}/queue/${q.name}?status=${s === 'waiting' ? 'waiting' : s}">${count(values[s])}</a>` : count(0)}</td>`)}</tr>`;
      })}</tbody></table>
      <p class="muted">Waiting includes prioritized jobs and parents waiting for their children. Bull Board shows every job, its data and its logs.</p>`;
    return layout(c, { title: 'Jobs', body });
  });
};
