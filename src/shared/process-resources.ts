/**
 * A kind of process resource (an SMTP pool, group-commit batchers, a rate pacer, in-memory counters): the module
 * that uses it names it once and says how to make it from the platform. Each platform makes it on first use and
 * closes it (its `close()`, when it has one) when the platform closes, so nothing a process holds open lives in a
 * module-level cache.
 */
export interface ResourceKind<P, T> {
  readonly name: string;
  /** A method, so a kind that needs less of the platform (a few of its fields) serves a fuller platform too. */
  create(platform: P): T;
}

/** What a module needs of a platform to reach its resources. */
export interface ResourceOwner<P> {
  get<T>(kind: ResourceKind<P, T>): T;
}

export function resourceKind<P, T>(name: string, create: (platform: P) => T): ResourceKind<P, T> {
  return { name, create };
}

/** The resources one platform made. */
export class ProcessResources<P> implements ResourceOwner<P> {
  readonly #platform: () => P;
  readonly #made = new Map<ResourceKind<P, unknown>, unknown>();
  #closed = false;

  /** `platform` is read on first use of each kind, so the platform object may hold this before it exists. */
  constructor(platform: () => P) {
    this.#platform = platform;
  }

  get<T>(kind: ResourceKind<P, T>): T {
    if (this.#made.has(kind)) return this.#made.get(kind) as T;
    // A job still running after close must not open a new SMTP pool that nothing would ever close.
    if (this.#closed) throw new Error(`the platform is closed; ${kind.name} is no longer available`);
    const resource = kind.create(this.#platform());
    this.#made.set(kind, resource);
    return resource;
  }

  /** Closes every resource made, all at once; the first failure is thrown after all were tried. */
  async close(): Promise<void> {
    this.#closed = true;
    const made = [...this.#made.values()].reverse();
    this.#made.clear();
    const results = await Promise.allSettled(made.map(async (r) => (r as { close?: () => unknown }).close?.()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
