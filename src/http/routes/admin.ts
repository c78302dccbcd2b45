import type { RequestHandler } from 'express';
import { z } from 'zod';
import { createApiKey, listApiKeys } from '../../auth/api-keys.ts';
import { createApiKeySchema } from '../../auth/schemas.ts';
import { failedJobsQuery, listFailedJobs, retryAllFailedJobs, retryFailedJob, retryFailedQuery } from '../../queues/failed-jobs.ts';
import { DomainError, NotFoundError } from '../../shared/errors.ts';
import type { RouteModule } from '../context.ts';
import { parse } from '../validate.ts';

const adminOnly: RequestHandler = (req, _res, next) => {
  if (req.apiKey?.role !== 'admin') throw new DomainError('forbidden', 'forbidden', 'This needs an admin API key.');
  next();
};

const uuid = z.uuid();

/** The pool may hand timestamps back as Date or as text: one ISO form either way. */
const isoTime = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

function keyView(record: {
  id: string;
  name: string;
  role: string;
  key_prefix: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}) {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    key_prefix: record.key_prefix,
    created_at: isoTime(record.created_at),
    last_used_at: isoTime(record.last_used_at),
    revoked_at: isoTime(record.revoked_at),
  };
}

/** Operators' routes: API keys and failed jobs. Admin keys only. */
export const adminRoutes: RouteModule = (router, { platform, authenticator }) => {
  router.post('/api-keys', adminOnly, async (req, res) => {
    const input = parse(createApiKeySchema, req.body);
    const { key, record } = await createApiKey(platform.db, input);
    req.log?.info({ keyId: record.id, role: record.role, actor: req.apiKey?.id }, 'api key created');
    // The only time the key's value is ever shown: only its hash is stored.
    res
      .status(201)
      .location(`/v1/api-keys/${record.id}`)
      .json({ ...keyView(record), key });
  });

  router.get('/api-keys', adminOnly, async (_req, res) => {
    res.json({ data: (await listApiKeys(platform.db)).map(keyView) });
  });

  router.delete('/api-keys/:id', adminOnly, async (req, res) => {
    const id = req.params.id as string;
    // Takes effect at once here and, through Redis, in every other process within a second.
    if (!uuid.safeParse(id).success || !(await authenticator.revoke(id))) throw new NotFoundError('api_key', id);
    req.log?.info({ keyId: id, actor: req.apiKey?.id }, 'api key revoked');
    res.status(204).end();
  });

  router.get('/jobs/failed', adminOnly, async (req, res) => {
    const { queue, limit } = parse(failedJobsQuery, req.query);
    res.json({ data: await listFailedJobs(platform.queues, { queue, limit }) });
  });

  router.post('/jobs/failed/retry', adminOnly, async (req, res) => {
    const { queue } = parse(retryFailedQuery, req.query);
    const retried = await retryAllFailedJobs(platform.queues, queue);
    res.status(202).json({ retried, total: Object.values(retried).reduce((a, b) => a + b, 0) });
  });

  router.post('/jobs/:queue/:id/retry', adminOnly, async (req, res) => {
    const job = await retryFailedJob(platform.queues, req.params.queue as string, req.params.id as string);
    res.status(202).json({ ...job, status: 'retried' });
  });
};
