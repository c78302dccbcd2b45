import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/events/outbox.ts';
import { createEndpoint } from '../../src/webhooks/endpoints.ts';
import { businessEventPayload } from '../support/events.ts';
import { busiestWindow } from '../support/pacing.ts';
import { spawnEntrypoint, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';

const RATE_PER_S = 40;
const MAX_IN_FLIGHT = 4;
const EVENTS = 160;

/** A receiver that counts how many requests it holds at once and when each arrived. */
async function countingReceiver(delayMs: number) {
  const state = { inFlight: 0, maxInFlight: 0, arrivals: [] as number[], ids: [] as string[] };
  const server: Server = createServer((req, res) => {
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    state.arrivals.push(performance.now());
    state.ids.push(String(req.headers['webhook-id']));
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        state.inFlight -= 1;
        res.writeHead(200).end('ok');
      }, delayMs),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/paced`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('webhook pacing across worker processes', () => {
  let p: TestPlatform;
  const children: ChildProcess[] = [];
  let receiver: Awaited<ReturnType<typeof countingReceiver>>;

  beforeAll(async () => {
    const env = { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', OUTBOX_RELAY_INTERVAL_MS: '100' };
    p = await startTestPlatform({ api: false, workers: false, env });
    receiver = await countingReceiver(30);
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    await receiver?.close();
    await p?.destroy();
  });

  it('keeps one endpoint within its rate and in-flight cap while 3 worker processes take slots in batches', async () => {
    const endpoint = await createEndpoint(p.platform, { url: receiver.url, events: ['paced.event'] });
    // All events committed at once: the relay makes batch jobs of them, which the three workers share.
    await p.platform.db.transaction(async (tx) => {
      for (let i = 0; i < EVENTS; i++) await emitEvent(tx, 'paced.event', businessEventPayload({ i }));
    });
    for (let i = 0; i < 3; i++) {
      children.push(
        spawnEntrypoint('worker', p.isolation, {
          WORKER_QUEUES: 'outbox,webhook',
          WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
          WEBHOOK_ENDPOINT_RATE_PER_S: String(RATE_PER_S),
          WEBHOOK_ENDPOINT_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
          WEBHOOK_BATCH_SIZE: '20',
          OUTBOX_RELAY_INTERVAL_MS: '100',
        }),
      );
    }
    await waitFor(async () => {
      const { rows } = await p.platform.db.query<{ n: number }>(
        `select count(*)::int as n from webhook_deliveries where endpoint_id = $1 and status = 'succeeded'`,
        [endpoint.endpoint.id],
      );
      return rows[0]?.n === EVENTS;
    }, 60_000);

    const { state } = receiver;
    expect(new Set(state.ids).size).toBe(EVENTS);
    expect(state.ids).toHaveLength(EVENTS);
    // The in-flight cap is exact: counted by the receiver, across all three processes.
    expect(state.maxInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(state.maxInFlight).toBeGreaterThan(1);
    // The rate: a burst of up to the in-flight cap, then one every 1/rate (GCRA), so any window of T ms holds at most
    // T·rate + cap + 1 sends; one more for the network's jitter between Redis's clock and the receiver's.
    for (const windowMs of [500, 1000, 2000]) {
      expect(busiestWindow(state.arrivals, windowMs)).toBeLessThanOrEqual((windowMs * RATE_PER_S) / 1000 + MAX_IN_FLIGHT + 2);
    }
    // And the pacer is not simply slow: the whole took about what the rate allows.
    const spanS = ((state.arrivals.at(-1) as number) - (state.arrivals[0] as number)) / 1000;
    expect(spanS).toBeGreaterThanOrEqual((EVENTS - MAX_IN_FLIGHT - 2) / RATE_PER_S - 0.2);
    expect(spanS).toBeLessThan((3 * EVENTS) / RATE_PER_S);
  });
});
