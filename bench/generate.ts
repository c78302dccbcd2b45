/**
 * npm run bench:generate -- --count 1000000 [--workers 1] [--chunk 50000] [--concurrency 2]
 * 1. end to end: HTTP request → generation completed, through BullMQ and separate worker processes;
 * 2. baseline: the same number of pre-generated codes COPY'd over one connection into a scratch table
 *    with the same columns and indexes;
 * 3. in-memory generator speed against voucher-code-generator.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import voucherCodes from 'voucher-code-generator';
import { CodeGenerator, resolveCodeShape } from '../src/codes/index.ts';
import { argValue, benchCall, benchDatabase, benchEnv, peakRssMb, printTable, startBenchStack } from './support.ts';

const count = argValue('count', 1_000_000);
const workerCount = argValue('workers', 1);
const chunk = argValue('chunk', 50_000);
const concurrency = argValue('concurrency', 2);
const db = benchDatabase();
const apiKey = `pk_bench_${Date.now()}`;
const env = {
  ...benchEnv(db, apiKey),
  GENERATION_CHUNK_SIZE: String(chunk),
  GENERATION_CONCURRENCY: String(concurrency),
};

const api = (base: string, path: string, body?: unknown) => benchCall(base, apiKey, path, body);

async function endToEnd(): Promise<{ ms: number; rssMb: number }> {
  const stack = await startBenchStack(env, workerCount);
  try {
    const base = stack.url;
    const campaign = await api(base, '/v1/campaigns', { name: 'bench' });
    const started = performance.now();
    const generation = await api(base, `/v1/campaigns/${campaign.id}/generations`, { count });
    let g = generation;
    while (!['completed', 'failed', 'exhausted'].includes(g.status)) {
      await new Promise((r) => setTimeout(r, 25));
      g = await api(base, `/v1/generations/${generation.id}`);
    }
    const ms = performance.now() - started;
    if (g.status !== 'completed' || g.generated !== count) throw new Error(`generation ended ${g.status} with ${g.generated}`);
    const rssMb = Math.max(...stack.workers.map((w) => peakRssMb(w.pid as number)));
    return { ms, rssMb };
  } finally {
    await stack.stop();
  }
}

async function baselineCopy(): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('create table baseline_vouchers (like vouchers including all)');
    const campaign = '00000000-0000-0000-0000-000000000001';
    const generation = '00000000-0000-0000-0000-000000000002';
    // Pre-generated before the clock starts, in 100,000-row buffers (10M rows do not fit one JS string).
    const generator = new CodeGenerator(resolveCodeShape({}));
    const payloads: Buffer[] = [];
    for (let done = 0; done < count; done += 100_000) {
      const codes = generator.generate(Math.min(100_000, count - done));
      payloads.push(Buffer.from(codes.map((c) => `${c}\t${campaign}\t${generation}\n`).join(''), 'latin1'));
    }
    const started = performance.now();
    await pipeline(Readable.from(payloads), client.query(copyFrom('copy baseline_vouchers (code, campaign_id, generation_id) from stdin')));
    return performance.now() - started;
  } finally {
    await client.end();
  }
}

function timed(sample: number, produce: () => number): number {
  const t = performance.now();
  const produced = produce();
  if (produced !== sample) throw new Error(`produced ${produced} codes, expected ${sample}`);
  return sample / ((performance.now() - t) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/**
 * Each producer warmed up twice, then five rounds that time every producer back to back, so a burst of load
 * from elsewhere hits both sides of a ratio alike; rates and ratios are the medians over the rounds.
 */
function generatorSpeed() {
  const sample = Math.min(count, 500_000);
  const shape = resolveCodeShape({});
  const generator = new CodeGenerator(shape);
  const stride = generator.codeLength + 1;
  const producers = {
    // The form the pipeline consumes: newline-separated codes in one buffer, ready for COPY.
    buffer: () => generator.generateBuffer(sample).length / stride,
    strings: () => generator.generate(sample).length,
    unique: () => new Set(generator.generate(sample)).size,
    vcg: () => voucherCodes.generate({ count: sample, length: 12, charset: shape.alphabet }).length,
  };
  for (const produce of Object.values(producers)) {
    produce();
    produce();
  }
  const rounds = Array.from({ length: 5 }, () => ({
    buffer: timed(sample, producers.buffer),
    strings: timed(sample, producers.strings),
    unique: timed(sample, producers.unique),
    vcg: timed(sample, producers.vcg),
  }));
  return {
    sample,
    buffer: median(rounds.map((r) => r.buffer)),
    strings: median(rounds.map((r) => r.strings)),
    unique: median(rounds.map((r) => r.unique)),
    vcg: median(rounds.map((r) => r.vcg)),
    bufferSpeedup: median(rounds.map((r) => r.buffer / r.vcg)),
    stringSpeedup: median(rounds.map((r) => r.strings / r.vcg)),
  };
}

try {
  const e2e = await endToEnd();
  const copyMs = await baselineCopy();
  const speed = generatorSpeed();
  const result = {
    count,
    end_to_end_ms: Math.round(e2e.ms),
    baseline_copy_ms: Math.round(copyMs),
    ratio: Math.round((e2e.ms / copyMs) * 100) / 100,
    codes_per_s: Math.round(count / (e2e.ms / 1000)),
    worker_peak_rss_mb: e2e.rssMb,
    generator_codes_per_s: Math.round(speed.buffer),
    vcg_codes_per_s: Math.round(speed.vcg),
    generator_speedup: Math.round(speed.bufferSpeedup * 10) / 10,
    generator_string_speedup: Math.round(speed.stringSpeedup * 10) / 10,
    generator_string_codes_per_s: Math.round(speed.strings),
    generator_unique_string_codes_per_s: Math.round(speed.unique),
    workers: workerCount,
    chunk_size: chunk,
    chunk_concurrency: concurrency,
  };
  printTable([
    ['codes', count.toLocaleString('en')],
    ['end to end (HTTP → completed)', `${result.end_to_end_ms} ms (${result.codes_per_s.toLocaleString('en')} codes/s)`],
    ['baseline: one COPY, same columns/indexes', `${result.baseline_copy_ms} ms`],
    ['ratio end-to-end / baseline', result.ratio],
    ['worker peak RSS', `${result.worker_peak_rss_mb} MB`],
    [
      `generator (${speed.sample.toLocaleString('en')} codes → COPY buffer)`,
      `${result.generator_codes_per_s.toLocaleString('en')} codes/s`,
    ],
    ['  same, as JS strings', `${result.generator_string_codes_per_s.toLocaleString('en')} codes/s`],
    ['  same, as strings de-duplicated in a Set', `${result.generator_unique_string_codes_per_s.toLocaleString('en')} codes/s`],
    ['voucher-code-generator (same alphabet/length)', `${result.vcg_codes_per_s.toLocaleString('en')} codes/s`],
    ['generator speed-up (buffer / vcg)', `${result.generator_speedup}×`],
    ['  as strings / vcg', `${result.generator_string_speedup}×`],
  ]);
  console.log(JSON.stringify(result));
} finally {
  await db.drop();
}
