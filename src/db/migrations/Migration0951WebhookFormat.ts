import { Migration } from '@mikro-orm/migrations';

/** A webhook endpoint's delivery format (issue 15): `standard` (as before) or Voucherify's envelope and signature. */
export class Migration0951WebhookFormat extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table webhook_endpoints add column if not exists format text not null default 'standard' check (format in ('standard', 'voucherify'))`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('alter table webhook_endpoints drop column if exists format');
  }
}
