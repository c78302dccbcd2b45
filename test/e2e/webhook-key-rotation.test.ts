import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { type Running, run } from '../../src/main/runtime.ts';
import { reencryptWebhookSecrets } from '../../src/webhooks/secret-rotation.ts';
import { decryptSecret } from '../../src/webhooks/secrets.ts';
import { emitTestEvent } from '../support/events.ts';
import { apiCall, dropIsolation, type Isolation, isolation, waitFor } from '../support/platform.ts';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

// Changing WEBHOOK_SECRET_ENCRYPTION_KEY: the old key moves to WEBHOOK_SECRET_ENCRYPTION_KEY_PREVIOUS, a restart
// re-encrypts every stored secret under the new one, and the old key can then be dropped.
describe('webhook secret encryption key change', () => {
  const oldKey = randomBytes(32).toString('hex');
  const newKey = randomBytes(32).toString('base64');
  let iso: Isolation;
  let running: Running | undefined;
  let r: WebhookReceiver;
  const start = async (env: Record<string, string>) => {
    running = await run(loadConfig({ ...iso.env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', OUTBOX_RELAY_INTERVAL_MS: '200', ...env }), {
      api: true,
      workers: true,
    });
    return running;
  };
  const storedSecret = async (platform: Running['platform']) =>
    (await platform.db.query<{ s: string }>('select secret_encrypted as s from webhook_endpoints')).rows[0]?.s as string;

  beforeAll(async () => {
    iso = isolation();
    r = await startReceiver();
  });
  afterAll(async () => {
    await running?.stop();
    await r?.close();
    if (iso) await dropIsolation(iso);
  });

  it('re-encrypts stored secrets on restart and keeps signing with the same secret', async () => {
    const first = await start({ WEBHOOK_SECRET_ENCRYPTION_KEY: oldKey });
    const created = await apiCall(first.url as string, iso.apiKey, '/v1/webhooks', {
      method: 'POST',
      json: { url: `${r.url}/hooks`, events: ['rotation.*'] },
    });
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    const underOld = await storedSecret(first.platform);
    expect(decryptSecret(Buffer.from(oldKey, 'hex'), underOld)).toBe(secret);
    await first.stop();

    // New key, old key kept as previous: the restart re-encrypts.
    const second = await start({ WEBHOOK_SECRET_ENCRYPTION_KEY: newKey, WEBHOOK_SECRET_ENCRYPTION_KEY_PREVIOUS: oldKey });
    const underNew = await storedSecret(second.platform);
    expect(underNew).not.toBe(underOld);
    expect(decryptSecret(Buffer.from(newKey, 'base64'), underNew)).toBe(secret);
    // Running it again (another process starting) changes nothing.
    expect(await reencryptWebhookSecrets(second.platform.db, second.platform.config, second.platform.logger)).toEqual({
      reencrypted: 0,
      unreadable: 0,
    });
    await second.stop();

    // The old key gone: deliveries are still signed with the endpoint's unchanged secret.
    const third = await start({ WEBHOOK_SECRET_ENCRYPTION_KEY: newKey });
    expect(await storedSecret(third.platform)).toBe(underNew);
    await emitTestEvent(third.platform.db, 'rotation.done', { ok: true });
    const got = await waitFor(async () => r.received[0], 30_000, 20);
    expect(new Webhook(secret).verify(got.body, got.headers as Record<string, string>)).toMatchObject({ type: 'rotation.done' });
  });
});
