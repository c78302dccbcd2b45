import { randomBytes } from 'node:crypto';
import { hasLongerLines, isPlainText } from 'nodemailer/lib/mime-funcs';

/** A message as nodemailer's composer would take it; `from` and `replyTo` come from the configuration. */
export interface PlainMessage {
  from: string;
  replyTo?: string;
  to: string;
  subject: string;
  text: string;
  html?: string | null;
  messageId: string;
  headers?: Record<string, string>;
}

/** Header names the platform sets, as nodemailer writes them (it upper-cases a trailing "-Id"). */
const KNOWN_HEADERS: Record<string, string> = { 'X-Promo-Delivery-Id': 'X-Promo-Delivery-ID' };

/** An address nodemailer writes as given: ASCII local part, lower-case ASCII domain (it would punycode/lower-case others). */
const ADDRESS = '[A-Za-z0-9_%+-]+(?:\\.[A-Za-z0-9_%+-]+)*@(?!.*xn--)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*';
const BARE_ADDRESS = new RegExp(`^${ADDRESS}$`);
/** `Name <address>` with a name of letters, digits and single spaces, which nodemailer leaves unquoted. */
const NAMED_ADDRESS = new RegExp(`^([A-Za-z0-9]+(?: [A-Za-z0-9]+)*) <(${ADDRESS})>$`);
/** Header values written as they are: printable ASCII but the quote, no encoded-word look-alike, no folding needed. */
const PLAIN_VALUE = /^[\x21\x23-\x7e](?:[\x20\x21\x23-\x7e]*[\x21\x23-\x7e])?$/;

/** Boundaries: a random prefix per process and a counter, shaped like nodemailer's (`--_NmP-<hex>-Part_1`). */
const boundaryPrefix = randomBytes(6).toString('hex');
let boundaryCounter = 0;

function address(value: string): { header: string; address: string } | null {
  if (BARE_ADDRESS.test(value)) return { header: value, address: value };
  const named = NAMED_ADDRESS.exec(value);
  return named ? { header: value, address: named[2] as string } : null;
}

function plainHeader(name: string, value: string): string | null {
  const line = `${name}: ${value}`;
  return PLAIN_VALUE.test(value) && !value.includes('=?') && line.length <= 76 ? `${line}\r\n` : null;
}

function sevenBit(content: string): boolean {
  return isPlainText(content) && !hasLongerLines(content, 76);
}

/**
 * The MIME text of a plain message, byte for byte what nodemailer's composer writes for it (but the boundary and
 * the date), built as one string: the composer's streams and header passes cost about half of nodemailer's CPU per
 * message. Null when the message needs what only the composer does (non-ASCII or long lines to encode, names to
 * quote, domains to punycode, headers to fold, attachments): the caller then hands it to the composer.
 */
export function composePlainMessage(m: PlainMessage, date: Date): { raw: string; envelope: { from: string; to: string[] } } | null {
  const from = address(m.from);
  const to = address(m.to);
  const replyTo = m.replyTo === undefined ? undefined : address(m.replyTo);
  if (!from || !to || replyTo === null) return null;
  if (m.text === '' || m.html === '' || !sevenBit(m.text) || (m.html != null && !sevenBit(m.html))) return null;
  let head = '';
  for (const [key, value] of Object.entries(m.headers ?? {})) {
    const name = KNOWN_HEADERS[key];
    const line = name ? plainHeader(name, value) : null;
    if (!line) return null;
    head += line;
  }
  const subject = plainHeader('Subject', m.subject);
  const messageId = plainHeader('Message-ID', m.messageId);
  if (!subject || !messageId) return null;
  head += `From: ${from.header}\r\nTo: ${to.header}\r\n`;
  if (replyTo) head += `Reply-To: ${replyTo.header}\r\n`;
  head += subject + messageId;
  const dated = `Date: ${date.toUTCString().replace(/GMT/, '+0000')}\r\nMIME-Version: 1.0\r\n`;
  const envelope = { from: from.address, to: [to.address] };
  if (m.html == null) {
    // The composer ends the message with a newline unless the content already does.
    const end = m.text.endsWith('\n') ? '' : m.text.endsWith('\r') ? '\n' : '\r\n';
    const raw = `${head}Content-Transfer-Encoding: 7bit\r\n${dated}Content-Type: text/plain; charset=utf-8\r\n\r\n${m.text}${end}`;
    return { raw, envelope };
  }
  boundaryCounter = (boundaryCounter + 1) % Number.MAX_SAFE_INTEGER;
  const boundary = `--_NmP-${boundaryPrefix}${boundaryCounter.toString(16)}-Part_1`;
  if (m.text.includes(boundary) || m.html.includes(boundary)) return null;
  const raw =
    `${head}${dated}Content-Type: multipart/alternative;\r\n boundary="${boundary}"\r\n\r\n` +
    `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n${m.text}\r\n` +
    `--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n${m.html}\r\n` +
    `--${boundary}--\r\n`;
  return { raw, envelope };
}
