import { randomFillSync } from 'node:crypto';
import { type CodeShape, RANDOM_PLACEHOLDER } from './code-config.ts';

const POOL_SIZE = 64 * 1024;
const REJECT = 0;

/**
 * Writes codes of one shape as ASCII, each followed by '\n', into one buffer: directly a COPY text payload,
 * so bulk paths never build a string per code.
 *
 * Randomness: bytes from the OS CSPRNG (`randomFillSync`), mapped through a 256-entry table. Byte b maps to
 * alphabet[b % n] when b < 256 - (256 % n) and is rejected otherwise, so every character is exactly equally
 * likely for any alphabet size (rejection sampling without a modulo in the hot loop).
 */
export class CodeGenerator {
  readonly #shape: CodeShape;
  readonly #template: Uint8Array;
  readonly #randomPositions: Uint16Array;
  readonly #table = new Uint8Array(256);
  readonly #pool = Buffer.allocUnsafe(POOL_SIZE);
  #offset = POOL_SIZE;
  readonly #unbiased: boolean;

  constructor(shape: CodeShape) {
    if (shape.alphabet.length < 1 || shape.alphabet.length > 256) throw new RangeError('alphabet must have 1 to 256 characters');
    if (!/^[\x21-\x7e]+$/.test(shape.alphabet + shape.template)) {
      throw new RangeError('codes use printable ASCII characters only');
    }
    this.#shape = shape;
    this.#template = Buffer.from(shape.template, 'latin1');
    const positions: number[] = [];
    for (let i = 0; i < shape.template.length; i++) if (shape.template[i] === RANDOM_PLACEHOLDER) positions.push(i);
    this.#randomPositions = Uint16Array.from(positions);
    const n = shape.alphabet.length;
    const limit = 256 - (256 % n);
    this.#unbiased = limit === 256;
    for (let b = 0; b < 256; b++) this.#table[b] = b < limit ? shape.alphabet.charCodeAt(b % n) : REJECT;
  }

  get codeLength(): number {
    return this.#template.length;
  }

  get shape(): CodeShape {
    return this.#shape;
  }

  /** `count` codes, newline-terminated, in one buffer of count * (length + 1) bytes. */
  generateBuffer(count: number): Buffer {
    const template = this.#template;
    const stride = template.length + 1;
    const out = Buffer.allocUnsafe(count * stride);
    if (count === 0) return out;
    // Lay the fixed parts of every code down at once: one code, then doubling copies.
    out.set(template, 0);
    out[stride - 1] = 0x0a;
    for (let filled = stride; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));

    const positions = this.#randomPositions;
    const perCode = positions.length;
    const table = this.#table;
    if (this.#unbiased) {
      // Alphabet size divides 256: no byte is ever rejected, one random byte per character, no branch.
      const random = Buffer.allocUnsafe(count * perCode);
      randomFillSync(random);
      let r = 0;
      for (let base = 0; base < out.length; base += stride) {
        for (let p = 0; p < perCode; p++) out[base + (positions[p] as number)] = table[random[r++] as number] as number;
      }
      return out;
    }
    const pool = this.#pool;
    let offset = this.#offset;
    for (let base = 0; base < out.length; base += stride) {
      for (let p = 0; p < perCode; p++) {
        let ch = REJECT;
        while (ch === REJECT) {
          if (offset === POOL_SIZE) {
            randomFillSync(pool);
            offset = 0;
          }
          ch = table[pool[offset++] as number] as number;
        }
        out[base + (positions[p] as number)] = ch;
      }
    }
    this.#offset = offset;
    return out;
  }

  /** `count` codes as strings (one decode of the whole buffer, then slices). */
  generate(count: number): string[] {
    const stride = this.#template.length + 1;
    const length = stride - 1;
    const text = this.generateBuffer(count).toString('latin1');
    const codes = new Array<string>(count);
    for (let c = 0, at = 0; c < count; c++, at += stride) codes[c] = text.substring(at, at + length);
    return codes;
  }
}
