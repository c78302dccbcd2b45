import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Liquid } from 'liquidjs';
import twilio from 'twilio';
import type { Config } from '../../config/index.ts';
import { sentFile } from './file-sink.ts';
import { SendFailure } from './outcome.ts';

export interface SmsMessage {
  /** E.164. */
  to: string;
  body: string;
  /** Stable per delivery (used as a file name or passed to gateways as a reference). */
  reference: string;
}

/** One SMS provider. Implementations throw SendFailure saying whether a retry can help. */
export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<{ providerMessageId: string }>;
  /**
   * After a crash between handing a message over and recording it: asks the provider whether it already has
   * this message (same recipient and body, since the interrupted attempt). Null when it does not, or cannot tell.
   */
  findSent?(message: SmsMessage, since: Date): Promise<{ providerMessageId: string } | null>;
}

export function createSmsProvider(config: Config): SmsProvider {
  switch (config.SMS_PROVIDER) {
    case 'twilio':
      return new TwilioProvider(config);
    case 'http':
      return new HttpGatewayProvider(config);
    default:
      return new SmsFileProvider(config);
  }
}

/** Twilio error codes that mean the number itself cannot receive: recorded as a bounce, never retried. */
const TWILIO_BAD_NUMBER = new Set([21211, 21214, 21217, 21612, 21614]);

export class TwilioProvider implements SmsProvider {
  readonly name = 'twilio';
  readonly #client: ReturnType<typeof twilio>;
  readonly #from?: string;
  readonly #messagingServiceSid?: string;
  constructor(config: Config) {
    if (!config.TWILIO_ACCOUNT_SID || !config.TWILIO_AUTH_TOKEN) {
      throw new Error('SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN');
    }
    if (!config.SMS_FROM && !config.TWILIO_MESSAGING_SERVICE_SID) {
      throw new Error('SMS_PROVIDER=twilio needs SMS_FROM or TWILIO_MESSAGING_SERVICE_SID');
    }
    // Retries are ours (BullMQ backoff), so the library's own 429 retry is off.
    this.#client = twilio(config.TWILIO_ACCOUNT_SID, config.TWILIO_AUTH_TOKEN, { autoRetry: false });
    // The API host is configurable (a regional proxy, or a local server in tests).
    if (config.TWILIO_API_BASE_URL) this.#client.api.baseUrl = config.TWILIO_API_BASE_URL;
    this.#from = config.SMS_FROM;
    this.#messagingServiceSid = config.TWILIO_MESSAGING_SERVICE_SID;
  }
  async send(message: SmsMessage): Promise<{ providerMessageId: string }> {
    try {
      const sent = await this.#client.messages.create({
        to: message.to,
        body: message.body,
        ...(this.#messagingServiceSid ? { messagingServiceSid: this.#messagingServiceSid } : { from: this.#from as string }),
      });
      return { providerMessageId: sent.sid };
    } catch (error) {
      const e = error as { status?: number; code?: number; message?: string };
      const text = `${e.status ?? ''} ${e.code ?? ''} ${e.message ?? String(error)}`.trim();
      if (typeof e.status !== 'number' || e.status === 429 || e.status >= 500) throw new SendFailure('temporary', text);
      if (typeof e.code === 'number' && TWILIO_BAD_NUMBER.has(e.code)) throw new SendFailure('bounced', text);
      throw new SendFailure('permanent', text);
    }
  }
  async findSent(message: SmsMessage, since: Date): Promise<{ providerMessageId: string } | null> {
    // DateSent filters by day; older days cannot hold an attempt made after `since`.
    const recent = await this.#client.messages.list({ to: message.to, dateSentAfter: since, limit: 50 });
    const match = recent.find((m) => m.body === message.body);
    return match ? { providerMessageId: match.sid } : null;
  }
}

/** Any HTTP SMS gateway: URL, method, one auth header, and a Liquid body template over {to, from, body, reference}. */
export class HttpGatewayProvider implements SmsProvider {
  readonly name = 'http';
  readonly #config: Config;
  readonly #engine = new Liquid({ strictVariables: true, strictFilters: true });
  constructor(config: Config) {
    if (!config.SMS_HTTP_URL) throw new Error('SMS_PROVIDER=http needs SMS_HTTP_URL');
    this.#config = config;
  }
  async send(message: SmsMessage): Promise<{ providerMessageId: string }> {
    const c = this.#config;
    const vars = { to: message.to, from: c.SMS_FROM ?? '', body: message.body, reference: message.reference };
    const headers: Record<string, string> = { 'content-type': c.SMS_HTTP_CONTENT_TYPE, accept: 'application/json' };
    if (c.SMS_HTTP_AUTH_HEADER) {
      const colon = c.SMS_HTTP_AUTH_HEADER.indexOf(':');
      if (colon > 0) headers[c.SMS_HTTP_AUTH_HEADER.slice(0, colon).trim()] = c.SMS_HTTP_AUTH_HEADER.slice(colon + 1).trim();
      else headers.authorization = c.SMS_HTTP_AUTH_HEADER;
    }
    const body = c.SMS_HTTP_METHOD === 'GET' ? undefined : await this.#engine.parseAndRender(c.SMS_HTTP_BODY_TEMPLATE, vars);
    let res: Response;
    try {
      res = await fetch(c.SMS_HTTP_URL as string, { method: c.SMS_HTTP_METHOD, headers, body, signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      throw new SendFailure('temporary', `gateway unreachable: ${(error as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      const detail = `${res.status} ${text.slice(0, 300)}`;
      throw new SendFailure(res.status === 429 || res.status >= 500 || res.status === 408 ? 'temporary' : 'permanent', detail);
    }
    let id: unknown;
    try {
      id = c.SMS_HTTP_MESSAGE_ID_FIELD.split('.').reduce<unknown>(
        (o, k) => (o as Record<string, unknown> | undefined)?.[k],
        JSON.parse(text),
      );
    } catch {}
    return { providerMessageId: id === undefined || id === null ? message.reference : String(id) };
  }
}

/** Local development: each SMS becomes a text file under MAIL_DIR/sms. */
export class SmsFileProvider implements SmsProvider {
  readonly name = 'file';
  readonly #dir: string;
  constructor(config: Config) {
    this.#dir = path.resolve(config.MAIL_DIR, 'sms');
  }
  async send(message: SmsMessage): Promise<{ providerMessageId: string }> {
    await mkdir(this.#dir, { recursive: true });
    const file = this.#file(message);
    await writeFile(file, `To: ${message.to}\n\n${message.body}\n`);
    return { providerMessageId: file };
  }
  findSent(message: SmsMessage): Promise<{ providerMessageId: string } | null> {
    return sentFile(this.#file(message));
  }
  #file(message: SmsMessage): string {
    return path.join(this.#dir, `${message.reference.replace(/[^A-Za-z0-9._-]/g, '_')}.txt`);
  }
}
