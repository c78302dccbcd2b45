import type { Readable } from 'node:stream';
import type { Response } from 'express';
import type { ResponseSpec } from './operation-spec.ts';

/** A CSV file answered as a download (an export, an import's error report): its OpenAPI response. */
export function csvDownload(description: string, example: string): ResponseSpec {
  return { description, content: { 'text/csv': { schema: { type: 'string' }, example } }, headers: ['Content-Disposition'] };
}

/**
 * Streams `csv` as the attachment `fileName` (its `size` when known up front). A stream that fails midway destroys
 * the response, so the client sees a cut transfer rather than a short file that looks whole.
 */
export function sendCsv(res: Response, fileName: string, csv: Readable, size?: number): undefined {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  if (size !== undefined) res.setHeader('Content-Length', String(size));
  res.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
  csv.on('error', (error) => res.destroy(error));
  csv.pipe(res);
  return undefined;
}
