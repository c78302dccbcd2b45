import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { campaignWithCodes } from '../support/delivery-fixtures.ts';
import { useTestPlatform } from '../support/platform.ts';
import { decodeQr } from '../support/qr.ts';

/** Every voucher has a QR code and a Code 128 barcode, rendered on request, cacheable, scannable back to its code. */
describe('voucher QR codes and barcodes', () => {
  const p = useTestPlatform({ env: { GENERATION_CHUNK_SIZE: '1000' } });

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

describe('signed public links to QR codes and barcodes (PUBLIC_LINK_SECRET)', () => {
  const p = useTestPlatform({
    workers: false,
    env: { PUBLIC_BASE_URL: 'https://promo.example', PUBLIC_LINK_SECRET: 'test-link-secret-0123456789abcdefghij' },
  });

  it('gives SMS and web templates public links that open without an API key, and only as signed', async () => {
    const template = await p.call('/v1/templates', {
      method: 'POST',
      json: { name: 'SMS with QR', channel: 'sms', text: 'Your code {{ voucher.code }}: {{ voucher.qr_url }} {{ voucher.barcode_url }}' },
    });
    expect(template.status).toBe(201);
    const preview = await p.call(`/v1/templates/${template.body.id}/preview`, { method: 'POST', json: { voucher: { code: 'SMS-7Q4K' } } });
    const [qrUrl, barcodeUrl] = (preview.body.text as string).split(' ').slice(-2) as [string, string];
    expect(qrUrl).toMatch(/^https:\/\/promo\.example\/public\/vouchers\/SMS-7Q4K\/qr\.png\?sig=[A-Za-z0-9_-]{22}$/);
    const local = (url: string) => `${p.url}${new URL(url).pathname}${new URL(url).search}`;
    const qr = await fetch(local(qrUrl));
    expect(qr.status).toBe(200);
    expect(qr.headers.get('content-type')).toBe('image/png');
    expect(qr.headers.get('cache-control')).toContain('public');
    expect(decodeQr(Buffer.from(await qr.arrayBuffer()))).toBe('SMS-7Q4K');
    expect((await fetch(local(barcodeUrl))).status).toBe(200);
    // Another code, another rendering, a changed or missing signature: the same 404.
    const sig = new URL(qrUrl).searchParams.get('sig') as string;
    const refused = [
      `/public/vouchers/SMS-7Q4L/qr.png?sig=${sig}`,
      `/public/vouchers/SMS-7Q4K/barcode.png?sig=${sig}`,
      `/public/vouchers/SMS-7Q4K/qr.png?sig=${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`,
      '/public/vouchers/SMS-7Q4K/qr.png',
    ];
    for (const path of refused) {
      const res = await fetch(`${p.url}${path}`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('link_not_found');
    }
  });
});
