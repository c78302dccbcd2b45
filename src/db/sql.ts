import pg from 'pg';

/** The one thing a statement needs: a pool or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

const DATE = 1082;
const INTERVAL = 1186;

/**
 * Type parsing for raw SQL: timestamps become Date (so they serialize as ISO 8601), while calendar dates
 * and intervals stay strings ('2026-11-24'), never shifted by a time zone.
 */
function typeOverrides(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(DATE, (value: string) => value);
  types.setTypeParser(INTERVAL, (value: string) => value);
  return types;
}

/**
 * A pool for raw SQL. An idle connection that PostgreSQL closes (a restart, a failover, an administrator's
 * `pg_terminate_backend`) is reported to `onIdleError` and replaced on next use; without a listener, pg-pool's
 * 'error' event would end the process.
 */
export function createPool(connectionString: string, max: number, onIdleError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, types: typeOverrides(), idleTimeoutMillis: 30_000 });
  pool.on('error', onIdleError);
  return pool;
}

/** Raw SQL access, for statements that must be atomic or bulk (its own pool; the ORM keeps its own). */
export class Database implements Queryable {
  readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, params);
  }

  /** Runs `work` in one transaction on one connection; commits when it resolves, rolls back when it throws. */
  async transaction<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
