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

/** The form codes are stored and compared in: trimmed and upper-cased. */
export function normalizeCode(code: string): string {
  return code.trim().toUpperCase();
}

/** Whether `code` (normalized) could have been produced by `shape`. */
export function matchesShape(code: string, shape: CodeShape): boolean {
  if (code.length !== shape.template.length) return false;
  for (let i = 0; i < code.length; i++) {
    const t = shape.template[i] as string;
    const c = code[i] as string;
    if (t === RANDOM_PLACEHOLDER ? !shape.alphabet.includes(c) : t !== c) return false;
  }
  return true;
}
