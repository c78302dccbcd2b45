import fc from 'fast-check';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { composePlainMessage, type PlainMessage } from '../../src/delivery/mime.ts';

const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });
const date = new Date(Date.UTC(2026, 11, 1, 17, 56, 25));

/** nodemailer's own text and envelope for the message, its boundary and date (drawn and read at send) replaced by ours. */
async function byNodemailer(m: PlainMessage, boundary: string | undefined) {
  const info = (await composer.sendMail({ ...m, html: m.html ?? undefined })) as unknown as {
    message: Buffer;
    envelope: { from: string; to: string[] };
  };
  const raw = info.message.toString().replace(/^Date: .*$/m, `Date: ${date.toUTCString().replace(/GMT/, '+0000')}`);
  return { raw: boundary ? raw.replace(/--_NmP-[0-9a-f]+-Part_1/g, boundary) : raw, envelope: info.envelope };
}

function boundaryOf(raw: string): string | undefined {
  return /boundary="([^"]+)"/.exec(raw)?.[1];
}

const base: PlainMessage = {
  from: 'promo@shop.example',
  to: 'r1@e2e.example',
  subject: 'Your code, Recipient 1',
  text: 'Hello Recipient 1, your code is ABC',
  html: '<p>Hello Recipient 1, your code is <b>ABC</b></p>',
  messageId: '<0b0e4d1a-6f2c-4a57-9f6e-1f5c2b7a9d10@shop.example>',
  headers: { 'X-Promo-Delivery-Id': '0b0e4d1a-6f2c-4a57-9f6e-1f5c2b7a9d10' },
};

describe('composePlainMessage: the MIME text of a plain message without the composer', () => {
  it.each<[string, Partial<PlainMessage>]>([
    ['text and HTML, a delivery header', {}],
    ['a named sender and a Reply-To', { from: 'Promo Team <no-reply@localhost>', replyTo: 'help@shop.example' }],
    ['text only', { html: null }],
    ['text only, no extra header', { html: null, headers: undefined }],
    ['lines of 76 characters and bare newlines', { text: `${'a'.repeat(76)}\n${'b'.repeat(76)}\nend`, html: `<p>\n${'c'.repeat(72)}</p>` }],
    ['dots at line starts (the SMTP stream escapes them later, as for the composer)', { text: 'one\n.two\n..three' }],
  ])('writes what nodemailer writes: %s', async (_name, change) => {
    const m = { ...base, ...change };
    const mine = composePlainMessage(m, date);
    expect(mine).not.toBeNull();
    expect(mine).toEqual(await byNodemailer(m, boundaryOf(mine?.raw ?? '')));
  });

  it.each<[string, Partial<PlainMessage>]>([
    ['a non-ASCII subject (encoded words)', { subject: 'Votre code, Zoé' }],
    ['non-ASCII text (quoted-printable)', { text: 'Grüße' }],
    ['a line over 76 characters', { html: `<p>${'x'.repeat(80)}</p>` }],
    ['a subject that must be folded', { subject: 'y'.repeat(70) }],
    ['an encoded-word look-alike', { subject: 'a =?utf-8?q?b?= c' }],
    ['an upper-case domain (lower-cased by nodemailer)', { to: 'R1@E2E.example' }],
    ['an IDN domain', { to: 'r1@xn--bcher-kva.example' }],
    ['a display name to quote', { from: '"Shop, Inc." <promo@shop.example>' }],
    ['a header it does not know', { headers: { 'X-Other': '1' } }],
    ['an empty text part', { text: '' }],
    ['a control character', { text: 'a\u0007b' }],
  ])('declines what needs the composer: %s', (_name, change) => {
    expect(composePlainMessage({ ...base, ...change }, date)).toBeNull();
  });

  it('for any content: either declines or writes exactly what nodemailer writes', async () => {
    const line = fc.string({
      unit: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '.', '=', '?', '<', '>', ':', '-', '\n', '\r\n') },
        fc.constantFrom('"', '\t', '\r', 'é'),
      ),
      maxLength: 120,
    });
    let written = 0;
    await fc.assert(
      fc.asyncProperty(line, line, fc.option(line, { nil: null }), async (subject, text, html) => {
        const m = { ...base, subject, text, html };
        const mine = composePlainMessage(m, date);
        if (!mine) return;
        written++;
        expect(mine).toEqual(await byNodemailer(m, boundaryOf(mine.raw)));
      }),
      { numRuns: 2000 },
    );
    // The property says something only if many cases take the plain path.
    expect(written).toBeGreaterThan(100);
  });
});
