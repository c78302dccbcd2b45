import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useChromium } from '../support/browser.ts';
import { ROOT, useTestPlatform, waitFor } from '../support/platform.ts';

// The screenshots in docs/ are refreshed only when asked (UPDATE_SCREENSHOTS=1 npm test); a normal run writes
// them to a scratch directory, so tests leave the working tree as they found it.
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs', 'screenshots') : join(tmpdir(), `promo-screenshots-${process.pid}`);

describe('operator UIs in headless Chromium', () => {
  const p = useTestPlatform({ env: { GENERATION_CHUNK_SIZE: '5000' } });
  const browser = useChromium();
  let generationId: string;

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    const campaign = await p.call('/v1/campaigns', {
      method: 'POST',
      json: { name: 'Browser', code_config: { pattern: 'WEB-####-####' } },
    });
    const gen = await p.call(`/v1/campaigns/${campaign.body.id}/generations`, { method: 'POST', json: { count: 20000 } });
    generationId = gen.body.id;
    await waitFor(async () => (await p.call(`/v1/generations/${generationId}`)).body.status === 'completed');
  });

  it('Bull Board asks for credentials', async () => {
    // The browser gets a Basic challenge (headless Chromium then fails the navigation: no one to ask).
    const res = await fetch(`${p.url}/admin/queues`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    const context = await browser.newContext();
    const page = await context.newPage();
    const outcome = await page.goto(`${p.url}/admin/queues`).then(
      (r) => String(r?.status()),
      (e: Error) => e.message,
    );
    expect(outcome).toMatch(/401|ERR_INVALID_AUTH_CREDENTIALS/);
    await context.close();
  });

  it('Bull Board, after authenticating, shows every queue and the completed generation at 100%', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: p.apiKey },
      viewport: { width: 1400, height: 900 },
    });
    const page = await context.newPage();
    const res = await page.goto(`${p.url}/admin/queues`);
    expect(res?.status()).toBe(200);
    for (const queue of p.platform.queues.all().map((q) => q.name)) {
      await page.getByText(queue, { exact: true }).first().waitFor({ timeout: 20_000 });
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'bull-board.png'), fullPage: true });

    await page.goto(`${p.url}/admin/queues/queue/generation?status=completed`);
    await page.getByText('generation.finalize').first().waitFor({ timeout: 20_000 });
    await page.getByText('100%').first().waitFor({ timeout: 20_000 });
    expect(await page.content()).toContain(generationId);
    await page.screenshot({ path: join(SCREENSHOTS, 'bull-board-generation.png'), fullPage: true });
    await context.close();
  });

  it('/docs renders the API reference from the platform itself', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(p.url) && !r.url().startsWith('data:')) external.push(r.url());
    });
    await page.goto(`${p.url}/docs/`);
    await page.getByText('promo API').first().waitFor({ timeout: 20_000 });
    await page.getByText('/v1/campaigns/{id}/generations').first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'api-docs.png') });
    expect(external).toEqual([]);
    await context.close();
  });
});
