import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useForFile } from './hooks.ts';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** webhook-id header, for convenience. */
  id: string;
}

export interface ReceiverReply {
  status: number;
  headers?: Record<string, string>;
  /** Wait this long before answering (a slow receiver). */
  delayMs?: number;
  /** Never answer (until the connection is closed by the sender). */
  hang?: boolean;
}

/** A local HTTP server that records every POST and answers as `reply` says (200 by default). */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  reply: (request: ReceivedWebhook, index: number) => ReceiverReply;
  close(): Promise<void>;
}

export async function startReceiver(reply?: WebhookReceiver['reply']): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    reply: reply ?? (() => ({ status: 200 })),
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ReceivedWebhook = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        id: String(req.headers['webhook-id'] ?? ''),
      };
      const index = receiver.received.push(request) - 1;
      const answer = receiver.reply(request, index);
      if (answer.hang) return;
      const send = () => {
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.status < 300 ? 'ok' : 'nope');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** The test file's receiver: started before its tests, closed after them. */
export function useReceiver(reply?: WebhookReceiver['reply']): WebhookReceiver {
  return useForFile(
    'the webhook receiver',
    () => startReceiver(reply),
    (receiver) => receiver.close(),
  );
}
