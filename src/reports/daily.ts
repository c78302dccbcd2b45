import { stringify } from 'csv-stringify/sync';
import type { Queryable } from '../db/sql.ts';
import type { EmailMessage, EmailSender } from '../delivery/email.ts';
import { foldAllStatDeltas } from '../stats/rollup.ts';
import { addDays, localDate } from '../stats/stats.ts';

export interface DailyReportOptions {
  now: Date;
  timezone: string;
  /** The day to report (YYYY-MM-DD in `timezone`); default: yesterday there. */
  day?: string;
  /** Comma-separated operator addresses; no email without it. */
  emailTo?: string;
  /** The delivery capability's sender: SMTP_URL, or an .eml in MAIL_DIR when no SMTP server is configured. */
  mailer?: () => EmailSender;
}

export interface DailyReportResult {
  day: string;
  timezone: string;
  campaigns: number;
  email: 'sent' | 'written' | 'already_sent' | 'not_configured';
  emailFile?: string;
}

export interface DailyReportRow {
  campaign_id: string;
  name: string;
  day: string;
  generated: string;
  published: string;
  redeemed: string;
  redeemed_codes: string;
  rolled_back: string;
  expired: string;
  discount: Record<string, number>;
}

/**
 * Writes one report row per campaign for a day in the configured time zone (recomputed on a rerun, so the job is
 * idempotent), then emails operators a summary with the CSV attached, at most once per day and time zone.
 */
export async function runDailyReport(db: Queryable, options: DailyReportOptions): Promise<DailyReportResult> {
  const { timezone } = options;
  const day = options.day ?? addDays(localDate(options.now, timezone), -1);
  await foldAllStatDeltas(db);
  const { rows } = await db.query<DailyReportRow>(
    `with bounds as (
       select ($1::date)::timestamp at time zone $2 as start_at, ($1::date + 1)::timestamp at time zone $2 as end_at
     ), per_currency as (
       select h.campaign_id, h.currency, sum(published) as published, sum(redeemed) as redeemed,
              sum(redeemed_codes) as redeemed_codes, sum(rolled_back) as rolled_back, sum(expired) as expired, sum(discount) as discount
       from campaign_stats_hourly h, bounds b where h.hour >= b.start_at and h.hour < b.end_at
       group by h.campaign_id, h.currency
     ), per_campaign as (
       select campaign_id, sum(published) as published, sum(redeemed) as redeemed, sum(redeemed_codes) as redeemed_codes,
              sum(rolled_back) as rolled_back, sum(expired) as expired,
              coalesce(jsonb_object_agg(currency, discount) filter (where currency <> '' and discount <> 0), '{}'::jsonb) as discount
       from per_currency group by campaign_id
     ), totals as (
       select campaign_id, sum(published) as published, sum(redeemed) as redeemed, sum(redeemed_codes) as redeemed_codes,
              sum(rolled_back) as rolled_back, sum(expired) as expired
       from campaign_stats_hourly h, bounds b where h.hour < b.end_at group by campaign_id
     ), written as (
       insert into campaign_daily_reports as r
         (campaign_id, day, timezone, generated, published, redeemed, redeemed_codes, rolled_back, expired, discount, totals)
       select c.id, $1::date, $2, c.issued_count, coalesce(d.published, 0), coalesce(d.redeemed, 0), coalesce(d.redeemed_codes, 0),
              coalesce(d.rolled_back, 0), coalesce(d.expired, 0), coalesce(d.discount, '{}'::jsonb),
              jsonb_build_object('generated', c.issued_count, 'published', coalesce(t.published, 0),
                'redeemed_uses', coalesce(t.redeemed, 0), 'redeemed_codes', coalesce(t.redeemed_codes, 0),
                'rolled_back', coalesce(t.rolled_back, 0), 'expired', coalesce(t.expired, 0))
       from campaigns c cross join bounds b
       left join per_campaign d on d.campaign_id = c.id
       left join totals t on t.campaign_id = c.id
       where c.created_at < b.end_at
       on conflict (campaign_id, day) do update set timezone = excluded.timezone, generated = excluded.generated,
         published = excluded.published, redeemed = excluded.redeemed, redeemed_codes = excluded.redeemed_codes,
         rolled_back = excluded.rolled_back, expired = excluded.expired, discount = excluded.discount,
         totals = excluded.totals, created_at = now()
       returning r.campaign_id, to_char(r.day, 'YYYY-MM-DD') as day, r.generated, r.published, r.redeemed, r.redeemed_codes,
                 r.rolled_back, r.expired, r.discount
     )
     select w.*, c.name from written w join campaigns c on c.id = w.campaign_id order by c.name, w.campaign_id`,
    [day, timezone],
  );
  await db.query(
    `insert into daily_report_runs (day, timezone, campaigns) values ($1, $2, $3)
     on conflict (day, timezone) do update set campaigns = excluded.campaigns`,
    [day, timezone, rows.length],
  );
  const result: DailyReportResult = { day, timezone, campaigns: rows.length, email: 'not_configured' };
  if (!options.emailTo) return result;

  const run = (
    await db.query<{ emailed_at: Date | null }>('select emailed_at from daily_report_runs where day = $1 and timezone = $2', [
      day,
      timezone,
    ])
  ).rows[0];
  if (run?.emailed_at) return { ...result, email: 'already_sent' };
  if (!options.mailer) return result;
  const sender = options.mailer();
  let sent: { providerMessageId: string };
  try {
    sent = await sender.send(reportMessage(rows, day, timezone, options.emailTo));
  } finally {
    sender.close();
  }
  const emailFile = sender.provider === 'maildir' ? sent.providerMessageId : undefined;
  // Marked after sending: a crash in between sends the summary again (at least once; same Message-ID), never not at all.
  await db.query('update daily_report_runs set emailed_at = now(), email_file = $3 where day = $1 and timezone = $2', [
    day,
    timezone,
    emailFile ?? null,
  ]);
  return { ...result, email: emailFile ? 'written' : 'sent', emailFile };
}

export const REPORT_CSV_COLUMNS = [
  'campaign_id',
  'campaign_name',
  'day',
  'generated',
  'published',
  'redeemed',
  'redeemed_codes',
  'rolled_back',
  'expired',
  'discount',
];

export function reportCsv(rows: DailyReportRow[]): string {
  return stringify(
    rows.map((r) => [
      r.campaign_id,
      r.name,
      r.day,
      r.generated,
      r.published,
      r.redeemed,
      r.redeemed_codes,
      r.rolled_back,
      r.expired,
      Object.entries(r.discount)
        .map(([currency, amount]) => `${amount} ${currency}`)
        .join('; '),
    ]),
    { header: true, columns: REPORT_CSV_COLUMNS },
  );
}

function reportMessage(rows: DailyReportRow[], day: string, timezone: string, to: string): EmailMessage {
  const sum = (field: 'redeemed' | 'rolled_back' | 'expired' | 'published') => rows.reduce((acc, r) => acc + Number(r[field]), 0);
  const lines = [
    `Promo daily report for ${day} (${timezone})`,
    '',
    `Campaigns: ${rows.length}`,
    `Redemptions: ${sum('redeemed')}`,
    `Rolled back: ${sum('rolled_back')}`,
    `Codes expired: ${sum('expired')}`,
    `Codes published: ${sum('published')}`,
    '',
    'Busiest campaigns:',
    ...[...rows]
      .sort((a, b) => Number(b.redeemed) - Number(a.redeemed))
      .slice(0, 10)
      .map((r) => `  ${r.name}: ${r.redeemed} redemptions, ${r.rolled_back} rolled back, ${r.expired} expired`),
    '',
    'The attached CSV has one row per campaign.',
  ];
  return {
    to,
    messageId: `<promo-report-${day}-${timezone.replaceAll('/', '.')}@promo.local>`,
    subject: `Promo daily report ${day}`,
    text: lines.join('\n'),
    attachments: [{ filename: `promo-report-${day}.csv`, content: reportCsv(rows), contentType: 'text/csv; charset=utf-8' }],
  };
}
