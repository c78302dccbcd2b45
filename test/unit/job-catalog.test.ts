import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { jobDefinitions } from '../../jobs/index.ts';
import { buildRegistry, defineJob } from '../../jobs/registry.ts';
import {
  DURABLE_WORK,
  defaultOptionsOf,
  JOB_NAMES,
  type JobName,
  type JobPayload,
  jobIdOf,
  payloadProblem,
  QUEUE_NAMES,
  queueOf,
  SCHEDULE_IDS,
  scheduleOf,
} from '../../src/queues/catalog.ts';
import { enqueue, enqueueBulk, enqueueFlow } from '../../src/queues/enqueue.ts';
import type { QueueSet } from '../../src/queues/queues.ts';
import { ROOT } from '../support/platform.ts';

const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
/** One valid payload per job name: the type makes this list complete, and each must pass its schema. */
const samples: { [N in JobName]: JobPayload<N> } = {
  'generation.finalize': { generationId: id },
  'generation.chunk': { generationId: id, chunkIndex: 3, size: 5_000 },
  'delivery.email': { deliveryId: id },
  'delivery.sms': { deliveryId: id },
  'delivery.email-batch': { deliveryIds: [id] },
  'delivery.sms-batch': { deliveryIds: [id] },
  'distribution.finalize': { distributionId: id },
  'distribution.chunk': { distributionId: id, chunkIndex: 0 },
  'business-event.process': { eventId: id },
  'outbox.relay': {},
  'webhook.deliver': { deliveryId: id, round: 1, attempt: 2, slotAt: 1_700_000_000_000, eventId: id },
  'webhook.deliver-batch': { endpointId: id, deliveries: [{ deliveryId: id, round: 1, attempt: 1 }], relayedEventId: id },
  'webhook.replay': { endpointId: id, since: '2031-06-01T10:00:00.000Z', requestedAt: '2031-06-02T10:00:00.000Z' },
  'expiry.sweep': {},
  'report.daily': { day: '2031-06-01' },
  'export.run': { exportId: id },
  'import.finalize': { importId: id },
  'import.chunk': { importId: id, chunkIndex: 2 },
  'export.cleanup': {},
  'reservation.expire': { reservationId: id },
  'reservations.sweep': {},
  'idempotency.cleanup': {},
  'work.reconcile': {},
};

describe('job catalogue', () => {
  it('gives every job a queue the platform has, a payload schema and ids BullMQ accepts', () => {
    for (const name of JOB_NAMES) {
      expect(QUEUE_NAMES).toContain(queueOf(name));
      expect(payloadProblem(name, samples[name])).toBeUndefined();
      const jobId = jobIdOf(name, samples[name] as never);
      if (jobId === undefined) continue;
      // BullMQ refuses custom ids with ':' (its key separator) and ids that parse as integers.
      expect(jobId).not.toContain(':');
      expect(String(Number.parseInt(jobId, 10))).not.toBe(jobId);
    }
    expect(jobIdOf('webhook.deliver', samples['webhook.deliver'])).toBe(`wd_${id}_1_2`);
    expect(jobIdOf('generation.chunk', samples['generation.chunk'])).toBe(`gen-${id}-chunk-3`);
  });

  it('names the job and each bad field when a payload does not match', () => {
    expect(payloadProblem('generation.chunk', { generationId: 'nope', chunkIndex: '1' })).toMatch(
      /generationId: .*; chunkIndex: .*; size: /,
    );
    expect(payloadProblem('webhook.deliver', { deliveryId: id, round: 0, attempt: 1 })).toMatch(/^round: /);
    expect(payloadProblem('report.daily', { day: 'yesterday' })).toMatch(/^day: /);
    expect(payloadProblem('export.run', null)).toMatch(/^\(payload\): /);
  });

  it('resolves options from the configuration, with the producer overrides winning', () => {
    const config = loadConfig({ DELIVERY_MAX_ATTEMPTS: '3', DELIVERY_BACKOFF_MS: '250' });
    expect(defaultOptionsOf('delivery.sms', config)).toMatchObject({ attempts: 3, backoff: { type: 'exponential', delay: 250 } });
    expect(defaultOptionsOf('webhook.deliver', config)).toMatchObject({ attempts: 12, removeOnComplete: { age: 3600, count: 5_000 } });
    expect(defaultOptionsOf('export.run', config)).toMatchObject({ attempts: 8, removeOnFail: { age: 30 * 24 * 3600 } });
  });

  it('schedules only catalogue jobs, and every durable kind has a deterministic job id for what its rows owe', () => {
    const config = loadConfig({});
    for (const scheduleId of SCHEDULE_IDS) {
      const { job, repeat } = scheduleOf(scheduleId);
      expect(JOB_NAMES).toContain(job);
      expect(Object.keys(repeat(config)).some((k) => k === 'pattern' || k === 'every')).toBe(true);
    }
    expect(SCHEDULE_IDS).toEqual(
      expect.arrayContaining(['work-reconcile', 'outbox-relay', 'expiry-sweep', 'report-daily', 'export-cleanup', 'idempotency-cleanup']),
    );
    const rows: Record<string, Record<string, unknown>> = {
      'generation.finalize': { id, requested: 12_000, chunk_size: 5_000, chunk_count: 3, chunks: [1, 2] },
      'distribution.finalize': { id, chunk_count: 2, chunks: [0, 1] },
      'import.finalize': { id, chunk_count: 3, chunks: [2] },
      'webhook.deliver': { id, round: 2, attempts: 1, due_at: String(Date.now() + 60_000) },
    };
    for (const [name, kind] of Object.entries(DURABLE_WORK)) {
      const work = kind.work(rows[name] ?? { id }, new Date());
      expect(work.name).toBe(name);
      expect(payloadProblem(work.name, work.payload)).toBeUndefined();
      expect(jobIdOf(work.name, work.payload as never)).toBeTruthy();
    }
    const generation = DURABLE_WORK['generation.finalize']?.work(rows['generation.finalize'], new Date());
    // Only the chunks not written yet, the last one short.
    expect(generation?.children?.map((c) => c.payload)).toEqual([
      { generationId: id, chunkIndex: 1, size: 5_000 },
      { generationId: id, chunkIndex: 2, size: 2_000 },
    ]);
    // An import is owed only the chunks with no completion row.
    expect(DURABLE_WORK['import.finalize']?.work(rows['import.finalize'], new Date()).children?.map((c) => c.payload)).toEqual([
      { importId: id, chunkIndex: 2 },
    ]);
    const attempt = DURABLE_WORK['webhook.deliver']?.work(rows['webhook.deliver'], new Date());
    expect(attempt?.payload).toEqual({ deliveryId: id, round: 2, attempt: 2 });
    expect(attempt?.overrides?.delay).toBeGreaterThan(55_000);
  });

  it('holds producers to the catalogue at compile time (npm run typecheck fails if these start to compile)', () => {
    const badChild = { name: 'generation.chunk', payload: { generationId: id } } as const;
    const producers = (queues: QueueSet) => [
      // @ts-expect-error: no such job
      enqueue(queues, 'generation.nope', {}),
      // @ts-expect-error: chunkIndex must be a number
      enqueue(queues, 'generation.chunk', { generationId: id, chunkIndex: '1', size: 1 }),
      // @ts-expect-error: exportId is required
      enqueue(queues, 'export.run', {}),
      // @ts-expect-error: the payload of delivery.email, not of export.run
      enqueueBulk(queues, [{ name: 'export.run', payload: { deliveryId: id } }]),
      // @ts-expect-error: a child with a wrong payload
      enqueueFlow(queues, { name: 'generation.finalize', payload: { generationId: id }, children: [badChild] }),
      enqueue(queues, 'export.run', { exportId: id }),
    ];
    // @ts-expect-error: a handler's job.data is typed by its name
    defineJob('export.run', async (job) => job.data.deliveryId);
    expect(producers).toBeTypeOf('function');
  });
});

describe('job registry', () => {
  it('has exactly one handler per catalogue job, each on its catalogue queue', () => {
    const registry = buildRegistry(jobDefinitions);
    for (const name of JOB_NAMES) expect(registry.get(queueOf(name))?.get(name)?.name).toBe(name);
  });

  it('refuses to start when a job has no handler, or two', () => {
    const withoutReconcile = jobDefinitions.filter((d) => d.name !== 'work.reconcile');
    expect(() => buildRegistry(withoutReconcile)).toThrow('jobs without a handler: work.reconcile');
    const twice = [...jobDefinitions, defineJob('export.run', async () => 'again')];
    expect(() => buildRegistry(twice)).toThrow('job export.run has more than one handler');
  });
});

/** Queue calls that bypass the catalogue: enqueue.ts (and queues.ts, which builds the queues) are the only exceptions. */
const ALLOWED = new Set(['src/queues/enqueue.ts', 'src/queues/queues.ts']);
const FORBIDDEN: [string, RegExp][] = [
  ['addBulk', /\.addBulk\s*\(/],
  ['upsertJobScheduler', /\bupsertJobScheduler\s*\(/],
  ['FlowProducer', /\bFlowProducer\b/],
  ['new Queue', /\bnew\s+Queue\s*\(/],
  ['Queue.add', /\.add\s*\(\s*(['"`][^'"`\n]+['"`]|[A-Z][A-Z0-9_]*(\.\w+)?|\w+\.name)\s*,/],
  ['queues.get', /\bqueues\s*\.\s*(get|flows)\b/],
];

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((entry) => {
    const rel = `${dir}/${entry}`;
    if (statSync(path.join(ROOT, rel)).isDirectory()) return sources(rel);
    return rel.endsWith('.ts') ? [rel] : [];
  });
}

function violations(file: string, text: string): string[] {
  if (ALLOWED.has(file)) return [];
  // Reading the queues (failed jobs, Bull Board, metrics) is not enqueuing: src/queues/ may hold Queue objects.
  const rules = file.startsWith('src/queues/') ? FORBIDDEN.filter(([name]) => name !== 'queues.get') : FORBIDDEN;
  return rules.filter(([, pattern]) => pattern.test(text)).map(([name]) => `${file}: ${name}`);
}

describe('one way onto a queue', () => {
  it('finds every kind of direct queue call it looks for', () => {
    const caught = [
      `await platform.queues.get('exports').add('export.run', { exportId }, { jobId })`,
      'await queue.add(JOB_NAMES.businessEventProcess, data)',
      'await queue.add(job.name, job.data, job.opts)',
      'await queue.addBulk(jobs)',
      `await queue.upsertJobScheduler('x', { every: 1 })`,
      'const flows = new FlowProducer({ connection })',
      `const queue = new Queue('generation', { connection })`,
    ].filter((line) => violations('src/example.ts', line).length > 0);
    expect(caught).toHaveLength(7);
    expect(violations('src/example.ts', `seen.add(item.customer.id); batcher.add({ id, provider })`)).toEqual([]);
  });

  it('no file in src/ or jobs/ calls Queue.add, addBulk, FlowProducer.add or upsertJobScheduler but enqueue.ts', () => {
    const found = [...sources('src'), ...sources('jobs')].flatMap((file) => violations(file, readFileSync(path.join(ROOT, file), 'utf8')));
    expect(found).toEqual([]);
  });
});
