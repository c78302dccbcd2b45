/**
 * Load generator for bench:redeem, run as its own process so it does not share the server's event loop.
 * Reads its job from argv[2] (JSON), drives autocannon, prints one JSON result line.
 */
import autocannon from 'autocannon';

interface Job {
  url: string;
  apiKey: string;
  mode: 'validate' | 'redeem' | 'lookup' | 'healthz' | 'rich';
  connections: number;
  duration: number;
  /** Validation and lookup draw codes from [1, validRange]; redemptions take distinct codes from redeemFrom on. */
  validRange: number;
  redeemFrom: number;
  /** The rich phase: one code of each prefix (drawn from [1, richRange]) for one order of `richItems`. */
  richPrefixes?: string[];
  richRange?: number;
  richItems?: unknown[];
}

const job = JSON.parse(process.argv[2] as string) as Job;
const code = (n: number) => `BENCH${String(n).padStart(9, '0')}`;
let next = job.redeemFrom;

const paths = { validate: '/v1/validations', redeem: '/v1/redemptions', lookup: '/lookup', healthz: '/healthz', rich: '/v1/validations' };
/** A realistic checkout: three codes of three campaigns, a stored customer, an order of 20 lines. */
const richBody = (n: number) => {
  const pick = () => 1 + Math.floor(Math.random() * (job.richRange as number));
  return {
    codes: (job.richPrefixes as string[]).map((prefix) => `${prefix}${String(pick()).padStart(9, '0')}`),
    customer: { id: `cust-${n % 50_000}` },
    order: { id: `order-${n}`, currency: 'EUR', items: job.richItems, metadata: { channel: 'web' } },
  };
};
const path = paths[job.mode];
const result = await autocannon({
  url: job.url,
  connections: job.connections,
  duration: job.duration,
  headers: { authorization: `Bearer ${job.apiKey}`, 'content-type': 'application/json' },
  requests: [
    {
      method: job.mode === 'healthz' ? 'GET' : 'POST',
      path,
      setupRequest: (req) => {
        if (job.mode === 'healthz') return req;
        const n = job.mode === 'redeem' ? next++ : 1 + Math.floor(Math.random() * job.validRange);
        const customer = `cust-${n % 50_000}`;
        const body =
          job.mode === 'rich'
            ? richBody(n)
            : job.mode === 'lookup'
              ? { code: code(n) }
              : { code: code(n), customer: { id: customer }, order: { amount: 1000 + (n % 9000), currency: 'EUR' } };
        // As a checkout server sends it: the shopper's IP, so both guess counters (IP and customer) are read.
        const shopperIp = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
        return { ...req, headers: { ...req.headers, 'x-forwarded-for': shopperIp }, body: JSON.stringify(body) };
      },
    },
  ],
});
console.log(
  JSON.stringify({
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);
