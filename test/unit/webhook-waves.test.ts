import { describe, expect, it } from 'vitest';
import { EndpointWaves, type WaveSteps } from '../../src/webhooks/waves.ts';

const limits = { width: 2, size: 4, maxCallers: 3, waitMs: 200 };

/** Steps that grant whatever is asked (or `grant` per call) and record each wave sent. */
function recording(options: { grant?: (n: number) => { granted: number; waitMs: number }; sendMs?: number; fail?: boolean } = {}) {
  const waves: string[][] = [];
  const steps: WaveSteps<string> = {
    take: async (items) => options.grant?.(items.length) ?? { granted: items.length, waitMs: 0 },
    send: async (items) => {
      await new Promise((resolve) => setTimeout(resolve, options.sendMs ?? 5));
      if (options.fail) throw new Error('database away');
      waves.push([...items]);
    },
    busy: () => new Promise((resolve) => setTimeout(resolve, 10)),
  };
  return { waves, steps };
}

describe('endpoint waves', () => {
  it('fills one wave with the items of several callers', async () => {
    const waves = new EndpointWaves<string>({ ...limits, width: 1 });
    const { waves: sent, steps } = recording({ sendMs: 30 });
    // The first caller's wave is out when the other two come: their items go together in the next one.
    const first = waves.run('ep', ['a1', 'a2'], steps);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const rest = await Promise.all([waves.run('ep', ['b1'], steps), waves.run('ep', ['c1', 'c2'], steps), first]);
    expect(rest.every((r) => r.back.length === 0)).toBe(true);
    expect(sent).toEqual([
      ['a1', 'a2'],
      ['b1', 'c1', 'c2'],
    ]);
  });

  it('never puts more than `size` items in a wave', async () => {
    const waves = new EndpointWaves<string>(limits);
    const { waves: sent, steps } = recording();
    const items = Array.from({ length: 10 }, (_, i) => `x${i}`);
    expect((await waves.run('ep', items, steps)).back).toEqual([]);
    expect(sent.flat().sort()).toEqual([...items].sort());
    expect(Math.max(...sent.map((w) => w.length))).toBeLessThanOrEqual(limits.size);
  });

  it('hands back the items not sent within waitMs, with the pacer wait', async () => {
    const waves = new EndpointWaves<string>(limits);
    const { waves: sent, steps } = recording({ grant: () => ({ granted: 0, waitMs: 50 }) });
    const result = await waves.run('ep', ['a', 'b'], steps);
    expect(sent).toEqual([]);
    expect(result.back.sort()).toEqual(['a', 'b']);
    expect(result.waitMs).toBe(50);
  });

  it('hands everything back at once past maxCallers', async () => {
    const waves = new EndpointWaves<string>(limits);
    const { steps } = recording({ sendMs: 50 });
    const waiting = [waves.run('ep', ['a'], steps), waves.run('ep', ['b'], steps), waves.run('ep', ['c'], steps)];
    expect((await waves.run('ep', ['d'], steps)).back).toEqual(['d']);
    // Another endpoint is not crowded.
    expect((await waves.run('other', ['e'], steps)).back).toEqual([]);
    await Promise.all(waiting);
  });

  it('rejects every caller with an item in a wave that failed', async () => {
    const waves = new EndpointWaves<string>(limits);
    const { steps } = recording({ fail: true });
    await expect(Promise.all([waves.run('ep', ['a'], steps), waves.run('ep', ['b'], steps)])).rejects.toThrow('database away');
  });
});
