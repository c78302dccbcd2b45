import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskCode } from '../../src/shared/logger.ts';
import { type ApiResult, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';

/** Issue 15: importing existing codes through POST /v1/campaigns/{id}/imports, CSV or JSON, with a per-row report. */
describe('imports of existing codes', { timeout: 120_000 }, () => {
  let p: TestPlatform;

  beforeAll(async () => {
    // Small chunks, so a few rows already span several chunk jobs.
    p = await startTestPlatform({ env: { IMPORT_CHUNK_SIZE: '4' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  async function campaign(body: Record<string, unknown> = {}): Promise<string> {
    const res = await p.call('/v1/campaigns', { method: 'POST', json: { name: 'imported', ...body } });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  function postCsv(campaignId: string, csv: string, query = '', headers: Record<string, string> = {}): Promise<ApiResult> {
    return p.call(`/v1/campaigns/${campaignId}/imports${query}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...headers },
      body: csv,
    });
  }

  async function finished(id: string) {
    return waitFor(async () => {
      const res = await p.call(`/v1/imports/${id}`);
      return res.body.status === 'completed' || res.body.status === 'failed' ? res.body : undefined;
    });
  }

  async function report(id: string): Promise<Record<string, string>[]> {
    const res = await p.api(`/v1/imports/${id}/errors`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    return parseCsv(await res.text(), { columns: true });
  }

  const voucher = async (code: string) => (await p.call(`/v1/vouchers/${encodeURIComponent(code)}`)).body;

  it('imports a CSV: 202 with a Location, progress to completed, the codes written once with their fields', async () => {
    const id = await campaign({ code_config: { prefix: 'MIG-', length: 6, charset: 'alphanumeric' } });
    const csv = [
      'Code,Active,Redemption Quantity,Redeemed Quantity,Start Date,Expiration Date,metadata,metadata.channel',
      'mig-aaa111,true,5,2,2020-01-01T00:00:00Z,2099-01-01T00:00:00+02:00,"{""tier"":""gold""}",partner',
      'MIG-BBB222,false,,,,,,',
      ' MIG-CCC333 ,,unlimited,7,,,,',
      'MIG-DDD444,,,,,,,',
      'MIG-EEE555,,,,,,,',
    ].join('\r\n');
    const res = await postCsv(id, `${csv}\r\n`);
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/imports/${res.body.id}`);
    expect(res.headers.get('idempotent-replayed')).toBe('false');
    expect(res.body).toMatchObject({
      campaign_id: id,
      status: 'queued',
      source: 'csv',
      code_shape: 'campaign',
      progress: { received: 5, imported: 0, rejected: 0 },
      chunk_count: 2,
      errors_url: `/v1/imports/${res.body.id}/errors`,
    });
    const done = await finished(res.body.id);
    expect(done).toMatchObject({ status: 'completed', progress: { received: 5, imported: 5, rejected: 0, percent: 100 } });
    expect(await report(res.body.id)).toEqual([]);

    expect(await voucher('MIG-AAA111')).toMatchObject({
      campaign_id: id,
      active: true,
      redemption_count: 2,
      rules: { redemption: { per_code_limit: 5 } },
      start_date: '2020-01-01T00:00:00.000Z',
      expiration_date: '2098-12-31T22:00:00.000Z',
      metadata: { tier: 'gold', channel: 'partner' },
    });
    expect(await voucher('mig-bbb222')).toMatchObject({ active: false, redemption_count: 0, rules: {}, metadata: {} });
    expect(await voucher('MIG-CCC333')).toMatchObject({ redemption_count: 7, rules: { redemption: { per_code_limit: null } } });
    const events = await p.call('/v1/vouchers/MIG-AAA111/events');
    expect(events.body.data).toEqual([
      expect.objectContaining({ type: 'imported', details: { import_id: res.body.id, redeemed_quantity: 2 } }),
    ]);
    const camp = await p.call(`/v1/campaigns/${id}`);
    expect(camp.body.issued_count).toBe(5);
  });
});
