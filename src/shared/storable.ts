import type { FieldError } from './errors.ts';

/**
 * Input PostgreSQL cannot store, found before anything else touches it: U+0000 (text and jsonb refuse it), lone
 * UTF-16 surrogates (not Unicode: jsonb refuses their escapes, text would silently store U+FFFD), and JSON nested
 * deeper than anything the API takes (recursive code such as JSON.stringify would overflow the stack). The walk is
 * iterative, so a 1,000,000-deep value is refused as cheaply as a flat one.
 */

/** No request part the API takes is nested deeper than this. */
export const MAX_INPUT_DEPTH = 32;

/** Metadata (campaigns, vouchers, redemptions, customers, recipients): at most this deep and this large as JSON. */
export const METADATA_MAX_DEPTH = 10;
export const METADATA_MAX_BYTES = 16 * 1024;

function unstorableText(text: string): string | null {
  if (text.includes('\u0000')) return 'contains U+0000, which cannot be stored';
  if (!text.isWellFormed()) return 'contains a lone surrogate (not valid Unicode)';
  return null;
}

/** A path segment as a field name can show it (a key may itself hold the character being refused). */
function segment(key: string): string {
  return unstorableText(key) ? JSON.stringify(key).slice(1, -1).replaceAll('\\u0000', '\\0') : key;
}

function fieldName(path: readonly string[]): string {
  const shown = path.length > 12 ? [...path.slice(0, 12), '…'] : path;
  return shown.join('.') || '(body)';
}

/**
 * The first thing in `value` that cannot be stored, named by its path under `prefix` (`metadata.tags.0`, a query
 * parameter's name, a path parameter's name), or null.
 */
export function findUnstorable(value: unknown, prefix: readonly string[] = [], maxDepth = MAX_INPUT_DEPTH): FieldError | null {
  // Each pending value keeps its key and its parent's entry; a path is spelled out only for the fault it names.
  const stack: Pending[] = [{ value, key: '', parent: null, depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const current = item.value;
    if (typeof current === 'string') {
      const problem = unstorableText(current);
      if (problem) return { field: fieldName(pathOf(prefix, item)), message: problem };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (item.depth >= maxDepth) return { field: fieldName(pathOf(prefix, item)), message: `is nested deeper than ${maxDepth} levels` };
    const depth = item.depth + 1;
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) stack.push({ value: current[i], key: String(i), parent: item, depth });
      continue;
    }
    for (const key in current) {
      if (!Object.hasOwn(current, key)) continue;
      const problem = unstorableText(key);
      if (problem) return { field: fieldName([...pathOf(prefix, item), segment(key)]), message: `has a key that ${problem}` };
      stack.push({ value: (current as Record<string, unknown>)[key], key, parent: item, depth });
    }
  }
  return null;
}

interface Pending {
  value: unknown;
  key: string;
  /** The entry of the object or array holding this value; null for the value walked. */
  parent: Pending | null;
  /** Levels below the value walked. */
  depth: number;
}

function pathOf(prefix: readonly string[], item: Pending): string[] {
  const keys: string[] = [];
  for (let at: Pending | null = item; at?.parent; at = at.parent) keys.push(at.key);
  return [...prefix, ...keys.reverse()];
}

/** How deep a JSON value nests (iteratively; 0 for a scalar). */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.value === null || typeof item.value !== 'object') continue;
    deepest = Math.max(deepest, item.depth + 1);
    for (const child of Object.values(item.value)) stack.push({ value: child, depth: item.depth + 1 });
  }
  return deepest;
}
