import { loadConfig } from '../../config/index.ts';
import { ensureDatabase, initOrm, migrate } from '../db/orm.ts';

const config = loadConfig();
await ensureDatabase(config.DATABASE_URL);
const orm = await initOrm({ databaseUrl: config.DATABASE_URL, poolSize: 2 });
try {
  const applied = await migrate(orm);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
} finally {
  await orm.close(true);
}
