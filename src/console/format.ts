import { type Html, html } from './html.ts';

/**
 * The one place the console renders a value: numbers with thousands separators, dates, relative times, status
 * badges (the chart is chart.ts). Every page goes through these, so a figure reads the same everywhere.
 */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const relativeTime = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** 1234567 → "1,234,567" (in a span the stylesheet aligns as tabular figures). */
export function count(value: number | string | bigint | null | undefined): Html {
  if (value === null || value === undefined) return html`<span class="num muted">—</span>`;
  return html`<span class="num">${integer.format(typeof value === 'string' ? Number(value) : value)}</span>`;
}

/** A plain number with separators, as text (for labels and messages). */
export function countText(value: number | bigint): string {
  return integer.format(value);
}

/** 0.4215 → "42.15 %". */
export function percent(share: number): Html {
  return html`<span class="num">${decimal.format(share * 100)} %</span>`;
}

/** Bits of entropy, to two decimals. */
export function bits(value: number): Html {
  return html`<span class="num">${decimal.format(value)} bits</span>`;
}

/** A probability as "1 in 12,345,678" (or "certain"/"none"). */
export function oneIn(probability: number): Html {
  if (probability <= 0) return html`<span class="num">none</span>`;
  if (probability >= 1) return html`<span class="num">certain</span>`;
  return html`<span class="num">1 in ${integer.format(Math.round(1 / probability))}</span>`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** "2026-03-01 09:30 UTC". */
export function dateText(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** A date in a <time> with the exact instant. */
export function date(value: string | Date | null | undefined): Html {
  if (!value) return html`<span class="muted">—</span>`;
  const d = new Date(value);
  return html`<time datetime="${d.toISOString()}">${dateText(d)}</time>`;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** "3 hours ago" / "in 2 days" relative to now, the exact date as its title. */
export function relative(value: string | Date | null | undefined, now: Date, empty = '—'): Html {
  if (!value) return html`<span class="muted">${empty}</span>`;
  const d = new Date(value);
  const seconds = (d.getTime() - now.getTime()) / 1000;
  const [unit, size] = UNITS.find(([, s]) => Math.abs(seconds) >= s) ?? ['second', 1];
  const text = Math.abs(seconds) < 45 ? 'just now' : relativeTime.format(Math.round(seconds / size), unit);
  return html`<time datetime="${d.toISOString()}" title="${dateText(d)}">${text}</time>`;
}

/** How each status reads: good, neutral, in progress, warning or bad. */
const TONES: Record<string, 'ok' | 'info' | 'busy' | 'warn' | 'bad'> = {
  active: 'ok',
  enabled: 'ok',
  completed: 'ok',
  succeeded: 'ok',
  sent: 'ok',
  healthy: 'ok',
  redeemed: 'ok',
  delivering: 'busy',
  queued: 'busy',
  running: 'busy',
  receiving: 'busy',
  pending: 'busy',
  scheduled: 'info',
  published: 'info',
  created: 'info',
  viewer: 'info',
  admin: 'info',
  rolled_back: 'warn',
  failing: 'warn',
  exhausted: 'warn',
  expired: 'warn',
  cancelled: 'warn',
  disabled: 'bad',
  failed: 'bad',
  bounced: 'bad',
};

/** A status as a badge; its tone comes from the table above (unknown statuses are neutral). */
export function badge(status: string, label: string = status.replaceAll('_', ' ')): Html {
  return html`<span class="badge badge-${TONES[status] ?? 'info'}">${label}</span>`;
}

/** A progress bar with its figures as text (read by screen readers and without CSS). */
export function progress(done: number, total: number, label: string): Html {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const pct = Math.floor(share * 100);
  return html`<span class="progress"><progress max="100" value="${pct}" aria-label="${label}">${pct} %</progress>
    <span class="num progress-text">${pct} %</span></span>`;
}

/** Minor units in a currency: 1999 EUR → "€19.99" (the currency's own number of decimals). */
export function moneyText(minor: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(minor / 10 ** digits);
  } catch {
    return `${integer.format(minor)} ${currency} (minor units)`;
  }
}
