import type { TestPlatform } from './platform.ts';

let campaigns = 0;
/** A campaign name unique within the test file (names are unique per installation, case-insensitively). */
export function uniqueName(base: string): string {
  campaigns += 1;
  return `${base} ${campaigns}`;
}

/** Creates a campaign (rules and all) and returns its id; fails the test on anything but 201. Names are unique per installation. */
export async function createCampaign(p: TestPlatform, body: Record<string, unknown> = {}): Promise<string> {
  campaigns += 1;
  const res = await p.call('/v1/campaigns', { method: 'POST', json: { name: `Test campaign ${campaigns}`, ...body } });
  if (res.status !== 201) throw new Error(`campaign: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** Creates a standalone voucher with a custom code in a campaign. */
export async function createVoucher(p: TestPlatform, campaignId: string, code: string, body: Record<string, unknown> = {}) {
  const res = await p.call('/v1/vouchers', { method: 'POST', json: { campaign_id: campaignId, code, ...body } });
  if (res.status !== 201) throw new Error(`voucher: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

let counter = 0;
/** A code unique within the test file. */
export function uniqueCode(prefix = 'T'): string {
  counter += 1;
  return `${prefix}${counter}-${Math.random().toString(36).slice(2, 8)}`.toUpperCase();
}

/** `n` codes `<prefix>-1` … `<prefix>-n` in a campaign, written straight into the table (for tests of many codes). */
export async function seedCodes(p: TestPlatform, campaignId: string, n: number, prefix = uniqueCode('S')): Promise<string[]> {
  const { rows } = await p.platform.db.query<{ code: string }>(
    `insert into vouchers (code, campaign_id) select $1 || '-' || g, $2 from generate_series(1, $3::int) g returning code`,
    [prefix, campaignId, n],
  );
  return rows.map((r) => r.code);
}
