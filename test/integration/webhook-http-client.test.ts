import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { postWebhook } from '../../src/webhooks/http-client.ts';

/** The one POST every webhook attempt makes, against local servers: what it sends, reads, reuses and gives up on. */
const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const seen = { connections: 0, requests: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.requests += 1;
      handler(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  server.on('connection', () => {
    seen.connections += 1;
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen };
}

const open = { timeoutMs: 2_000, allowPrivateNetworks: true };

describe('postWebhook', () => {
  it('sends the body and headers once, keeps the connection alive and reads the status', async () => {
    const got: { headers: IncomingMessage['headers']; body: string }[] = [];
    const s = await serve((req, res, body) => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
    for (let i = 0; i < 20; i++) {
      const result = await postWebhook(s.url, { 'webhook-id': `msg_${i}` }, `{"n":${i}}`, open);
      expect(result).toMatchObject({ statusCode: 204 });
      expect(result.error).toBeUndefined();
    }
    expect(s.seen.requests).toBe(20);
    // Kept alive: a second connection at most (opened while the first was still being handed back to the pool).
    expect(s.seen.connections).toBeLessThanOrEqual(2);
    expect(got[7]?.body).toBe('{"n":7}');
    expect(got[7]?.headers).toMatchObject({
      'webhook-id': 'msg_7',
      'content-type': 'application/json',
      'content-length': '7',
      'user-agent': 'promo-webhooks/1',
    });
  });

  it('keeps the first 1,024 bytes of a long answer and reads Retry-After on 503 and 429', async () => {
    const s = await serve((req, res) => {
      if (req.headers['webhook-id'] === 'busy') res.writeHead(503, { 'retry-after': '7' }).end('later');
      else if (req.headers['webhook-id'] === 'slow down') res.writeHead(429, { 'retry-after': '2' }).end();
      else res.writeHead(500).end('x'.repeat(5_000));
    });
    const long = await postWebhook(s.url, {}, '{}', open);
    expect(long.statusCode).toBe(500);
    expect(long.responseBody).toBe('x'.repeat(1_024));
    expect(await postWebhook(s.url, { 'webhook-id': 'busy' }, '{}', open)).toMatchObject({
      statusCode: 503,
      retryAfterMs: 7_000,
      responseBody: 'later',
    });
    expect((await postWebhook(s.url, { 'webhook-id': 'slow down' }, '{}', open)).retryAfterMs).toBe(2_000);
    // The connections survived the long body: read to its end, not abandoned.
    expect(s.seen.connections).toBeLessThanOrEqual(2);
  });

  it('does not follow a redirect', async () => {
    const target = await serve((_req, res) => res.writeHead(200).end());
    const s = await serve((_req, res) => res.writeHead(302, { location: target.url }).end());
    const result = await postWebhook(s.url, {}, '{}', open);
    expect(result).toMatchObject({ statusCode: 302, error: `redirect to ${target.url} not followed` });
    expect(target.seen.requests).toBe(0);
  });

  it('gives the whole exchange one deadline: no answer, or an answer whose body never ends', async () => {
    const silent = await serve(() => undefined);
    const quiet = await postWebhook(silent.url, {}, '{}', { ...open, timeoutMs: 300 });
    expect(quiet.statusCode).toBeUndefined();
    expect(quiet.error).toBe('no response within 300 ms');
    expect(quiet.latencyMs).toBeGreaterThanOrEqual(290);

    // Headers at once, then a byte every 100 ms: each chunk is in time, the whole is not.
    const drip = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      const timer = setInterval(() => res.write('.'), 100);
      res.on('close', () => clearInterval(timer));
    });
    const dripped = await postWebhook(drip.url, {}, '{}', { ...open, timeoutMs: 500 });
    expect(dripped.error).toBe('no response within 500 ms');
    // An exchange not finished in time is a failed attempt (retried), whatever status line had arrived.
    expect(dripped.statusCode).toBeUndefined();
    expect(dripped.latencyMs).toBeLessThan(1_500);
  });

  it('says why when no connection could be made', async () => {
    const s = await serve(() => undefined);
    const closed = servers.pop() as Server;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await postWebhook(s.url, {}, '{}', open);
    expect(refused.statusCode).toBeUndefined();
    expect(refused.error).toMatch(/ECONNREFUSED/);
    expect(await postWebhook('not a url', {}, '{}', open)).toEqual({ latencyMs: 0, error: 'invalid URL' });
  });
});
