import { z } from 'zod';
import { getReminder, removeReminder, setReminder } from '../../expiry/reminders.ts';
import { expiryReminderSchema } from '../../expiry/schemas.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { statsQuerySchema } from '../../stats/schemas.ts';
import { getCampaignStats } from '../../stats/stats.ts';
import type { RouteModule } from '../context.ts';
import { parse } from '../validate.ts';

const uuid = z.uuid();

function campaignId(id: string): string {
  if (!uuid.safeParse(id).success) throw new NotFoundError('campaign', id);
  return id;
}

/** Campaign stats (from the hourly rollup) and the campaign's expiring-soon reminder setting. */
export const statsRoutes: RouteModule = (router, { platform }) => {
  router.get('/campaigns/:id/stats', async (req, res) => {
    const query = parse(statsQuerySchema, req.query);
    res.json(await getCampaignStats(platform.db, campaignId(req.params.id), platform.clock.now(), query));
  });

  router.get('/campaigns/:id/expiry-reminder', async (req, res) => {
    const setting = await getReminder(platform.db, campaignId(req.params.id));
    if (!setting) throw new NotFoundError('expiry_reminder', req.params.id);
    res.json(setting);
  });

  router.put('/campaigns/:id/expiry-reminder', async (req, res) => {
    const input = parse(expiryReminderSchema, req.body);
    res.json(await setReminder(platform.db, campaignId(req.params.id), input));
  });

  router.delete('/campaigns/:id/expiry-reminder', async (req, res) => {
    await removeReminder(platform.db, campaignId(req.params.id));
    res.status(204).end();
  });
};
