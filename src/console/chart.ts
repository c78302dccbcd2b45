import { count, countText } from './format.ts';
import { type Html, html } from './html.ts';

/** One line or bar series of a daily chart: a value for every day, zeros included. */
export interface DailySeries {
  label: string;
  values: number[];
}

export interface DailyChart {
  /** The figure's id (tests and links find it by this). */
  id: string;
  title: string;
  /** Calendar days, YYYY-MM-DD, oldest first, with no gaps: a day without data is there with zeros. */
  days: string[];
  series: DailySeries[];
  /** What one unit counts, for the caption and the screen-reader summary ("redemptions"). */
  unit: string;
}

/**
 * The one chart the console draws: counts per day. The server renders a caption, a summary and the figures as a
 * table, readable without JavaScript; console.js draws the same data with uPlot over the placeholder (integer
 * ticks, one tick label per date it has room for, every day present). One series draws as bars, several as lines.
 */
export function dailyChart(chart: DailyChart): Html {
  const totals = chart.series.map((s) => s.values.reduce((a, b) => a + b, 0));
  const total = totals.reduce((a, b) => a + b, 0);
  const busiest = chart.days.reduce(
    (best, day, i) => {
      const sum = chart.series.reduce((a, s) => a + (s.values[i] ?? 0), 0);
      return sum > best.sum ? { day, sum } : best;
    },
    { day: '', sum: 0 },
  );
  const summary = `${chart.title}: ${countText(total)} ${chart.unit} from ${chart.days[0]} to ${chart.days.at(-1)}${
    busiest.sum > 0 ? `, most on ${busiest.day} (${countText(busiest.sum)})` : ''
  }.`;
  const data = JSON.stringify({ days: chart.days, series: chart.series });
  return html`<figure class="chart" id="${chart.id}">
    <figcaption>${chart.title} <span class="muted">(${countText(total)} ${chart.unit} in ${chart.days.length} days)</span></figcaption>
    <div class="chart-plot" data-chart="${data}" role="img" aria-label="${summary}"></div>
    ${
      chart.series.length > 1
        ? html`<ul class="chart-legend">${chart.series.map(
            (s, i) =>
              html`<li><span class="swatch swatch-${i % 8}" aria-hidden="true"></span>${s.label} (${countText(totals[i] ?? 0)})</li>`,
          )}</ul>`
        : ''
    }
    <details class="chart-data" open>
      <summary>Figures</summary>
      <table>
        <thead><tr><th scope="col">Day</th>${chart.series.map((s) => html`<th scope="col" class="num">${s.label}</th>`)}</tr></thead>
        <tbody>${chart.days.map(
          (day, i) =>
            html`<tr data-day="${day}"><th scope="row">${day}</th>${chart.series.map((s) => html`<td>${count(s.values[i] ?? 0)}</td>`)}</tr>`,
        )}</tbody>
      </table>
    </details>
  </figure>`;
}
