import { processBusinessEvent } from '../src/triggers/triggers.ts';
import { defineJob } from './registry.ts';

export const businessEventProcessJob = defineJob('business-event.process', async (job, platform) => ({
  outcomes: await processBusinessEvent(platform, job.data.eventId),
}));
