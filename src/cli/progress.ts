import cliProgress from 'cli-progress';

// CommonJS package: named imports are not available under Node's ESM loader.
const { Format, SingleBar } = cliProgress;

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export interface ProgressReporter {
  update(done: number, total: number): void;
  stop(): void;
}

/** A live bar on stderr (percent, rate, ETA); without a terminal, a plain line every couple of seconds. */
export function progressBar(unit: string, options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): ProgressReporter {
  if (options.quiet) return { update() {}, stop() {} };
  const stream = options.stream ?? process.stderr;
  const started = Date.now();
  const bar = new SingleBar({
    stream,
    format: `{bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_text} | {elapsed}`,
    barsize: 30,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 2_000,
    formatValue: (v, o, type) =>
      type === 'value' || type === 'total' ? Number(v).toLocaleString('en-US') : Format.ValueFormat(v, o, type),
  });
  let begun = false;
  return {
    update(done, total) {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const rate = done / seconds;
      // The average rate since the start: steadier than cli-progress's windowed ETA while chunks land in bursts.
      const eta = done >= total ? '0s' : rate > 0 ? duration((total - done) / rate) : '--';
      const payload = { rate: Math.round(rate).toLocaleString('en-US'), elapsed: `${seconds.toFixed(1)}s`, eta_text: eta };
      if (!begun) {
        bar.start(Math.max(total, 1), done, payload);
        begun = true;
      } else {
        bar.setTotal(Math.max(total, 1));
        bar.update(done, payload);
      }
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}
