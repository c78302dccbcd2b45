import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { downloadablePath, exportView, getExport, requestExport } from '../../exports/exports.ts';
import { createExportSchema } from '../../exports/schemas.ts';
import type { RouteModule } from '../context.ts';
import { problem, sendProblem } from '../problem.ts';
import { idempotencyKey, parse } from '../validate.ts';

/** Exports: requested here, written by the `export.run` job, downloaded as a stream until they expire. */
export const exportRoutes: RouteModule = (router, { platform }) => {
  router.post('/campaigns/:id/exports', async (req, res) => {
    const input = parse(createExportSchema, req.body);
    const { export: e, created } = await requestExport(platform.db, platform.queues, {
      ...input,
      campaignId: req.params.id,
      requestedBy: req.apiKey?.id ?? null,
      idempotencyKey: idempotencyKey(req),
    });
    res.status(202).location(`/v1/exports/${e.id}`).set('Idempotent-Replayed', String(!created)).json(exportView(e));
  });

  router.get('/exports/:id', async (req, res) => {
    res.json(exportView(await getExport(platform.db, req.params.id)));
  });

  router.get('/exports/:id/download', async (req, res) => {
    const e = await getExport(platform.db, req.params.id);
    if (e.status === 'expired') {
      return sendProblem(res, problem(410, 'export_expired', 'The export expired and its file was removed; request a new one.'));
    }
    const file = downloadablePath(e);
    const info = await stat(file).catch(() => null);
    if (!info) return sendProblem(res, problem(410, 'export_expired', 'The export file is gone; request a new one.'));
    res.status(200);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Length', String(info.size));
    res.setHeader('Content-Disposition', `attachment; filename="campaign-${e.campaign_id}-export-${e.id}.csv"`);
    const stream = createReadStream(file);
    stream.on('error', (error) => res.destroy(error));
    stream.pipe(res);
  });
};
