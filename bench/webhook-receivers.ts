/**
 * Child process for `npm run bench:webhooks`: three local receivers (fast, slow, flaky), kept out of the
 * delivering processes so they do not share an event loop. Talks to the parent over IPC.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const SLOW_MS = Number(process.env.BENCH_SLOW_MS ?? 50);

interface Stats {
  /** eventId → epoch ms of the first request for it. */
  first: Map<string, number>;
  /** eventIds answered with a 2xx. */
  delivered: Set<string>;
  requests: number;
  inFlight: number;
  /** In flight, sampled every 100 ms since the last reset. */
  samples: number[];
}

const stats: Record<string, Stats> = {};

function start(name: string, answer: () => number, delayMs: number): Promise<number> {
  const s: Stats = { first: new Map(), delivered: new Set(), requests: 0, inFlight: 0, samples: [] };
  stats[name] = s;
  const server: Server = createServer((req, res) => {
    s.inFlight += 1;
    res.on('finish', () => {
      s.inFlight -= 1;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      s.requests += 1;
      let id: string | undefined;
      if (req.headers['webhook-id']) {
        try {
          id = JSON.parse(Buffer.concat(chunks).toString('utf8')).id as string;
        } catch {}
      }
      if (id && !s.first.has(id)) s.first.set(id, now);
      const status = answer();
      const send = () => {
        if (id && status < 300) s.delivered.add(id);
        res.writeHead(status).end();
      };
      if (delayMs > 0) setTimeout(send, delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const ports = {
  fast: await start('fast', () => 200, 0),
  slow: await start('slow', () => 200, SLOW_MS),
  flaky: await start('flaky', () => (Math.random() < 0.5 ? 500 : 200), 0),
};

setInterval(() => {
  for (const s of Object.values(stats)) s.samples.push(s.inFlight);
}, 100).unref();

process.on('message', (message: { type: string }) => {
  if (message.type === 'reset') {
    for (const s of Object.values(stats)) {
      s.first.clear();
      s.delivered.clear();
      s.requests = 0;
      s.samples = [];
    }
    process.send?.({ type: 'reset' });
  } else if (message.type === 'stats') {
    process.send?.({
      type: 'stats',
      stats: Object.fromEntries(
        Object.entries(stats).map(([name, s]) => [
          name,
          { first: [...s.first], delivered: s.delivered.size, requests: s.requests, samples: s.samples },
        ]),
      ),
    });
  }
});
process.send?.({ type: 'ready', ports });
