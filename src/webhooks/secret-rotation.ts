import type { Config } from '../../config/index.ts';
import type { Queryable } from '../db/sql.ts';
import type { Logger } from '../shared/logger.ts';
import { decryptWithAnyKey, encryptSecret, secretDecryptionKeys } from './secrets.ts';

type SecretColumn = 'secret_encrypted' | 'previous_secret_encrypted';

/**
 * After WEBHOOK_SECRET_ENCRYPTION_KEY changed (the old key moved to WEBHOOK_SECRET_ENCRYPTION_KEY_PREVIOUS), puts
 * every stored signing secret under the current key. Each value is swapped only if it is still the one read
 * (compare-and-set), so processes starting together do it once between them, and a rerun changes nothing. A value
 * no configured key opens is reported and left as it is (counted as `unreadable`).
 */
export async function reencryptWebhookSecrets(
  db: Queryable,
  config: Config,
  logger: Logger,
): Promise<{ reencrypted: number; unreadable: number }> {
  const keys = secretDecryptionKeys(config);
  const current = keys[0];
  if (keys.length < 2 || !current) return { reencrypted: 0, unreadable: 0 };
  const { rows } = await db.query<{ id: string } & Record<SecretColumn, string | null>>(
    'select id, secret_encrypted, previous_secret_encrypted from webhook_endpoints',
  );
  let reencrypted = 0;
  let unreadable = 0;
  for (const row of rows) {
    for (const column of ['secret_encrypted', 'previous_secret_encrypted'] as const) {
      const stored = row[column];
      if (!stored) continue;
      let opened: { secret: string; keyIndex: number };
      try {
        opened = decryptWithAnyKey(keys, stored);
      } catch {
        logger.error({ endpointId: row.id, column }, 'webhook secret opens with no configured key; left as it is');
        unreadable += 1;
        continue;
      }
      if (opened.keyIndex === 0) continue;
      const { rowCount } = await db.query(`update webhook_endpoints set ${column} = $3 where id = $1 and ${column} = $2`, [
        row.id,
        stored,
        encryptSecret(current, opened.secret),
      ]);
      reencrypted += rowCount ?? 0;
    }
  }
  return { reencrypted, unreadable };
}
