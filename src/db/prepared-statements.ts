import type pg from 'pg';

/**
 * Makes every connection of `pool` send its statements unnamed. A named statement (`{ name, text }`) is prepared once
 * per server connection and then only bound; behind a pooler in transaction mode (PgBouncer before 1.21, or without
 * `max_prepared_statements`) the next transaction may run on another server connection, which never saw it
 * ("prepared statement … does not exist", 26000). Unnamed, each statement is parsed with its own transaction.
 */
export function sendStatementsUnnamed(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
      if (config && typeof config === 'object' && 'name' in config && typeof (config as { submit?: unknown }).submit !== 'function') {
        const { name: _name, ...unnamed } = config as Record<string, unknown>;
        return query(unnamed, ...rest);
      }
      return query(config, ...rest);
    };
  });
}
