import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestPlatform, type TestPlatform, waitFor } from '../support/platform.ts';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let p: TestPlatform;
let dir: string;

/** Runs the CLI as a user would: a separate process, arguments, environment. */
function promo(
  args: string[],
  env: Record<string, string> = {},
  command: string[] = [process.execPath, 'bin/promo.js'],
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [exe, ...pre] = command;
    const child = spawn(exe as string, [...pre, ...args], {
      cwd: ROOT,
      env: { ...process.env, PROMO_URL: p.url, PROMO_API_KEY: p.apiKey, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const json = (r: CliResult) => JSON.parse(r.stdout);
const noStack = (r: CliResult) => expect(r.stderr).not.toMatch(/\n\s+at /);

describe('promo CLI', () => {
  let campaignId: string;

  beforeAll(async () => {
    p = await startTestPlatform({ env: { GENERATION_CHUNK_SIZE: '5000' } });
    dir = await mkdtemp(join(tmpdir(), 'promo-cli-'));
  });
  afterAll(async () => {
    await p?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('npx promo --help works from the repository', async () => {
    const r = await promo(['--help'], {}, ['npx', '--no-install', 'promo']);
    expect(r.code).toBe(0);
    for (const command of ['campaigns', 'generate', 'export', 'keys', 'jobs']) expect(r.stdout).toContain(command);
    const sub = await promo(['generate', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--count <n>');
  });

  it('creates, lists and shows campaigns', async () => {
    const created = await promo([
      'campaigns',
      'create',
      '--name',
      'CLI spring',
      '--pattern',
      'CLI-####-####',
      '--expiration-date',
      '2030-01-01T00:00:00Z',
      '--metadata',
      '{"channel":"cli"}',
      '--json',
    ]);
    expect(created.code).toBe(0);
    campaignId = json(created).id;
    expect(campaignId).toBeTruthy();
    const [shown, listed] = await Promise.all([promo(['campaigns', 'show', campaignId, '--json']), promo(['campaigns', 'list'])]);
    expect(json(shown)).toMatchObject({ id: campaignId, name: 'CLI spring', metadata: { channel: 'cli' } });
    expect(new Date(json(shown).expiration_date).toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('CLI spring');
  });

  it('generate --json follows the generation and reports the final count', async () => {
    const r = await promo(['generate', campaignId, '--count', '20000', '--interval', '100', '--json']);
    expect(r.code).toBe(0);
    const result = json(r);
    expect(result).toMatchObject({ status: 'completed', requested: 20000, generated: 20000, progress: 100 });
    expect(result.elapsed_ms).toBeGreaterThanOrEqual(0);
  });

  it('generate --no-follow, then generations follow/show', async () => {
    const accepted = json(await promo(['generate', campaignId, '--count', '5000', '--no-follow', '--json']));
    expect(accepted).toMatchObject({ requested: 5000 });
    const followed = await promo(['generations', 'follow', accepted.id, '--interval', '100', '--json']);
    expect(followed.code).toBe(0);
    expect(json(followed)).toMatchObject({ id: accepted.id, status: 'completed', generated: 5000 });
    const shown = await promo(['generations', 'show', accepted.id]);
    expect(shown.stdout).toMatch(/status\s+completed/);
  });

  it('generate shows progress (percent, codes/s, ETA) on stderr for people', async () => {
    const r = await promo(['generate', campaignId, '--count', '10000', '--interval', '100']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/100% \| 10,000\/10,000 codes \| [\d,]+ codes\/s \| ETA 0s \| [\d.]+s/);
    expect(r.stdout).toContain('completed: 10,000 of 10,000 codes');
  });

  it('exits non-zero with one clear line when the API refuses', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    // Independent failures, spawned side by side.
    const [missing, invalid, badKey, down, usage] = await Promise.all([
      promo(['campaigns', 'show', '00000000-0000-4000-8000-000000000000']),
      promo(['generate', campaignId, '--count', '99999999999']),
      promo(['campaigns', 'list'], { PROMO_API_KEY: 'pk_not_a_real_key_000' }),
      promo(['campaigns', 'list'], { PROMO_URL: `http://127.0.0.1:${closedPort}` }),
      promo(['generate', campaignId]),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^promo: error: 404 campaign_not_found: .+$/);
    noStack(missing);

    expect(invalid.code).toBe(1);
    expect(invalid.stderr.trim()).toMatch(/^promo: error: 400 validation_failed: .*\(count: .+\)$/);

    expect(badKey.code).toBe(1);
    expect(badKey.stderr.trim()).toBe('promo: error: 401 unauthorized: The API key is not valid.');

    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toBe(`promo: error: cannot reach http://127.0.0.1:${closedPort}: ECONNREFUSED`);

    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--count <n>'");
  });

  it('manages API keys: the value is shown once, revocation takes effect', async () => {
    const created = await promo(['keys', 'create', '--name', 'checkout', '--role', 'standard', '--json']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const key = json(created);
    expect(key.key).toMatch(/^pk_/);
    const [listedRun, asStandard, standardRead] = await Promise.all([
      promo(['keys', 'list', '--json']),
      promo(['keys', 'list'], { PROMO_API_KEY: key.key }),
      promo(['campaigns', 'list'], { PROMO_API_KEY: key.key }),
    ]);
    const listed = json(listedRun);
    const row = listed.data.find((k: { id: string }) => k.id === key.id);
    expect(row).toMatchObject({ name: 'checkout', role: 'standard', revoked_at: null });
    expect(JSON.stringify(listed)).not.toContain(key.key);
    expect(asStandard.code).toBe(1);
    expect(asStandard.stderr.trim()).toMatch(/^promo: error: 403 forbidden: /);
    expect(standardRead.code).toBe(0);

    expect((await promo(['keys', 'revoke', key.id])).code).toBe(0);
    const revoked = await promo(['campaigns', 'list'], { PROMO_API_KEY: key.key });
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain('401 unauthorized');
  });

  it('lists and retries failed jobs', async () => {
    // A job nobody handles fails at once (UnrecoverableError): the operator's view of a poisoned job.
    await p.platform.queues.get('generation').add('cli.unhandled', {}, { jobId: 'cli-poison-1', attempts: 1 });
    await waitFor(async () => (await p.platform.queues.get('generation').getJobState('cli-poison-1')) === 'failed');
    const [failedRun, human] = await Promise.all([promo(['jobs', 'failed', '--json']), promo(['jobs', 'failed', '--queue', 'generation'])]);
    const failed = json(failedRun);
    expect(failed.data).toContainEqual(expect.objectContaining({ queue: 'generation', id: 'cli-poison-1', name: 'cli.unhandled' }));
    expect(human.stdout).toContain('cli-poison-1');

    const retried = await promo(['jobs', 'retry', 'generation', 'cli-poison-1', '--json']);
    expect(retried.code).toBe(0);
    expect(json(retried)).toMatchObject({ queue: 'generation', id: 'cli-poison-1', status: 'retried' });
    await waitFor(async () => (await p.platform.queues.get('generation').getJobState('cli-poison-1')) === 'failed');
    const all = await promo(['jobs', 'retry', '--all', '--json']);
    expect(json(all).total).toBeGreaterThanOrEqual(1);
    const notFailed = await promo(['jobs', 'retry', 'generation', 'no-such-job']);
    expect(notFailed.code).toBe(1);
    expect(notFailed.stderr).toContain('404 job_not_found');
  });

  it('exports a campaign to CSV with progress', async () => {
    const out = join(dir, 'codes.csv');
    const r = await promo(['export', campaignId, '--out', out, '--interval', '100', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ file: out, rows: 35000 });
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(35001);
    expect(lines[1]).toMatch(/^CLI-[A-Z0-9]{4}-[A-Z0-9]{4},/);
  });
});
