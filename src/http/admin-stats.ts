import { z } from 'zod';
import type { Platform } from '../platform.ts';
import { isTimeZone } from '../rules/index.ts';
import { idSchema } from '../shared/fields.ts';
import { HOURLY_WITH_PENDING } from '../stats/rollup.ts';
import { addDays, type DayStats, getCampaignStats, localDate } from '../stats/stats.ts';
import { type RouteTarget, route } from './operation.ts';

interface CampaignRow {
  id: string;
  name: string;
  status: string;
  issued_count: string;
  published: string;
  redeemed: string;
  redeemed_codes: string;
  rolled_back: string;
  expired: string;
}

const escapeHtml = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const html = { 'text/html': { schema: { type: 'string' } } };

/** The page's own query: lenient, as a browser address bar is (a bad value falls back to the default). */
const statsPageQuery = z.object({
  days: z.coerce.number().int().min(1).max(366).catch(30).default(30).describe('How many days of history'),
  campaign: z.string().optional().catch(undefined).describe('A campaign id to focus on'),
  timezone: z.string().optional().catch(undefined).describe('IANA time zone for day boundaries (default REPORT_TIMEZONE)'),
});

/**
 * A read-only page for operators: campaigns with their counts and an inline SVG chart of redemptions per day.
 * Server-rendered with no script and no external asset, so it works under the API's strict CSP and offline.
 */
export function adminStatsPage(routes: RouteTarget, platform: Platform): void {
  route(
    routes,
    {
      method: 'get',
      path: '/admin/stats',
      tag: 'operations',
      auth: 'basic',
      summary: 'Statistics page (admin key as Basic password)',
      query: statsPageQuery,
      responses: { 200: { description: 'HTML page', content: html } },
    },
    async ({ res, query }) => {
      const { days } = query;
      const selected = query.campaign && idSchema.safeParse(query.campaign).success ? query.campaign : undefined;
      const timezone = query.timezone && isTimeZone(query.timezone) ? query.timezone : platform.config.REPORT_TIMEZONE;
      const now = platform.clock.now();
      const to = localDate(now, timezone);
      const from = addDays(to, -(days - 1));
      const { rows: campaigns } = await platform.db.query<CampaignRow>(
        `with recent as (select id, name, status, issued_count, created_at from campaigns order by created_at desc limit 200)
         select c.id, c.name, c.status, c.issued_count,
                coalesce(sum(s.published), 0) as published, coalesce(sum(s.redeemed), 0) as redeemed,
                coalesce(sum(s.redeemed_codes), 0) as redeemed_codes, coalesce(sum(s.rolled_back), 0) as rolled_back,
                coalesce(sum(s.expired), 0) as expired
         from recent c left join ${HOURLY_WITH_PENDING} s on s.campaign_id = c.id
         group by c.id, c.name, c.status, c.issued_count, c.created_at order by c.created_at desc`,
      );

      let series: DayStats[];
      let title: string;
      if (selected) {
        const stats = await getCampaignStats(platform.db, selected, now, { from, to, timezone });
        series = stats.redemptions_per_day;
        title = `Redemptions per day: ${campaigns.find((c) => c.id === selected)?.name ?? selected}`;
      } else {
        const { rows } = await platform.db.query<{ day: string; redeemed: string; rolled_back: string }>(
          `select to_char((hour at time zone $1)::date, 'YYYY-MM-DD') as day, sum(redeemed) as redeemed, sum(rolled_back) as rolled_back
           from ${HOURLY_WITH_PENDING} s
           where hour >= ($2::date)::timestamp at time zone $1 and hour < ($3::date + 1)::timestamp at time zone $1
           group by 1`,
          [timezone, from, to],
        );
        const byDay = new Map(rows.map((r) => [r.day, r]));
        series = [];
        for (let d = from; d <= to; d = addDays(d, 1)) {
          const r = byDay.get(d);
          series.push({
            date: d,
            redemptions: Number(r?.redeemed ?? 0),
            rolled_back: Number(r?.rolled_back ?? 0),
            expired: 0,
            discount: {},
          });
        }
        title = 'Redemptions per day: all campaigns';
      }

      res.setHeader('Cache-Control', 'no-store');
      res.type('html').send(page({ campaigns, series, title, selected, days, timezone, from, to }));
      return undefined;
    },
  );
}

function chart(series: DayStats[]): string {
  const width = 760;
  const height = 240;
  const pad = { left: 44, right: 12, top: 12, bottom: 36 };
  const max = Math.max(1, ...series.map((d) => d.redemptions));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = plotW / Math.max(1, series.length);
  const barW = Math.max(1, step * 0.8);
  const bars = series
    .map((d, i) => {
      const h = (d.redemptions / max) * plotH;
      const x = pad.left + i * step + (step - barW) / 2;
      const y = pad.top + plotH - h;
      return `<rect class="bar" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" data-date="${d.date}" data-value="${d.redemptions}"><title>${d.date}: ${d.redemptions} redemptions, ${d.rolled_back} rolled back</title></rect>`;
    })
    .join('');
  const labelEvery = Math.ceil(series.length / 8);
  const labels = series
    .map((d, i) =>
      i % labelEvery === 0
        ? `<text x="${(pad.left + i * step + step / 2).toFixed(1)}" y="${height - pad.bottom + 16}" text-anchor="middle">${d.date.slice(5)}</text>`
        : '',
    )
    .join('');
  const ticks = [0, 0.5, 1]
    .map((f) => {
      const y = pad.top + plotH - f * plotH;
      return `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y}" y2="${y}" class="grid"/><text x="${pad.left - 6}" y="${y + 4}" text-anchor="end">${Math.round(max * f)}</text>`;
    })
    .join('');
  return `<svg id="redemptions-chart" role="img" aria-label="Redemptions per day" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${ticks}${bars}${labels}</svg>`;
}

function page(input: {
  campaigns: CampaignRow[];
  series: DayStats[];
  title: string;
  selected?: string;
  days: number;
  timezone: string;
  from: string;
  to: string;
}): string {
  const total = input.series.reduce((acc, d) => acc + d.redemptions, 0);
  const rows = input.campaigns
    .map((c) => {
      const generated = Number(c.issued_count);
      const rate = generated > 0 ? ((Number(c.redeemed_codes) / generated) * 100).toFixed(2) : '0.00';
      const href = `?campaign=${c.id}&days=${input.days}&timezone=${encodeURIComponent(input.timezone)}`;
      return `<tr data-campaign="${c.id}"${c.id === input.selected ? ' class="selected"' : ''}><td><a href="${escapeHtml(href)}">${escapeHtml(c.name)}</a></td><td>${escapeHtml(c.status)}</td><td>${generated}</td><td>${c.published}</td><td>${c.redeemed}</td><td>${c.redeemed_codes}</td><td>${c.rolled_back}</td><td>${c.expired}</td><td>${Math.max(0, generated - Number(c.expired))}</td><td>${rate}%</td></tr>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>promo · stats</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.muted{color:#667}table{border-collapse:collapse;margin-top:8px}th,td{padding:4px 10px;border-bottom:1px solid #dde;text-align:right}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}tr.selected{background:#eef4ff}
svg text{font-size:11px;fill:#556}.bar{fill:#3b6fd8}.grid{stroke:#e3e6ee}
</style></head>
<body>
<h1>promo stats</h1>
<div class="muted">Read-only. ${escapeHtml(input.from)} to ${escapeHtml(input.to)} (${escapeHtml(input.timezone)}). <a href="?days=${input.days}&amp;timezone=${encodeURIComponent(input.timezone)}">All campaigns</a> · <a href="/admin/queues">Queues</a></div>
<h2 id="chart-title">${escapeHtml(input.title)} <span class="muted">(${total} in ${input.series.length} days)</span></h2>
${chart(input.series)}
<h2>Campaigns</h2>
<table id="campaigns"><thead><tr><th>Campaign</th><th>Status</th><th>Generated</th><th>Published</th><th>Redeemed (uses)</th><th>Redeemed (codes)</th><th>Rolled back</th><th>Expired</th><th>Active</th><th>Rate</th></tr></thead>
<tbody>${rows || '<tr><td colspan="10">No campaigns yet.</td></tr>'}</tbody></table>
</body></html>`;
}
