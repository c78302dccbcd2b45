import bwipjs from 'bwip-js/node';
import QRCode from 'qrcode';

export type SymbolKind = 'qr' | 'barcode';
export type SymbolFormat = 'svg' | 'png';

/** Every rendering a voucher has, and the media type of each format. */
export const SYMBOL_FILES: readonly { kind: SymbolKind; format: SymbolFormat }[] = [
  { kind: 'qr', format: 'png' },
  { kind: 'qr', format: 'svg' },
  { kind: 'barcode', format: 'png' },
  { kind: 'barcode', format: 'svg' },
];
export const SYMBOL_CONTENT_TYPES: Record<SymbolFormat, string> = { svg: 'image/svg+xml', png: 'image/png' };

/** QR (error correction M, quiet zone included) or Code 128 with the human-readable code under the bars. */
export async function renderSymbol(kind: SymbolKind, format: SymbolFormat, code: string): Promise<Buffer> {
  if (kind === 'qr') {
    if (format === 'svg') return Buffer.from(await QRCode.toString(code, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 }));
    return QRCode.toBuffer(code, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 8 });
  }
  const options = {
    bcid: 'code128',
    text: code,
    scale: 3,
    height: 12,
    includetext: true,
    textxalign: 'center' as const,
    paddingwidth: 10,
    paddingheight: 6,
  };
  if (format === 'svg') return Buffer.from(bwipjs.toSVG(options));
  return bwipjs.toBuffer({ ...options, backgroundcolor: 'FFFFFF' });
}
