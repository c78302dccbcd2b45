import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CHARSET_PRESETS,
  CodeGenerator,
  checkCodeSpace,
  codeSpaceSize,
  entropyBits,
  matchesShape,
  normalizeCode,
  resolveCharset,
  resolveCodeShape,
} from '../../src/codes/index.ts';

describe('code shapes', () => {
  it('defaults to 12 characters of the unambiguous alphabet', () => {
    const shape = resolveCodeShape({});
    expect(shape.template).toBe('############');
    expect(shape.alphabet).toBe(CHARSET_PRESETS.unambiguous);
    expect(shape.alphabet).not.toMatch(/[0O1I]/);
  });

  it('combines prefix, pattern and postfix', () => {
    const shape = resolveCodeShape({ prefix: 'x-', pattern: 'SPRING-####-####', postfix: '-z', charset: 'numbers' });
    expect(shape.template).toBe('X-SPRING-####-####-Z');
    expect(shape.randomCount).toBe(8);
  });

  it('folds a custom charset to upper case and removes duplicates', () => {
    expect(resolveCharset('abcABCa')).toBe('ABC');
    expect(resolveCharset('alphanumeric')).toHaveLength(36);
  });

  it('normalizes codes for case-insensitive matching', () => {
    expect(normalizeCode('  spring-ab12 ')).toBe('SPRING-AB12');
  });
});

describe('generator', () => {
  it('produces codes that conform to the pattern', () => {
    const shape = resolveCodeShape({ pattern: 'SPRING-####-####', charset: 'unambiguous', prefix: 'P', postfix: '!' });
    const codes = new CodeGenerator(shape).generate(20_000);
    expect(codes).toHaveLength(20_000);
    for (const code of codes) {
      expect(code).toMatch(/^PSPRING-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}!$/);
      expect(matchesShape(code, shape)).toBe(true);
    }
  });

  it('writes a newline-terminated buffer ready for COPY', () => {
    const generator = new CodeGenerator(resolveCodeShape({ length: 8 }));
    const buffer = generator.generateBuffer(3);
    expect(buffer.length).toBe(27);
    expect(buffer.toString('latin1').split('\n')).toHaveLength(4);
  });

  it.each([
    ['an alphabet that divides 256', 'unambiguous'],
    ['an alphabet that does not divide 256 (rejection sampling)', 'alphanumeric'],
    ['a prime-sized alphabet', 'ABCDEFG'],
  ])('draws every character equally often for %s (chi-square)', (_label, charset) => {
    const shape = resolveCodeShape({ charset, length: 10 });
    const size = shape.alphabet.length;
    const buffer = new CodeGenerator(shape).generateBuffer(40_000);
    const counts = new Map<number, number>();
    for (const byte of buffer) if (byte !== 0x0a) counts.set(byte, (counts.get(byte) ?? 0) + 1);
    expect(counts.size).toBe(size);
    const draws = 400_000;
    const expected = draws / size;
    const chi2 = [...counts.values()].reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // Critical value at p = 0.0001 for df = size - 1 (Wilson–Hilferty approximation): a fair source fails 1 in 10,000 runs.
    const df = size - 1;
    const z = 3.719;
    const critical = df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
    expect(chi2).toBeLessThan(critical);
  });

  it('detects the bias a plain modulo would introduce (the test can fail)', () => {
    const draws = 400_000;
    const size = 36;
    const bytes = randomBytes(draws);
    const counts = new Array<number>(size).fill(0);
    for (const b of bytes) counts[b % size] = (counts[b % size] as number) + 1;
    const expected = draws / size;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeGreaterThan(100);
  });
});

describe('code space', () => {
  it('computes space size and entropy', () => {
    const shape = resolveCodeShape({ pattern: '####', charset: 'numbers' });
    expect(codeSpaceSize(shape)).toBe(10_000n);
    expect(entropyBits(shape)).toBeCloseTo(Math.log2(10_000), 10);
    const big = resolveCodeShape({});
    expect(codeSpaceSize(big)).toBe(32n ** 12n);
    expect(entropyBits(big)).toBe(60);
  });

  it('refuses when the request cannot fit what is left (code_space_exhausted)', () => {
    const shape = resolveCodeShape({ pattern: '####', charset: 'numbers' });
    const verdict = checkCodeSpace(shape, 9_990n, 11n, true);
    expect(verdict).toMatchObject({ ok: false, reason: 'code_space_exhausted', available: 10n });
    expect(checkCodeSpace(shape, 9_990n, 10n, true).ok).toBe(true);
  });

  it('refuses guessable spaces unless allowed (code_space_too_small)', () => {
    // 32^6 ≈ 1.07e9: more than ~1,073 codes would let one guess in a million hit.
    const shape = resolveCodeShape({ length: 6 });
    expect(checkCodeSpace(shape, 0n, 1_000n, false).ok).toBe(true);
    expect(checkCodeSpace(shape, 0n, 1_100n, false)).toMatchObject({ ok: false, reason: 'code_space_too_small' });
    expect(checkCodeSpace(shape, 0n, 1_100n, true).ok).toBe(true);
    expect(checkCodeSpace(resolveCodeShape({}), 0n, 1_000_000n, false).ok).toBe(true);
  });
});
