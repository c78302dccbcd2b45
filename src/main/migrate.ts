import { loadConfig } from '../../config/index.ts';
import { ensureDatabase, runMigrations } from '../db/migrator.ts';
import { createPool, Database } from '../db/sql.ts';

const config = loadConfig();
await ensureDatabase(config.DATABASE_URL);
const db = new Database(
  createPool({
    connectionString: config.DATABASE_URL,
    max: 1,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    onConnectionLost: (error) => console.error(`database connection lost: ${error.message}`),
  }),
);
try {
  const applied = await runMigrations(db);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
} finally {
  await db.pool.end();
}
