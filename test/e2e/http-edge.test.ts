import type { Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { startWorkers } from '../../jobs/workers.ts';
import { createApp } from '../../src/http/app.ts';
import { type Running, run } from '../../src/main/runtime.ts';
import type { Platform } from '../../src/platform.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { dropIsolation, type Isolation, isolation, waitFor } from '../support/platform.ts';

/** Log lines the platform wrote, parsed. */
const lines: Record<string, any>[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
    done();
  },
});
const logText = () => JSON.stringify(lines);

let iso: Isolation;
let running: Running;
let url: string;

async function listen(platform: Platform, overrides: Record<string, unknown>): Promise<{ url: string; server: Server }> {
  const { app } = createApp({ ...platform, config: Object.freeze({ ...platform.config, ...overrides }) } as Platform);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function rawRequest(port: number, head: string): { socket: Socket; response: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let data = '';
  socket.on('data', (d) => {
    data += d;
  });
  const response = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(data));
    socket.on('end', () => resolve(data));
  });
  socket.write(head);
  return { socket, response };
}

describe('HTTP edge', () => {
  beforeAll(async () => {
    iso = isolation({ HTTP_BODY_LIMIT: '2kb', LOG_LEVEL: 'debug' });
    running = await run(loadConfig(iso.env), { api: true, workers: false, logger: createLogger('debug', sink) });
    url = running.url as string;
  });
  afterAll(async () => {
    await running?.stop();
    if (iso) await dropIsolation(iso);
  });

  const auth = () => ({ authorization: `Bearer ${iso.apiKey}` });

  it('sends security headers and no CORS headers unless configured', async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toBeTruthy();
    expect(res.headers.get('x-powered-by')).toBeNull();
    const preflight = await fetch(`${url}/v1/campaigns`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${url}/v1/campaigns`, { headers: { ...auth(), origin: 'https://shop.example' } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers CORS for the configured origins only', async () => {
    const { url: corsUrl, server } = await listen(running.platform, { CORS_ORIGINS: 'https://shop.example' });
    try {
      const preflight = await fetch(`${corsUrl}/v1/campaigns`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
      const other = await fetch(`${corsUrl}/v1/campaigns`, { headers: { ...auth(), origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      server.close();
    }
  });

  it('gives every response a request id, keeping a well-formed incoming one, and logs it', async () => {
    const generated = await fetch(`${url}/healthz`);
    const id = generated.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await fetch(`${url}/v1/campaigns`, { headers: { ...auth(), 'x-request-id': 'edge-test.42' } });
    expect(kept.headers.get('x-request-id')).toBe('edge-test.42');
    const replaced = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const line = await waitFor(async () => lines.find((l) => l.req?.id === 'edge-test.42'));
    expect(line).toMatchObject({ req: { method: 'GET', path: '/v1/campaigns' }, route: '/v1/campaigns', res: { statusCode: 200 } });
  });

  it('refuses bodies over HTTP_BODY_LIMIT with 413', async () => {
    const res = await fetch(`${url}/v1/campaigns`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'big', metadata: { blob: 'x'.repeat(4096) } }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('payload_too_large');
  });

  it('answers 408 when the body does not all arrive in time, 503 request_timeout when the work does not finish', async () => {
    const { server } = await listen(running.platform, { HTTP_REQUEST_TIMEOUT_MS: 300 });
    const locker = await running.platform.db.pool.connect();
    try {
      const port = (server.address() as AddressInfo).port;
      // A body shorter than its Content-Length (or a client that stalls, slowloris) is the client's fault: 408.
      const { response } = rawRequest(
        port,
        `POST /v1/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${iso.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`,
      );
      const text = await response;
      expect(text).toMatch(/^HTTP\/1\.1 408/);
      expect(text).toContain('request_body_timeout');
      expect(text.toLowerCase()).toContain('connection: close');
      // A whole request whose work is stuck (here: behind a lock on its table) is ours: 503.
      await locker.query('begin');
      await locker.query('lock table campaigns in access exclusive mode');
      const stuck = await fetch(`http://127.0.0.1:${port}/v1/campaigns`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'behind a lock' }),
      });
      expect(stuck.status).toBe(503);
      expect(((await stuck.json()) as { code: string }).code).toBe('request_timeout');
    } finally {
      await locker.query('rollback').catch(() => undefined);
      locker.release();
      server.close();
    }
  });

  it('gives streamed CSV uploads HTTP_UPLOAD_TIMEOUT_MS instead', async () => {
    const { server } = await listen(running.platform, { HTTP_REQUEST_TIMEOUT_MS: 200, HTTP_UPLOAD_TIMEOUT_MS: 60_000 });
    try {
      const port = (server.address() as AddressInfo).port;
      const csv = 'email\nada@example.com\n';
      const { socket, response } = rawRequest(
        port,
        `POST /v1/campaigns/00000000-0000-4000-8000-000000000000/distributions?channel=email HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${iso.apiKey}\r\nContent-Type: text/csv\r\nContent-Length: ${csv.length}\r\nConnection: close\r\n\r\nemail\n`,
      );
      // Well past the JSON timeout, the upload is still being received.
      await new Promise((r) => setTimeout(r, 600));
      socket.write(csv.slice('email\n'.length));
      const text = await response;
      expect(text).not.toContain('request_timeout');
      expect(text).toMatch(/^HTTP\/1\.1 (4\d\d|202)/);
    } finally {
      server.close();
    }
  });

  it('trusts X-Forwarded-For only when TRUST_PROXY says so', async () => {
    const trusted = await listen(running.platform, { TRUST_PROXY: 'loopback' });
    try {
      await fetch(`${trusted.url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'proxied-1' } });
      await fetch(`${url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'direct-1' } });
      const proxied = await waitFor(async () => lines.find((l) => l.req?.id === 'proxied-1'));
      const direct = await waitFor(async () => lines.find((l) => l.req?.id === 'direct-1'));
      expect(proxied.req.remoteAddress).toBe('203.0.113.7');
      expect(direct.req.remoteAddress).not.toBe('203.0.113.7');
    } finally {
      trusted.server.close();
    }
  });

  it("binds handlers' log lines to the request id, and logs a hang-up as a warning", async () => {
    await fetch(`${url}/v1/api-keys`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json', 'x-request-id': 'bound-1' },
      body: JSON.stringify({ name: 'log binding', role: 'standard' }),
    });
    const handlerLine = await waitFor(async () => lines.find((l) => l.msg === 'api key created' && l.reqId === 'bound-1'));
    expect(handlerLine.level).toBe(30);
    const access = await waitFor(async () => lines.find((l) => l.req?.id === 'bound-1'));
    expect(access).toMatchObject({ msg: 'request completed', res: { statusCode: 201 }, route: '/v1/api-keys' });
    expect(access.responseTime).toBeGreaterThanOrEqual(0);
    // A client that leaves before the answer (here: while the body is still coming).
    const { socket } = rawRequest(
      Number(new URL(url).port),
      `POST /v1/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${iso.apiKey}\r\nX-Request-Id: hangup-1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`,
    );
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    const aborted = await waitFor(async () => lines.find((l) => l.req?.id === 'hangup-1'));
    expect(aborted).toMatchObject({ msg: 'request aborted', level: 40 });
  });

  it('never logs API keys, query strings or full codes', async () => {
    const code = 'SECRETCODE7X9';
    await fetch(`${url}/v1/vouchers/${code}?code=${code}`, { headers: { ...auth(), 'x-request-id': 'masking-1' } });
    await fetch(`${url}/v1/campaigns`, { headers: { authorization: 'Bearer pk_wrong_key_value_123', 'x-request-id': 'masking-2' } });
    const line = await waitFor(async () => lines.find((l) => l.req?.id === 'masking-1'));
    await waitFor(async () => lines.find((l) => l.req?.id === 'masking-2'));
    expect(line.req.path).toBe('/v1/vouchers/SE*********X9');
    expect(line.route).toBe('/v1/vouchers/:code');
    const text = logText();
    expect(text).not.toContain(code);
    expect(text).not.toContain(iso.apiKey);
    expect(text).not.toContain('pk_wrong_key_value_123');
  });

  it('puts the job id on every line a job handler logs', async () => {
    const seen: string[] = [];
    const pool = startWorkers(
      running.platform,
      new Map([
        [
          'generation',
          new Map([
            [
              'edge.log',
              {
                name: 'edge.log',
                async handle(job, platform) {
                  platform.logger.info({ step: 1 }, 'handler says hello');
                  seen.push(String(job.id));
                  return 'ok';
                },
              },
            ],
          ]),
        ],
      ]),
      ['generation'],
    );
    const queue = new Queue('generation', { connection: { url: iso.env.REDIS_URL }, prefix: iso.env.QUEUE_PREFIX });
    try {
      await queue.add('edge.log', {}, { jobId: 'edge-log-1' });
      await waitFor(async () => seen.length > 0);
      const line = lines.find((l) => l.msg === 'handler says hello');
      expect(line).toMatchObject({ jobId: 'edge-log-1', jobName: 'edge.log', queue: 'generation', step: 1 });
    } finally {
      await pool.close();
      await queue.close();
    }
  });

  it('a job that never returns does not keep workers from closing: after WORKER_SHUTDOWN_GRACE_MS it is left to run again', async () => {
    let started = false;
    const platform = { ...running.platform, config: Object.freeze({ ...running.platform.config, WORKER_SHUTDOWN_GRACE_MS: 500 }) };
    const pool = startWorkers(
      platform as Platform,
      new Map([
        [
          'generation',
          new Map([
            [
              'edge.hang',
              {
                name: 'edge.hang',
                handle: () => {
                  started = true;
                  return new Promise(() => {});
                },
              },
            ],
          ]),
        ],
      ]),
      ['generation'],
    );
    const queue = new Queue('generation', { connection: { url: iso.env.REDIS_URL }, prefix: iso.env.QUEUE_PREFIX });
    try {
      await queue.add('edge.hang', {}, { jobId: 'edge-hang-1' });
      await waitFor(async () => started);
      const t = Date.now();
      await pool.close();
      expect(Date.now() - t).toBeLessThan(5_000);
      expect(lines.find((l) => l.msg?.startsWith('workers still busy'))).toMatchObject({ queues: ['generation'], graceMs: 500 });
      // The job is still active in Redis: its lock runs out and a worker runs it again (every job is idempotent).
      expect(await queue.getJobState('edge-hang-1')).toBe('active');
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  // Last: it stops the platform.
  it('on shutdown stops accepting, lets in-flight requests finish, then closes', async () => {
    const server = running.server as Server;
    const port = (server.address() as AddressInfo).port;
    const body = JSON.stringify({ name: 'in flight' });
    const half = Math.floor(body.length / 2);
    const received = new Promise((resolve) => server.once('request', resolve));
    const { socket, response } = rawRequest(
      port,
      `POST /v1/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${iso.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`,
    );
    await received;
    let stopped = false;
    const stopping = running.stop().then(() => {
      stopped = true;
    });
    await waitFor(async () => !server.listening);
    // New connections are refused while the in-flight request is still being served.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(stopped).toBe(false);
    socket.write(body.slice(half));
    const text = await response;
    expect(text).toMatch(/^HTTP\/1\.1 201/);
    expect(text).toContain('"in flight"');
    await stopping;
    expect(stopped).toBe(true);
  });
});
