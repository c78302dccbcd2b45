import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { downloadablePath, exportView, getExport, requestExport } from '../../exports/exports.ts';
import { createExportSchema, exportViewSchema } from '../../exports/schemas.ts';
import { routeModule } from '../context.ts';
import { csvDownload, sendCsv } from '../csv-download.ts';
import { problem, sendProblem } from '../problem.ts';
import { idempotencyKey } from '../validate.ts';

/** Exports: requested here, written by the `export.run` job, downloaded as a stream until they expire. */
export const exportRoutes = routeModule({ tag: 'exports' }, (api, { platform }) => {
  api.resource('/campaigns/:id', 'campaign').post(
    '/exports',
    {
      idempotent: true,
      summary: "Export a campaign's codes (asynchronous)",
      body: createExportSchema,
      bodyExample: { format: 'csv', filter: { status: 'active' } },
      accepted: ['Accepted', exportViewSchema, ['Location', 'Idempotent-Replayed']],
    },
    async ({ req, params, body }) => {
      const { export: e, created } = await requestExport(platform.db, platform.queues, {
        ...body,
        campaignId: params.id,
        requestedBy: req.apiKey?.id ?? null,
        idempotencyKey: idempotencyKey(req),
      });
      return {
        status: 202,
        headers: { Location: `/v1/exports/${e.id}`, 'Idempotent-Replayed': String(!created) },
        body: exportView(e),
      };
    },
  );

  const anExport = api.resource('/exports/:id', 'export');
  anExport.read({ summary: 'Export status and progress', ok: ['The export', exportViewSchema] }, async ({ id }) =>
    exportView(await getExport(platform.db, id)),
  );

  anExport.get(
    '/download',
    {
      summary: 'Download a completed export (CSV stream)',
      errors: { 409: ['export_not_ready'], 410: ['export_expired'] },
      responses: { 200: csvDownload('The CSV file', 'code,status,active,…\nSPRING-7KQ2-M9XD,active,true,…\n') },
    },
    async ({ res, params }) => {
      const e = await getExport(platform.db, params.id);
      if (e.status === 'expired') {
        sendProblem(res, problem(410, 'export_expired', 'The export expired and its file was removed; request a new one.'));
        return undefined;
      }
      const file = downloadablePath(e);
      const info = await stat(file).catch(() => null);
      if (!info) {
        sendProblem(res, problem(410, 'export_expired', 'The export file is gone; request a new one.'));
        return undefined;
      }
      return sendCsv(res, `campaign-${e.campaign_id}-export-${e.id}.csv`, createReadStream(file), info.size);
    },
  );
});
