import type { Job } from 'bullmq';
import type { Platform } from '../src/platform.ts';
import { JOB_NAMES, type JobName, type QueueName } from '../src/queues/names.ts';

/** One job name, its queue, and its one handler. Handlers are thin: ids in, use-case call, status out. */
export interface JobDefinition<Data = unknown> {
  name: JobName;
  queue: QueueName;
  handle(job: Job<Data>, platform: Platform): Promise<unknown>;
}

export type JobRegistry = Map<QueueName, Map<string, JobDefinition>>;

/** Builds the dispatch table; throws when a job name has no handler or more than one. */
export function buildRegistry(definitions: JobDefinition<any>[]): JobRegistry {
  const registry: JobRegistry = new Map();
  const seen = new Set<string>();
  for (const definition of definitions) {
    if (seen.has(definition.name)) throw new Error(`job ${definition.name} has more than one handler`);
    seen.add(definition.name);
    const byName = registry.get(definition.queue) ?? new Map<string, JobDefinition>();
    byName.set(definition.name, definition);
    registry.set(definition.queue, byName);
  }
  const missing = Object.values(JOB_NAMES).filter((name) => !seen.has(name));
  if (missing.length > 0) throw new Error(`jobs without a handler: ${missing.join(', ')}`);
  return registry;
}
