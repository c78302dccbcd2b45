import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, spawnEntrypoint, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { freePort } from '../support/redis-server.ts';
import { createCampaign, createVoucher, uniqueCode } from '../support/vouchers.ts';

// Each API process keeps its own compiled copy of the segments: a change made through one process must be seen by
// the next validation in another (the catalogue version read with the codes).
describe('a segment changed through one API process is seen at once by another', () => {
  let p: TestPlatform;
  let other: ChildProcess;
  let otherUrl: string;
  beforeAll(async () => {
    p = await startTestPlatform({ workers: false });
    const port = await freePort();
    otherUrl = `http://127.0.0.1:${port}`;
    other = spawnEntrypoint('api', p.isolation, { PORT: String(port) });
    await waitFor(async () => (await fetch(`${otherUrl}/readyz`).catch(() => null))?.status === 200, 120_000, 50);
  }, 180_000);
  afterAll(async () => {
    if (other && other.exitCode === null && other.signalCode === null) {
      const exited = new Promise((resolve) => other.once('exit', resolve));
      other.kill('SIGTERM');
      await exited;
    }
    await p?.destroy();
  });

  it('PUT and DELETE through the first process, validations through the second', async () => {
    const viaOther = (json: unknown) => apiCall(otherUrl, p.apiKey, '/v1/validations', { method: 'POST', json });
    const when = (tiers: string[]) => ({ field: 'customer.metadata.tier', op: 'in', value: tiers });
    expect((await p.call('/v1/segments', { method: 'POST', json: { name: 'members', when: when(['gold']) } })).status).toBe(201);
    await p.call('/v1/customers/sam', { method: 'PUT', json: { metadata: { tier: 'silver' } } });
    const campaign = await createCampaign(p, {
      rules: { conditions: [{ name: 'members', when: { field: 'customer.segment', op: 'eq', value: 'members' } }] },
    });
    const code = uniqueCode('MP');
    await createVoucher(p, campaign, code);
    const body = { code, customer: { id: 'sam' } };
    expect((await viaOther(body)).body).toMatchObject({ valid: false, reason: 'rule_not_met' });
    await p.call('/v1/segments/members', { method: 'PUT', json: { when: when(['gold', 'silver']) } });
    expect((await viaOther(body)).body.valid).toBe(true);
    await p.call('/v1/segments/members', { method: 'DELETE' });
    expect((await viaOther(body)).body).toMatchObject({ valid: false, reason: 'rule_not_met' });
    await p.call('/v1/segments', { method: 'POST', json: { name: 'members', when: when(['silver']) } });
    expect((await viaOther(body)).body.valid).toBe(true);
  });
});
