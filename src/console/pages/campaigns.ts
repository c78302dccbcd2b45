import { z } from 'zod';
import { budgetUsage } from '../../campaigns/budgets.ts';
import { encodeCursor } from '../../shared/paging.ts';
import { guessesPerDay } from '../../stats/guesses.ts';
import { addDays, localDate } from '../../stats/stats.ts';
import { type FormAction, jsonField, utcField } from '../actions.ts';
import { CAMPAIGN_STATES, type CampaignState, campaignState, listCampaignSummaries } from '../campaign-summaries.ts';
import { dailyChart } from '../chart.ts';
import { CONSOLE_PATH } from '../context.ts';
import { badge, count, relative } from '../format.ts';
import { href, html } from '../html.ts';
import type { ConsoleModule } from '../index.ts';
import { layout } from '../layout.ts';
import { budgetUsedCell } from './extensions.ts';

const PAGE_SIZE = 50;

/** The list's own query: lenient, as an address bar is (a bad value means no filter). */
const listQuery = z.object({
  name: z.string().trim().max(200).optional().catch(undefined),
  state: z.enum(CAMPAIGN_STATES).optional().catch(undefined),
  before: z
    .string()
    .max(200)
    .optional()
    .catch(undefined)
    .transform((v) => {
      try {
        const [createdAt, id] = JSON.parse(Buffer.from(v ?? '', 'base64url').toString('utf8')) as [string, string];
        return z.tuple([z.iso.datetime(), z.guid()]).parse([createdAt, id]);
      } catch {
        return undefined;
      }
    }),
});

export const createCampaignAction: FormAction = {
  path: '/campaigns/new',
  operation: { method: 'post', path: '/v1/campaigns' },
  submitLabel: 'Create campaign',
  title: () => 'New campaign',
  fields: (v) => html`
    <label for="name">Name</label><input id="name" name="name" required maxlength="200" value="${v.name ?? ''}">
    <label for="pattern">Code pattern <span class="muted"># is one random character, e.g. SPRING-####-####; empty: 12 random characters</span></label>
    <input id="pattern" name="pattern" maxlength="64" spellcheck="false" value="${v.pattern ?? ''}">
    <label for="charset">Characters <span class="muted">empty: letters and digits that cannot be confused</span></label>
    <input id="charset" name="charset" maxlength="256" spellcheck="false" value="${v.charset ?? ''}">
    <label for="expiration_date">Expires <span class="muted">(UTC; empty: never)</span></label>
    <input id="expiration_date" name="expiration_date" type="datetime-local" value="${v.expiration_date ?? ''}">
    <label for="timezone">Time zone for days and validity windows</label>
    <input id="timezone" name="timezone" value="${v.timezone ?? 'UTC'}">
    <label for="rules">Rules <span class="muted">(JSON, as in the API; empty: one redemption per code, no discount)</span></label>
    <textarea id="rules" name="rules" rows="4" spellcheck="false">${v.rules ?? ''}</textarea>`,
  input: (f) => ({
    body: {
      name: f.name,
      code_config: {
        ...(f.pattern?.trim() ? { pattern: f.pattern.trim() } : {}),
        ...(f.charset?.trim() ? { charset: f.charset.trim() } : {}),
      },
      ...(utcField(f.expiration_date) ? { expiration_date: utcField(f.expiration_date) } : {}),
      ...(f.timezone?.trim() ? { timezone: f.timezone.trim() } : {}),
      ...(jsonField('rules', f.rules) !== undefined ? { rules: jsonField('rules', f.rules) } : {}),
    },
  }),
  done: (reply) => `${CONSOLE_PATH}/campaigns/${reply?.body?.id}`,
};

/** The campaigns list: search by name, filter by state, counters from the rollups; installation-wide guesses. */
export const campaignListPages: ConsoleModule = (routes) => {
  routes.action(createCampaignAction);

  routes.page('/campaigns', async (c) => {
    const query = listQuery.parse(c.req.query);
    const rows = await listCampaignSummaries(c.platform.db, c.now, {
      name: query.name || undefined,
      state: query.state,
      limit: PAGE_SIZE + 1,
      before: query.before ? { createdAt: query.before[0], id: query.before[1] } : undefined,
    });
    const page = rows.slice(0, PAGE_SIZE);
    const budgets = await budgetUsage(
      c.platform.db,
      page.map((row) => row.id),
    );
    const last = page.at(-1);
    const older =
      rows.length > PAGE_SIZE && last
        ? href(`${CONSOLE_PATH}/campaigns`, {
            name: query.name,
            state: query.state,
            before: encodeCursor([new Date(last.created_at).toISOString(), last.id]),
          })
        : undefined;
    const timezone = c.platform.config.REPORT_TIMEZONE;
    const to = localDate(c.now, timezone);
    const guesses = await guessesPerDay(c.platform.db, undefined, { from: addDays(to, -29), to, timezone });
    const zeros = guesses.days.map(() => 0);
    const stateOption = (s: CampaignState | '') =>
      html`<option value="${s}"${(query.state ?? '') === s ? html` selected` : ''}>${s || 'any state'}</option>`;
    const body = html`
      <form class="filters" method="get" action="${CONSOLE_PATH}/campaigns" role="search" aria-label="Campaigns">
        <label for="name">Name contains</label><input id="name" name="name" type="search" value="${query.name ?? ''}">
        <label for="state">State</label>
        <select id="state" name="state">${stateOption('')}${CAMPAIGN_STATES.map(stateOption)}</select>
        <button type="submit">Filter</button>
        ${routes.forms.allowed(c, createCampaignAction) ? html`<a class="button" href="${CONSOLE_PATH}/campaigns/new">New campaign</a>` : ''}
      </form>
      <table class="data" id="campaigns">
        <caption class="sr-only">Campaigns, newest first</caption>
        <thead><tr><th scope="col">Campaign</th><th scope="col">State</th><th scope="col" class="num">Generated</th>
          <th scope="col" class="num">Published</th><th scope="col" class="num">Redeemed codes</th><th scope="col" class="num">Redemptions</th>
          <th scope="col" class="num">Budget used</th><th scope="col">Expires</th><th scope="col">Created</th></tr></thead>
        <tbody>${
          page.length === 0
            ? html`<tr><td colspan="9">No campaign matches.</td></tr>`
            : page.map(
                (row) => html`<tr data-campaign="${row.id}">
                  <th scope="row"><a href="${CONSOLE_PATH}/campaigns/${row.id}">${row.name}</a></th>
                  <td>${badge(campaignState(row, c.now))}</td>
                  <td>${count(row.issued_count)}</td><td>${count(row.published)}</td>
                  <td>${count(row.redeemed_codes)}</td><td>${count(row.redeemed)}</td>
                  <td>${budgetUsedCell(budgets.get(row.id))}</td>
                  <td>${relative(row.expiration_date, c.now, 'never')}</td><td>${relative(row.created_at, c.now)}</td>
                </tr>`,
              )
        }</tbody>
      </table>
      ${older ? html`<p><a href="${older}" rel="next">Older campaigns</a></p>` : ''}
      <section aria-labelledby="guesses-heading">
        <h2 id="guesses-heading">Guesses, installation-wide</h2>
        <p class="muted">Failed code lookups per day (${timezone}): codes that do not exist belong to no campaign; codes held by someone else count for their campaign too.</p>
        ${dailyChart({
          id: 'guesses-chart',
          title: 'Failed lookups per day',
          unit: 'failed lookups',
          days: guesses.days,
          series: [
            { label: 'Unknown codes', values: guesses.series.get('unknown') ?? zeros },
            { label: "Other customers' codes", values: guesses.series.get('known') ?? zeros },
          ],
        })}
      </section>`;
    return layout(c, { title: 'Campaigns', body });
  });
};
