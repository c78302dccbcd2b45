import { afterAll, beforeAll } from 'vitest';

/**
 * Something a test file's tests share: made before them (`beforeAll`) and released after them (`afterAll`, so the
 * last declared is released first). The handle reads and writes through to it once made, so the tests use it as if
 * they held it; read before then, it throws, naming what was read.
 */
export function useForFile<T extends object>(
  what: string,
  make: () => Promise<T>,
  release: (made: T) => Promise<unknown>,
  timeoutMs?: number,
): T {
  let made: T | undefined;
  beforeAll(async () => {
    made = await make();
  }, timeoutMs);
  afterAll(async () => {
    if (made) await release(made);
  });
  const target = (key: PropertyKey): T => {
    if (!made) throw new Error(`${what} is not made yet (read ${String(key)} in a test or a later hook)`);
    return made;
  };
  return new Proxy({} as T, {
    get(_, key) {
      // Not a promise: `await handle` or an async function returning it must not look for `then` on it.
      if (key === 'then') return undefined;
      const value = Reflect.get(target(key), key);
      return typeof value === 'function' ? value.bind(made) : value;
    },
    set: (_, key, value) => Reflect.set(target(key), key, value),
  });
}
