import { createEmailSender } from '../src/delivery/email.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { MaintenancePayload } from '../src/queues/payloads.ts';
import { runDailyReport } from '../src/reports/daily.ts';
import type { JobDefinition } from './registry.ts';

/** Scheduled (REPORT_CRON in REPORT_TIMEZONE): yesterday's report rows, and the operators' email when configured. */
export const reportDailyJob: JobDefinition<MaintenancePayload & { day?: string }> = {
  name: JOB_NAMES.reportDaily,
  queue: 'maintenance',
  async handle(job, platform) {
    const { config, db, clock } = platform;
    return runDailyReport(db, {
      now: clock.now(),
      timezone: config.REPORT_TIMEZONE,
      day: job.data.day,
      emailTo: config.REPORT_EMAIL_TO,
      mailer: () => createEmailSender(config),
    });
  },
};
