import { relayOutbox } from '../src/outbox/relay.ts';
import { defineJob } from './registry.ts';

/** Scheduled every OUTBOX_RELAY_INTERVAL_MS and woken on commit; any number may run at once (SKIP LOCKED). */
export const outboxRelayJob = defineJob('outbox.relay', async (_job, platform) => relayOutbox(platform));
