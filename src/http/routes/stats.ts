import { getReminder, removeReminder, setReminder } from '../../expiry/reminders.ts';
import { expiryReminderSchema, reminderSettingSchema } from '../../expiry/schemas.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { campaignStatsSchema, statsQuerySchema } from '../../stats/schemas.ts';
import { getCampaignStats } from '../../stats/stats.ts';
import { routeModule } from '../context.ts';

/** Campaign stats (from the hourly rollup) and the campaign's expiring-soon reminder setting. */
export const statsRoutes = routeModule({ tag: 'expiry' }, (api, { platform }) => {
  const aCampaign = api.resource('/campaigns/:id', 'campaign');
  aCampaign.get(
    '/stats',
    {
      tag: 'stats',
      summary: 'Campaign statistics: totals and redemptions per day',
      query: statsQuerySchema,
      ok: ['Counts and series', campaignStatsSchema],
    },
    async ({ params, query }) => ({ status: 200, body: await getCampaignStats(platform.db, params.id, platform.clock.now(), query) }),
  );

  const reminder = aCampaign.resource('/expiry-reminder', {});
  reminder.read(
    {
      summary: 'The expiring-soon reminder setting',
      errors: { 404: ['expiry_reminder_not_found'] },
      ok: ['The setting', reminderSettingSchema],
    },
    async ({ id }) => {
      const setting = await getReminder(platform.db, id);
      if (!setting) throw new NotFoundError('expiry_reminder', id);
      return setting;
    },
  );

  reminder.put(
    {
      summary: 'Remind holders before their code expires (once per code)',
      body: expiryReminderSchema,
      bodyExample: { days_before: 7, channel: 'email', template_id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f' },
      errors: { 404: ['template_not_found'] },
      ok: ['The setting', reminderSettingSchema],
    },
    async ({ params, body }) => ({ status: 200, body: await setReminder(platform.db, params.id, body) }),
  );

  reminder.remove({ summary: 'Remove the expiring-soon reminder', noContent: 'Removed' }, ({ id }) => removeReminder(platform.db, id));
});
