import { createHash } from 'node:crypto';
import { symbolFor } from '../../delivery/symbol-cache.ts';
import { SYMBOL_CONTENT_TYPES, SYMBOL_FILES, type SymbolFormat, type SymbolKind } from '../../delivery/symbols.ts';
import { findVoucherByCode } from '../../vouchers/vouchers.ts';
import type { RouteModule } from '../context.ts';
import { codeParam, type MediaType, route } from '../operation.ts';

/** A rendering as a response body, documented by its media type. */
export function symbolContent(format: SymbolFormat): Record<string, MediaType> {
  const type = SYMBOL_CONTENT_TYPES[format];
  return { [type]: { schema: { type: 'string', ...(format === 'png' ? { contentMediaType: 'image/png' } : {}) } } };
}

export function symbolName(kind: SymbolKind, format: SymbolFormat): string {
  return `${kind === 'qr' ? 'QR code' : 'Barcode'} (${format.toUpperCase()})`;
}

/** QR and Code 128 renderings of a voucher's code: a pure function of the code, so cacheable for a day. */
export const voucherSymbolRoutes: RouteModule = (routes, { platform }) => {
  for (const { kind, format } of SYMBOL_FILES) {
    route(
      routes,
      {
        method: 'get',
        path: `/vouchers/:code/${kind}.${format}`,
        tag: 'vouchers',
        params: { code: codeParam },
        summary: symbolName(kind, format),
        errors: { 404: ['voucher_not_found'] },
        responses: {
          200: {
            description: `The code as ${SYMBOL_CONTENT_TYPES[format]}`,
            content: symbolContent(format),
            headers: ['ETag', 'Cache-Control'],
          },
          304: { description: 'Not modified (If-None-Match)' },
        },
      },
      async ({ req, res, params }) => {
        const voucher = await findVoucherByCode(platform.db, params.code);
        const etag = `"${createHash('sha256').update(`${kind}.${format}:${voucher.code}`).digest('base64url').slice(0, 27)}"`;
        const headers = { 'Cache-Control': 'private, max-age=86400', ETag: etag, 'X-Content-Type-Options': 'nosniff' };
        if (req.get('If-None-Match') === etag) return { status: 304, headers };
        res
          .set(headers)
          .type(SYMBOL_CONTENT_TYPES[format])
          .send(await symbolFor(kind, format, voucher.code));
        return undefined;
      },
    );
  }
};
