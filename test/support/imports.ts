import { CodeGenerator, resolveCodeShape } from '../../src/codes/index.ts';
import { type TestPlatform, waitFor } from './platform.ts';

/** Whatever answers the API: a test platform, or a client of an API process started on its own. */
export type ApiClient = Pick<TestPlatform, 'call'>;

/** The shape of the codes the import tests bring in: another platform's codes. */
export const IMPORTED_SHAPE = { prefix: 'OLD-', length: 10 };

/** `count` distinct codes of IMPORTED_SHAPE. */
export function importableCodes(count: number): string[] {
  const generator = new CodeGenerator(resolveCodeShape(IMPORTED_SHAPE));
  const codes = new Set<string>();
  while (codes.size < count) for (const code of generator.generate(count - codes.size)) codes.add(code);
  return [...codes];
}

export async function importCampaign(p: ApiClient, name: string): Promise<string> {
  const res = await p.call('/v1/campaigns', { method: 'POST', json: { name, code_config: IMPORTED_SHAPE } });
  if (res.status !== 201) throw new Error(`campaign: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** Posts a CSV import and returns the import's id (202 expected). */
export async function postCsvImport(p: ApiClient, campaignId: string, csv: string | ReadableStream<Uint8Array>): Promise<string> {
  const res = await p.call(`/v1/campaigns/${campaignId}/imports`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: csv,
    ...(typeof csv === 'string' ? {} : { duplex: 'half' }),
  } as RequestInit);
  if (res.status !== 202) throw new Error(`import: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

export async function importView(p: ApiClient, id: string): Promise<any> {
  return (await p.call(`/v1/imports/${id}`)).body;
}

export function importFinished(p: ApiClient, id: string, timeoutMs = 120_000): Promise<any> {
  return waitFor(
    async () => {
      const i = await importView(p, id);
      return i.status === 'completed' || i.status === 'failed' ? i : undefined;
    },
    timeoutMs,
    100,
  );
}

/** Codes written by one import: how many rows, how many distinct codes. */
export async function importedCodeCounts(
  p: Pick<TestPlatform, 'platform'>,
  importId: string,
): Promise<{ total: number; distinct: number }> {
  const { rows } = await p.platform.db.query<{ total: number; distinct: number }>(
    'select count(*)::int as total, count(distinct code)::int as distinct from vouchers where import_id = $1',
    [importId],
  );
  return rows[0] as { total: number; distinct: number };
}
