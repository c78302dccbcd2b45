import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { createEmailSender } from '../../src/delivery/email.ts';
import { runDailyReport } from '../../src/reports/daily.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { seedVouchers } from './expiry-fixtures.ts';

describe('daily report', () => {
  let p: TestPlatform;
  let smtp: SMTPServer;
  let dir = '';
  const mails: ParsedMail[] = [];
  const clock = new ManualClock('2031-08-01T08:00:00Z');
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'promo-reports-'));
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      onData(stream, _session, callback) {
        simpleParser(stream).then((mail) => {
          mails.push(mail);
          callback();
        }, callback);
      },
    });
    smtp.on('error', () => undefined);
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    const { port } = smtp.server.address() as AddressInfo;
    p = await startTestPlatform({
      clock,
      env: {
        REPORT_TIMEZONE: 'Europe/Berlin',
        REPORT_CRON: '0 5 0 * * *',
        REPORT_EMAIL_TO: 'ops@example.com, finance@example.com',
        SMTP_URL: `smtp://127.0.0.1:${port}`,
        EXPIRY_SWEEP_CRON: '0 0 0 1 1 *',
        GUESS_LIMIT: '100000',
      },
    });
    for (const name of ['Alpha', 'Beta']) {
      const created = await p.call('/v1/campaigns', { method: 'POST', json: { name } });
      ids[name] = created.body.id;
      await seedVouchers(p.platform.db, created.body.id, 50, { prefix: name.slice(0, 2).toUpperCase() });
    }
    // Berlin is UTC+2 in August: 22:30 UTC on the 31st is already August 1st there, 22:30 UTC on the 1st is the 2nd.
    const redeem = async (code: string, at: string) => {
      clock.set(at);
      expect((await p.call('/v1/redemptions', { method: 'POST', json: { code } })).status).toBe(201);
    };
    await redeem('AL00000001', '2031-07-31T21:30:00Z'); // July 31st in Berlin
    await redeem('AL00000002', '2031-07-31T22:30:00Z'); // August 1st
    await redeem('AL00000003', '2031-08-01T12:00:00Z');
    await redeem('BE00000001', '2031-08-01T15:00:00Z');
    await redeem('AL00000004', '2031-08-01T22:30:00Z'); // August 2nd
    clock.set('2031-08-02T00:10:00+02:00');
  });
  afterAll(async () => {
    await p?.destroy();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('is scheduled in the configured time zone', async () => {
    const scheduler = await p.platform.queues.get('maintenance').getJobScheduler('report-daily');
    expect(scheduler).toMatchObject({ pattern: '0 5 0 * * *', tz: 'Europe/Berlin' });
  });

  it('writes one row per campaign for yesterday (local day) and emails operators once, with the CSV attached', async () => {
    const queue = p.platform.queues.get('maintenance');
    const job = await queue.add('report.daily', {});
    await waitFor(() => job.isCompleted());
    expect((await queue.getJob(job.id as string))?.returnvalue).toMatchObject({
      day: '2031-08-01',
      timezone: 'Europe/Berlin',
      campaigns: 2,
      email: 'sent',
    });

    const { rows } = await p.platform.db.query<{
      campaign_id: string;
      redeemed: string;
      generated: string;
      totals: Record<string, number>;
    }>(`select campaign_id, redeemed, generated, totals from campaign_daily_reports where day = '2031-08-01' order by redeemed desc`);
    expect(rows.map((r) => [r.campaign_id, Number(r.redeemed), Number(r.generated)])).toEqual([
      [ids.Alpha, 2, 50],
      [ids.Beta, 1, 50],
    ]);
    expect(rows[0]?.totals).toMatchObject({ generated: 50, redeemed_uses: 3 }); // up to the end of that day

    await waitFor(async () => mails.length === 1);
    const mail = mails[0] as ParsedMail;
    expect(mail.subject).toBe('Promo daily report 2031-08-01');
    expect(mail.text).toContain('Redemptions: 3');
    const attachment = mail.attachments[0];
    expect(attachment?.filename).toBe('promo-report-2031-08-01.csv');
    const csv = parseCsv(attachment?.content.toString() ?? '', { columns: true }) as Record<string, string>[];
    expect(csv.map((r) => [r.campaign_name, r.day, r.redeemed])).toEqual([
      ['Alpha', '2031-08-01', '2'],
      ['Beta', '2031-08-01', '1'],
    ]);

    // A rerun (retry, second worker) rewrites the same rows and sends nothing more.
    const again = await queue.add('report.daily', {});
    await waitFor(() => again.isCompleted());
    expect((await queue.getJob(again.id as string))?.returnvalue).toMatchObject({ email: 'already_sent' });
    const count = await p.platform.db.query(`select count(*)::int as n from campaign_daily_reports where day = '2031-08-01'`);
    expect(count.rows[0]?.n).toBe(2);
    expect(mails).toHaveLength(1);
  });

  it('writes the summary as an .eml when no SMTP server is configured', async () => {
    const result = await runDailyReport(p.platform.db, {
      now: clock.now(),
      timezone: 'UTC',
      day: '2031-08-01',
      emailTo: 'ops@example.com',
      // The delivery capability's sender as configured without SMTP_URL: an .eml in MAIL_DIR.
      mailer: () => createEmailSender(loadConfig({ ...p.isolation.env, SMTP_URL: '', MAIL_DIR: dir })),
    });
    expect(result).toMatchObject({ day: '2031-08-01', timezone: 'UTC', email: 'written' });
    expect(path.dirname(result.emailFile as string)).toBe(path.resolve(dir));
    const eml = await readFile(result.emailFile as string, 'utf8');
    expect(eml).toContain('Subject: Promo daily report 2031-08-01');
    expect(eml).toMatch(/Content-Type: text\/csv/i);
    const parsed = await simpleParser(eml);
    const csv = parseCsv(parsed.attachments[0]?.content.toString() ?? '', { columns: true }) as Record<string, string>[];
    // In UTC, August 1st holds AL2 (22:30 on the 31st is not in it), AL3, BE1 and AL4.
    expect(csv.map((r) => [r.campaign_name, r.redeemed])).toEqual([
      ['Alpha', '2'],
      ['Beta', '1'],
    ]);
  });
});
