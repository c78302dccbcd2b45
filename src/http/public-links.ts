import express, { type Router } from 'express';
import { verifySymbolSignature } from '../delivery/public-links.ts';
import { symbolFor } from '../delivery/symbol-cache.ts';
import { SYMBOL_CONTENT_TYPES, SYMBOL_FILES } from '../delivery/symbols.ts';
import type { Platform } from '../platform.ts';
import { problem, sendProblem } from './problem.ts';

export const PUBLIC_PATH = '/public';

/**
 * `GET /public/vouchers/{code}/qr.png?sig=…` (and qr.svg, barcode.png, barcode.svg): the renderings behind the
 * signed links templates get when PUBLIC_LINK_SECRET is set. No API key; only a signature the platform made opens
 * one, and the database is not asked, so a link says nothing about whether any other code exists. Any failure is
 * the same 404.
 */
export function publicLinksRouter(platform: Platform): Router {
  const router = express.Router();
  for (const { kind, format } of SYMBOL_FILES) {
    router.get(`/vouchers/:code/${kind}.${format}`, async (req, res) => {
      const secret = platform.config.PUBLIC_LINK_SECRET;
      const code = req.params.code as string;
      if (!secret || !verifySymbolSignature(secret, kind, format, code, req.query.sig)) {
        sendProblem(res, problem(404, 'link_not_found', 'This link is not valid.'));
        return;
      }
      res.set('Cache-Control', 'public, max-age=86400, immutable').type(SYMBOL_CONTENT_TYPES[format]);
      res.send(await symbolFor(kind, format, code));
    });
  }
  return router;
}
