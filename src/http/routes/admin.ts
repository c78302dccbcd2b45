import { z } from 'zod';
import { createApiKey, listApiKeys } from '../../auth/api-keys.ts';
import { apiKeyViewSchema, createApiKeySchema, createdApiKeyViewSchema } from '../../auth/schemas.ts';
import {
  failedJobsQuery,
  failedJobViewSchema,
  listFailedJobs,
  retryAllFailedJobs,
  retryFailedJob,
  retryFailedQuery,
} from '../../queues/failed-jobs.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { isoTime } from '../../shared/fields.ts';
import { listSchema } from '../../shared/paging.ts';
import { routeModule } from '../context.ts';

function keyView(record: {
  id: string;
  name: string;
  role: string;
  allowed_origins?: string[] | null;
  key_prefix: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}): z.output<typeof apiKeyViewSchema> {
  return {
    id: record.id,
    name: record.name,
    role: record.role as z.output<typeof apiKeyViewSchema>['role'],
    allowed_origins: record.allowed_origins ?? null,
    key_prefix: record.key_prefix,
    created_at: isoTime(record.created_at),
    last_used_at: isoTime(record.last_used_at),
    revoked_at: isoTime(record.revoked_at),
  };
}

/** Operators' routes: API keys and failed jobs. Admin keys only. */
export const adminRoutes = routeModule({ tag: 'api keys', auth: 'admin' }, (api, { platform, authenticator }) => {
  api.post(
    '/api-keys',
    {
      summary: 'Create an API key (its value is returned once)',
      body: createApiKeySchema,
      bodyExample: { name: 'checkout', role: 'standard' },
      created: ['Created; `key` is shown only now', createdApiKeyViewSchema, ['Location']],
    },
    async ({ req, body }) => {
      const { key, record } = await createApiKey(platform.db, body);
      req.log?.info({ keyId: record.id, role: record.role, actor: req.apiKey?.id }, 'api key created');
      return { status: 201, headers: { Location: `/v1/api-keys/${record.id}` }, body: { ...keyView(record), key } };
    },
  );

  api.get(
    '/api-keys',
    { summary: 'List API keys (prefix only, never the value)', ok: ['Keys, oldest first', listSchema(apiKeyViewSchema)] },
    async () => ({ status: 200, body: { data: (await listApiKeys(platform.db)).map(keyView) } }),
  );

  api.resource('/api-keys/:id', 'api_key').delete({ summary: 'Revoke an API key', noContent: 'Revoked' }, async ({ req, params }) => {
    // Takes effect at once here and, through Redis, in every other process within a second.
    if (!(await authenticator.revoke(params.id))) throw new NotFoundError('api_key', params.id);
    req.log?.info({ keyId: params.id, actor: req.apiKey?.id }, 'api key revoked');
    return { status: 204 };
  });

  api.get(
    '/jobs/failed',
    {
      tag: 'jobs',
      summary: 'Jobs that failed after all retries, across queues',
      query: failedJobsQuery,
      ok: ['Failed jobs, newest first', listSchema(failedJobViewSchema)],
    },
    async ({ query }) => ({ status: 200, body: { data: await listFailedJobs(platform.queues, query) } }),
  );

  api.post(
    '/jobs/failed/retry',
    {
      tag: 'jobs',
      summary: 'Retry every failed job (of one queue or all)',
      query: retryFailedQuery,
      responses: {
        202: {
          description: 'Moved back to waiting, per queue',
          schema: z
            .object({ retried: z.record(z.string(), z.number().int()), total: z.number().int() })
            .meta({ examples: [{ retried: { webhook: 3, 'delivery-email': 0 }, total: 3 }] }),
        },
      },
    },
    async ({ query }) => {
      const retried = await retryAllFailedJobs(platform.queues, query.queue);
      return { status: 202, body: { retried, total: Object.values(retried).reduce((a, b) => a + b, 0) } };
    },
  );

  api.post(
    '/jobs/:queue/:id/retry',
    {
      tag: 'jobs',
      params: { queue: { description: 'Queue name' }, id: { description: 'Job id' } },
      summary: 'Retry one failed job',
      errors: { 404: ['queue_not_found', 'job_not_found'], 409: ['job_not_failed'] },
      responses: {
        202: { description: 'Moved back to waiting', schema: failedJobViewSchema.extend({ status: z.literal('retried') }) },
      },
    },
    async ({ params }) => ({
      status: 202,
      body: { ...(await retryFailedJob(platform.queues, params.queue, params.id)), status: 'retried' as const },
    }),
  );
});
