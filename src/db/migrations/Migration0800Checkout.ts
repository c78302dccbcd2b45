import { Migration } from '@mikro-orm/migrations';

/**
 * The checkout engine (issue 13): named segments, redemption groups (several codes redeemed together), the order id
 * and group of each redemption, and the customers' email lookup.
 */
export class Migration0800Checkout extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table segments (
        name text primary key,
        "when" jsonb not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table redemption_groups (
        id uuid primary key default gen_random_uuid(),
        status text not null check (status in ('succeeded', 'rolled_back')),
        mode text not null check (mode in ('all', 'partial')),
        order_id text,
        "order" jsonb,
        codes jsonb not null default '[]'::jsonb,
        customer_id text,
        customer_email text,
        metadata jsonb not null default '{}'::jsonb,
        api_key_id uuid,
        created_at timestamptz not null default now(),
        rolled_back_at timestamptz,
        rollback_reason text
      )`);
    this.addSql('create index redemption_groups_customer_idx on redemption_groups (customer_id) where customer_id is not null');
    this.addSql('alter table redemptions add column order_id text, add column group_id uuid');
    this.addSql('create index redemptions_group_idx on redemptions (group_id) where group_id is not null');
    this.addSql('create index redemptions_order_idx on redemptions (order_id) where order_id is not null');
    this.addSql('create index customers_email_idx on customers (lower(email), id) where email is not null');
  }

  override async down(): Promise<void> {
    this.addSql('drop index customers_email_idx');
    this.addSql('drop index redemptions_order_idx');
    this.addSql('drop index redemptions_group_idx');
    this.addSql('alter table redemptions drop column group_id, drop column order_id');
    this.addSql('drop table redemption_groups');
    this.addSql('drop table segments');
  }
}
