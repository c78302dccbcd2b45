import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { useForFile } from './hooks.ts';

export interface ReceivedMail {
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

export interface SmtpSink {
  url: string;
  port: number;
  received: ReceivedMail[];
  /** Decide per RCPT TO: return an SMTP error to refuse (code + message), or nothing to accept. */
  onRecipient?: (address: string) => { code: number; message: string } | undefined;
  close(): Promise<void>;
}

/** A real SMTP server on a free port that keeps every accepted message, parsed with mailparser. */
export async function startSmtpSink(options: { parse?: boolean } = {}): Promise<SmtpSink> {
  const sink: SmtpSink = { url: '', port: 0, received: [], close: async () => undefined };
  const serverOptions: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      const refusal = sink.onRecipient?.(address.address);
      if (refusal) {
        const error = new Error(refusal.message) as Error & { responseCode: number };
        error.responseCode = refusal.code;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks);
        const to = session.envelope.rcptTo.map((r) => r.address);
        const parsed = options.parse === false ? ({} as ParsedMail) : await simpleParser(raw);
        sink.received.push({ to, raw, parsed });
        callback();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  // A client killed mid-session (a SIGKILLed worker) resets its socket: expected, not a test failure.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  sink.port = port;
  sink.url = `smtp://127.0.0.1:${port}`;
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}

export interface TwilioRequest {
  accountSid: string;
  auth: string;
  form: URLSearchParams;
}

export interface FakeTwilio {
  url: string;
  requests: TwilioRequest[];
  /** Messages accepted, as the API returns them. */
  sent: Record<string, unknown>[];
  /** Answer for a given To: status and Twilio error code, or nothing to accept. */
  onMessage?: (to: string) => { status: number; code: number; message: string } | undefined;
  close(): Promise<void>;
}

/** A local HTTP server speaking Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json). */
export async function startFakeTwilio(): Promise<FakeTwilio> {
  const fake: FakeTwilio = { url: '', requests: [], sent: [], close: async () => undefined };
  let seq = 0;
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const body = await new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (c) => {
        data += c;
      });
      req.on('end', () => resolve(data));
    });
    const url = new URL(req.url ?? '/', 'http://twilio.local');
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(url.pathname);
    if (req.method === 'GET' && match) {
      // Messages list (used to reconcile after a crash): filtered by To, newest first.
      const to = url.searchParams.get('To');
      const messages = [...fake.sent].reverse().filter((m) => !to || m.to === to);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          messages,
          first_page_uri: url.pathname,
          next_page_uri: null,
          previous_page_uri: null,
          page: 0,
          page_size: 50,
          start: 0,
          end: messages.length,
          uri: url.pathname,
        }),
      );
      return;
    }
    if (req.method !== 'POST' || !match) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 20404, message: 'not found', status: 404 }));
      return;
    }
    const form = new URLSearchParams(body);
    fake.requests.push({ accountSid: match[1] as string, auth: req.headers.authorization ?? '', form });
    const refusal = fake.onMessage?.(form.get('To') ?? '');
    if (refusal) {
      res.writeHead(refusal.status, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          code: refusal.code,
          message: refusal.message,
          more_info: 'https://www.twilio.com/docs/errors',
          status: refusal.status,
        }),
      );
      return;
    }
    seq += 1;
    const sid = `SM${String(seq).padStart(32, '0')}`;
    const message = {
      sid,
      account_sid: match[1],
      to: form.get('To'),
      from: form.get('From'),
      body: form.get('Body'),
      status: 'queued',
      num_segments: '1',
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: new Date().toUTCString(),
      uri: `/2010-04-01/Accounts/${match[1]}/Messages/${sid}.json`,
    };
    fake.sent.push(message);
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}

/** The test file's SMTP sink, refusing recipients as `onRecipient` says: started before its tests, closed after. */
export function useSmtpSink(options: { parse?: boolean } = {}, onRecipient?: SmtpSink['onRecipient']): SmtpSink {
  return useForFile(
    'the SMTP sink',
    async () => Object.assign(await startSmtpSink(options), { onRecipient }),
    (sink) => sink.close(),
  );
}

/** The test file's fake Twilio, answering as `onMessage` says: started before its tests, closed after. */
export function useFakeTwilio(onMessage?: FakeTwilio['onMessage']): FakeTwilio {
  return useForFile(
    'the fake Twilio',
    async () => Object.assign(await startFakeTwilio(), { onMessage }),
    (fake) => fake.close(),
  );
}
