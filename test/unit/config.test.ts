import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/index.ts';

describe('configuration', () => {
  it('has defaults that work on a developer machine', () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/promo');
    expect(config.GENERATION_CHUNK_SIZE).toBe(50_000);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable', () => {
    try {
      loadConfig({ PORT: 'eighty', GENERATION_CHUNK_SIZE: '-5', REDIS_URL: 'not a url' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('GENERATION_CHUNK_SIZE');
      expect(message).toContain('REDIS_URL');
    }
  });
});
