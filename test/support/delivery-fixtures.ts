import type { TestPlatform } from './platform.ts';
import { waitFor } from './platform.ts';
import { uniqueName } from './vouchers.ts';

/** A campaign with `count` generated codes, ready to publish from. */
export async function campaignWithCodes(p: TestPlatform, count: number, name = uniqueName('Promo')): Promise<string> {
  const created = await p.call('/v1/campaigns', { method: 'POST', json: { name, code_config: { length: 10 } } });
  if (created.status !== 201) throw new Error(`campaign: ${created.status} ${JSON.stringify(created.body)}`);
  if (count > 0) {
    const gen = await p.call(`/v1/campaigns/${created.body.id}/generations`, { method: 'POST', json: { count } });
    if (gen.status !== 202) throw new Error(`generation: ${gen.status} ${JSON.stringify(gen.body)}`);
    await waitFor(async () => (await p.call(`/v1/generations/${gen.body.id}`)).body.status === 'completed');
  }
  return created.body.id as string;
}

export async function emailTemplate(p: TestPlatform, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await p.call('/v1/templates', {
    method: 'POST',
    json: {
      name: 'Welcome',
      channel: 'email',
      subject: 'Your code, {{ customer.name }}',
      html: '<p>Hello {{ customer.name }}, your code is <b>{{ voucher.code }}</b></p>',
      text: 'Hello {{ customer.name }}, your code is {{ voucher.code }}',
      ...overrides,
    },
  });
  if (res.status !== 201) throw new Error(`template: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** Publishes a code of the campaign to this customer with an e-mail of the template (the answer of POST /v1/publications). */
export function publishByEmail(p: TestPlatform, campaignId: string, templateId: string, customer: Record<string, unknown>) {
  return p.call('/v1/publications', {
    method: 'POST',
    json: { campaign_id: campaignId, customer, channel: 'email', template_id: templateId },
  });
}

/** Starts an e-mail distribution of the campaign to these recipients with the template (the answer of the POST). */
export function distributeByEmail(p: TestPlatform, campaignId: string, templateId: string, recipients: Record<string, unknown>[]) {
  return p.call(`/v1/campaigns/${campaignId}/distributions`, {
    method: 'POST',
    json: { channel: 'email', template_id: templateId, recipients },
  });
}
