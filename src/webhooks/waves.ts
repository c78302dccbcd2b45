/**
 * Per-endpoint waves inside one process, shared by every job of that endpoint the process runs: each job hands its
 * attempts in, and up to `width` wave loops per endpoint send whatever is waiting, oldest first, in waves of up to
 * `size`. Many small jobs (a relay batch of a few events, the failures of one wave due again) so fill one wave
 * together, and the claim, the record and the pacer calls are paid per wave, not per job.
 */

/** How one wave loop gets the endpoint's send slots and sends a wave (the caller's steps; errors fail the wave). */
export interface WaveSteps<T> {
  /** Slots for up to these items now: how many of the first of them may go, or how long to wait (0: all busy). */
  take(items: readonly T[]): Promise<{ granted: number; waitMs: number }>;
  /** Sends one granted wave; settles once it is recorded. */
  send(items: readonly T[]): Promise<void>;
  /** Waits for slots to come back when the endpoint had none free (a release in this process, or a short poll). */
  busy(): Promise<void>;
}

export interface WaveLimits {
  /** Wave loops per endpoint at once. */
  width: number;
  /** The most items in one wave. */
  size: number;
  /** Callers that may wait per endpoint; more are handed their items back at once. */
  maxCallers: number;
  /** An item not sent within this long goes back to its caller (whose job steps back to the delayed set). */
  waitMs: number;
}

/** One caller's share: settled when each of its items went out in a wave or came back. */
interface Share<T> {
  left: number;
  back: T[];
  /** The pacer's wait when the items came back for the rate (0: for slots or time). */
  backWaitMs: number;
  error?: unknown;
  /** Past its wait: items that come back are handed to the caller, not queued again. */
  expired: boolean;
  settle: () => void;
  timer?: NodeJS.Timeout;
}

interface Endpoint<T> {
  queue: { item: T; share: Share<T> }[];
  loops: number;
  callers: number;
  /** The pacer's last rate wait, for items handed back meanwhile. */
  rateWaitMs: number;
}

/** Items an endpoint's waves sent in this process lately: how fast its queue drains. */
interface Drain {
  start: number;
  sent: number;
  previousStart: number;
  previousSent: number;
}

const DRAIN_WINDOW_MS = 2_000;

export class EndpointWaves<T> {
  readonly #limits: WaveLimits;
  readonly #endpoints = new Map<string, Endpoint<T>>();
  readonly #drains = new Map<string, Drain>();

  constructor(limits: WaveLimits) {
    this.#limits = limits;
  }

  /**
   * Sends `items` in this endpoint's waves; resolves with those that were not sent (too many callers already, or
   * not started within `waitMs`) and the pacer's wait when that is why. A wave that fails rejects every caller
   * with an item in it (their jobs retry; what was recorded is not claimed again).
   */
  async run(key: string, items: readonly T[], steps: WaveSteps<T>): Promise<{ back: T[]; waitMs: number }> {
    const known = this.#endpoints.get(key);
    if ((known?.callers ?? 0) >= this.#limits.maxCallers || items.length === 0) {
      return { back: [...items], waitMs: Math.max(known?.rateWaitMs ?? 0, this.#drainMs(key, known)) };
    }
    const current = known ?? { queue: [], loops: 0, callers: 0, rateWaitMs: 0 };
    this.#endpoints.set(key, current);
    current.callers += 1;
    let settle = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const share: Share<T> = { left: items.length, back: [], backWaitMs: 0, expired: false, settle };
    for (const item of items) current.queue.push({ item, share });
    share.timer = setTimeout(() => this.#withdraw(current, share), this.#limits.waitMs);
    while (current.loops < this.#limits.width && current.loops * this.#limits.size < current.queue.length) {
      current.loops += 1;
      void this.#loop(key, current, steps);
    }
    try {
      await settled;
    } finally {
      clearTimeout(share.timer);
      current.callers -= 1;
      if (current.callers === 0 && current.loops === 0) this.#endpoints.delete(key);
    }
    if (share.error !== undefined) throw share.error;
    return { back: share.back, waitMs: share.back.length > 0 ? Math.max(share.backWaitMs, this.#drainMs(key, current)) : 0 };
  }

  /** About how long until what waits for this endpoint here has been sent, at the pace its waves went lately. */
  #drainMs(key: string, endpoint: Endpoint<T> | undefined): number {
    const drain = this.#drains.get(key);
    if (!endpoint || !drain) return 0;
    const sent = drain.sent + drain.previousSent;
    const elapsed = Date.now() - drain.previousStart;
    if (sent === 0 || elapsed <= 0) return 0;
    return Math.round((endpoint.queue.length + endpoint.loops * this.#limits.size) / (sent / elapsed));
  }

  #sent(key: string, n: number): void {
    const now = Date.now();
    let drain = this.#drains.get(key);
    if (!drain) {
      drain = { start: now, sent: 0, previousStart: now, previousSent: 0 };
      this.#drains.set(key, drain);
    }
    if (now - drain.start > DRAIN_WINDOW_MS) {
      drain.previousStart = drain.start;
      drain.previousSent = drain.sent;
      drain.start = now;
      drain.sent = 0;
    }
    drain.sent += n;
  }

  /** The caller's items still queued come back to it (those a wave loop holds come back when it puts them down). */
  #withdraw(endpoint: Endpoint<T>, share: Share<T>): void {
    share.expired = true;
    const back = endpoint.queue.filter((q) => q.share === share);
    if (back.length === 0) return;
    endpoint.queue = endpoint.queue.filter((q) => q.share !== share);
    this.#handBack(
      share,
      back.map((q) => q.item),
      endpoint.rateWaitMs,
    );
  }

  #handBack(share: Share<T>, items: T[], waitMs: number): void {
    share.back.push(...items);
    share.backWaitMs = Math.max(share.backWaitMs, waitMs);
    this.#done(share, items.length);
  }

  async #loop(key: string, endpoint: Endpoint<T>, steps: WaveSteps<T>): Promise<void> {
    try {
      while (endpoint.queue.length > 0) {
        // Held by this loop while the pacer answers, so the slots it grants go to exactly these items.
        const head = endpoint.queue.splice(0, this.#limits.size);
        let grant: { granted: number; waitMs: number };
        try {
          grant = await steps.take(head.map((q) => q.item));
        } catch (error) {
          // The pacer is away: every caller waiting here fails (its job retries).
          for (const q of [...head, ...endpoint.queue.splice(0)]) this.#done(q.share, 1, error);
          return;
        }
        const wave = head.slice(0, grant.granted);
        const rest = head.slice(grant.granted);
        if (grant.granted === 0) endpoint.rateWaitMs = grant.waitMs;
        else endpoint.rateWaitMs = 0;
        // What did not get a slot goes back to the front, or to its caller if that one stopped waiting.
        const kept = rest.filter((q) => !q.share.expired);
        for (const q of rest) if (q.share.expired) this.#handBack(q.share, [q.item], grant.waitMs);
        endpoint.queue.unshift(...kept);
        if (wave.length === 0) {
          if (endpoint.queue.length === 0) break;
          if (grant.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(grant.waitMs, this.#limits.waitMs)));
          else await steps.busy();
          continue;
        }
        let error: unknown;
        try {
          await steps.send(wave.map((q) => q.item));
        } catch (e) {
          error = e;
        }
        this.#sent(key, wave.length);
        for (const q of wave) this.#done(q.share, 1, error);
      }
    } finally {
      endpoint.loops -= 1;
      if (endpoint.callers === 0 && endpoint.loops === 0) this.#endpoints.delete(key);
    }
  }

  #done(share: Share<T>, n: number, error?: unknown): void {
    if (error !== undefined && share.error === undefined) share.error = error;
    share.left -= n;
    if (share.left <= 0) share.settle();
  }
}
