/**
 * A local SMTP sink in its own process (so it never shares a core with what is measured). It counts accepted
 * messages per recipient and answers `{ type: 'report', prefix }` over IPC with totals for addresses with that prefix.
 */
import { SMTPServer } from 'smtp-server';

const perRecipient = new Map<string, number>();
let total = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  maxClients: 1000,
  onData(stream, session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      total += 1;
      for (const r of session.envelope.rcptTo) perRecipient.set(r.address, (perRecipient.get(r.address) ?? 0) + 1);
      callback();
    });
  },
});

server.listen(0, '127.0.0.1', () => {
  const address = server.server.address();
  process.send?.({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
});

process.on('message', (message: { type: string; prefix?: string }) => {
  if (message.type === 'report') {
    let messages = 0;
    let distinct = 0;
    let duplicates = 0;
    for (const [address, n] of perRecipient) {
      if (!address.startsWith(message.prefix ?? '')) continue;
      messages += n;
      distinct += 1;
      duplicates += n - 1;
    }
    process.send?.({ type: 'report', total, messages, distinct, duplicates });
  }
  if (message.type === 'stop') server.close(() => process.exit(0));
});
