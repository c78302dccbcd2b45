import { z } from 'zod';
import { verifySymbolSignature } from '../delivery/public-links.ts';
import { symbolFor } from '../delivery/symbol-cache.ts';
import { SYMBOL_CONTENT_TYPES, SYMBOL_FILES } from '../delivery/symbols.ts';
import type { Platform } from '../platform.ts';
import { type RouteTarget, route } from './operation.ts';
import { problem, sendProblem } from './problem.ts';
import { symbolName, symbolOperation } from './routes/voucher-symbols.ts';

/**
 * `GET /public/vouchers/{code}/qr.png?sig=…` (and qr.svg, barcode.png, barcode.svg): the renderings behind the
 * signed links templates get when PUBLIC_LINK_SECRET is set. No API key; only a signature the platform made opens
 * one, and the database is not asked, so a link says nothing about whether any other code exists. Any failure is
 * the same 404.
 */
export function publicLinkRoutes(routes: RouteTarget, platform: Platform): void {
  for (const { kind, format } of SYMBOL_FILES) {
    route(
      routes,
      {
        ...symbolOperation(kind, format, ['Cache-Control']),
        auth: 'none',
        params: { code: { description: 'Voucher code, as in the signed link' } },
        query: z.object({ sig: z.string().max(200).optional().describe('The signature from the link the platform made') }),
        summary: `${symbolName(kind, format)} behind a signed public link`,
        description:
          'The target of `{{ voucher.qr_url }}` / `{{ voucher.barcode_url }}` in templates when PUBLIC_LINK_SECRET is set. ' +
          'No API key; a wrong or missing signature is 404 `link_not_found`.',
        errors: { 404: ['link_not_found'] },
      },
      async ({ res, params, query }) => {
        const secret = platform.config.PUBLIC_LINK_SECRET;
        if (!secret || !verifySymbolSignature(secret, kind, format, params.code, query.sig)) {
          sendProblem(res, problem(404, 'link_not_found', 'This link is not valid.'));
          return undefined;
        }
        res.set('Cache-Control', 'public, max-age=86400, immutable').type(SYMBOL_CONTENT_TYPES[format]);
        res.send(await symbolFor(kind, format, params.code));
        return undefined;
      },
    );
  }
}
