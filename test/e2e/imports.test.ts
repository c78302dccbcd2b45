import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskCode } from '../../src/shared/logger.ts';
import { type ApiResult, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';
import { uniqueName } from '../support/vouchers.ts';

/** Issue 15: importing existing codes through POST /v1/campaigns/{id}/imports, CSV or JSON, with a per-row report. */
describe('imports of existing codes', { timeout: 120_000 }, () => {
  let p: TestPlatform;

  beforeAll(async () => {
    // Small chunks, so a few rows already span several chunk jobs.
    p = await startTestPlatform({ env: { IMPORT_CHUNK_SIZE: '4', IMPORT_MAX_ROWS: '1000', IMPORT_JSON_BODY_LIMIT: '64kb' } });
  });
  afterAll(async () => {
    await p?.destroy();
  });

  async function campaign(body: Record<string, unknown> = {}): Promise<string> {
    const res = await p.call('/v1/campaigns', { method: 'POST', json: { name: uniqueName('imported'), ...body } });
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

  function postJson(campaignId: string, json: unknown, query = '', headers: Record<string, string> = {}): Promise<ApiResult> {
    return p.call(`/v1/campaigns/${campaignId}/imports${query}`, { method: 'POST', headers, json });
  }

  async function finished(id: string) {
    return waitFor(async () => {
      const res = await p.call(`/v1/imports/${id}`);
      return res.body.status === 'completed' || res.body.status === 'failed' ? res.body : undefined;
    });
  }

  async function imported(res: ApiResult) {
    expect(res.status).toBe(202);
    return finished(res.body.id);
  }

  async function report(id: string): Promise<Record<string, string>[]> {
    const res = await p.api(`/v1/imports/${id}/errors`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain(`import-${id}-errors.csv`);
    return parseCsv(await res.text(), { columns: true });
  }

  const voucher = async (code: string) => (await p.call(`/v1/vouchers/${encodeURIComponent(code)}`)).body;
  const count = async (sql: string, params: unknown[]) => Number((await p.platform.db.query<{ n: number }>(sql, params)).rows[0]?.n);

  it('imports a CSV: 202 with a Location, progress to completed, the codes written once with their fields', async () => {
    const id = await campaign({ code_config: { prefix: 'MIG-', length: 6, charset: 'alphanumeric' } });
    const csv = [
      'Code,Active,Redemption Quantity,Redeemed Quantity,Start Date,Expiration Date,metadata,metadata.channel',
      'mig-aaa111,true,5,2,2020-01-01T00:00:00Z,2099-01-01T00:00:00+02:00,"{""tier"":""gold""}",partner',
      'MIG-BBB222,false,,,,,,',
      ' MIG-CCC333 ,,unlimited,7,,,,',
      'MIG-DDD444,,,,,,,',
      'MIG-EEE555,,,,,2020-06-01T00:00:00Z,,',
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
      progress: { received: 5, imported: 0, rejected: 0, percent: 0 },
      chunk_count: 2,
      errors_url: `/v1/imports/${res.body.id}/errors`,
    });
    const done = await finished(res.body.id);
    expect(done).toMatchObject({ status: 'completed', progress: { received: 5, imported: 5, rejected: 0, percent: 100 }, error: null });
    expect(done.finished_at).not.toBeNull();
    expect(await report(res.body.id)).toEqual([]);

    expect(await voucher('MIG-AAA111')).toMatchObject({
      campaign_id: id,
      import_id: res.body.id,
      status: 'active',
      active: true,
      redemption_count: 2,
      rules: { redemption: { per_code_limit: 5 } },
      start_date: '2020-01-01T00:00:00.000Z',
      expiration_date: '2098-12-31T22:00:00.000Z',
      metadata: { tier: 'gold', channel: 'partner' },
    });
    expect(await voucher('mig-bbb222')).toMatchObject({ active: false, redemption_count: 0, rules: {}, metadata: {} });
    expect(await voucher('MIG-CCC333')).toMatchObject({ redemption_count: 7, rules: { redemption: { per_code_limit: null } } });
    // Already past its expiration date: imported as expired, refused as expired.
    expect(await voucher('MIG-EEE555')).toMatchObject({ status: 'expired' });
    const validation = await p.call('/v1/validations', { method: 'POST', json: { code: 'MIG-EEE555' } });
    expect(validation.body).toMatchObject({ valid: false, reason: 'expired' });

    // A lifecycle entry for each code that brought state along; none for a plain code (its import_id says where from).
    const events = async (code: string) => (await p.call(`/v1/vouchers/${code}/events`)).body.data;
    expect(await events('MIG-AAA111')).toEqual([
      expect.objectContaining({ type: 'imported', details: { import_id: res.body.id, redeemed_quantity: 2 } }),
    ]);
    expect(await events('MIG-BBB222')).toEqual([
      expect.objectContaining({ type: 'imported', details: { import_id: res.body.id, active: false } }),
    ]);
    expect(await events('MIG-EEE555')).toEqual([
      expect.objectContaining({ type: 'imported', details: { import_id: res.body.id, status: 'expired' } }),
    ]);
    expect(await events('MIG-DDD444')).toEqual([]);
    expect((await p.call(`/v1/campaigns/${id}`)).body.issued_count).toBe(5);

    // One outcome event for the whole import, with its counts; no event per code.
    await waitFor(
      async () => (await count(`select count(*)::int as n from outbox_events where type = 'campaign.import.completed'`, [])) > 0,
    );
    const outcome = await p.platform.db.query(
      `select data from outbox_events where type like 'campaign.import.%' and data->>'import_id' = $1`,
      [res.body.id],
    );
    expect(outcome.rows.map((r) => r.data)).toEqual([
      expect.objectContaining({ import_id: res.body.id, campaign_id: id, status: 'completed', received: 5, imported: 5, rejected: 0 }),
    ]);
    expect(await count(`select count(*)::int as n from outbox_events where type = 'voucher.created'`, [])).toBe(0);
  });

  it('rejects each bad CSV row with its reason, row and line in the error report, and imports the rest', async () => {
    const id = await campaign({ code_config: { prefix: 'REJ-', length: 4, charset: 'numbers' } });
    const other = await campaign({ name: 'other' });
    const taken = await p.call('/v1/vouchers', { method: 'POST', json: { campaign_id: other, code: 'REJ-9999' } });
    expect(taken.status).toBe(201);
    const columns = [
      'code',
      'active',
      'redemption_quantity',
      'redeemed_quantity',
      'start_date',
      'expiration_date',
      'metadata',
      'metadata.note',
      'holder',
    ];
    const row = (cells: Record<string, string>) => columns.map((c) => cells[c] ?? '');
    const rows = [
      row({ code: 'REJ-0001' }),
      row({ code: 'REJ-0002' }),
      row({ code: 'REJ-0002' }),
      row({}),
      row({ code: 'REJ 0005' }),
      row({ code: 'ABC-1234' }),
      row({ code: 'REJ-9999' }),
      row({ code: 'REJ-0008', active: 'maybe' }),
      row({ code: 'REJ-0009', redemption_quantity: '0' }),
      row({ code: 'REJ-0010', redemption_quantity: '2', redeemed_quantity: '-1' }),
      row({ code: 'REJ-0011', redemption_quantity: '2', redeemed_quantity: '3' }),
      row({ code: 'REJ-0012', start_date: 'yesterday' }),
      row({ code: 'REJ-0013', start_date: '2026-02-01T00:00:00Z', expiration_date: '2026-01-01T00:00:00Z' }),
      row({ code: 'REJ-0014', metadata: '[1,2]' }),
      row({ code: 'REJ-0015', holder: 'x'.repeat(201) }),
      [...row({ code: 'REJ-0016' }), 'one too many'],
      row({ code: 'REJ-0001' }),
      row({ code: 'REJ-0018', 'metadata.note': 'two\nlines' }),
      row({ code: 'REJ-0019', expiration_date: '2026-13-01T00:00:00Z' }),
    ];
    const csv = stringifyCsv([columns, ...rows]);
    const done = await imported(await postCsv(id, csv));
    expect(done).toMatchObject({ status: 'completed', progress: { received: 19, imported: 3, rejected: 16 } });

    const errors = await report(done.id);
    const byRow = Object.fromEntries(errors.map((e) => [e.row, e]));
    const expected: Record<string, string> = {
      '3': 'code_duplicated',
      '4': 'code_missing',
      '5': 'code_invalid',
      '6': 'code_shape_mismatch',
      '7': 'code_exists',
      '8': 'active_invalid',
      '9': 'quantity_invalid',
      '10': 'redeemed_quantity_invalid',
      '11': 'redeemed_quantity_above_quantity',
      '12': 'date_invalid',
      '13': 'date_range_invalid',
      '14': 'metadata_invalid',
      '15': 'holder_invalid',
      '16': 'row_invalid',
      '19': 'date_invalid',
    };
    for (const [row, reason] of Object.entries(expected)) expect(byRow[row], `row ${row}`).toMatchObject({ reason });
    // The same code in rows 1 and 17, in different chunks: exactly one is imported, the other reported.
    const crossChunk = errors.filter((e) => e.row === '1' || e.row === '17');
    expect(crossChunk).toHaveLength(1);
    expect(crossChunk[0]).toMatchObject({ reason: 'code_duplicated', message: 'Another row of this import has the same code.' });
    expect(errors.map((e) => Number(e.row))).toEqual([...errors.map((e) => Number(e.row))].sort((a, b) => a - b));
    expect(byRow['3']).toMatchObject({ line: '4', code: maskCode('REJ-0002'), message: 'The same code as row 2.' });
    expect(byRow['4']).toMatchObject({ code: '' });
    expect(byRow['6']?.message).toContain('template REJ-####');
    expect(byRow['6']?.message).not.toContain('ABC');
    // Row 18 spans two lines (a quoted line break), so row 19 starts on line 21.
    expect(byRow['19']).toMatchObject({ line: '21' });
    for (const e of errors) expect(e.code === '' || (e.code ?? '').includes('*')).toBe(true);

    for (const code of ['REJ-0001', 'REJ-0002', 'REJ-0018']) expect(await voucher(code)).toMatchObject({ campaign_id: id });
    expect((await voucher('REJ-0018')).metadata).toEqual({ note: 'two\nlines' });
    expect(await count('select count(*)::int as n from vouchers where campaign_id = $1', [id])).toBe(3);
    expect((await voucher('REJ-9999')).campaign_id).toBe(other);
  });

  it('imports a JSON array, rejecting bad elements by reason, and takes codes of any shape with code_shape=any', async () => {
    const id = await campaign({ code_config: { pattern: 'ONLY-####' } });
    const body = [
      { code: 'j-1', redemption: { quantity: 3, redeemed_quantity: 1 }, holder: 'cust-j1', metadata: { a: 1 } },
      { code: 'J-2', foo: 1 },
      'J-3',
      { code: 'J-4', redemption: { quantity: 0 } },
      { code: 'J-5', metadata: [1] },
      { code: 'J-6', holder: 42 },
      { code: 'J-7', start_date: '2026-01-01' },
      { code: 'J-8', holder: { id: 'cust-j8', email: 'j8@example.com', name: 'J Eight' } },
      { active: true },
      { code: 12 },
      { code: 'J-11', redemption: { redeemed_quantity: 2 }, expiration_date: null },
      { code: 'J-12', metadata: { note: 'a\u0000b' } },
    ];
    const strict = await imported(await postJson(id, body));
    expect(strict).toMatchObject({ source: 'json', code_shape: 'campaign', progress: { received: 12, imported: 0, rejected: 12 } });
    expect((await report(strict.id)).filter((e) => e.reason === 'code_shape_mismatch').map((e) => e.row)).toEqual(['1', '8', '11', '12']);

    const done = await imported(await postJson(id, body, '?code_shape=any'));
    expect(done).toMatchObject({ code_shape: 'any', progress: { received: 12, imported: 3, rejected: 9 } });
    expect((await report(done.id)).map((e) => [e.row, e.line, e.reason])).toEqual([
      ['2', '', 'field_unknown'],
      ['3', '', 'row_invalid'],
      ['4', '', 'quantity_invalid'],
      ['5', '', 'metadata_invalid'],
      ['6', '', 'holder_invalid'],
      ['7', '', 'date_invalid'],
      ['9', '', 'code_missing'],
      ['10', '', 'code_invalid'],
      ['12', '', 'metadata_invalid'],
    ]);
    expect(await voucher('J-1')).toMatchObject({ redemption_count: 1, holder_customer_id: 'cust-j1', metadata: { a: 1 } });
    expect(await voucher('J-8')).toMatchObject({ holder_customer_id: 'cust-j8' });
    const customer = await p.platform.db.query('select email, name from customers where id = $1', ['cust-j8']);
    expect(customer.rows[0]).toEqual({ email: 'j8@example.com', name: 'J Eight' });
    // redeemed_quantity without quantity: the campaign's limit (1) applies, and the code arrived used up.
    expect(await voucher('J-11')).toMatchObject({ redemption_count: 2, rules: {} });
    const redeemed = await p.call('/v1/redemptions', { method: 'POST', json: { code: 'J-11' } });
    expect(redeemed).toMatchObject({ status: 422, body: { code: 'quantity_exceeded' } });
  });

  it('keeps half-used codes half-used: they refuse at the right count, and stats count their uses once', async () => {
    const id = await campaign({ code_config: { prefix: 'H-', length: 3, charset: 'numbers' } });
    const csv = 'code,redemption_quantity,redeemed_quantity\nH-001,3,2\nH-002,unlimited,5\nH-003,,\nH-004,2,0\n';
    const done = await imported(await postCsv(id, csv));
    expect(done.progress).toMatchObject({ imported: 4, rejected: 0 });

    const validation = await p.call('/v1/validations', { method: 'POST', json: { code: 'H-001' } });
    expect(validation.body).toMatchObject({ valid: true, voucher: { redemption: { per_code_limit: 3, redeemed: 2, remaining: 1 } } });
    const redeem = (code: string) => p.call('/v1/redemptions', { method: 'POST', json: { code } });
    const third = await redeem('H-001');
    expect(third.status).toBe(201);
    expect(await redeem('H-001')).toMatchObject({ status: 422, body: { code: 'quantity_exceeded' } });
    expect((await redeem('H-002')).status).toBe(201);
    expect((await voucher('H-002')).redemption_count).toBe(6);

    const stats = async () => (await p.call(`/v1/campaigns/${id}/stats`)).body;
    // Imported uses 2 + 5, live uses 2; codes with any use: H-001 and H-002 (their first use here is not a new code).
    expect(await stats()).toMatchObject({ generated: 4, redeemed_uses: 9, redeemed_codes: 2, active: 4 });
    expect((await redeem('H-003')).status).toBe(201);
    expect(await stats()).toMatchObject({ redeemed_uses: 10, redeemed_codes: 3 });
    // Rolling back H-001's use here leaves it a redeemed code (it still has the uses it brought).
    expect((await p.call(`/v1/redemptions/${third.body.id}/rollback`, { method: 'POST', json: {} })).status).toBe(200);
    expect(await stats()).toMatchObject({ redeemed_uses: 9, redeemed_codes: 3, rolled_back: 1 });
    expect((await voucher('H-001')).redemption_count).toBe(2);
  });

  it('publishes a code with a holder to that customer: holder, publication row, holder_only, join_once, stats', async () => {
    const id = await campaign({ code_config: { prefix: 'K-', length: 3, charset: 'numbers' }, rules: { holder_only: true } });
    expect((await p.call(`/v1/campaigns/${id}/publishing`, { method: 'PUT', json: { join_once: true } })).status).toBe(200);
    const csv = 'code,holder\nK-001,cust-k\nK-002,cust-k\nK-003,cust-m\nK-004,\n';
    const done = await imported(await postCsv(id, csv));
    expect(done.progress).toMatchObject({ imported: 4, rejected: 0 });
    expect(await voucher('K-001')).toMatchObject({ holder_customer_id: 'cust-k' });
    const pubs = await p.platform.db.query<{ code: string; customer_id: string; join_once: boolean; channel: string }>(
      'select code, customer_id, join_once, channel from publications where campaign_id = $1 order by code',
      [id],
    );
    expect(pubs.rows).toEqual([
      { code: 'K-001', customer_id: 'cust-k', join_once: true, channel: 'none' },
      { code: 'K-002', customer_id: 'cust-k', join_once: false, channel: 'none' },
      { code: 'K-003', customer_id: 'cust-m', join_once: true, channel: 'none' },
    ]);
    expect(await count('select count(*)::int as n from customers where id = any($1)', [['cust-k', 'cust-m']])).toBe(2);
    expect(
      await count(`select count(*)::int as n from outbox_events where type = 'voucher.published' and data->>'campaign_id' = $1`, [id]),
    ).toBe(0);

    // holder_only: the holder may use it, anyone else is told it does not exist.
    const validate = (customer: string) =>
      p.call('/v1/validations', { method: 'POST', json: { code: 'K-003', customer: { id: customer } } });
    expect((await validate('cust-m')).body).toMatchObject({ valid: true });
    expect((await validate('cust-x')).body).toMatchObject({ valid: false, reason: 'not_found' });
    // join_once: cust-k already holds a code of the campaign, so publishing to them returns it instead of another.
    const again = await p.call('/v1/publications', { method: 'POST', json: { campaign_id: id, customer: { id: 'cust-k' } } });
    expect(again).toMatchObject({ status: 200, body: { code: 'K-001' } });
    expect((await p.call(`/v1/campaigns/${id}/stats`)).body).toMatchObject({ generated: 4, published: 3 });
  });

  it('honours Idempotency-Key: a repeat, or concurrent requests with one key, give one import', async () => {
    const id = await campaign({ code_config: { prefix: 'I-', length: 3, charset: 'numbers' } });
    const csv = 'code\nI-001\nI-002\nI-003\n';
    const first = await postCsv(id, csv, '', { 'idempotency-key': 'import-once' });
    const again = await postCsv(id, csv, '', { 'idempotency-key': 'import-once' });
    expect(again).toMatchObject({ status: 202, body: { id: first.body.id } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    await finished(first.body.id);

    const raced = await Promise.all(
      Array.from({ length: 6 }, () => postCsv(id, 'code\nI-101\nI-102\n', '', { 'idempotency-key': 'import-race' })),
    );
    expect(new Set(raced.map((r) => r.status))).toEqual(new Set([202]));
    expect(new Set(raced.map((r) => r.body.id)).size).toBe(1);
    expect(raced.filter((r) => r.headers.get('idempotent-replayed') === 'false')).toHaveLength(1);
    const done = await finished(raced[0]?.body.id);
    expect(done.progress).toMatchObject({ imported: 2, rejected: 0 });
    expect(await count('select count(*)::int as n from imports where campaign_id = $1', [id])).toBe(2);
    expect(await count('select count(*)::int as n from vouchers where campaign_id = $1', [id])).toBe(5);
    // The key is scoped to the campaign: another campaign's import with it is its own.
    const elsewhere = await postCsv(await campaign({ code_config: { prefix: 'I-', length: 3 } }), 'code\nI-XYZ\n', '', {
      'idempotency-key': 'import-once',
    });
    expect(elsewhere.body.id).not.toBe(first.body.id);
  });

  it('keeps nothing of an upload the client abandons half-way, so the same Idempotency-Key then imports afresh', async () => {
    const id = await campaign({ code_config: { prefix: 'AB-', length: 4, charset: 'numbers' } });
    const abort = new AbortController();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('code\n'));
        controller.enqueue(new TextEncoder().encode(`AB-${String(sent++).padStart(4, '0')}\n`));
        // Some rows are on the wire, then the client gives up.
        if (sent === 50) abort.abort();
        await new Promise((r) => setTimeout(r, 2));
      },
    });
    const request = p.api(`/v1/campaigns/${id}/imports`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'idempotency-key': 'abandoned' },
      body,
      duplex: 'half',
      signal: abort.signal,
    } as RequestInit);
    await expect(request).rejects.toThrow();
    // The same key waits for the abandoned upload's transaction to end, then finds nothing of it.
    const again = await postCsv(id, 'code\nAB-9001\n', '', { 'idempotency-key': 'abandoned' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('false');
    expect((await finished(again.body.id)).progress).toMatchObject({ received: 1, imported: 1 });
    expect(await count('select count(*)::int as n from imports where campaign_id = $1', [id])).toBe(1);
    expect(await count('select count(*)::int as n from vouchers where campaign_id = $1', [id])).toBe(1);
  });

  it('refuses bad uploads with problem+json and a stable code, storing nothing', async () => {
    const id = await campaign();
    const before = await count('select count(*)::int as n from imports', []);
    const problems: [Promise<ApiResult>, number, string][] = [
      [postCsv('00000000-0000-4000-8000-000000000000', 'code\nX\n'), 404, 'campaign_not_found'],
      [postCsv('not-an-id', 'code\nX\n'), 404, 'campaign_not_found'],
      [postCsv(id, 'code,colour\nX,red\n'), 400, 'csv_header_invalid'],
      [postCsv(id, 'active\ntrue\n'), 400, 'csv_header_invalid'],
      [postCsv(id, 'code,code\nA,B\n'), 400, 'csv_header_invalid'],
      [postCsv(id, 'code\n"ABC\n'), 400, 'csv_invalid'],
      [postCsv(id, 'code\nAB"C\n'), 400, 'csv_invalid'],
      [postCsv(id, ''), 400, 'import_empty'],
      [postCsv(id, 'code\n'), 400, 'import_empty'],
      [postCsv(id, `code\n${Array.from({ length: 1001 }, (_, i) => `C${i}`).join('\n')}\n`), 400, 'import_too_large'],
      [postCsv(id, 'code\nX\n', '?code_shape=square'), 400, 'validation_failed'],
      [postCsv(id, 'code\nX\n', '', { 'idempotency-key': 'bad key with spaces' }), 400, 'validation_failed'],
      [postJson(id, { code: 'X' }), 400, 'validation_failed'],
      [postJson(id, []), 400, 'import_empty'],
      [
        postJson(
          id,
          Array.from({ length: 2000 }, (_, i) => ({ code: `C-${i}`, metadata: { filler: 'x'.repeat(40) } })),
        ),
        413,
        'payload_too_large',
      ],
      [
        p.call(`/v1/campaigns/${id}/imports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"code":' }),
        400,
        'invalid_json',
      ],
      [
        p.call(`/v1/campaigns/${id}/imports`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'code\nX\n' }),
        415,
        'unsupported_media_type',
      ],
      [p.call('/v1/imports/not-an-id'), 404, 'import_not_found'],
      [p.call('/v1/imports/00000000-0000-4000-8000-000000000000/errors'), 404, 'import_not_found'],
    ];
    for (const [request, status, code] of problems) {
      const res = await request;
      expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const header = await postCsv(id, 'code,colour,Metadata.\nX,red,1\n');
    expect(header.body.errors.map((e: { field: string }) => e.field)).toEqual(['colour', 'Metadata.']);
    expect(await count('select count(*)::int as n from imports', [])).toBe(before);
    expect(await count('select count(*)::int as n from import_payloads', [])).toBe(0);
  });
});
