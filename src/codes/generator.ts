import { type CodeShape, RANDOM_PLACEHOLDER } from './code-config.ts';
import { RandomIndexSource } from './random.ts';

/**
 * Writes codes of one shape as ASCII, each followed by '\n', into one buffer.
 * That buffer is directly a COPY text payload, so bulk paths never build a string per code.
 */
export class CodeGenerator {
  readonly #shape: CodeShape;
  readonly #alphabet: Uint8Array;
  readonly #template: Uint8Array;
  readonly #randomPositions: Uint16Array;
  readonly #random = new RandomIndexSource();

  constructor(shape: CodeShape) {
    if (shape.alphabet.length < 1) throw new RangeError('alphabet is empty');
    if (!/^[\x21-\x7e]+$/.test(shape.alphabet + shape.template)) {
      throw new RangeError('codes use printable ASCII characters only');
    }
    this.#shape = shape;
    this.#alphabet = Buffer.from(shape.alphabet, 'latin1');
    this.#template = Buffer.from(shape.template, 'latin1');
    const positions: number[] = [];
    for (let i = 0; i < shape.template.length; i++) if (shape.template[i] === RANDOM_PLACEHOLDER) positions.push(i);
    this.#randomPositions = Uint16Array.from(positions);
  }

  get codeLength(): number {
    return this.#template.length;
  }

  /** `count` codes, newline-terminated, in one buffer of count * (length + 1) bytes. */
  generateBuffer(count: number): Buffer {
    const stride = this.#template.length + 1;
    const out = Buffer.allocUnsafe(count * stride);
    const positions = this.#randomPositions;
    const perCode = positions.length;
    const indexes = new Uint8Array(count * perCode);
    this.#random.fill(indexes, this.#alphabet.length);
    const alphabet = this.#alphabet;
    let r = 0;
    for (let c = 0; c < count; c++) {
      const base = c * stride;
      out.set(this.#template, base);
      for (let p = 0; p < perCode; p++) out[base + (positions[p] as number)] = alphabet[indexes[r++] as number] as number;
      out[base + stride - 1] = 0x0a;
    }
    return out;
  }

  /** `count` codes as strings. */
  generate(count: number): string[] {
    const buffer = this.generateBuffer(count);
    const stride = this.#template.length + 1;
    const codes = new Array<string>(count);
    for (let c = 0; c < count; c++) codes[c] = buffer.toString('latin1', c * stride, c * stride + stride - 1);
    return codes;
  }

  get shape(): CodeShape {
    return this.#shape;
  }
}
