import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignWithCodes } from '../support/delivery-fixtures.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';

// jsqr ships CommonJS with a default export; its typings describe the ESM shape.
const jsQR = jsQRModule as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

function decodeQr(png: Buffer): string | undefined {
  const image = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data;
}

/** Every voucher has a QR code and a Code 128 barcode, rendered on request, cacheable, scannable back to its code. */
describe('voucher QR codes and barcodes', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform({ env: { GENERATION_CHUNK_SIZE: '1000' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  it('serves QR and Code 128 renderings, cacheable, scannable back to the code', async () => {
    const campaignId = await campaignWithCodes(p, 1);
    const pub = await p.call('/v1/publications', { method: 'POST', json: { campaign_id: campaignId, customer: { id: 'pos' } } });
    const code = pub.body.code as string;
    const png = await p.api(`/v1/vouchers/${code.toLowerCase()}/qr.png`);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(png.headers.get('cache-control')).toContain('max-age=');
    expect(decodeQr(Buffer.from(await png.arrayBuffer()))).toBe(code);
    const etag = png.headers.get('etag') as string;
    const again = await p.api(`/v1/vouchers/${code}/qr.png`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const svg = await p.api(`/v1/vouchers/${code}/qr.svg`);
    expect(svg.headers.get('content-type')).toContain('image/svg+xml');
    expect(await svg.text()).toContain('<svg');
    const barcode = await p.api(`/v1/vouchers/${code}/barcode.png`);
    expect(barcode.status).toBe(200);
    const bars = PNG.sync.read(Buffer.from(await barcode.arrayBuffer()));
    expect(bars.width).toBeGreaterThan(bars.height);
    const barcodeSvg = await (await p.api(`/v1/vouchers/${code}/barcode.svg`)).text();
    expect(barcodeSvg).toContain('<svg');
    expect((await p.api('/v1/vouchers/NOPE-NOPE/qr.png')).status).toBe(404);
  });
});
