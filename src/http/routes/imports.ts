import { z } from 'zod';
import { createImport, errorReport, getImport, type ImportSource, importView } from '../../imports/imports.ts';
import { importJsonBodySchema, importQuerySchema, importViewSchema } from '../../imports/schemas.ts';
import { ValidationError } from '../../shared/errors.ts';
import { routeModule } from '../context.ts';
import { csvDownload, sendCsv } from '../csv-download.ts';
import { problem, sendProblem } from '../problem.ts';
import { idempotencyKey } from '../validate.ts';

const CSV_TYPES = ['text/csv', 'application/csv'];
const JSON_TYPES = ['application/json', 'application/*+json'];
const csv = {
  schema: { type: 'string' },
  example: 'code,redemption_quantity,redeemed_quantity,expiration_date,holder\nSUMMER-2024-0001,3,1,2026-12-31T23:59:59Z,cust_42\n',
};
// Read by the handler, not checked whole by route(): each element is checked (and rejected alone) by the chunk jobs.
const json = {
  schema: z.toJSONSchema(importJsonBodySchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>,
  example: [
    { code: 'SUMMER-2024-0001', redemption: { quantity: 3, redeemed_quantity: 1 }, holder: 'cust_42' },
    { code: 'SUMMER-2024-0002', active: false, expiration_date: '2026-12-31T23:59:59Z', metadata: { origin: 'voucherify' } },
  ],
};
delete json.schema.$schema;

/** Imports of existing codes: a CSV stream or a JSON array in, written by chunk jobs, followed and reported here. */
export const importRoutes = routeModule({ tag: 'imports' }, (api, { platform }) => {
  api.resource('/campaigns/:id', 'campaign').post(
    '/imports',
    {
      idempotent: true,
      summary: 'Import existing codes (a streamed CSV of any size, or a JSON array)',
      description: [
        '`Content-Type: text/csv`: a header row, then one code per row; columns `code` (required), `active`,',
        '`redemption_quantity` (a number, or `unlimited`), `redeemed_quantity`, `start_date`, `expiration_date` (ISO 8601',
        'with a time zone), `metadata` (a JSON object), `metadata.<key>` (text values), `holder` (a customer id).',
        '`application/json`: an array of the elements below, up to IMPORT_JSON_BODY_LIMIT. The upload is stored before',
        'the 202; chunk jobs write the codes. Rows that cannot be imported are rejected one by one (reasons in',
        "`GET /v1/imports/{id}/errors`), the others imported. `code_shape=any` takes codes that do not fit the campaign's",
        'code_config. See docs/imports.md.',
      ].join(' '),
      query: importQuerySchema,
      otherBodies: { 'application/json': json, 'text/csv': csv, 'application/csv': csv },
      errors: {
        400: ['csv_invalid', 'csv_header_invalid', 'import_empty', 'import_too_large', 'upload_incomplete'],
        415: ['unsupported_media_type'],
      },
      responses: {
        202: {
          description: 'Stored, and queued for the chunk jobs',
          schema: importViewSchema,
          headers: ['Location', 'Idempotent-Replayed'],
        },
      },
    },
    async ({ req, res, params, query }) => {
      let source: ImportSource;
      if (req.is(JSON_TYPES)) {
        if (!Array.isArray(req.body)) throw new ValidationError([{ field: '(body)', message: 'a JSON array of codes' }]);
        source = { format: 'json', records: req.body };
      } else if (req.is(CSV_TYPES)) source = { format: 'csv', body: req };
      else {
        sendProblem(res, problem(415, 'unsupported_media_type', 'Send the codes as text/csv, or as a JSON array (application/json).'));
        return undefined;
      }
      const { config } = platform;
      const result = await createImport(
        platform,
        { campaignId: params.id, codeShape: query.code_shape, idempotencyKey: idempotencyKey(req), actor: req.apiKey?.id ?? null },
        source,
        { chunkSize: config.IMPORT_CHUNK_SIZE, maxRows: config.IMPORT_MAX_ROWS },
      );
      return {
        status: 202,
        headers: { Location: `/v1/imports/${result.import.id}`, 'Idempotent-Replayed': String(!result.created) },
        body: importView(result.import),
      };
    },
  );

  const anImport = api.resource('/imports/:id', 'import');
  anImport.read({ summary: 'Import status and progress', ok: ['The import', importViewSchema] }, async ({ id }) =>
    importView(await getImport(platform.db, id)),
  );

  anImport.get(
    '/errors',
    {
      summary: 'The per-row error report (CSV stream)',
      description:
        'One row per rejected row, in row order, available at any time: `row` (1 = the first row after the CSV header, or the first array element), `line` (the CSV line it starts on), `code` (masked), `reason` (stable), `message`.',
      responses: {
        200: csvDownload(
          'The report',
          'row,line,code,reason,message\n17,18,SU************01,code_exists,The code exists already (codes are unique across the platform).\n',
        ),
      },
    },
    async ({ res, params }) => {
      const i = await getImport(platform.db, params.id);
      return sendCsv(res, `import-${i.id}-errors.csv`, errorReport(platform.db, i.id));
    },
  );
});
