import { relayOutbox } from '../src/outbox/relay.ts';
import { JOB_NAMES } from '../src/queues/names.ts';
import type { JobDefinition } from './registry.ts';

/** Scheduled every OUTBOX_RELAY_INTERVAL_MS and woken on commit; any number may run at once (SKIP LOCKED). */
export const outboxRelayJob: JobDefinition<Record<string, never>> = {
  name: JOB_NAMES.outboxRelay,
  queue: 'outbox',
  async handle(_job, platform) {
    return relayOutbox(platform);
  },
};
