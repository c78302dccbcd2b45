import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { BlockedAddressError, guardedLookup, isBlockedAddress, urlHost } from './url-safety.ts';

export interface PostResult {
  /** HTTP status, or undefined when no response arrived (connect error, timeout, refused address). */
  statusCode?: number;
  latencyMs: number;
  error?: string;
  /** From Retry-After on 429/503, in milliseconds. */
  retryAfterMs?: number;
  /** The first bytes of the response body, for the delivery log. */
  responseBody?: string;
}

export interface PostOptions {
  timeoutMs: number;
  allowPrivateNetworks: boolean;
}

const RESPONSE_SNIPPET_BYTES = 1024;

// Keep-alive agents: one pair guarded by the connect-time address check, one pair for WEBHOOK_ALLOW_PRIVATE_NETWORKS.
const guardedAgents = {
  http: new http.Agent({ keepAlive: true, lookup: guardedLookup as never, maxFreeSockets: 64 }),
  https: new https.Agent({ keepAlive: true, lookup: guardedLookup as never, maxFreeSockets: 64 }),
};
const openAgents = {
  http: new http.Agent({ keepAlive: true, maxFreeSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxFreeSockets: 64 }),
};

export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** One POST; never follows redirects, never throws: every outcome is a PostResult. */
export function postWebhook(rawUrl: string, headers: Record<string, string>, body: string, options: PostOptions): Promise<PostResult> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return finish({ latencyMs: 0, error: 'invalid URL' });
    }
    const host = urlHost(url);
    // An IP literal never goes through the lookup, so it is checked here.
    if (!options.allowPrivateNetworks && isIP(host) && isBlockedAddress(host)) {
      return finish({ latencyMs: 0, error: new BlockedAddressError(host, host).message });
    }
    const secure = url.protocol === 'https:';
    const agents = options.allowPrivateNetworks ? openAgents : guardedAgents;
    const request = (secure ? https : http).request(url, {
      method: 'POST',
      agent: secure ? agents.https : agents.http,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'promo-webhooks/1',
      },
    });
    timer = setTimeout(() => {
      request.destroy(new Error(`no response within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    request.on('error', (error) => finish({ latencyMs: latency(), error: error.message }));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < RESPONSE_SNIPPET_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('error', (error) => finish({ statusCode: response.statusCode, latencyMs: latency(), error: error.message }));
      response.on('end', () => {
        const statusCode = response.statusCode ?? 0;
        const retryAfter =
          statusCode === 429 || statusCode === 503 ? parseRetryAfter(response.headers['retry-after'], Date.now()) : undefined;
        const text = Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_SNIPPET_BYTES);
        const redirect = statusCode >= 300 && statusCode < 400 ? `redirect to ${response.headers.location ?? '?'} not followed` : undefined;
        finish({ statusCode, latencyMs: latency(), retryAfterMs: retryAfter, responseBody: text || undefined, error: redirect });
      });
    });
    request.end(body);
  });
}
