import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type { Config } from '../../config/index.ts';
import { sentFile } from './file-sink.ts';
import { composePlainMessage, type PlainMessage } from './mime.ts';
import { SendFailure } from './outcome.ts';

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string | null;
  /** Stable per delivery, so a resend after a crash carries the same Message-ID and clients can fold it. */
  messageId: string;
  attachments?: SendMailOptions['attachments'];
  headers?: Record<string, string>;
}

export interface EmailSender {
  readonly provider: string;
  send(message: EmailMessage): Promise<{ providerMessageId: string }>;
  /** Whether an interrupted attempt already produced this message (SMTP cannot tell: undefined). */
  findSent?(message: EmailMessage): Promise<{ providerMessageId: string } | null>;
  close(): void;
}

/** SMTP with pooled connections (SMTP_URL), or .eml files in MAIL_DIR when no SMTP server is configured. */
export function createEmailSender(config: Config): EmailSender {
  if (config.SMTP_URL) return new SmtpSender(config);
  return new MailDirSender(config);
}

class SmtpSender implements EmailSender {
  readonly provider = 'smtp';
  readonly #transport: Transporter;
  readonly #config: Config;
  constructor(config: Config) {
    this.#config = config;
    this.#transport = nodemailer.createTransport({
      url: config.SMTP_URL,
      pool: true,
      maxConnections: config.SMTP_POOL_MAX_CONNECTIONS,
      maxMessages: Number.POSITIVE_INFINITY,
    } as never);
  }
  async send(message: EmailMessage): Promise<{ providerMessageId: string }> {
    try {
      const plain = message.attachments ? null : composePlainMessage(plainMessage(this.#config, message), new Date());
      if (plain) {
        // The Message-ID given too, so nodemailer does not draw one of its own for the raw message.
        await this.#transport.sendMail({ envelope: plain.envelope, raw: plain.raw, messageId: message.messageId });
        return { providerMessageId: message.messageId };
      }
      const info = await this.#transport.sendMail(mailOptions(this.#config, message));
      return { providerMessageId: String(info.messageId ?? message.messageId) };
    } catch (error) {
      throw classifySmtpError(error);
    }
  }
  close(): void {
    this.#transport.close();
  }
}

class MailDirSender implements EmailSender {
  readonly provider = 'maildir';
  readonly #transport: Transporter;
  readonly #config: Config;
  readonly #dir: string;
  constructor(config: Config) {
    this.#config = config;
    this.#dir = path.resolve(config.MAIL_DIR);
    this.#transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }
  async send(message: EmailMessage): Promise<{ providerMessageId: string }> {
    const info = await this.#transport.sendMail(mailOptions(this.#config, message));
    await mkdir(this.#dir, { recursive: true });
    const file = this.#file(message);
    // Same Message-ID, same file: a resend after a crash overwrites instead of duplicating.
    await writeFile(file, info.message as Buffer);
    return { providerMessageId: file };
  }
  findSent(message: EmailMessage): Promise<{ providerMessageId: string } | null> {
    return sentFile(this.#file(message));
  }
  #file(message: EmailMessage): string {
    return path.join(this.#dir, `${message.messageId.replace(/[<>]/g, '').replace(/[^A-Za-z0-9._@-]/g, '_')}.eml`);
  }
  close(): void {
    this.#transport.close();
  }
}

function plainMessage(config: Config, m: EmailMessage): PlainMessage {
  return {
    from: config.MAIL_FROM,
    replyTo: config.MAIL_REPLY_TO,
    to: m.to,
    subject: m.subject,
    text: m.text,
    html: m.html,
    messageId: m.messageId,
    headers: m.headers,
  };
}

function mailOptions(config: Config, m: EmailMessage): SendMailOptions {
  return { ...plainMessage(config, m), html: m.html ?? undefined, attachments: m.attachments };
}

const RECIPIENT_REJECTED = new Set([550, 551, 553]);

/** 4xx and connection trouble are temporary; 5xx permanent, and a rejected recipient is a bounce. */
export function classifySmtpError(error: unknown): SendFailure {
  const e = error as { responseCode?: number; code?: string; message?: string; response?: string; command?: string };
  const message = e.response ?? e.message ?? String(error);
  if (typeof e.responseCode === 'number') {
    if (e.responseCode >= 500) {
      const bounce = RECIPIENT_REJECTED.has(e.responseCode) && (e.command === 'RCPT TO' || e.code === 'EENVELOPE');
      return new SendFailure(bounce ? 'bounced' : 'permanent', `${e.responseCode} ${message}`);
    }
    return new SendFailure('temporary', `${e.responseCode} ${message}`);
  }
  return new SendFailure('temporary', message);
}
