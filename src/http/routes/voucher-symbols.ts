import { createHash } from 'node:crypto';
import { symbolFor } from '../../delivery/symbol-cache.ts';
import { SYMBOL_CONTENT_TYPES, SYMBOL_FILES } from '../../delivery/symbols.ts';
import { findVoucherByCode } from '../../vouchers/vouchers.ts';
import type { RouteModule } from '../context.ts';

/** QR and Code 128 renderings of a voucher's code: a pure function of the code, so cacheable for a day. */
export const voucherSymbolRoutes: RouteModule = (router, { platform }) => {
  for (const { kind, format } of SYMBOL_FILES) {
    router.get(`/vouchers/:code/${kind}.${format}`, async (req, res) => {
      const voucher = await findVoucherByCode(platform.db, req.params.code as string);
      const etag = `"${createHash('sha256').update(`${kind}.${format}:${voucher.code}`).digest('base64url').slice(0, 27)}"`;
      res.set('Cache-Control', 'private, max-age=86400').set('ETag', etag).set('X-Content-Type-Options', 'nosniff');
      if (req.get('If-None-Match') === etag) {
        res.status(304).end();
        return;
      }
      res.type(SYMBOL_CONTENT_TYPES[format]).send(await symbolFor(kind, format, voucher.code));
    });
  }
};
