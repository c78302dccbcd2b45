import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { useChromium } from '../support/browser.ts';
import { useTestPlatform } from '../support/platform.ts';

describe('/admin/stats in headless Chromium', () => {
  const clock = new ManualClock('2031-07-20T12:00:00Z');
  const p = useTestPlatform({ clock, workers: false, env: { GUESS_LIMIT: '100000' } });
  const browser = useChromium();
  let campaignId = '';

  beforeAll(async () => {
    const created = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'Summer <b>sale</b>' } });
    campaignId = created.body.id;
    await p.platform.db.query(
      `insert into vouchers (code, campaign_id) select 'PG' || lpad(g::text, 6, '0'), $1 from generate_series(1, 200) g`,
      [campaignId],
    );
    await p.platform.db.query('update campaigns set issued_count = 200 where id = $1', [campaignId]);
    // Redemptions on three days: 3, 0, 5 and 2 (the chart's shape).
    const perDay: [string, number][] = [
      ['2031-07-16T10:00:00Z', 3],
      ['2031-07-18T09:00:00Z', 5],
      ['2031-07-19T18:00:00Z', 2],
    ];
    let n = 1;
    for (const [time, count] of perDay) {
      clock.set(time);
      for (let i = 0; i < count; i++) {
        const r = await p.call('/v1/redemptions', { method: 'POST', json: { code: `PG${String(n++).padStart(6, '0')}` } });
        expect(r.status).toBe(201);
      }
    }
    clock.set('2031-07-20T12:00:00Z');
  });

  it('asks a browser for credentials, and refuses a non-admin key', async () => {
    const anonymous = await fetch(`${p.url}/admin/stats`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
    const standard = await p.call('/v1/api-keys', { method: 'POST', json: { name: 'shop', role: 'standard' } });
    expect(standard.status).toBe(201);
    const basic = Buffer.from(`shop:${standard.body.key}`).toString('base64');
    const refused = await fetch(`${p.url}/admin/stats`, { headers: { authorization: `Basic ${basic}` } });
    expect(refused.status).toBe(403);
  });

  it('renders campaigns with their counts and a chart of redemptions per day', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: p.apiKey } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const response = await page.goto(`${p.url}/admin/stats?days=7`);
    expect(response?.status()).toBe(200);

    const row = page.locator(`tr[data-campaign="${campaignId}"]`);
    await expect.poll(() => row.count()).toBe(1);
    const cells = await row.locator('td').allTextContents();
    // Name escaped (shown as text), status, generated, published, uses, codes, rolled back, expired, active, rate.
    expect(cells).toEqual(['Summer <b>sale</b>', 'active', '200', '0', '10', '10', '0', '0', '200', '5.00%']);

    const chart = page.locator('svg#redemptions-chart');
    expect(await chart.isVisible()).toBe(true);
    const box = await chart.boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    const bars = await page.locator('svg#redemptions-chart rect.bar').evaluateAll((rects) =>
      rects.map((r) => ({
        date: r.getAttribute('data-date'),
        value: Number(r.getAttribute('data-value')),
        height: (r as unknown as { getBBox(): { height: number } }).getBBox().height,
      })),
    );
    expect(bars.map((b) => b.date)).toEqual([
      '2031-07-14',
      '2031-07-15',
      '2031-07-16',
      '2031-07-17',
      '2031-07-18',
      '2031-07-19',
      '2031-07-20',
    ]);
    expect(bars.map((b) => b.value)).toEqual([0, 0, 3, 0, 5, 2, 0]);
    // Drawn to scale: the tallest bar is the 5, and 3 is 3/5 of it.
    const tallest = Math.max(...bars.map((b) => b.height));
    expect(bars[4]?.height).toBe(tallest);
    expect(bars[2]?.height).toBeCloseTo((tallest * 3) / 5, 0);

    // Drill into the campaign: its own chart.
    await row.locator('a').click();
    await page.waitForURL(/campaign=/);
    expect(await page.locator('#chart-title').textContent()).toContain('Summer <b>sale</b>');
    expect(await page.locator('svg#redemptions-chart rect.bar').count()).toBe(7);
    expect(errors).toEqual([]);
    await context.close();
  });
});
