/** Named alphabets. Codes match case-insensitively, so every alphabet is stored upper-cased. */
export const CHARSET_PRESETS = {
  alphanumeric: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  alphabetic: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  numbers: '0123456789',
  uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  // No 0/O and 1/I: codes read aloud or typed from print stay unambiguous.
  unambiguous: '23456789ABCDEFGHJKLMNPQRSTUVWXYZ',
} as const;

export type CharsetPreset = keyof typeof CHARSET_PRESETS;

export const DEFAULT_CHARSET: CharsetPreset = 'unambiguous';

export function isCharsetPreset(name: string): name is CharsetPreset {
  return Object.hasOwn(CHARSET_PRESETS, name);
}

/**
 * Resolves a preset name or a custom alphabet to the distinct characters codes are drawn from.
 * Custom alphabets are folded to upper case (codes compare case-insensitively) and de-duplicated.
 */
export function resolveCharset(charset: string | undefined): string {
  const raw = charset === undefined ? CHARSET_PRESETS[DEFAULT_CHARSET] : isCharsetPreset(charset) ? CHARSET_PRESETS[charset] : charset;
  return [...new Set(raw.toUpperCase())].join('');
}
