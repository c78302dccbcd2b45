import { createEmailSender } from '../src/delivery/email.ts';
import { runDailyReport } from '../src/reports/daily.ts';
import { defineJob } from './registry.ts';

/** Scheduled (REPORT_CRON in REPORT_TIMEZONE): yesterday's report rows, and the operators' email when configured. */
export const reportDailyJob = defineJob('report.daily', async (job, platform) => {
  const { config, db, clock } = platform;
  return runDailyReport(db, {
    now: clock.now(),
    timezone: config.REPORT_TIMEZONE,
    day: job.data.day,
    emailTo: config.REPORT_EMAIL_TO,
    mailer: () => createEmailSender(config),
  });
});
