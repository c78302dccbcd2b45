import { renderSymbol, type SymbolFormat, type SymbolKind } from './symbols.ts';

const MAX_ENTRIES = 2_000;
const cache = new Map<string, Buffer>();

/** Renderings are pure functions of the code: a small LRU spares re-rendering hot codes. */
export async function symbolFor(kind: SymbolKind, format: SymbolFormat, code: string): Promise<Buffer> {
  const key = `${kind}.${format}:${code}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const buffer = await renderSymbol(kind, format, code);
  cache.set(key, buffer);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
  return buffer;
}
