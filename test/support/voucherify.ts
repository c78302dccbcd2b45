import voucherifySdk from '@voucherify/sdk';
import { expect } from 'vitest';
import { type TestPlatform, waitFor } from './platform.ts';

/** `@voucherify/sdk` 2.9 is CommonJS: its named exports come through the default import. */
export const { VoucherifyServerSide, VoucherifyClientSide } = voucherifySdk as unknown as typeof import('@voucherify/sdk');

export type ServerSdk = ReturnType<typeof VoucherifyServerSide>;

/** What a refused SDK call threw: the SDK's VoucherifyError, with Voucherify's body (never a bare axios error). */
export interface Refusal {
  code: number;
  key: string;
  message: string;
  details?: string;
  cause?: { response?: { headers: Record<string, string> } };
}

export async function refusal(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toHaveProperty('isAxiosError');
    expect(typeof (error as { code?: unknown }).code).toBe('number');
    return error as Refusal;
  }
  throw new Error('the call succeeded');
}

/** A new API key of the platform, as the SDKs take it: its id is the application id. */
export async function sdkKey(
  p: TestPlatform,
  role = 'standard',
  extra: Record<string, unknown> = {},
): Promise<{ id: string; key: string }> {
  const res = await p.call('/v1/api-keys', { method: 'POST', json: { name: `voucherify ${role}`, role, ...extra } });
  if (res.status !== 201) throw new Error(`api key: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, key: res.body.key };
}

/** `VoucherifyServerSide` on the platform's compatible API, with a new standard key. */
export async function serverSdk(p: TestPlatform, options: { exposeErrorCause?: boolean } = {}): Promise<ServerSdk> {
  const key = await sdkKey(p);
  return VoucherifyServerSide({ applicationId: key.id, secretKey: key.key, apiUrl: `${p.url}/voucherify`, ...options });
}

/** A Voucherify campaign of `count` generated 10-character codes with this discount, once its generation is done. */
export async function generatedCampaign(sdk: ServerSdk, name: string, count: number, discount: Record<string, unknown>): Promise<void> {
  await sdk.campaigns.create({
    name,
    vouchers_count: count,
    voucher: { type: 'DISCOUNT_VOUCHER', discount, code_config: { length: 10 } },
  } as never);
  await waitFor(async () => (await sdk.campaigns.get(name)).vouchers_generation_status === 'DONE');
}
