import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { entities } from './entities.ts';
import { migrations } from './migrations/index.ts';

export interface OrmOptions {
  databaseUrl: string;
  poolSize: number;
}

/** Creates the database named in the URL when it does not exist yet (connecting to the `postgres` maintenance DB). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) throw new Error('DATABASE_URL names no database');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
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

export async function initOrm(options: OrmOptions): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: options.databaseUrl,
    entities,
    extensions: [Migrator],
    pool: { min: 0, max: options.poolSize },
    migrations: { migrationsList: migrations, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    debug: false,
    allowGlobalContext: false,
  });
}

/**
 * Applies pending migrations. Serialized across processes by an advisory lock so parallel starts are safe: a
 * transaction-scoped one, held by a transaction left open while the migrator works on other connections, so it
 * also holds behind a pooler in transaction mode (a session lock would stay with whichever server connection took it).
 */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const pool = await orm.em.getConnection().getNativeClient();
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock(7428100)');
    const applied = await orm.migrator.up();
    return applied.map((m) => m.name);
  } finally {
    await client.query('commit').catch(() => undefined);
    client.release();
  }
}
