import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ROLES } from '../auth/roles.ts';
import { ApiError, ConnectionError, PromoClient } from './client.ts';
import { progressBar } from './progress.ts';

interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

/** Exit codes: 0 ok, 1 error (API, network, failed job), 2 usage, 3 generation exhausted the code space. */
export const EXIT = { ok: 0, error: 1, usage: 2, exhausted: 3 } as const;

export class CliFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.error) {
    super(message);
    this.exitCode = exitCode;
  }
}

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer.`);
  return n;
};

function jsonArg(value: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed;
  } catch {
    throw new InvalidArgumentError('must be a JSON object, e.g. \'{"channel":"email"}\'.');
  }
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

function fields(record: Record<string, unknown>, keys?: string[]): string {
  const entries = (keys ?? Object.keys(record)).filter((k) => record[k] !== undefined);
  const width = Math.max(...entries.map((k) => k.length));
  return entries
    .map((k) => {
      const v = record[k];
      return `${k.padEnd(width)}  ${v === null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`;
    })
    .join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

export interface GenerationView {
  id: string;
  status: 'queued' | 'running' | 'completed' | 'failed' | 'exhausted';
  requested: number;
  generated: number;
  progress: number;
  error?: string;
  [k: string]: unknown;
}

/** Polls a generation until it ends, feeding the progress bar. */
export async function followGeneration(
  client: PromoClient,
  id: string,
  options: { intervalMs: number; quiet: boolean; interruptHint?: boolean },
): Promise<{ generation: GenerationView; ms: number }> {
  const started = Date.now();
  const bar = progressBar('codes', { quiet: options.quiet });
  // Ctrl-C stops watching, not the generation: say how to pick it up again.
  const onInterrupt = () => {
    bar.stop();
    process.stderr.write(`\nstopped following; generation ${id} continues on the workers (promo generations follow ${id})\n`);
    process.exit(130);
  };
  if (options.interruptHint !== false) process.once('SIGINT', onInterrupt);
  try {
    for (;;) {
      const g = await client.get<GenerationView>(`/v1/generations/${encodeURIComponent(id)}`);
      bar.update(g.generated, g.requested);
      if (g.status === 'completed' || g.status === 'failed' || g.status === 'exhausted') return { generation: g, ms: Date.now() - started };
      await sleep(options.intervalMs);
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    bar.stop();
  }
}

export function buildProgram(io: Io = processIo): Command {
  const program = new Command('promo');
  // Set before the subcommands exist so they inherit it: usage errors come back to runCli, not process.exit.
  program.exitOverride();
  const client = (cmd: Command) => {
    const o = cmd.optsWithGlobals<GlobalOptions>();
    return new PromoClient({ url: o.url, apiKey: o.apiKey });
  };
  const isJson = (cmd: Command) => Boolean(cmd.optsWithGlobals<GlobalOptions>().json);
  const show = (cmd: Command, data: unknown, human: () => string) => io.out(isJson(cmd) ? JSON.stringify(data, null, 2) : human());
  /** `<parent> show <noun>`: one resource read from `path/<id>`, as fields. */
  const showCommand = (parent: Command, noun: string, description: string, path: string) =>
    parent
      .command('show')
      .description(description)
      .argument(`<${noun}>`, `${noun} id`)
      .action(async (id: string, _opts, cmd: Command) => {
        const record = await client(cmd).get(`${path}/${encodeURIComponent(id)}`);
        show(cmd, record, () => fields(record));
      });
  /** Prints how a followed generation ended (with `more` lines), and fails with its exit status unless it completed. */
  const generationEnded = (cmd: Command, generation: GenerationView, ms: number, more: string[] = []) => {
    const { id, status, generated, requested } = generation;
    const counts = `${generated.toLocaleString('en-US')} of ${requested.toLocaleString('en-US')} codes`;
    show(cmd, { ...generation, elapsed_ms: ms }, () => [`generation ${id} ${status}: ${counts}`, ...more].join('\n'));
    if (status === 'failed') throw new CliFailure(`generation ${id} failed: ${generation.error ?? 'unknown error'}`);
    if (status === 'exhausted') throw new CliFailure(`generation ${id} exhausted the code space after ${generated} codes`, EXIT.exhausted);
  };

  program
    .description('Command-line client for the promo platform (campaigns, code generation, exports, API keys, failed jobs).')
    .addOption(new Option('--url <url>', 'base URL of the promo API').env('PROMO_URL').default('http://127.0.0.1:3000'))
    .addOption(new Option('--api-key <key>', 'API key (Bearer); prefer the environment variable').env('PROMO_API_KEY'))
    .option('--json', 'machine-readable JSON output on stdout')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .addHelpText(
      'after',
      `
Environment:
  PROMO_URL       base URL of the API (default http://127.0.0.1:3000)
  PROMO_API_KEY   API key sent as "Authorization: Bearer <key>"

Examples:
  $ promo campaigns create --name "Spring sale" --pattern "SPRING-####-####"
  $ promo generate <campaign-id> --count 1000000
  $ promo export <campaign-id> --out codes.csv
  $ promo keys create --name checkout --role standard`,
    );

  // campaigns
  const campaigns = program.command('campaigns').description('create, list and show campaigns');
  campaigns
    .command('create')
    .description('create a campaign (prints its id)')
    .requiredOption('--name <name>', 'campaign name')
    .option('--pattern <pattern>', 'code pattern, # is a random character (e.g. SPRING-####-####)')
    .option('--length <n>', 'random characters per code (instead of --pattern)', positiveInt('--length'))
    .option('--charset <charset>', 'alphanumeric, alphabetic, numbers, uppercase, unambiguous, or a custom string')
    .option('--prefix <prefix>', 'text before each code')
    .option('--postfix <postfix>', 'text after each code')
    .option('--allow-guessable', 'allow a code space where codes are easy to guess')
    .option('--metadata <json>', 'metadata as a JSON object', jsonArg)
    .option('--start-date <date>', 'codes work from this date (ISO 8601)')
    .option('--expiration-date <date>', 'codes expire at this date (ISO 8601)')
    .option('--timezone <zone>', 'IANA time zone for validity windows (default UTC)')
    .option('--rules <json>', 'redemption rules as a JSON object (discount, limits, order rules)', jsonArg)
    .option('--inactive', 'create the campaign disabled')
    .action(async (opts, cmd: Command) => {
      const code_config = Object.fromEntries(
        Object.entries({
          pattern: opts.pattern,
          length: opts.length,
          charset: opts.charset,
          prefix: opts.prefix,
          postfix: opts.postfix,
        }).filter(([, v]) => v !== undefined),
      );
      const body: Record<string, unknown> = { name: opts.name, code_config };
      if (opts.allowGuessable) body.allow_guessable = true;
      if (opts.metadata) body.metadata = opts.metadata;
      if (opts.startDate) body.start_date = opts.startDate;
      if (opts.expirationDate) body.expiration_date = opts.expirationDate;
      if (opts.timezone) body.timezone = opts.timezone;
      if (opts.rules) body.rules = opts.rules;
      if (opts.inactive) body.active = false;
      const campaign = await client(cmd).post('/v1/campaigns', body);
      show(cmd, campaign, () => `created campaign ${campaign.id}\n${fields(campaign)}`);
    });
  campaigns
    .command('list')
    .description('list campaigns, newest first')
    .option('--limit <n>', 'how many', positiveInt('--limit'), 50)
    .option('--cursor <cursor>', 'next_cursor of a previous page')
    .action(async (opts, cmd: Command) => {
      const qs = new URLSearchParams({ limit: String(opts.limit), ...(opts.cursor ? { cursor: opts.cursor } : {}) });
      const page = await client(cmd).get(`/v1/campaigns?${qs}`);
      show(cmd, page, () => {
        const text = table(page.data, ['id', 'name', 'status', 'issued_count', 'created_at']);
        return page.next_cursor ? `${text}\n(more: --cursor ${page.next_cursor})` : text;
      });
    });
  showCommand(campaigns, 'campaign', 'show one campaign', '/v1/campaigns');

  // generate
  program
    .command('generate')
    .description('generate codes for a campaign and follow the generation with a progress bar until it ends')
    .argument('<campaign>', 'campaign id')
    .requiredOption('--count <n>', 'how many codes', positiveInt('--count'))
    .option('--idempotency-key <key>', 'same key, same generation (safe to re-run)')
    .option('--no-follow', 'return right after the generation is accepted')
    .option('--interval <ms>', 'polling interval', positiveInt('--interval'), 500)
    .addHelpText('after', '\nExit status: 0 completed, 1 failed (or any error), 3 exhausted (the pattern ran out of codes).')
    .action(async (campaignId: string, opts, cmd: Command) => {
      const c = client(cmd);
      const headers: Record<string, string> = opts.idempotencyKey ? { 'Idempotency-Key': opts.idempotencyKey } : {};
      const accepted = await c.post<GenerationView>(
        `/v1/campaigns/${encodeURIComponent(campaignId)}/generations`,
        { count: opts.count },
        headers,
      );
      if (!opts.follow) {
        show(cmd, accepted, () => `generation ${accepted.id} ${accepted.status} (${accepted.requested} codes requested)`);
        return;
      }
      if (!isJson(cmd)) io.err(`generation ${accepted.id}: ${accepted.requested.toLocaleString('en-US')} codes for campaign ${campaignId}`);
      const { generation, ms } = await followGeneration(c, accepted.id, { intervalMs: opts.interval, quiet: isJson(cmd) });
      const rate = Math.round(generation.generated / Math.max(ms / 1000, 0.001));
      generationEnded(cmd, generation, ms, [
        `elapsed ${(ms / 1000).toFixed(1)} s, ${rate.toLocaleString('en-US')} codes/s, ${generation.collisions ?? 0} collisions regenerated`,
      ]);
    });

  // generations
  const generations = program.command('generations').description('look at a generation, or follow one (e.g. after generate --no-follow)');
  showCommand(generations, 'generation', 'status, counts and progress of a generation', '/v1/generations');
  generations
    .command('follow')
    .description('follow a generation with a progress bar until it ends (exit status as for generate)')
    .argument('<generation>', 'generation id')
    .option('--interval <ms>', 'polling interval', positiveInt('--interval'), 500)
    .action(async (id: string, opts, cmd: Command) => {
      const { generation, ms } = await followGeneration(client(cmd), id, { intervalMs: opts.interval, quiet: isJson(cmd) });
      generationEnded(cmd, generation, ms);
    });

  // export
  program
    .command('export')
    .description("export a campaign's codes to a CSV file, with progress")
    .argument('<campaign>', 'campaign id')
    .requiredOption('--out <file>', 'where to write the CSV')
    .option('--status <status>', 'only codes with this status (active or expired)')
    .option('--metadata <json>', 'only codes whose metadata contains this JSON object', jsonArg)
    .option('--interval <ms>', 'polling interval', positiveInt('--interval'), 500)
    .action(async (campaignId: string, opts, cmd: Command) => {
      const c = client(cmd);
      const filter: Record<string, unknown> = {};
      if (opts.status) filter.status = opts.status;
      if (opts.metadata) filter.metadata = opts.metadata;
      const started = Date.now();
      let e = await c.post(`/v1/campaigns/${encodeURIComponent(campaignId)}/exports`, { format: 'csv', filter });
      const bar = progressBar('rows', { quiet: isJson(cmd) });
      try {
        while (e.status === 'queued' || e.status === 'running') {
          bar.update(e.progress?.exported_rows ?? 0, e.progress?.total_rows ?? e.progress?.exported_rows ?? 0);
          await sleep(opts.interval);
          e = await c.get(`/v1/exports/${encodeURIComponent(e.id)}`);
        }
        bar.update(e.progress?.exported_rows ?? 0, e.progress?.total_rows ?? e.progress?.exported_rows ?? 0);
      } finally {
        bar.stop();
      }
      if (e.status !== 'completed') throw new CliFailure(`export ${e.id} ${e.status}: ${e.error ?? 'no file was produced'}`);
      const partial = `${opts.out}.partial`;
      const file = createWriteStream(partial);
      let bytes = 0;
      try {
        await c.download(e.download_url ?? `/v1/exports/${e.id}/download`, async (chunk) => {
          bytes += chunk.length;
          if (!file.write(chunk)) await new Promise<void>((r) => file.once('drain', () => r()));
        });
        await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
        await rename(partial, opts.out);
      } catch (error) {
        file.destroy();
        await rm(partial, { force: true });
        throw error;
      }
      const result = { export_id: e.id, file: opts.out, rows: e.progress?.exported_rows ?? null, bytes, elapsed_ms: Date.now() - started };
      show(cmd, result, () => `wrote ${result.rows ?? '?'} rows (${bytes.toLocaleString('en-US')} bytes) to ${opts.out}`);
    });

  // keys
  const keys = program.command('keys').description('manage API keys (needs an admin key)');
  keys
    .command('create')
    .description('create an API key; its value is printed once and never again')
    .requiredOption('--name <name>', 'what the key is for')
    .addOption(new Option('--role <role>', 'admin, standard or viewer').choices([...ROLES]).default('standard'))
    .action(async (opts, cmd: Command) => {
      const created = await client(cmd).post('/v1/api-keys', { name: opts.name, role: opts.role });
      show(
        cmd,
        created,
        () =>
          `${fields(created, ['id', 'name', 'role', 'key_prefix', 'created_at'])}\n\nkey: ${created.key}\n(store it now: it is not shown again)`,
      );
    });
  keys
    .command('list')
    .description('list API keys (values are never shown, only their prefix)')
    .action(async (_opts, cmd: Command) => {
      const page = await client(cmd).get('/v1/api-keys');
      show(cmd, page, () => table(page.data, ['id', 'name', 'role', 'key_prefix', 'created_at', 'last_used_at', 'revoked_at']));
    });
  keys
    .command('revoke')
    .description('revoke an API key (takes effect within seconds on every API process)')
    .argument('<id>', 'key id (from keys list)')
    .action(async (id: string, _opts, cmd: Command) => {
      await client(cmd).delete(`/v1/api-keys/${encodeURIComponent(id)}`);
      show(cmd, { id, revoked: true }, () => `revoked ${id}`);
    });

  // jobs
  const jobs = program.command('jobs').description('inspect and retry failed background jobs (needs an admin key)');
  jobs
    .command('failed')
    .description('list jobs that failed after all their retries')
    .option('--queue <queue>', 'only this queue')
    .option('--limit <n>', 'how many', positiveInt('--limit'), 50)
    .action(async (opts, cmd: Command) => {
      const qs = new URLSearchParams({ limit: String(opts.limit), ...(opts.queue ? { queue: opts.queue } : {}) });
      const page = await client(cmd).get(`/v1/jobs/failed?${qs}`);
      show(cmd, page, () => table(page.data, ['queue', 'id', 'name', 'attempts_made', 'failed_at', 'failed_reason']));
    });
  jobs
    .command('retry')
    .description('retry one failed job (<queue> <id>), or every failed job with --all')
    .argument('[queue]', 'queue of the job')
    .argument('[id]', 'job id')
    .option('--all', 'retry every failed job (of --queue, or of every queue)')
    .option('--queue <queue>', 'with --all: only this queue')
    .action(async (queue: string | undefined, id: string | undefined, opts, cmd: Command) => {
      const c = client(cmd);
      if (opts.all) {
        const qs = opts.queue ? `?${new URLSearchParams({ queue: opts.queue })}` : '';
        const result = await c.post(`/v1/jobs/failed/retry${qs}`);
        show(cmd, result, () => `retried ${result.total} failed job(s)`);
        return;
      }
      if (!queue || !id) throw new CliFailure('give <queue> <id>, or --all', EXIT.usage);
      const job = await c.post(`/v1/jobs/${encodeURIComponent(queue)}/${encodeURIComponent(id)}/retry`);
      show(cmd, job, () => `retried ${job.queue}/${job.id} (${job.name})`);
    });

  return program;
}

/** Runs the CLI; returns the exit code. Errors print as one line on stderr, never a stack trace. */
export async function runCli(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    const e = error as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // Commander already printed help or the usage error.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ApiError || error instanceof ConnectionError) {
      io.err(`promo: error: ${error.message}`);
      return EXIT.error;
    }
    if (error instanceof CliFailure) {
      io.err(`promo: error: ${error.message}`);
      return error.exitCode;
    }
    io.err(`promo: error: ${(error as Error)?.message ?? String(error)}`);
    return EXIT.error;
  }
}
