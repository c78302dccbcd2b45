import type { z } from 'zod';
import type { CampaignView } from '../../campaigns/schemas.ts';
import type { ExportRow } from '../../exports/exports.ts';
import { exportView } from '../../exports/exports.ts';
import type { exportViewSchema } from '../../exports/schemas.ts';
import { type GenerationRow, generationView } from '../../generations/generations.ts';
import type { GenerationView } from '../../generations/schemas.ts';
import { BULL_BOARD_PATH } from '../../http/bull-board.ts';
import { jobIdOf } from '../../queues/catalog.ts';
import { guessesPerDay } from '../../stats/guesses.ts';
import { refusalsPerDay } from '../../stats/refusals.ts';
import type { CampaignStats } from '../../stats/schemas.ts';
import { addDays, localDate } from '../../stats/stats.ts';
import { type FormAction, numberField } from '../actions.ts';
import { campaignState } from '../campaign-summaries.ts';
import { dailyChart } from '../chart.ts';
import { CONSOLE_PATH, type ConsoleRequest } from '../context.ts';
import { badge, bits, count, countText, date, oneIn, percent, progress, relative } from '../format.ts';
import { type Html, html, type Renderable } from '../html.ts';
import type { ConsoleModule, ConsoleRoutes } from '../index.ts';
import { layout } from '../layout.ts';
import { describeRules, describeShape } from '../rules-text.ts';
import { budgetLines } from './extensions.ts';

type ExportView = z.output<typeof exportViewSchema>;
const CHART_DAYS = 30;

/** Everything a campaign page's sections read, fetched once. */
export interface CampaignPageData {
  campaign: CampaignView;
  stats: CampaignStats;
  generations: GenerationView[];
  exports: ExportView[];
}

/**
 * A section of the campaign page. The page is the sections in order; a capability adds its own (a budget, a
 * checkout rule summary) by adding one here.
 */
export interface CampaignSection {
  id: string;
  title: string;
  render(c: ConsoleRequest, data: CampaignPageData, routes: ConsoleRoutes): Promise<Renderable> | Renderable;
}

const FINISHED = new Set(['completed', 'failed', 'exhausted']);

/** One generation as a table row; while it runs, htmx polls it every second and swaps the new row in. */
export function generationRow(g: GenerationView): Html {
  const live = !FINISHED.has(g.status);
  const jobId = jobIdOf('generation.finalize', { generationId: g.id });
  return html`<tr id="generation-${g.id}" data-generation="${g.id}" data-status="${g.status}"
      ${live ? html`hx-get="${CONSOLE_PATH}/generations/${g.id}/row" hx-trigger="every 1s" hx-swap="outerHTML"` : ''}>
    <td>${badge(g.status)}</td>
    <td>${count(g.generated)} <span class="muted">of</span> ${count(g.requested)}</td>
    <td>${progress(g.generated, g.requested, `Generation ${g.id.slice(0, 8)}`)}</td>
    <td>${count(g.collisions)}</td>
    <td>${bits(g.entropy_bits)}</td>
    <td>${oneIn(g.guess_probability)}</td>
    <td>${date(g.created_at)}</td>
    <td>${g.finished_at ? date(g.finished_at) : html`<span class="muted">—</span>`}</td>
    <td><a href="${BULL_BOARD_PATH}/queue/generation/${jobId ?? ''}" title="Job ${jobId ?? ''} in Bull Board">in Bull Board</a>${g.error ? html` <span class="error">${g.error}</span>` : ''}</td>
  </tr>`;
}

function exportRow(e: ExportView, campaignId: string): Html {
  const live = e.status === 'queued' || e.status === 'running';
  return html`<tr id="export-${e.id}" data-status="${e.status}"
      ${live ? html`hx-get="${CONSOLE_PATH}/campaigns/${campaignId}/exports/${e.id}/row" hx-trigger="every 2s" hx-swap="outerHTML"` : ''}>
    <td>${badge(e.status)}</td><td>${e.filter.status ?? 'all codes'}</td>
    <td>${count(e.progress.exported_rows)}</td><td>${progress(e.progress.percent, 100, `Export ${e.id.slice(0, 8)}`)}</td>
    <td>${date(e.created_at)}</td>
    <td>${e.status === 'completed' ? html`<a href="${CONSOLE_PATH}/exports/${e.id}/download" download>Download CSV</a>` : e.error ? html`<span class="error">${e.error}</span>` : ''}</td>
  </tr>`;
}

const generateAction: FormAction = {
  path: '/campaigns/:id/generate',
  operation: { method: 'post', path: '/v1/campaigns/:id/generations' },
  submitLabel: 'Generate codes',
  title: async (c, p) => `Generate codes for ${(await campaignOf(c, p.id as string)).name}`,
  fields: (v) =>
    html`<label for="count">How many codes</label><input id="count" name="count" inputmode="numeric" required value="${v.count ?? '10000'}">`,
  input: (f) => ({ body: { count: numberField(f.count) } }),
  confirm: async (c, f, p) =>
    `Generate ${countText(Number(numberField(f.count)))} more codes for “${(await campaignOf(c, p.id as string)).name}”? This runs as a job; the page shows its progress.`,
  done: (reply, p) => `${CONSOLE_PATH}/campaigns/${p.id}?generation=${reply?.body?.id}#generation-${reply?.body?.id}`,
};

const exportAction: FormAction = {
  path: '/campaigns/:id/export',
  operation: { method: 'post', path: '/v1/campaigns/:id/exports' },
  submitLabel: 'Export codes',
  title: async (c, p) => `Export the codes of ${(await campaignOf(c, p.id as string)).name}`,
  fields: (v) => html`<label for="export-status">Which codes</label>
    <select id="export-status" name="status">
      ${['', 'active', 'expired'].map((s) => html`<option value="${s}"${(v.status ?? '') === s ? html` selected` : ''}>${s || 'all'}</option>`)}
    </select>`,
  input: (f) => ({ body: { format: 'csv', filter: f.status ? { status: f.status } : {} } }),
  confirm: async (c, f, p) =>
    `Export ${f.status ? `the ${f.status}` : 'all'} codes of “${(await campaignOf(c, p.id as string)).name}” to a CSV file? This runs as a job.`,
  done: (reply, p) => `${CONSOLE_PATH}/campaigns/${p.id}#export-${reply?.body?.id}`,
};

/** Disable or enable: PATCH /v1/campaigns/{id} with `active`. */
function activeAction(active: boolean): FormAction {
  return {
    path: `/campaigns/:id/${active ? 'enable' : 'disable'}`,
    operation: { method: 'patch', path: '/v1/campaigns/:id' },
    submitLabel: active ? 'Enable campaign' : 'Disable campaign',
    title: async (c, p) => `${active ? 'Enable' : 'Disable'} ${(await campaignOf(c, p.id as string)).name}`,
    fields: () => '',
    input: () => ({ body: { active } }),
    confirm: async (c, _f, p) => {
      const name = (await campaignOf(c, p.id as string)).name;
      return active
        ? `Enable “${name}”? Its codes validate and redeem again.`
        : `Disable “${name}”? Every validation and redemption of its codes is refused (campaign_inactive) until it is enabled again.`;
    },
    done: (_reply, p) => `${CONSOLE_PATH}/campaigns/${p.id}`,
  };
}
const disableAction = activeAction(false);
const enableAction = activeAction(true);

/** The campaign, read through its API operation (so a missing one is the API's 404 campaign_not_found). */
async function campaignOf(c: ConsoleRequest, id: string): Promise<CampaignView> {
  const cached = c.res.locals.campaign as CampaignView | undefined;
  if (cached?.id === id) return cached;
  const campaign = (await c.call('get', '/v1/campaigns/:id', { params: { id } }))?.body as CampaignView;
  c.res.locals.campaign = campaign;
  return campaign;
}

export const CAMPAIGN_SECTIONS: CampaignSection[] = [
  {
    id: 'counters',
    title: 'Codes',
    render: (_c, { stats }) => html`<dl class="figures">
      <div><dt>Generated</dt><dd>${count(stats.generated)}</dd></div>
      <div><dt>Published</dt><dd>${count(stats.published)}</dd></div>
      <div><dt>Redeemed codes</dt><dd>${count(stats.redeemed_codes)}</dd></div>
      <div><dt>Redemptions</dt><dd>${count(stats.redeemed_uses)}</dd></div>
      <div><dt>Rolled back</dt><dd>${count(stats.rolled_back)}</dd></div>
      <div><dt>Expired</dt><dd>${count(stats.expired)}</dd></div>
      <div><dt>Redemption rate</dt><dd>${percent(stats.redemption_rate)}</dd></div>
    </dl>`,
  },
  {
    id: 'rules',
    title: 'Code shape and rules',
    render: (c, { campaign }) => html`<ul class="plain">
      ${describeShape(campaign.code_template, campaign.charset).map((line) => html`<li>${line}</li>`)}
      ${describeRules(campaign.rules, campaign.timezone).map((line) => html`<li>${line}</li>`)}
      ${budgetLines(campaign.budget, campaign.budget_usage).map((line) => html`<li>${line}</li>`)}
      <li>Valid ${campaign.start_date ? html`from ${date(campaign.start_date)} ` : ''}${campaign.expiration_date ? html`until ${date(campaign.expiration_date)} (${relative(campaign.expiration_date, c.now)})` : 'with no end date'}; days and windows in ${campaign.timezone}.</li>
    </ul>`,
  },
  {
    id: 'generations',
    title: 'Generations',
    render: (_c, { generations }) =>
      generations.length === 0
        ? html`<p class="muted">No codes generated yet.</p>`
        : html`<table class="data" id="generations"><caption class="sr-only">Generations, newest first</caption>
          <thead><tr><th scope="col">Status</th><th scope="col">Codes</th><th scope="col">Progress</th><th scope="col" class="num">Collisions</th>
          <th scope="col">Entropy</th><th scope="col">One guess hits</th><th scope="col">Requested</th><th scope="col">Finished</th><th scope="col">Job</th></tr></thead>
          <tbody>${generations.map(generationRow)}</tbody></table>`,
  },
  {
    id: 'activity',
    title: 'Activity',
    render: async (c, { campaign, stats }) => {
      const range = { from: stats.range.from, to: stats.range.to, timezone: stats.range.timezone };
      const [refusals, guesses] = await Promise.all([
        refusalsPerDay(c.platform.db, campaign.id, range),
        guessesPerDay(c.platform.db, campaign.id, range),
      ]);
      const days = stats.redemptions_per_day.map((d) => d.date);
      const zeros = days.map(() => 0);
      const reasons = [...refusals.series.entries()].sort(([a], [b]) => a.localeCompare(b));
      return html`<div class="charts">
        ${dailyChart({ id: 'redemptions-chart', title: 'Redemptions per day', unit: 'redemptions', days, series: [{ label: 'Redemptions', values: stats.redemptions_per_day.map((d) => d.redemptions) }] })}
        ${dailyChart({
          id: 'refusals-chart',
          title: 'Refused redemptions per day, by reason',
          unit: 'refusals',
          days,
          series:
            reasons.length > 0
              ? reasons.map(([reason, values]) => ({ label: reason.replaceAll('_', ' '), values }))
              : [{ label: 'Refusals', values: zeros }],
        })}
        ${dailyChart({ id: 'campaign-guesses-chart', title: 'Guesses per day (codes held by another customer)', unit: 'failed lookups', days, series: [{ label: 'Guesses', values: guesses.series.get('') ?? zeros }] })}
      </div>
      <p class="muted">Days in ${stats.range.timezone}, ${stats.range.from} to ${stats.range.to}.</p>`;
    },
  },
  {
    id: 'actions',
    title: 'Actions',
    render: (c, { campaign }, routes) => {
      const params = { id: campaign.id };
      if (!routes.forms.allowed(c, generateAction)) return html`<p class="muted">A viewer key cannot change the campaign.</p>`;
      return html`<div class="actions">
        ${routes.forms.form(c, generateAction, params)}
        ${routes.forms.form(c, exportAction, params)}
        ${routes.forms.form(c, campaign.active ? disableAction : enableAction, params)}
      </div>`;
    },
  },
  {
    id: 'exports',
    title: 'Exports',
    render: (_c, { campaign, exports }) =>
      exports.length === 0
        ? html`<p class="muted">No exports yet.</p>`
        : html`<table class="data" id="exports"><caption class="sr-only">Exports, newest first</caption>
          <thead><tr><th scope="col">Status</th><th scope="col">Codes</th><th scope="col" class="num">Rows</th><th scope="col">Progress</th><th scope="col">Requested</th><th scope="col">File</th></tr></thead>
          <tbody>${exports.map((e) => exportRow(e, campaign.id))}</tbody></table>`,
  },
];

/** A campaign: its sections, the live rows they poll, and its three actions (each confirmed first). */
export const campaignPages: ConsoleModule = (routes) => {
  for (const action of [generateAction, exportAction, disableAction, enableAction]) routes.action(action);

  routes.page('/campaigns/:id', async (c, params) => {
    const campaign = await campaignOf(c, params.id as string);
    const to = localDate(c.now, campaign.timezone);
    const [stats, generations, exports] = await Promise.all([
      c.call('get', '/v1/campaigns/:id/stats', { params: { id: campaign.id }, query: { from: addDays(to, -(CHART_DAYS - 1)), to } }),
      c.platform.db.query<GenerationRow>('select * from generations where campaign_id = $1 order by created_at desc limit 20', [
        campaign.id,
      ]),
      c.platform.db.query<ExportRow>('select * from exports where campaign_id = $1 order by created_at desc limit 10', [campaign.id]),
    ]);
    const data: CampaignPageData = {
      campaign,
      stats: stats?.body as CampaignStats,
      generations: generations.rows.map(generationView),
      exports: exports.rows.map(exportView),
    };
    const sections = await Promise.all(
      CAMPAIGN_SECTIONS.map(
        async (s) =>
          html`<section id="${s.id}" aria-labelledby="${s.id}-heading"><h2 id="${s.id}-heading">${s.title}</h2>${await s.render(c, data, routes)}</section>`,
      ),
    );
    const state = campaignState(campaign, c.now);
    const started = typeof c.req.query.generation === 'string' ? data.generations.find((g) => g.id === c.req.query.generation) : undefined;
    const notice = started
      ? html`<p class="notice" role="status">Generation of ${count(started.requested)} codes started as job
          <a href="${BULL_BOARD_PATH}/queue/generation/${jobIdOf('generation.finalize', { generationId: started.id }) ?? ''}"><code>${jobIdOf('generation.finalize', { generationId: started.id })}</code></a>;
          <a href="#generation-${started.id}">its row</a> follows it live.</p>`
      : '';
    return layout(c, {
      title: campaign.name,
      heading: html`${campaign.name} ${badge(state)}`,
      body: html`${notice}<p class="muted">Campaign <code>${campaign.id}</code>, created ${relative(campaign.created_at, c.now)}. <a href="/admin/stats?campaign=${campaign.id}">Stats page</a></p>${sections}`,
    });
  });

  routes.fragment('/generations/:id/row', async (c, params) => {
    const reply = await c.call('get', '/v1/generations/:id', { params: { id: params.id as string } });
    return generationRow(reply?.body as GenerationView);
  });

  routes.fragment('/campaigns/:campaign/exports/:id/row', async (c, params) => {
    const reply = await c.call('get', '/v1/exports/:id', { params: { id: params.id as string } });
    return exportRow(reply?.body as ExportView, params.campaign as string);
  });

  routes.raw('/exports/:id/download', async (c, params) => {
    await c.call('get', '/v1/exports/:id/download', { params: { id: params.id as string } });
  });
};
