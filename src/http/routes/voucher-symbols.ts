import { createHash } from 'node:crypto';
import { symbolFor } from '../../delivery/symbol-cache.ts';
import { SYMBOL_CONTENT_TYPES, SYMBOL_FILES, type SymbolFormat, type SymbolKind } from '../../delivery/symbols.ts';
import { findVoucherByCode } from '../../vouchers/vouchers.ts';
import type { RouteModule } from '../context.ts';
import { codeParam, type ResponseHeader, route } from '../operation.ts';

/** What every route serving a rendering declares: its path under the code, and the image it answers with. */
export function symbolOperation(kind: SymbolKind, format: SymbolFormat, headers: readonly ResponseHeader[]) {
  const type = SYMBOL_CONTENT_TYPES[format];
  const image = { type: 'string', ...(format === 'png' ? { contentMediaType: 'image/png' } : {}) };
  return {
    method: 'get',
    path: `/vouchers/:code/${kind}.${format}`,
    tag: 'vouchers',
    responses: { 200: { description: `The code as ${type}`, content: { [type]: { schema: image } }, headers } },
  } as const;
}

export function symbolName(kind: SymbolKind, format: SymbolFormat): string {
  return `${kind === 'qr' ? 'QR code' : 'Barcode'} (${format.toUpperCase()})`;
}

/** QR and Code 128 renderings of a voucher's code: a pure function of the code, so cacheable for a day. */
export const voucherSymbolRoutes: RouteModule = (routes, { platform }) => {
  for (const { kind, format } of SYMBOL_FILES) {
    const operation = symbolOperation(kind, format, ['ETag', 'Cache-Control']);
    route(
      routes,
      {
        ...operation,
        params: { code: codeParam },
        summary: symbolName(kind, format),
        errors: { 404: ['voucher_not_found'] },
        responses: { ...operation.responses, 304: { description: 'Not modified (If-None-Match)' } },
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
