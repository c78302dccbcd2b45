import { JOB_NAMES } from '../src/queues/names.ts';
import type { BusinessEventPayload } from '../src/queues/payloads.ts';
import { processBusinessEvent } from '../src/triggers/triggers.ts';
import type { JobDefinition } from './registry.ts';

export const businessEventProcessJob: JobDefinition<BusinessEventPayload> = {
  name: JOB_NAMES.businessEventProcess,
  queue: 'business-events',
  async handle(job, platform) {
    return { outcomes: await processBusinessEvent(platform, job.data.eventId) };
  },
};
