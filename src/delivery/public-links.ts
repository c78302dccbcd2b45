import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config/index.ts';
import type { SymbolFormat, SymbolKind } from './symbols.ts';

export interface LinkSettings {
  baseUrl: string;
  /** PUBLIC_LINK_SECRET: when set, links are public and signed; otherwise they are the API's own (key needed). */
  secret?: string;
}

/** The link settings a platform's configuration gives. */
export function linkSettings(config: Pick<Config, 'PUBLIC_BASE_URL' | 'PUBLIC_LINK_SECRET'>): LinkSettings {
  return { baseUrl: config.PUBLIC_BASE_URL, secret: config.PUBLIC_LINK_SECRET };
}

/** The signature of one rendering of one code: HMAC-SHA256, 128 bits in base64url. */
function signature(secret: string, kind: SymbolKind, format: SymbolFormat, code: string): string {
  return createHmac('sha256', secret).update(`voucher-symbol\n${kind}.${format}\n${code}`).digest('base64url').slice(0, 22);
}

/** Whether `sig` is the platform's signature for this rendering of this (normalized) code. */
export function verifySymbolSignature(secret: string, kind: SymbolKind, format: SymbolFormat, code: string, sig: unknown): boolean {
  if (typeof sig !== 'string') return false;
  const expected = Buffer.from(signature(secret, kind, format, code));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Links to a voucher's QR code and barcode for templates. With a PUBLIC_LINK_SECRET they are public, signed
 * links (`/public/vouchers/{code}/qr.png?sig=…`) a recipient can open from an SMS or a web page; only links the
 * platform signed work, so they are no oracle for guessing codes. Without one they are the API's routes.
 */
export function voucherLinks(settings: LinkSettings, code: string): { qr_url: string; barcode_url: string } {
  const base = settings.baseUrl.replace(/\/+$/, '');
  const encoded = encodeURIComponent(code);
  const { secret } = settings;
  if (!secret) return { qr_url: `${base}/v1/vouchers/${encoded}/qr.png`, barcode_url: `${base}/v1/vouchers/${encoded}/barcode.png` };
  const link = (kind: SymbolKind) => `${base}/public/vouchers/${encoded}/${kind}.png?sig=${signature(secret, kind, 'png', code)}`;
  return { qr_url: link('qr'), barcode_url: link('barcode') };
}
