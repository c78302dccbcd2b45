import { describe, expect, it } from 'vitest';
import { ProcessResources, resourceKind } from '../../src/shared/process-resources.ts';

describe('ProcessResources', () => {
  const platform = { name: 'p' };
  it('makes each kind once per platform, from that platform, and closes what it made', async () => {
    const closed: string[] = [];
    const made: string[] = [];
    const pool = resourceKind('pool', (p: typeof platform) => {
      made.push(p.name);
      return { close: async () => void closed.push('pool') };
    });
    const plain = resourceKind('plain', () => ({ counters: new Map() }));
    const resources = new ProcessResources(() => platform);
    expect(resources.get(pool)).toBe(resources.get(pool));
    resources.get(plain);
    expect(made).toEqual(['p']);
    expect(new ProcessResources(() => platform).get(pool)).not.toBe(resources.get(pool));
    await resources.close();
    expect(closed).toEqual(['pool']);
    expect(() => resources.get(pool)).toThrow(/closed/);
  });

  it('closes every resource even when one fails, then reports the failure', async () => {
    const closed: string[] = [];
    const resources = new ProcessResources(() => platform);
    resources.get(resourceKind('broken', () => ({ close: () => Promise.reject(new Error('stuck')) })));
    resources.get(resourceKind('fine', () => ({ close: () => void closed.push('fine') })));
    await expect(resources.close()).rejects.toThrow('stuck');
    expect(closed).toEqual(['fine']);
  });
});
