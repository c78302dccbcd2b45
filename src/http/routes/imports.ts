import { createImport, errorReport, getImport, type ImportSource, importView } from '../../imports/imports.ts';
import { importQuerySchema } from '../../imports/schemas.ts';
import { ValidationError } from '../../shared/errors.ts';
import type { RouteModule } from '../context.ts';
import { problem, sendProblem } from '../problem.ts';
import { idempotencyKey, parse } from '../validate.ts';

/** Imports of existing codes: a CSV stream or a JSON array in, written by chunk jobs, followed and reported here. */
export const importRoutes: RouteModule = (router, { platform }) => {
  router.post('/campaigns/:id/imports', async (req, res) => {
    const csv = Boolean(req.is('text/csv') || req.is('application/csv'));
    let source: ImportSource;
    let options: { key: string | undefined; codeShape: 'campaign' | 'any' };
    try {
      options = { key: idempotencyKey(req), codeShape: parse(importQuerySchema, req.query).code_shape };
      if (csv) source = { format: 'csv', body: req };
      else if (req.is(['application/json', 'application/*+json'])) {
        if (!Array.isArray(req.body)) throw new ValidationError([{ field: '(body)', message: 'a JSON array of codes' }]);
        source = { format: 'json', records: req.body };
      } else {
        req.resume();
        return sendProblem(
          res,
          problem(415, 'unsupported_media_type', 'Send the codes as text/csv, or as a JSON array (application/json).'),
        );
      }
    } catch (error) {
      // An unread upload would hold the connection: let it flow past so the problem reaches the client.
      if (csv) req.resume();
      throw error;
    }
    const { config } = platform;
    const result = await createImport(
      platform,
      { campaignId: req.params.id, codeShape: options.codeShape, idempotencyKey: options.key, actor: req.apiKey?.id ?? null },
      source,
      { chunkSize: config.IMPORT_CHUNK_SIZE, maxRows: config.IMPORT_MAX_ROWS },
    );
    res
      .status(202)
      .location(`/v1/imports/${result.import.id}`)
      .set('Idempotent-Replayed', String(!result.created))
      .json(importView(result.import));
  });

  router.get('/imports/:id', async (req, res) => {
    res.json(importView(await getImport(platform.db, req.params.id)));
  });

  router.get('/imports/:id/errors', async (req, res) => {
    const i = await getImport(platform.db, req.params.id);
    res.status(200);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="import-${i.id}-errors.csv"`);
    const report = errorReport(platform.db, i.id);
    report.on('error', (error) => res.destroy(error));
    report.pipe(res);
  });
};
