import { getReminder, removeReminder, setReminder } from '../../expiry/reminders.ts';
import { expiryReminderSchema, reminderSettingSchema } from '../../expiry/schemas.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { campaignStatsSchema, statsQuerySchema } from '../../stats/schemas.ts';
import { getCampaignStats } from '../../stats/stats.ts';
import type { RouteModule } from '../context.ts';
import { idParam, route } from '../operation.ts';

const campaignId = { id: idParam('campaign') };

/** Campaign stats (from the hourly rollup) and the campaign's expiring-soon reminder setting. */
export const statsRoutes: RouteModule = (routes, { platform }) => {
  route(
    routes,
    {
      method: 'get',
      path: '/campaigns/:id/stats',
      tag: 'stats',
      params: campaignId,
      summary: 'Campaign statistics: totals and redemptions per day',
      query: statsQuerySchema,
      responses: { 200: { description: 'Counts and series', schema: campaignStatsSchema } },
    },
    async ({ params, query }) => ({ status: 200, body: await getCampaignStats(platform.db, params.id, platform.clock.now(), query) }),
  );

  route(
    routes,
    {
      method: 'get',
      path: '/campaigns/:id/expiry-reminder',
      tag: 'expiry',
      params: campaignId,
      summary: 'The expiring-soon reminder setting',
      errors: { 404: ['expiry_reminder_not_found'] },
      responses: { 200: { description: 'The setting', schema: reminderSettingSchema } },
    },
    async ({ params }) => {
      const setting = await getReminder(platform.db, params.id);
      if (!setting) throw new NotFoundError('expiry_reminder', params.id);
      return { status: 200, body: setting };
    },
  );

  route(
    routes,
    {
      method: 'put',
      path: '/campaigns/:id/expiry-reminder',
      tag: 'expiry',
      params: campaignId,
      summary: 'Remind holders before their code expires (once per code)',
      body: expiryReminderSchema,
      bodyExample: { days_before: 7, channel: 'email', template_id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f' },
      errors: { 404: ['template_not_found'] },
      responses: { 200: { description: 'The setting', schema: reminderSettingSchema } },
    },
    async ({ params, body }) => ({ status: 200, body: await setReminder(platform.db, params.id, body) }),
  );

  route(
    routes,
    {
      method: 'delete',
      path: '/campaigns/:id/expiry-reminder',
      tag: 'expiry',
      params: campaignId,
      summary: 'Remove the expiring-soon reminder',
      responses: { 204: { description: 'Removed' } },
    },
    async ({ params }) => {
      await removeReminder(platform.db, params.id);
      return { status: 204 };
    },
  );
};
