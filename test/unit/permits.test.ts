import { describe, expect, it } from 'vitest';
import { KeyedLanes } from '../../src/shared/lanes.ts';
import { KeyedPermits } from '../../src/shared/permits.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedPermits: claimed messages waiting for a send, per key', () => {
  it('never lets more than `width` permits out, and serves waiters in arrival order', async () => {
    const permits = new KeyedPermits(10);
    const order: string[] = [];
    let out = 0;
    let most = 0;
    const take = async (name: string, n: number) => {
      const held = await permits.acquire('email', n);
      out += held;
      most = Math.max(most, out);
      order.push(name);
      return held;
    };
    expect(await take('a', 6)).toBe(6);
    const b = take('b', 6);
    // A small request behind a large one waits its turn, though 4 permits are free.
    const c = take('c', 2);
    await tick();
    expect(order).toEqual(['a']);
    for (let i = 0; i < 2; i++) {
      out -= 1;
      permits.release('email');
    }
    expect(await b).toBe(6);
    await tick();
    // All 10 are out (a's 4 and b's 6): c still waits.
    expect(order).toEqual(['a', 'b']);
    out -= 4;
    permits.release('email', 4);
    expect(await c).toBe(2);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(most).toBeLessThanOrEqual(10);
  });

  it('keys are independent, and a request larger than the width takes the width', async () => {
    const permits = new KeyedPermits(4);
    expect(await permits.acquire('email', 4)).toBe(4);
    expect(await permits.acquire('sms', 9)).toBe(4);
    let waited = false;
    const more = permits.acquire('email', 1).then(() => {
      waited = true;
    });
    await tick();
    expect(waited).toBe(false);
    permits.release('email', 1);
    await more;
    expect(waited).toBe(true);
  });
});

describe('KeyedLanes: one permit per caller', () => {
  it('runs at most `width` callers of a key at once, counts the waiting ones, and frees the lane when work throws', async () => {
    const lanes = new KeyedLanes(2);
    let running = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const work = () =>
      lanes.run('endpoint', async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((open) => gates.push(open));
        running -= 1;
      });
    const all = [work(), work(), work(), lanes.run('endpoint', async () => Promise.reject(new Error('boom'))), work()];
    await tick();
    expect(running).toBe(2);
    expect(lanes.waiting('endpoint')).toBe(3);
    const failed = (all[3] as Promise<void>).catch((e: Error) => e.message);
    while (gates.length > 0 || running > 0) {
      gates.shift()?.();
      await tick();
    }
    expect(await failed).toBe('boom');
    await Promise.all([all[0], all[1], all[2], all[4]]);
    expect(most).toBe(2);
    expect(lanes.waiting('endpoint')).toBe(0);
    // The key was forgotten once its permits were all back: a new caller runs at once.
    let ran = false;
    await lanes.run('endpoint', async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });
});
