/**
 * npm run bench:import -- --count 1000000 [--rounds 3] [--warmup 100000] [--workers 1] [--chunk 50000] [--concurrency 2]
 * Imports `count` existing codes (a CSV streamed to POST /v1/campaigns/{id}/imports, through BullMQ and separate
 * worker processes, until the import is completed) and, in the same run, generates `count` codes the same way
 * (POST /v1/campaigns/{id}/generations until completed): the baseline. Rounds alternate which goes first, so a burst
 * of load from elsewhere hits both sides alike; `import_ratio` (generation time / import time) is the median of the
 * rounds' ratios. Before the rounds, one untimed import and generation of `warmup` codes each (the workers' JIT,
 * the new database's first pages and checkpoint: the first round measured up to 2× slower for whichever went first).
 * `uptime` load averages are printed before and after.
 */
import { loadavg } from 'node:os';
import { CodeGenerator, resolveCodeShape } from '../src/codes/index.ts';
import { benchArgs, benchCall, benchDatabase, benchEnv, cpuMs, peakRssMb, printTable, startBenchStack } from './support.ts';

const {
  count,
  rounds,
  warmup,
  workers: workerCount,
  chunk,
  concurrency,
} = benchArgs({
  count: 1_000_000,
  rounds: 3,
  warmup: 100_000,
  workers: 1,
  chunk: 50_000,
  concurrency: 2,
});
const db = benchDatabase('promo_bench_import');
const apiKey = `pk_bench_${Date.now()}`;
const env = {
  ...benchEnv(db, apiKey),
  GENERATION_CHUNK_SIZE: String(chunk),
  GENERATION_CONCURRENCY: String(concurrency),
  IMPORT_CHUNK_SIZE: String(chunk),
  IMPORT_CONCURRENCY: String(concurrency),
};
/** The imported codes' shape: another platform's codes, here of the campaign's own code_config. */
const IMPORTED_SHAPE = { prefix: 'MIG-', length: 12 };

const api = (base: string, path: string, body?: unknown) => benchCall(base, apiKey, path, body);

/** Streams a CSV to the import route; the 202's import. */
async function postCsv(base: string, path: string, csv: Buffer[]): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'text/csv' },
    body: new Blob(csv),
  });
  if (res.status !== 202) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function until(base: string, path: string, done: (body: any) => boolean): Promise<any> {
  for (;;) {
    const body = await api(base, path);
    if (done(body)) return body;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A CSV of `count` distinct codes that no generation can draw (another prefix), in 1 MB pieces; every tenth code
 * arrives half-used (`5,2`), the rest with the campaign's limit. Built before the clock starts.
 */
function importCsv(count: number): Buffer[] {
  const generator = new CodeGenerator(resolveCodeShape(IMPORTED_SHAPE));
  const seen = new Set<string>();
  const pieces: Buffer[] = [Buffer.from('code,redemption_quantity,redeemed_quantity\n')];
  let lines: string[] = [];
  let size = 0;
  while (seen.size < count) {
    for (const code of generator.generate(Math.min(100_000, count - seen.size))) {
      if (seen.has(code)) continue;
      seen.add(code);
      const line = seen.size % 10 === 0 ? `${code},5,2\n` : `${code},,\n`;
      lines.push(line);
      size += line.length;
      if (size >= 1 << 20) {
        pieces.push(Buffer.from(lines.join(''), 'latin1'));
        lines = [];
        size = 0;
      }
    }
  }
  pieces.push(Buffer.from(lines.join(''), 'latin1'));
  return pieces;
}

async function generate(base: string, round: number | string, count: number): Promise<number> {
  const campaign = await api(base, '/v1/campaigns', { name: `bench generation ${round}` });
  const started = performance.now();
  const g = await api(base, `/v1/campaigns/${campaign.id}/generations`, { count });
  const done = await until(base, `/v1/generations/${g.id}`, (b) => ['completed', 'failed', 'exhausted'].includes(b.status));
  if (done.status !== 'completed' || done.generated !== count) throw new Error(`generation ended ${done.status} with ${done.generated}`);
  return performance.now() - started;
}

async function importCodes(base: string, round: number | string, count: number): Promise<{ ms: number; uploadMs: number }> {
  const campaign = await api(base, '/v1/campaigns', { name: `bench import ${round}`, code_config: IMPORTED_SHAPE });
  const csv = importCsv(count);
  const started = performance.now();
  const accepted = await postCsv(base, `/v1/campaigns/${campaign.id}/imports`, csv);
  const uploadMs = performance.now() - started;
  const done = await until(base, `/v1/imports/${accepted.id}`, (b) => ['completed', 'failed'].includes(b.status));
  if (done.status !== 'completed' || done.progress.imported !== count) {
    throw new Error(`import ended ${done.status} with ${done.progress.imported} imported, ${done.progress.rejected} rejected`);
  }
  return { ms: performance.now() - started, uploadMs };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

const loadBefore = load();
const stack = await startBenchStack(env, workerCount);
const { workers } = stack;
try {
  const base = stack.url;
  await importCodes(base, 'warm-up', warmup);
  await generate(base, 'warm-up', warmup);
  const workerCpu = () => workers.reduce((sum, w) => sum + cpuMs(w.pid as number), 0);
  /** Wall time and the worker processes' CPU time of one phase. */
  const measured = async <T>(phase: () => Promise<T>) => {
    const cpu = workerCpu();
    return { value: await phase(), workerCpuMs: workerCpu() - cpu };
  };
  const results: { generateMs: number; importMs: number; uploadMs: number; ratio: number; importCpu: number; generateCpu: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    const importFirst = round % 2 === 1;
    const runImport = () => measured(() => importCodes(base, round, count));
    const runGenerate = () => measured(() => generate(base, round, count));
    const first = importFirst ? await runImport() : await runGenerate();
    const second = importFirst ? await runGenerate() : await runImport();
    const imported = (importFirst ? first : second) as Awaited<ReturnType<typeof runImport>>;
    const generated = (importFirst ? second : first) as Awaited<ReturnType<typeof runGenerate>>;
    const ratio = generated.value / imported.value.ms;
    results.push({
      generateMs: generated.value,
      importMs: imported.value.ms,
      uploadMs: imported.value.uploadMs,
      ratio,
      importCpu: imported.workerCpuMs,
      generateCpu: generated.workerCpuMs,
    });
    console.log(
      `round ${round} (${importFirst ? 'import' : 'generation'} first): import ${Math.round(imported.value.ms)} ms (upload ${Math.round(imported.value.uploadMs)} ms, worker CPU ${imported.workerCpuMs} ms), generation ${Math.round(generated.value)} ms (worker CPU ${generated.workerCpuMs} ms), ratio ${ratio.toFixed(3)}; load ${load()}`,
    );
  }
  const rssMb = Math.max(...workers.map((w) => peakRssMb(w.pid as number)));
  const result = {
    count,
    import_ms: Math.round(median(results.map((r) => r.importMs))),
    generate_ms: Math.round(median(results.map((r) => r.generateMs))),
    upload_ms: Math.round(median(results.map((r) => r.uploadMs))),
    import_codes_per_s: Math.round(count / (median(results.map((r) => r.importMs)) / 1000)),
    rounds_import_ratio: results.map((r) => Math.round(r.ratio * 1000) / 1000),
    rounds_import_ms: results.map((r) => Math.round(r.importMs)),
    rounds_generate_ms: results.map((r) => Math.round(r.generateMs)),
    import_worker_cpu_ms: median(results.map((r) => r.importCpu)),
    generate_worker_cpu_ms: median(results.map((r) => r.generateCpu)),
    worker_peak_rss_mb: rssMb,
    api_peak_rss_mb: peakRssMb(process.pid),
    workers: workerCount,
    chunk_size: chunk,
    chunk_concurrency: concurrency,
    load_before: loadBefore,
    load_after: load(),
    import_ratio: Math.round(median(results.map((r) => r.ratio)) * 1000) / 1000,
  };
  printTable([
    ['codes', count.toLocaleString('en')],
    ['import (CSV upload → completed), median', `${result.import_ms} ms (${result.import_codes_per_s.toLocaleString('en')} codes/s)`],
    ['  of which the upload (→ 202), median', `${result.upload_ms} ms`],
    ['generation (request → completed), median', `${result.generate_ms} ms`],
    ['import_ratio (generation / import), median of rounds', `${result.import_ratio} (${result.rounds_import_ratio.join(', ')})`],
    ['worker CPU: import / generation, median', `${result.import_worker_cpu_ms} ms / ${result.generate_worker_cpu_ms} ms`],
    ['worker peak RSS / API process peak RSS', `${result.worker_peak_rss_mb} MB / ${result.api_peak_rss_mb} MB`],
    ['load average before / after', `${result.load_before} / ${result.load_after}`],
  ]);
  console.log(JSON.stringify(result));
} finally {
  await stack.stop();
  await db.drop();
}
