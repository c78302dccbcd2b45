import { Migration } from '@mikro-orm/migrations';

/**
 * The Voucherify-compatible API (issue 15):
 * - client keys: a `client` role (validate, redeem, publish, events from a browser) with an allow-list of origins;
 * - campaign names unique per installation, case-insensitively. Names that are already duplicated stay (a migration
 *   must not fail on data it did not write): every campaign of such a group but the oldest is marked
 *   `name_duplicate`, outside the unique index, and a lookup by such a name answers 409 `ambiguous_name`;
 * - deleted vouchers: Voucherify's delete is soft (disabled and hidden, the lifecycle log keeps it), `force` hides
 *   a voucher for good.
 * Listed after Migration1050Console, whose role check this one extends.
 */
export class Migration0950VoucherifyCompat extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table api_keys add column if not exists allowed_origins text[]');
    this.addSql('alter table api_keys drop constraint if exists api_keys_role_check');
    this.addSql(`alter table api_keys add constraint api_keys_role_check check (role in ('admin', 'standard', 'viewer', 'client'))`);

    this.addSql('alter table campaigns add column if not exists name_duplicate boolean not null default false');
    this.addSql(`
      update campaigns c set name_duplicate = true
      where exists (select 1 from campaigns o where lower(o.name) = lower(c.name) and (o.created_at, o.id) < (c.created_at, c.id))`);
    this.addSql('create unique index if not exists campaigns_name_ci_key on campaigns (lower(name)) where not name_duplicate');
    this.addSql('create index if not exists campaigns_name_ci_idx on campaigns (lower(name))');

    // Nullable, no default: instant on a table of millions of codes.
    this.addSql('alter table vouchers add column if not exists deleted_at timestamptz');
    this.addSql('alter table vouchers add column if not exists deleted_for_good boolean');
  }

  override async down(): Promise<void> {
    this.addSql('alter table vouchers drop column if exists deleted_for_good');
    this.addSql('alter table vouchers drop column if exists deleted_at');
    this.addSql('drop index if exists campaigns_name_ci_idx');
    this.addSql('drop index if exists campaigns_name_ci_key');
    this.addSql('alter table campaigns drop column if exists name_duplicate');
    this.addSql(`delete from api_keys where role = 'client'`);
    this.addSql('alter table api_keys drop constraint if exists api_keys_role_check');
    this.addSql(`alter table api_keys add constraint api_keys_role_check check (role in ('admin', 'standard', 'viewer'))`);
    this.addSql('alter table api_keys drop column if exists allowed_origins');
  }
}
