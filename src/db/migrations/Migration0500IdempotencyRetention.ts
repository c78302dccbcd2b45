import { Migration } from '@mikro-orm/migrations';

/** Redemption Idempotency-Keys are kept for IDEMPOTENCY_KEY_TTL_SECONDS; the cleanup job walks them oldest first. */
export class Migration0500IdempotencyRetention extends Migration {
  override async up(): Promise<void> {
    this.addSql('create index redemption_idempotency_keys_created_idx on redemption_idempotency_keys (created_at)');
  }

  override async down(): Promise<void> {
    this.addSql('drop index redemption_idempotency_keys_created_idx');
  }
}
