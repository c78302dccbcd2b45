import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

// jsqr ships CommonJS with a default export; its typings describe the ESM shape.
const jsQR = jsQRModule as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

/** The text a QR code in a PNG holds, read back as a scanner would. */
export function decodeQr(png: Buffer): string | undefined {
  const image = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data;
}
