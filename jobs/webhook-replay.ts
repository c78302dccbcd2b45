import { replayEvents } from '../src/webhooks/replay.ts';
import { defineJob } from './registry.ts';

export const webhookReplayJob = defineJob('webhook.replay', async (job, platform) => replayEvents(platform, job.data));
