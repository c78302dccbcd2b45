/**
 * npm run bench:refusals -- [--pairs 2000]
 * Whether the time a redemption takes to refuse tells a code held by another customer from an unknown one (both
 * answer 422 not_found). Runs redeemVoucher directly on the platform's pool (no HTTP, so nothing but the database
 * work differs): --pairs pairs of one unknown code and one held code, in random order within each pair, then as
 * many successful redemptions of distinct codes for the cost of a redemption that locks and writes. Prints the
 * medians, p90s, and the share of pairs in which the held code took longer (50 % when timing tells nothing).
 */
import { loadConfig } from '../config/index.ts';
import { run } from '../src/main/runtime.ts';
import { type RedeemContext, redeemVoucher } from '../src/redemptions/redemptions.ts';
import { redemptionRequestSchema } from '../src/redemptions/schemas.ts';
import { argValue, benchDatabase, benchEnv, printTable } from './support.ts';

const pairs = argValue('pairs', 2_000);
const db = benchDatabase('promo_bench_refusals');
const apiKey = `pk_bench_${Date.now()}_refusals`;
const running = await run(loadConfig({ ...benchEnv(db, apiKey), LOG_LEVEL: 'error' }), { api: true, workers: false });
const { platform } = running;

try {
  const campaign = async (name: string, rules: Record<string, unknown>) => {
    const res = await fetch(`${running.url}/v1/campaigns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, rules }),
    });
    if (res.status !== 201) throw new Error(`campaign: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  const held = await campaign('held', { holder_only: true });
  const open = await campaign('open', {});
  await platform.db.query(`insert into vouchers (code, campaign_id, holder_customer_id) values ('HELD-1', $1, 'alice')`, [held]);
  await platform.db.query(`insert into vouchers (code, campaign_id) select 'OK-' || g, $1 from generate_series(1, $2) g`, [open, pairs]);
  const apiKeyId = (await platform.db.query<{ id: string }>('select id from api_keys limit 1')).rows[0]?.id as string;
  const ctx = (): RedeemContext => ({ actor: apiKeyId, apiKeyId, idempotencyTtlSeconds: 3600, now: new Date() });
  const timed = async (code: string) => {
    const input = redemptionRequestSchema.parse({ code, customer: { id: 'bob' } });
    const started = performance.now();
    await redeemVoucher(platform.db, input, ctx());
    return performance.now() - started;
  };

  // Warm-up: plans, buffers, JIT.
  for (let i = 0; i < 200; i++) {
    await timed(`NONE-W${i}`);
    await timed('HELD-1');
  }
  const unknown: number[] = [];
  const heldTimes: number[] = [];
  let heldSlower = 0;
  for (let i = 0; i < pairs; i++) {
    let u: number;
    let h: number;
    if (Math.random() < 0.5) {
      u = await timed(`NONE-${i}`);
      h = await timed('HELD-1');
    } else {
      h = await timed('HELD-1');
      u = await timed(`NONE-${i}`);
    }
    unknown.push(u);
    heldTimes.push(h);
    if (h > u) heldSlower += 1;
  }
  const succeeded: number[] = [];
  for (let i = 1; i <= pairs; i++) succeeded.push(await timed(`OK-${i}`));

  const quantile = (values: number[], q: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(3);
  };
  printTable([
    ['pairs', pairs],
    ['unknown code: median / p90 ms', `${quantile(unknown, 0.5)} / ${quantile(unknown, 0.9)}`],
    ['held by another: median / p90 ms', `${quantile(heldTimes, 0.5)} / ${quantile(heldTimes, 0.9)}`],
    ['pairs with the held code slower', `${((100 * heldSlower) / pairs).toFixed(1)} %`],
    ['successful redemption: median / p90 ms', `${quantile(succeeded, 0.5)} / ${quantile(succeeded, 0.9)}`],
  ]);
} finally {
  await running.stop();
  await db.drop();
}
