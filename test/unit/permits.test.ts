import { describe, expect, it } from 'vitest';
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
