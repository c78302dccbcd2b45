import { JOB_NAMES } from '../src/queues/names.ts';
import type { WebhookReplayPayload } from '../src/queues/payloads.ts';
import { replayEvents } from '../src/webhooks/replay.ts';
import type { JobDefinition } from './registry.ts';

export const webhookReplayJob: JobDefinition<WebhookReplayPayload> = {
  name: JOB_NAMES.webhookReplay,
  queue: 'webhook',
  async handle(job, platform) {
    return replayEvents(platform, job.data);
  },
};
