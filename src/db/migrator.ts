import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';
import { PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.ts';
import type { Database } from './sql.ts';

/** Session advisory lock that serializes migrations across processes, so parallel starts are safe (every version's key). */
const MIGRATION_LOCK = 7428100;

/** Creates the database named in the URL when it does not exist yet (connecting to the `postgres` maintenance DB). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) throw new Error('DATABASE_URL names no database');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`create database ${pg.escapeIdentifier(name)}`).catch((error: { code?: string }) => {
        // Another process created it between our check and our create.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * Applies pending migrations with MikroORM's migrator, on one connection of the platform's own pool: the one that
 * holds the migration lock. MikroORM opens no pool of its own; it sees that single connection as its "pool", and
 * closing it only hands the connection back.
 */
export async function runMigrations(db: Database): Promise<string[]> {
  const outcome = await db.withAdvisoryLock(MIGRATION_LOCK, { wait: true }, async (session) => {
    const borrowed = { query: session.query.bind(session), release: () => undefined };
    const { rows } = await session.query<{ name: string }>('select current_database() as name');
    const orm = await MikroORM.init({
      dbName: rows[0]?.name,
      driverOptions: new PostgresDialect({ pool: { connect: async () => borrowed, end: async () => undefined, options: {} } }),
      // MikroORM keeps the schema as migrations only: no entities, every statement is SQL on the platform's pool.
      entities: [],
      discovery: { warnWhenNoEntities: false },
      extensions: [Migrator],
      // Not transactional by itself: it runs inside the lock's transaction, which commits every migration of this
      // run with the lock, or none (all or nothing).
      migrations: { migrationsList: migrations, transactional: false, snapshot: false, silent: true },
      debug: false,
      allowGlobalContext: false,
    });
    try {
      const applied = await orm.migrator.up();
      return applied.map((m) => m.name);
    } finally {
      await orm.close(true);
    }
  });
  return outcome.locked ? outcome.result : [];
}
