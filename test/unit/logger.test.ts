import { Writable } from 'node:stream';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.ts';
import { TEST_PG } from '../support/platform.ts';

describe('logger', () => {
  it('logs a PostgreSQL error without the row values PostgreSQL quotes in it', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const client = new pg.Client({ connectionString: `${TEST_PG}/postgres` });
    await client.connect();
    let error: unknown;
    try {
      await client.query('create temp table codes (code text constraint codes_code_key unique)');
      await client.query("insert into codes values ('SPRING-7Q4K')");
      await client.query("insert into codes values ('SPRING-7Q4K')");
    } catch (e) {
      error = e;
    } finally {
      await client.end();
    }
    expect((error as { detail?: string }).detail).toContain('SPRING-7Q4K');
    logger.error({ err: error, path: '/v1/vouchers' }, 'unhandled error');
    logger.warn({ err: 'a plain message' }, 'string errors stay as they are');
    const [logged, plain] = lines.map((l) => JSON.parse(l));
    expect(JSON.stringify(logged)).not.toContain('SPRING-7Q4K');
    expect(logged.err).toMatchObject({ type: 'DatabaseError', code: '23505', constraint: 'codes_code_key' });
    expect(logged.err.message).toContain('codes_code_key');
    expect(plain.err).toBe('a plain message');
  });
});
