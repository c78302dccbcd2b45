import { resolveCharset } from './charsets.ts';

export const RANDOM_PLACEHOLDER = '#';
export const DEFAULT_CODE_LENGTH = 12;

export interface CodeConfig {
  length?: number;
  charset?: string;
  prefix?: string;
  postfix?: string;
  pattern?: string;
}

/** A code config with every default applied: the exact shape of the codes it produces. */
export interface CodeShape {
  alphabet: string;
  /** The full template: prefix + pattern + postfix, with `#` for each random character. */
  template: string;
  randomCount: number;
  /** Identifies the space of codes; campaigns with the same key draw from the same space. */
  spaceKey: string;
}

export function resolveCodeShape(config: CodeConfig = {}): CodeShape {
  const alphabet = resolveCharset(config.charset);
  const pattern = config.pattern ?? RANDOM_PLACEHOLDER.repeat(config.length ?? DEFAULT_CODE_LENGTH);
  const template = normalizeCode(`${config.prefix ?? ''}${pattern}${config.postfix ?? ''}`);
  const randomCount = [...template].filter((c) => c === RANDOM_PLACEHOLDER).length;
  return { alphabet, template, randomCount, spaceKey: `${template}|${alphabet}` };
}

/** The platform's rule for any code, whatever a campaign's shape: 1 to 96 printable ASCII characters, no spaces. */
const WELL_FORMED_CODE = /^[\x21-\x7e]{1,96}$/;

export function isWellFormedCode(code: string): boolean {
  return WELL_FORMED_CODE.test(code);
}

/** The form codes are stored and compared in: trimmed and upper-cased. */
export function normalizeCode(code: string): string {
  return code.trim().toUpperCase();
}

/** Whether `code` (normalized) could have been produced by `shape`. */
export function matchesShape(code: string, shape: CodeShape): boolean {
  return shapeMismatch(code, shape) === null;
}

/**
 * Why `code` (normalized) could not have been produced by `shape`, or null when it could. The reason names the
 * position and the template, never the code's own characters (it ends up in reports, and codes are secrets).
 */
export function shapeMismatch(code: string, shape: CodeShape): string | null {
  const { template, alphabet } = shape;
  if (code.length !== template.length) {
    return `is ${code.length} characters long; the campaign's codes are ${template.length} (template ${template})`;
  }
  const inAlphabet = alphabetTable(shape);
  for (let i = 0; i < code.length; i++) {
    const t = template.charCodeAt(i);
    const c = code.charCodeAt(i);
    if (t === PLACEHOLDER_CODE) {
      if (c > 255 || inAlphabet[c] !== 1) return `character ${i + 1} is not in the campaign's charset ${alphabet}`;
    } else if (t !== c) {
      return `character ${i + 1} differs from the campaign's template ${template}`;
    }
  }
  return null;
}

const PLACEHOLDER_CODE = RANDOM_PLACEHOLDER.charCodeAt(0);
const alphabetTables = new WeakMap<CodeShape, Uint8Array>();

/** A shape's alphabet as a byte table (alphabets are ASCII): checking a million codes stays a table lookup each. */
function alphabetTable(shape: CodeShape): Uint8Array {
  let table = alphabetTables.get(shape);
  if (!table) {
    table = new Uint8Array(256);
    for (let i = 0; i < shape.alphabet.length; i++) {
      const c = shape.alphabet.charCodeAt(i);
      if (c < 256) table[c] = 1;
    }
    alphabetTables.set(shape, table);
  }
  return table;
}
