import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useChromium } from '../support/browser.ts';
import { distributeByEmail, emailTemplate } from '../support/delivery-fixtures.ts';
import { useSmtpSink } from '../support/delivery-servers.ts';
import { ROOT, useTestPlatform, waitFor } from '../support/platform.ts';
import { useReceiver } from '../support/webhook-receiver.ts';

// Refreshed only with UPDATE_SCREENSHOTS=1 (as browser.test.ts does); otherwise a scratch directory.
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(ROOT, 'docs', 'screenshots')
  : join(tmpdir(), `promo-console-shots-${process.pid}`);
const AXE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

describe('the operator console in headless Chromium', () => {
  const receiver = useReceiver(() => ({ status: 500 }));
  const smtp = useSmtpSink({ parse: false }, (address) =>
    address.startsWith('bounce') ? { code: 550, message: 'mailbox unavailable' } : undefined,
  );
  const p = useTestPlatform(() => ({
    env: {
      GENERATION_CHUNK_SIZE: '1000',
      GENERATION_CONCURRENCY: '1',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_DELAYS_MS: '300,300,300',
      SMTP_URL: smtp.url,
      DELIVERY_MAX_ATTEMPTS: '1',
    },
  }));
  const browser = useChromium();
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  const checked: string[] = [];
  let campaignId = '';

  /** axe-core in the page (evaluated over the DevTools protocol, so the page's CSP does not block it). */
  async function accessible(name: string): Promise<void> {
    await page.evaluate(AXE);
    const violations = (await page.evaluate('axe.run().then((result) => result.violations)')) as AxeViolation[];
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${name}: ${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
    checked.push(name);
  }

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    const hook = await p.call('/v1/webhooks', {
      method: 'POST',
      json: { url: `${receiver.url}/hook`, events: ['voucher.*'], description: 'crm' },
    });
    expect(hook.status).toBe(201);
    await mkdir(SCREENSHOTS, { recursive: true });
    context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    page = await context.newPage();
    // The console's pages (Bull Board's own page asks for a web font it cannot reach here: not ours).
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && new URL(page.url()).pathname.startsWith('/console')) errors.push(`${page.url()}: ${m.text()}`);
    });
  }, 120_000);

  it('logs in with an API key', async () => {
    await page.goto(`${p.url}/console`);
    await page.waitForURL(/\/console\/login/);
    await accessible('login');
    await shot('login');
    await page.fill('#key', 'pk_not_a_key');
    await page.click('button[type=submit]');
    await page.locator('.problem[data-code=unauthorized]').waitFor();
    await page.fill('#key', p.apiKey);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/console\/campaigns$/);
    expect(await page.locator('.who').textContent()).toContain('admin');
    errors.length = 0; // the refused login's 401 is a console error Chromium logs for the page, by design
  });

  it('creates a campaign, generates 20,000 codes and shows the progress reach 100 % without reloading', async () => {
    await page.click('text=New campaign');
    await page.waitForURL(/\/console\/campaigns\/new$/);
    await accessible('new campaign');
    await page.fill('#name', 'Browser sale');
    await page.fill('#pattern', 'WEB-####-####');
    await page.fill('#rules', '{"discount":{"type":"percent","value":15},"redemption":{"per_code_limit":2}}');
    await shot('new-campaign');
    await page.click('button:has-text("Create campaign")');
    await page.waitForURL(/\/console\/campaigns\/[0-9a-f-]{36}$/);
    campaignId = page.url().split('/').at(-1) as string;
    expect(await page.locator('#rules').textContent()).toContain('15 % off the order');
    expect(await page.locator('#rules').textContent()).toContain('Each code can be redeemed 2 times');

    // Bad input: the API's own problem, on the page.
    await page.fill('#count', '0');
    await page.click('button:has-text("Generate codes")');
    await page.locator('.problem[data-code=validation_failed]').waitFor();
    expect(await page.locator('.problem').textContent()).toContain('count');
    await accessible('refused form');
    // Chromium logs the deliberate 400 as a console error: the status is the API's, by design.
    expect(errors.splice(0).every((e) => e.includes('status of 400'))).toBe(true);
    await page.fill('#count', '20000');
    await page.click('button:has-text("Generate codes")');
    await page.locator('.confirm').waitFor();
    expect(await page.locator('.question').textContent()).toContain('Generate 20,000 more codes');
    await accessible('confirm generation');
    await shot('confirm');
    // Chunks wait behind this lock until the page has shown the generation unfinished: on a fast machine the
    // 20 chunks could otherwise end before the first render, and nothing would show the polling.
    const blocker = await p.platform.db.pool.connect();
    await blocker.query('begin');
    await blocker.query('lock table vouchers in share mode');
    await page.click('button:has-text("Yes, generate codes")');
    await page.waitForURL(/generation=/);
    const generationId = new URL(page.url()).searchParams.get('generation') as string;
    // A marker on the window: it survives only if the page is never reloaded.
    await page.evaluate('window.marker = 42');
    const row = page.locator(`tr[data-generation="${generationId}"]`);
    const seen = new Set<string>();
    try {
      await waitFor(async () => {
        seen.add(
          (
            (await row
              .locator('.progress-text')
              .textContent()
              .catch(() => '')) ?? ''
          ).trim(),
        );
        return (await row.getAttribute('data-status').catch(() => null)) !== null;
      });
      expect(await row.getAttribute('data-status')).not.toBe('completed');
    } finally {
      await blocker.query('commit');
      blocker.release();
    }
    await waitFor(
      async () => {
        const text =
          (await row
            .locator('.progress-text')
            .textContent()
            .catch(() => '')) ?? '';
        seen.add(text.trim());
        return (await row.getAttribute('data-status').catch(() => null)) === 'completed';
      },
      90_000,
      50,
    );
    await row.locator('.progress-text', { hasText: '100 %' }).waitFor();
    // Read once more: the swap to the finished row can land between a probe's text read and its status read.
    seen.add(((await row.locator('.progress-text').textContent()) ?? '').trim());
    expect(await page.evaluate('window.marker')).toBe(42);
    expect(await row.textContent()).toContain('20,000 of 20,000');
    // The row was swapped in by polling while it ran, not rendered finished at once.
    expect(seen.size).toBeGreaterThan(1);
  });

  it('draws redemptions per day with integer ticks, dates and every day present', async () => {
    await page.reload();
    expect(await page.locator('#counters').textContent()).toContain('20,000');
    const plot = page.locator('#redemptions-chart .chart-plot');
    await expect.poll(() => plot.getAttribute('data-rendered')).toBe('true');
    const yTicks = (await plot.getAttribute('data-y-ticks'))?.split('|') ?? [];
    expect(yTicks.length).toBeGreaterThan(1);
    for (const tick of yTicks) expect(tick).toMatch(/^\d[\d,]*$/);
    expect(new Set(yTicks).size).toBe(yTicks.length);
    const xTicks = (await plot.getAttribute('data-x-ticks'))?.split('|') ?? [];
    for (const tick of xTicks) expect(tick).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
    expect(await page.locator('#redemptions-chart tbody tr').count()).toBe(30);
    expect(await page.locator('#redemptions-chart tbody td').first().textContent()).toBe('0');
    await accessible('campaign');
    await shot('campaign');
  });

  it('looks up a code in any case, and shows a redemption made through the API in its timeline', async () => {
    const code = (await p.call(`/v1/campaigns/${campaignId}/vouchers?limit=1`)).body.data[0].code as string;
    await page.fill('#top-code', code.toLowerCase());
    await page.press('#top-code', 'Enter');
    await page.waitForURL(new RegExp(`/console/codes/${encodeURIComponent(code)}$`));
    expect(await page.locator('h1').textContent()).toContain(code);
    await expect
      .poll(() => page.locator('img[alt^="QR code"]').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('img[alt^="Barcode"]').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
      .toBeGreaterThan(0);
    expect(await page.locator('#timeline li[data-type=redeemed]').count()).toBe(0);

    const redeemed = await p.call('/v1/redemptions', {
      method: 'POST',
      json: { code, customer: { id: 'cust_7' }, order: { amount: 4000, currency: 'EUR' } },
    });
    expect(redeemed.status).toBe(201);
    await page.locator('#timeline li[data-type=redeemed]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#redemptions').textContent()).toContain('cust_7');
    expect(await page.locator('#timeline li[data-type=redeemed]').textContent()).toContain('cust_7');
    await accessible('code');
    await shot('code');
  });

  it("shows a failing webhook endpoint's attempts and their response codes", async () => {
    await waitFor(async () => receiver.received.length >= 2, 60_000);
    await page.click('nav >> text=Webhooks');
    await page.waitForURL(/\/console\/webhooks$/);
    const row = page.locator('#endpoints tbody tr').first();
    await expect
      .poll(async () => {
        await page.reload();
        return row.textContent();
      })
      .toContain('failing');
    await accessible('webhooks');
    await shot('webhooks');
    await row.locator('a').first().click();
    await page.waitForURL(/\/console\/webhooks\/[0-9a-f-]{36}/);
    await page.locator('#deliveries details summary').first().click();
    const attempts = page.locator('#deliveries ol.attempts li').first();
    expect(await attempts.textContent()).toContain('HTTP 500');
    expect(await page.locator('#endpoint-health').textContent()).toMatch(/failing/);
    await accessible('webhook endpoint');
    await shot('webhook-endpoint');
  });

  it('shows distributions with messages by outcome and the failed ones with their provider error', async () => {
    const template = await emailTemplate(p);
    const sent = await distributeByEmail(p, campaignId, template, [
      { email: 'ada@example.com', name: 'Ada' },
      { email: 'bounce@example.com', name: 'Bob' },
      { email: 'cy@example.com', name: 'Cy' },
    ]);
    expect(sent.status).toBe(202);
    await waitFor(async () => {
      const d = (await p.call(`/v1/distributions/${sent.body.id}`)).body;
      return d.sent + d.failed + d.bounced === 3;
    }, 60_000);
    await page.click('nav >> text=Deliveries');
    await page.waitForURL(/\/console\/distributions$/);
    expect(await page.locator(`tr[data-distribution="${sent.body.id}"]`).textContent()).toContain('100 %');
    await accessible('distributions');
    await shot('distributions');
    await page.click(`tr[data-distribution="${sent.body.id}"] a >> nth=0`);
    await page.locator('#failed-messages').waitFor();
    expect(await page.locator('#failed-messages').textContent()).toContain('bounce@example.com');
    expect(await page.locator('#failed-messages').textContent()).toMatch(/550|mailbox unavailable/);
    await accessible('distribution');
    await shot('distribution');
  });

  it('summarises jobs per queue with links into Bull Board, which accepts the same session', async () => {
    await page.click('nav >> text=Jobs');
    await page.waitForURL(/\/console\/jobs$/);
    expect(await page.locator('#queues tbody tr').count()).toBe(p.platform.queues.all().length);
    await accessible('jobs');
    await shot('jobs');
    await page.click('#queues a >> text=generation');
    await page.waitForURL(/\/admin\/queues\/queue\/generation/);
    await page.getByText('generation', { exact: true }).first().waitFor({ timeout: 20_000 });
    const stats = await page.goto(`${p.url}/admin/stats`);
    expect(stats?.status()).toBe(200);
  });

  it('is keyboard navigable: the skip link, then every control in order', async () => {
    await page.goto(`${p.url}/console/campaigns`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement?.id')).toBe('main');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('name');
    await page.keyboard.type('Browser');
    await page.keyboard.press('Enter');
    await page.waitForURL(/name=Browser/);
    expect(await page.locator('#campaigns tbody tr').count()).toBe(1);
    await accessible('campaigns');
    await shot('campaigns');
    await page.goto(`${p.url}/console/codes`);
    await accessible('code lookup');
  });

  it('reads without JavaScript', async () => {
    const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1200, height: 900 } });
    const cookies = await context.cookies();
    await plain.addCookies(cookies);
    const reader = await plain.newPage();
    await reader.goto(`${p.url}/console/campaigns/${campaignId}`);
    expect(await reader.locator('#counters').textContent()).toContain('20,000');
    expect(await reader.locator('#redemptions-chart details').getAttribute('open')).not.toBeNull();
    expect(await reader.locator('#redemptions-chart tbody tr').count()).toBe(30);
    await reader.goto(`${p.url}/console/webhooks`);
    expect(await reader.locator('#endpoints').textContent()).toContain('failing');
    await plain.close();
  });

  it('logs out, and with no console error on any page', async () => {
    await page.goto(`${p.url}/console/campaigns`);
    await page.click('button:has-text("Log out")');
    await page.waitForURL(/\/console\/login$/);
    await page.goto(`${p.url}/console/campaigns`);
    await page.waitForURL(/\/console\/login/);
    expect(errors).toEqual([]);
    expect(checked.length).toBe(13);
  });
});
