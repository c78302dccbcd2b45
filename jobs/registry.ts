import type { Job } from 'bullmq';
import type { Platform } from '../src/platform.ts';
import { JOB_NAMES, type JobName, type JobPayload, type QueueName, queueOf } from '../src/queues/catalog.ts';

/** One job name and its one handler; the queue and the payload's type come from the catalogue. Handlers are thin. */
export interface JobDefinition<N extends JobName = JobName> {
  name: N;
  handle(job: Job<JobPayload<N>>, platform: Platform): Promise<unknown>;
}

export type AnyJobDefinition = { [N in JobName]: JobDefinition<N> }[JobName];

/** Declares the handler of a catalogue job: `job.data` is typed by the name (and validated by the worker). */
export function defineJob<N extends JobName>(name: N, handle: JobDefinition<N>['handle']): JobDefinition<N> {
  return { name, handle };
}

/** What a worker dispatches on: by queue, then by job name. */
export interface RegisteredJob {
  name: string;
  handle(job: Job, platform: Platform): Promise<unknown>;
}

export type JobRegistry = Map<QueueName, Map<string, RegisteredJob>>;

/** Builds the dispatch table; throws when a catalogue job has no handler or more than one. */
export function buildRegistry(definitions: readonly AnyJobDefinition[]): JobRegistry {
  const registry: JobRegistry = new Map();
  const seen = new Set<string>();
  for (const definition of definitions) {
    if (seen.has(definition.name)) throw new Error(`job ${definition.name} has more than one handler`);
    seen.add(definition.name);
    const queue = queueOf(definition.name);
    const byName = registry.get(queue) ?? new Map<string, RegisteredJob>();
    byName.set(definition.name, definition as RegisteredJob);
    registry.set(queue, byName);
  }
  const missing = JOB_NAMES.filter((name) => !seen.has(name));
  if (missing.length > 0) throw new Error(`jobs without a handler: ${missing.join(', ')}`);
  return registry;
}
