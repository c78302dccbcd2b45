import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { ConsoleSessions } from '../../src/console/sessions.ts';
import { foldAllStatDeltas } from '../../src/stats/rollup.ts';
import { ConsoleClient, pageText } from '../support/console.ts';
import { startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

describe('the operator console over HTTP', () => {
  let p: TestPlatform;
  let receiver: WebhookReceiver;
  let admin: ConsoleClient;
  let viewer: ConsoleClient;
  let viewerKey = '';
  let campaignId = '';
  let endpointId = '';
  let deliveryId = '';
  let code = '';

  const rows = async (table: string) => Number((await p.platform.db.query(`select count(*)::int as n from ${table}`)).rows[0]?.n);
  const newKey = async (role: string) => {
    const created = await p.call('/v1/api-keys', { method: 'POST', json: { name: `${role}-${Math.random()}`, role } });
    expect(created.status).toBe(201);
    return created.body as { id: string; key: string };
  };

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 200 }));
    p = await startTestPlatform({ env: { GENERATION_CHUNK_SIZE: '500', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', GUESS_LIMIT: '1000' } });
    const campaign = await p.call('/v1/campaigns', {
      method: 'POST',
      json: { name: 'Console', code_config: { pattern: 'CON-####-####' } },
    });
    campaignId = campaign.body.id;
    const gen = await p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 1000 } });
    await waitFor(async () => (await p.call(`/v1/generations/${gen.body.id}`)).body.status === 'completed');
    code = (await p.call(`/v1/campaigns/${campaignId}/vouchers?limit=1`)).body.data[0].code;
    const hook = await p.call('/v1/webhooks', { method: 'POST', json: { url: `${receiver.url}/h`, events: ['voucher.*'] } });
    endpointId = hook.body.id;
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code } })).status).toBe(201);
    await waitFor(async () => {
      const page = await p.call(`/v1/webhooks/${endpointId}/deliveries`);
      deliveryId = page.body.data.find((d: { status: string }) => d.status === 'succeeded')?.id;
      return deliveryId;
    });
    admin = new ConsoleClient(p.url);
    expect((await admin.login(p.apiKey)).status).toBe(303);
    viewerKey = (await newKey('viewer')).key;
    viewer = new ConsoleClient(p.url);
    expect((await viewer.login(viewerKey)).status).toBe(303);
  }, 120_000);

  afterAll(async () => {
    await p?.destroy();
    await receiver?.close();
  });

  it('exchanges a key for an HttpOnly, SameSite=Strict, expiring, signed cookie; refuses bad and standard keys', async () => {
    const c = new ConsoleClient(p.url);
    const login = await c.login(p.apiKey);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^promo_console=[\w-]+\.[\w-]+;/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain(`Max-Age=${p.config.CONSOLE_SESSION_TTL_SECONDS}`);
    expect(cookie).not.toContain('Secure'); // development
    expect((await c.get('/console/campaigns')).status).toBe(200);
    // A cookie whose signature does not match is no session.
    const [name, value] = c.cookie.split('=') as [string, string];
    const tampered = new ConsoleClient(p.url);
    tampered.cookie = `${name}=${value.slice(0, -2)}xx`;
    expect((await tampered.get('/console/campaigns')).headers.get('location')).toMatch(/^\/console\/login/);

    const wrong = await new ConsoleClient(p.url).login('pk_nope_nope_nope');
    expect(wrong.status).toBe(401);
    expect(pageText(wrong.text)).toContain('The API key is not valid.');
    const standard = await new ConsoleClient(p.url).login((await newKey('standard')).key);
    expect(standard.status).toBe(403);
    expect(standard.headers.get('set-cookie')).toBeNull();
    // A login form posted from another site is refused.
    const crossSite = await new ConsoleClient(p.url).post('/console/login', { key: p.apiKey }, 'https://evil.example');
    expect(crossSite.status).toBe(403);
  });

  it('sets Secure and the __Host- prefix outside development, and needs a secret in production', async () => {
    const production = { ...p.platform, config: { ...p.platform.config, NODE_ENV: 'production' as const } };
    expect(() => new ConsoleSessions(production)).toThrow(/CONSOLE_SESSION_SECRET/);
    const sessions = new ConsoleSessions({ ...production, config: { ...production.config, CONSOLE_SESSION_SECRET: 's'.repeat(40) } });
    const identity = (await p.platform.db.query("select id, name, role from api_keys where name = 'bootstrap'")).rows[0] as {
      id: string;
      name: string;
      role: 'admin';
    };
    const app = express();
    app.get('/', async (_req, res) => {
      await sessions.open(res, identity);
      res.end();
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
      const cookie = res.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/^__Host-promo_console=/);
      expect(cookie).toContain('Secure');
    } finally {
      server.close();
    }
    expect(() => loadConfig({ CONSOLE_SESSION_SECRET: 'short' })).toThrow(/CONSOLE_SESSION_SECRET/);
  });

  it('lets Bull Board and /admin/stats use the session; a viewer gets a read-only board', async () => {
    expect((await admin.get('/admin/stats')).status).toBe(200);
    expect((await admin.get('/admin/queues')).status).toBe(200);
    expect((await viewer.get('/admin/stats')).status).toBe(200);
    const board = await viewer.get('/admin/queues');
    expect(board.status).toBe(200);
    expect(board.text).toContain('read-only');
    const retry = await viewer.request('/admin/queues/api/queues/generation/retry/failed', { method: 'PUT', headers: { origin: p.url } });
    expect(retry.status).toBe(403);
    expect(JSON.parse(retry.text).code).toBe('forbidden');
    // Without a session or key: the Basic challenge, as before.
    const anonymous = await fetch(`${p.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
  });

  /** Every form of the console, posted confirmed, with what must not have changed when it was refused. */
  const forms = (): { path: string; form: Record<string, string>; unchanged: () => Promise<boolean> }[] => [
    {
      path: '/console/campaigns/new',
      form: { name: 'Viewer made this' },
      unchanged: async () => (await p.platform.db.query("select 1 from campaigns where name = 'Viewer made this'")).rowCount === 0,
    },
    {
      path: `/console/campaigns/${campaignId}/generate`,
      form: { count: '10' },
      unchanged: async () => (await p.platform.db.query('select 1 from generations where campaign_id = $1', [campaignId])).rowCount === 1,
    },
    {
      path: `/console/campaigns/${campaignId}/export`,
      form: { status: '' },
      unchanged: async () => (await p.platform.db.query('select 1 from exports')).rowCount === 0,
    },
    {
      path: `/console/campaigns/${campaignId}/disable`,
      form: {},
      unchanged: async () => (await p.call(`/v1/campaigns/${campaignId}`)).body.active === true,
    },
    {
      path: `/console/campaigns/${campaignId}/enable`,
      form: {},
      unchanged: async () =>
        (await p.call(`/v1/campaigns/${campaignId}`)).body.updated_at === (await p.call(`/v1/campaigns/${campaignId}`)).body.created_at,
    },
    {
      path: `/console/codes/${code}/disable`,
      form: { reason: 'x' },
      unchanged: async () => (await p.call(`/v1/vouchers/${code}`)).body.active === true,
    },
    {
      path: `/console/codes/${code}/enable`,
      form: {},
      unchanged: async () => (await p.call(`/v1/vouchers/${code}/events`)).body.data.every((e: { type: string }) => e.type !== 'enabled'),
    },
    {
      path: `/console/webhook-deliveries/${deliveryId}/retry`,
      form: {},
      unchanged: async () => (await p.call(`/v1/webhook-deliveries/${deliveryId}`)).body.status === 'succeeded',
    },
    {
      path: `/console/webhooks/${endpointId}/replay`,
      form: { since: '2020-01-01T00:00' },
      unchanged: async () =>
        (await p.platform.queues.get('webhook').getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).every(
          (j) => j.name !== 'webhook.replay',
        ),
    },
  ];

  it("shows a campaign's conditions, discount and stacking in words, escaped, and no raw JSON", async () => {
    const segment = await p.call('/v1/segments', {
      method: 'POST',
      json: { name: 'gold', when: { field: 'customer.metadata.tier', op: 'eq', value: 'gold' } },
    });
    expect(segment.status).toBe(201);
    const shoes = { categories: ['shoes<b>'] };
    const created = await p.call('/v1/campaigns', {
      method: 'POST',
      json: {
        name: 'Console rules',
        code_config: { pattern: 'RUL-####' },
        rules: {
          conditions: [
            {
              name: 'members-only',
              when: { all: [{ field: 'customer.segment', op: 'eq', value: 'gold' }, { items: { match: shoes, min_quantity: 2 } }] },
              message: 'This code is for members.',
            },
            { name: 'weekends', when: { field: 'now.day_of_week', op: 'in', value: [6, 7] } },
          ],
          discount: { type: 'percent', value: 20, max_amount: 3000, currency: 'EUR', apply_to: { items: { match: shoes } } },
          stacking: { priority: 10, exclusive_group: 'percent' },
        },
      },
    });
    expect(created.status).toBe(201);
    const page = await admin.get(`/console/campaigns/${created.body.id}`);
    expect(page.status).toBe(200);
    const section = /<section id="rules"[\s\S]*?<\/section>/.exec(page.text)?.[0] ?? '';
    expect(section).toContain('category “shoes&lt;b&gt;”');
    const text = pageText(section);
    for (const words of [
      'All 2 conditions must hold:',
      'Members only: the customer is in segment “gold”, and the order has at least 2 items in category “shoes<b>”. Refused with: “This code is for members.”',
      'Weekends: the day is Saturday or Sunday.',
      '20 % off matching lines (category “shoes<b>”), at most €30.00 (EUR orders only).',
      'Stacking: combines with other codes, but never with another code of group “percent”; priority 10 (higher applies first).',
    ])
      expect(text).toContain(words);
    expect(text).not.toMatch(/[{}[\]]|"\w+":/);
  });

  it('refuses every form to a viewer key (403), and changes nothing', async () => {
    const csrf = await viewer.csrf();
    for (const { path, form, unchanged } of forms()) {
      const page = await viewer.get(path);
      expect(page.status, path).toBe(403);
      const refused = await viewer.post(path, { ...form, _csrf: csrf, _confirmed: 'yes', _idempotency: 'v1' });
      expect(refused.status, path).toBe(403);
      expect(pageText(refused.text), path).toContain('A viewer key can read but not change anything.');
      expect(await unchanged(), path).toBe(true);
    }
    // And it sees no form on the pages it reads.
    const campaignPage = await viewer.get(`/console/campaigns/${campaignId}`);
    expect(campaignPage.status).toBe(200);
    expect(campaignPage.text).not.toContain('name="_idempotency"');
  });

  it('refuses a form without its CSRF token, or posted from another site, and changes nothing', async () => {
    for (const { path, form, unchanged } of forms()) {
      const missing = await admin.post(path, { ...form, _confirmed: 'yes' });
      expect(missing.status, path).toBe(403);
      expect(missing.text, path).toContain('data-code="csrf_token_invalid"');
      const csrf = await admin.csrf();
      const crossSite = await admin.post(path, { ...form, _csrf: csrf, _confirmed: 'yes' }, 'https://evil.example');
      expect(crossSite.status, path).toBe(303);
      expect(crossSite.headers.get('location'), path).toMatch(/^\/console\/login/);
      expect(await unchanged(), path).toBe(true);
    }
  });

  it('shows bad input with the same problem the API answers', async () => {
    const csrf = await admin.csrf();
    const cases: { path: string; form: Record<string, string>; api: () => Promise<{ status: number; body: any }> }[] = [
      {
        path: `/console/campaigns/${campaignId}/generate`,
        form: { count: '0' },
        api: () => p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 0 } }),
      },
      {
        path: `/console/campaigns/${campaignId}/generate`,
        form: { count: 'lots' },
        api: () => p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 'lots' } }),
      },
      {
        path: `/console/campaigns/${campaignId}/generate`,
        form: { count: '60000000' },
        api: () => p.call(`/v1/campaigns/${campaignId}/generations`, { method: 'POST', json: { count: 60_000_000 } }),
      },
      {
        path: '/console/campaigns/new',
        form: { name: 'x', pattern: 'NOHASH' },
        api: () => p.call('/v1/campaigns', { method: 'POST', json: { name: 'x', code_config: { pattern: 'NOHASH' } } }),
      },
      {
        path: '/console/campaigns/new',
        form: { name: 'x', timezone: 'Mars/Olympus' },
        api: () => p.call('/v1/campaigns', { method: 'POST', json: { name: 'x', timezone: 'Mars/Olympus' } }),
      },
      {
        path: `/console/webhooks/${endpointId}/replay`,
        form: { since: '2999-01-01T00:00' },
        api: () => p.call(`/v1/webhooks/${endpointId}/replay`, { method: 'POST', json: { since: '2999-01-01T00:00:00Z' } }),
      },
      {
        path: '/console/codes/NO-SUCH-CODE/disable',
        form: {},
        api: () => p.call('/v1/vouchers/NO-SUCH-CODE/disable', { method: 'POST', json: {} }),
      },
    ];
    for (const { path, form, api } of cases) {
      const expected = await api();
      expect(expected.status, path).toBeGreaterThanOrEqual(400);
      const shown = await admin.post(path, { ...form, _csrf: csrf, _confirmed: 'yes' });
      expect(shown.status, path).toBe(expected.status);
      expect(shown.text, path).toContain(`data-code="${expected.body.code}"`);
      const text = pageText(shown.text);
      expect(text, path).toContain(expected.body.detail);
      for (const error of expected.body.errors ?? []) expect(text, path).toContain(`${error.field} : ${error.message}`);
    }
    // The unconfirmed step refuses bad input the same way, before asking anything.
    const early = await admin.post(`/console/campaigns/${campaignId}/generate`, { count: '0', _csrf: csrf });
    expect(early.status).toBe(400);
    expect(early.text).not.toContain('class="confirm"');
  });

  it('asks before it acts, then runs the API operation once per form (the form carries an Idempotency-Key)', async () => {
    const csrf = await admin.csrf();
    const before = await rows('generations');
    const ask = await admin.post(`/console/campaigns/${campaignId}/generate`, { count: '1,500', _csrf: csrf, _idempotency: 'form-1' });
    expect(ask.status).toBe(200);
    expect(pageText(ask.text)).toContain('Generate 1,500 more codes for “Console”?');
    expect(await rows('generations')).toBe(before);
    const run = () =>
      admin.post(`/console/campaigns/${campaignId}/generate`, { count: '1500', _csrf: csrf, _idempotency: 'form-1', _confirmed: 'yes' });
    const [first, second] = await Promise.all([run(), run()]);
    expect(first.status).toBe(303);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(await rows('generations')).toBe(before + 1);
    const generationId = new URL(first.headers.get('location') as string, p.url).searchParams.get('generation');
    await waitFor(async () => (await p.call(`/v1/generations/${generationId}`)).body.status === 'completed');
    const row = await admin.get(`/console/generations/${generationId}/row`);
    expect(pageText(row.text)).toContain('1,500 of 1,500');
    expect(row.text).not.toContain('hx-trigger'); // finished: it stops polling

    // Disable and enable the code, with a reason that lands in its history.
    const disabled = await admin.post(`/console/codes/${code.toLowerCase()}/disable`, { reason: 'leaked', _csrf: csrf, _confirmed: 'yes' });
    expect(disabled.status).toBe(303);
    expect((await p.call(`/v1/vouchers/${code}`)).body.active).toBe(false);
    const history = await admin.get(disabled.headers.get('location') as string);
    expect(pageText(history.text)).toContain('reason: leaked');
  });

  it('ends a session when its key is revoked, and at logout', async () => {
    const key = await newKey('admin');
    const c = new ConsoleClient(p.url);
    await c.login(key.key);
    expect((await c.get('/console/campaigns')).status).toBe(200);
    expect((await p.call(`/v1/api-keys/${key.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await c.get('/console/campaigns')).headers.get('location')).toMatch(/^\/console\/login/);
    expect((await c.get('/admin/stats')).status).toBe(401);
    // A live row polling after its session ended sends the page to the login instead of swapping it in.
    const poll = await c.request('/console/generations/00000000-0000-4000-8000-000000000000/row', {
      headers: { 'HX-Request': 'true', 'HX-Current-URL': `${p.url}/console/campaigns/${campaignId}` },
    });
    expect(poll.status).toBe(401);
    expect(poll.headers.get('hx-redirect')).toBe(`/console/login?next=${encodeURIComponent(`/console/campaigns/${campaignId}`)}`);

    const other = new ConsoleClient(p.url);
    await other.login(p.apiKey);
    const cookie = other.cookie;
    const out = await other.post('/console/logout', { _csrf: await other.csrf() });
    expect(out.status).toBe(303);
    const replayed = new ConsoleClient(p.url);
    replayed.cookie = cookie;
    expect((await replayed.get('/console/campaigns')).status).toBe(303);
  });

  it('refuses a viewer key every state-changing /v1 operation (403) and allows every read', async () => {
    const document = (await p.call('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const fill = (path: string) =>
      path
        .replace('{id}', '00000000-0000-4000-8000-000000000000')
        .replace('{code}', 'NOPE')
        .replace('{queue}', 'generation')
        .replace(/\{[^}]+\}/g, 'x');
    let changes = 0;
    let reads = 0;
    for (const [path, methods] of Object.entries(document.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const method of Object.keys(methods)) {
        const res = await fetch(`${p.url}${fill(path)}`, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${viewerKey}`, 'content-type': 'application/json' },
          body: method === 'get' ? undefined : '{}',
        });
        const body = await res.text();
        if (method === 'get') {
          reads++;
          expect(res.status, `GET ${path}`).not.toBe(403);
        } else {
          changes++;
          expect(res.status, `${method.toUpperCase()} ${path}`).toBe(403);
          expect(JSON.parse(body).code).toBe('forbidden');
        }
      }
    }
    expect(changes).toBeGreaterThan(20);
    expect(reads).toBeGreaterThan(15);
  });

  it('counts refusals per reason per day in the refusal transaction, and guesses of unknown codes installation-wide', async () => {
    const fresh = (await p.call(`/v1/campaigns/${campaignId}/vouchers?limit=5`)).body.data.map((v: { code: string }) => v.code) as string[];
    const [a, b] = fresh.slice(1) as [string, string];
    await p.call(`/v1/vouchers/${a}/disable`, { method: 'POST', json: {} });
    for (let i = 0; i < 3; i++) expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: a } })).body.code).toBe('disabled');
    await p.call(`/v1/campaigns/${campaignId}`, { method: 'PATCH', json: { rules: { redemption: { per_code_limit: 1 } } } });
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: b } })).status).toBe(201);
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: b } })).body.code).toBe('quantity_exceeded');
    for (let i = 0; i < 4; i++) {
      expect((await p.call('/v1/validations', { method: 'POST', json: { code: `NOPE-${i}` } })).body.valid).toBe(false);
    }
    const read = async () => {
      const page = pageText((await admin.get(`/console/campaigns/${campaignId}`)).text);
      const guesses = pageText((await admin.get('/console/campaigns')).text);
      return { page, guesses };
    };
    const before = await read();
    expect(before.page).toContain('Refused redemptions per day, by reason (4 refusals in 30 days)');
    expect(before.page).toMatch(/Day disabled quantity exceeded .* 3 1/);
    await waitFor(async () => (await read()).guesses.includes('(4 failed lookups in 30 days)'), 10_000);
    // Folding moves the deltas into the rollup without changing a count.
    expect(await foldAllStatDeltas(p.platform.db)).toBeGreaterThan(0);
    expect(await rows('campaign_refusal_deltas')).toBe(0);
    expect((await read()).page).toContain('(4 refusals in 30 days)');
    // The list's counters (lifetime totals kept by the fold, plus what is pending) agree with the API's stats.
    const listed = async () => {
      const html = (await admin.get('/console/campaigns')).text;
      const row = html.slice(html.indexOf(`data-campaign="${campaignId}"`));
      return pageText(row.slice(0, row.indexOf('</tr>')));
    };
    const stats = (await p.call(`/v1/campaigns/${campaignId}/stats`)).body;
    const expected = `${stats.generated.toLocaleString('en-US')} ${stats.published} ${stats.redeemed_codes} ${stats.redeemed_uses}`;
    expect(await listed()).toContain(expected);
    expect((await p.call('/v1/redemptions', { method: 'POST', json: { code: fresh[4] } })).status).toBe(201);
    const pendingOne = `${stats.generated.toLocaleString('en-US')} ${stats.published} ${stats.redeemed_codes + 1} ${stats.redeemed_uses + 1}`;
    expect(await listed()).toContain(pendingOne);
    await foldAllStatDeltas(p.platform.db);
    expect(await listed()).toContain(pendingOne);
  });
});
