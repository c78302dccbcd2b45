import pg from 'pg';
import { DatabaseUnavailableError, NotFoundError, TransactionConflictError } from '../shared/errors.ts';
import { uniformRandom } from '../shared/jitter.ts';
import { pageOf } from '../shared/paging.ts';
import { isUuid } from '../shared/uuid.ts';

/** The one thing a statement needs: the pool or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string | pg.QueryConfig, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** A statement as text with parameters, or as a (named, so prepared once per connection) pg query config. */
export type Statement = string | pg.QueryConfig;

const DATE = 1082;
const INTERVAL = 1186;

/**
 * Type parsing for every statement: timestamps become Date (so they serialize as ISO 8601), while calendar dates
 * and intervals stay strings ('2026-11-24'), never shifted by a time zone.
 */
function typeOverrides(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(DATE, (value: string) => value);
  types.setTypeParser(INTERVAL, (value: string) => value);
  return types;
}

export interface PoolOptions {
  connectionString: string;
  /** DATABASE_POOL_SIZE: the most connections this process opens for statements, migrations included. */
  max: number;
  /** How long a caller waits for a connection (a new one, or a free one of a busy pool) before giving up. */
  connectTimeoutMs: number;
  /** A connection PostgreSQL closed (restart, failover, `pg_terminate_backend`, a session timeout). */
  onConnectionLost: (error: Error) => void;
}

/** The process's one pool of PostgreSQL connections. */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    types: typeOverrides(),
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: options.connectTimeoutMs,
  });
  // A listener for each client's whole life: pg-pool listens only while a client is idle, and a cut connection of a
  // checked-out client (a transaction, a lock holder, a COPY) would otherwise be an unhandled 'error' that ends the
  // process. The statement in flight rejects on its own; the pool drops the dead client when it is released.
  pool.on('connect', (client) => client.on('error', options.onConnectionLost));
  // An idle client's error reaches the pool too; the client's own listener above has already reported it.
  pool.on('error', () => undefined);
  return pool;
}

const LOST_CONNECTION_STATES = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '57P05', // idle_session_timeout
  '25P03', // idle_in_transaction_session_timeout
  '53300', // too_many_connections
]);
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const POOL_TIMEOUT = 'timeout exceeded when trying to connect';
/** What pg and pg-pool say when a socket ends, or a client is used after its connection failed. */
const LOST_CONNECTION_MESSAGES = [
  'Connection terminated',
  'is not queryable',
  'terminating connection',
  'server closed the connection unexpectedly',
  POOL_TIMEOUT,
];

/** Whether an error means PostgreSQL could not be reached or dropped the connection (never a statement's own fault). */
export function isConnectionLoss(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('08') || LOST_CONNECTION_STATES.has(code) || NETWORK_ERRORS.has(code))) return true;
  if (error instanceof AggregateError && error.errors.some(isConnectionLoss)) return true;
  return LOST_CONNECTION_MESSAGES.some((m) => error.message.includes(m));
}

/** A lost connection as the domain error callers see (503 `database_unavailable`); any other error unchanged. */
export function asUnavailable(error: unknown): unknown {
  if (error instanceof DatabaseUnavailableError || !isConnectionLoss(error)) return error;
  return new DatabaseUnavailableError(error);
}

/** A lost connection that is worth one more try on a fresh one (not a pool that stayed busy for the whole timeout). */
export function retriable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return retriable(error.cause);
  return isConnectionLoss(error) && !(error instanceof Error && error.message.includes(POOL_TIMEOUT));
}

/** A deadlock (40P01) or serialization failure (40001): PostgreSQL rolled the transaction back, so it may run again. */
export function isTransactionConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

export interface TransactionOptions {
  /**
   * How many more times to run a transaction that ended in a deadlock or serialization failure (default 0), after
   * a short random pause; past them, TransactionConflictError (503 with Retry-After). Only for `work` that can run
   * again from the start (its effects are in the transaction alone).
   */
  conflictRetries?: number;
}

/** A statement runs on the pool or on one client; both accept text with parameters or a query config. */
function run<R extends pg.QueryResultRow>(on: pg.Pool | pg.PoolClient, statement: Statement, params?: unknown[]) {
  return typeof statement === 'string' ? on.query<R>(statement, params) : on.query<R>({ ...statement, values: params ?? statement.values });
}

/**
 * An advisory lock key: one bigint key, or two int keys (PostgreSQL keeps the two kinds apart), the second of
 * which may be text that PostgreSQL hashes (`hashtext`), to lock one row's id.
 */
export type AdvisoryLockKey = number | readonly [number, number | string];

/** SQL on the process's one pool; a lost connection surfaces as DatabaseUnavailableError. */
export class Database implements Queryable {
  readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(statement: Statement, params?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await run<R>(this.pool, statement, params);
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  /** A statement without effects (a read): run again once on a fresh connection when its connection is lost. */
  async read<R extends pg.QueryResultRow = pg.QueryResultRow>(statement: Statement, params?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await run<R>(this.pool, statement, params);
    } catch (error) {
      if (!retriable(error)) throw asUnavailable(error);
    }
    return this.query<R>(statement, params);
  }

  /**
   * Runs `work` in one transaction on one connection; commits when it resolves, rolls back when it throws. A
   * connection lost before `work` starts is retried once (nothing has run); lost later, the caller gets
   * DatabaseUnavailableError (the transaction rolled back, or, lost during COMMIT, its outcome is unknown). With
   * `conflictRetries`, a deadlock or serialization failure runs `work` again.
   */
  async transaction<T>(work: (tx: pg.PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const retries = options.conflictRetries ?? 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(work);
      } catch (error) {
        if (!isTransactionConflict(error) || retries === 0) throw error;
        if (attempt >= retries) throw new TransactionConflictError(error);
        // A random pause, so the transactions that collided do not collide again in step.
        await new Promise((resolve) => setTimeout(resolve, 2 + uniformRandom() * 8 * (attempt + 1)));
      }
    }
  }

  async #once<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#begin();
    try {
      const result = await work(client);
      await client.query('commit');
      client.release();
      return result;
    } catch (error) {
      const rolledBack =
        !isConnectionLoss(error) &&
        (await client.query('rollback').then(
          () => true,
          () => false,
        ));
      // A client whose connection is gone, or whose state is unknown, is destroyed, not handed to the next caller.
      client.release(!rolledBack);
      throw asUnavailable(error);
    }
  }

  /**
   * Runs `work` on one connection of its own, holding the advisory lock `key` (waiting for it, or, with
   * `wait: false`, answering `{ locked: false }` when another session holds it). The lock is transaction-scoped,
   * held by a transaction that stays open until `work` ends, so it also holds behind a pooler in transaction mode
   * (PgBouncer), where a session lock would stay with whichever server connection took it. What `work` runs on
   * `session` is part of that transaction: committed when `work` resolves, rolled back when it throws; statements
   * that must be seen as they go run on the pool. The signal aborts when the connection, and with it the lock, is
   * lost: `work` should stop at its next step.
   */
  async withAdvisoryLock<T>(
    key: AdvisoryLockKey,
    options: { wait: boolean },
    work: (session: pg.PoolClient, lost: AbortSignal) => Promise<T>,
  ): Promise<{ locked: true; result: T } | { locked: false }> {
    const client = await this.#connect();
    const lost = new AbortController();
    const onLost = (error: Error) => lost.abort(new DatabaseUnavailableError(error));
    client.on('error', onLost);
    let broken = false;
    let open = false;
    try {
      const [args, params] =
        typeof key === 'number' ? ['$1', [key]] : [typeof key[1] === 'string' ? '$1, hashtext($2)' : '$1, $2', [...key]];
      await client.query('begin');
      open = true;
      const sql = options.wait
        ? `select pg_advisory_xact_lock(${args}), true as locked`
        : `select pg_try_advisory_xact_lock(${args}) as locked`;
      const { rows } = await client.query<{ locked: boolean }>(sql, params);
      if (!rows[0]?.locked) return { locked: false };
      const result = await work(client, lost.signal);
      await client.query('commit');
      open = false;
      return { locked: true, result };
    } catch (error) {
      broken ||= isConnectionLoss(error);
      throw asUnavailable(error);
    } finally {
      if (open && !broken) {
        await client.query('rollback').catch(() => {
          broken = true;
        });
      }
      client.off('error', onLost);
      // A broken connection has lost its lock anyway: destroy it rather than hand it back.
      client.release(broken || lost.signal.aborted);
    }
  }

  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      if (!retriable(error)) throw asUnavailable(error);
    }
    try {
      return await this.pool.connect();
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  async #begin(): Promise<pg.PoolClient> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#connect();
      try {
        await client.query('begin');
        return client;
      } catch (error) {
        client.release(error as Error);
        if (attempt > 1 || !retriable(error)) throw asUnavailable(error);
      }
    }
  }
}

/**
 * The row of `table` whose id (a UUID) is `id`, or NotFoundError(`resource`): a malformed id is not found, never a
 * query error. `table` and `columns` are the caller's constants, never input.
 */
export async function rowById<R extends pg.QueryResultRow>(
  db: Queryable,
  table: string,
  resource: string,
  id: string,
  columns = '*',
): Promise<R> {
  const row = isUuid(id) ? (await db.query<R>(`select ${columns} from ${table} where id = $1`, [id])).rows[0] : undefined;
  if (!row) throw new NotFoundError(resource, id);
  return row;
}

/**
 * A newest-first page of `table`, keyset-paginated on its insertion sequence `seq`. Each condition is SQL with one
 * `$?` for its value and is left out when the value is undefined; `cursor` continues after the last page's row.
 */
export async function seqPage<R extends { seq: string | number }>(
  db: Queryable,
  table: string,
  conditions: readonly (readonly [string, unknown])[],
  page: { limit: number; cursor?: readonly [string] },
): Promise<{ data: R[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [condition, value] of [...conditions, ['seq < $?', page.cursor?.[0]] as const]) {
    if (value === undefined) continue;
    params.push(value);
    where.push(condition.replace('$?', `$${params.length}`));
  }
  params.push(page.limit + 1);
  const { rows } = await db.query<R>(
    `select * from ${table} ${where.length ? `where ${where.join(' and ')}` : ''} order by seq desc limit $${params.length}`,
    params,
  );
  return pageOf(rows, page.limit, (r) => [String(r.seq)]);
}
