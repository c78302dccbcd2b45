import { Migration } from '@mikro-orm/migrations';

/**
 * Reservations and campaign budgets (issue 14): a campaign's budget as set (campaigns.budget) and its counter row
 * (campaign_budgets: the limits it enforces and what is used, changed only by single conditional statements), the
 * per-customer discount counters, what each redemption took from a budget, reservations and their held uses (a
 * held use counts like a redemption: vouchers.redemption_count, plus held_count so a validation can tell a held
 * code from a used one).
 */
export class Migration0850Reservations extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table campaigns add column budget jsonb');
    this.addSql(`
      create table campaign_budgets (
        campaign_id uuid primary key references campaigns (id),
        max_redemptions integer,
        max_discount_amount bigint,
        currency text,
        max_discount_per_customer bigint,
        allow_partial boolean not null default false,
        used_redemptions integer not null default 0,
        used_discount bigint not null default 0,
        exhausted_at timestamptz,
        last_grant bigint,
        last_exhausted boolean not null default false,
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table campaign_budget_customers (
        campaign_id uuid not null,
        customer_key text not null,
        used_discount bigint not null default 0,
        last_grant bigint,
        primary key (campaign_id, customer_key)
      )`);
    // What the redemption took from its campaign's budget (null: the campaign had none when it was redeemed).
    this.addSql('alter table redemptions add column budget_discount bigint');
    this.addSql('alter table vouchers add column held_count integer not null default 0');
    this.addSql(`
      create table reservations (
        id uuid primary key default gen_random_uuid(),
        status text not null check (status in ('held', 'confirmed', 'released', 'expired')),
        order_id text not null,
        "order" jsonb,
        codes jsonb not null,
        customer_id text,
        customer_email text,
        metadata jsonb not null default '{}'::jsonb,
        api_key_id uuid,
        expires_at timestamptz not null,
        group_id uuid,
        created_at timestamptz not null default now(),
        confirmed_at timestamptz,
        released_at timestamptz,
        expired_at timestamptz,
        release_reason text
      )`);
    this.addSql(`create index reservations_due_idx on reservations (expires_at) where status = 'held'`);
    this.addSql(`create index reservations_held_id_idx on reservations (id) where status = 'held'`);
    this.addSql('create index reservations_order_idx on reservations (order_id)');
    this.addSql(`
      create table reservation_uses (
        reservation_id uuid not null references reservations (id),
        position integer not null,
        voucher_id bigint not null,
        campaign_id uuid not null,
        code text not null,
        customer_id text,
        status text not null check (status in ('held', 'confirmed', 'released', 'expired')),
        discount jsonb,
        discount_amount bigint,
        budget_discount bigint,
        primary key (reservation_id, position)
      )`);
    // A code's reservations (the console's Code page).
    this.addSql('create index reservation_uses_voucher_idx on reservation_uses (voucher_id)');
    // Per-customer limits count held uses beside succeeded redemptions, through these.
    this.addSql(`create index reservation_uses_held_voucher_idx on reservation_uses (voucher_id, customer_id) where status = 'held'`);
    this.addSql(`create index reservation_uses_held_campaign_idx on reservation_uses (campaign_id, customer_id) where status = 'held'`);

    // Customers who are the same person: what a campaign's per-customer limits count, and each use's e-mail key.
    this.addSql(
      `alter table campaigns add column customer_identity text not null default 'id' check (customer_identity in ('id', 'email', 'id_or_email'))`,
    );
    this.addSql('alter table redemptions add column customer_email_key text');
    this.addSql('alter table reservation_uses add column customer_email_key text');
    this.addSql(
      `create index redemptions_voucher_email_idx on redemptions (voucher_id, customer_email_key)
       where status = 'succeeded' and customer_email_key is not null`,
    );
    this.addSql(
      `create index redemptions_campaign_email_idx on redemptions (campaign_id, customer_email_key)
       where status = 'succeeded' and customer_email_key is not null`,
    );
    this.addSql(
      `create index reservation_uses_held_email_idx on reservation_uses (campaign_id, customer_email_key)
       where status = 'held' and customer_email_key is not null`,
    );

    // Every refused redemption and reservation of a real code, code by code: GET /v1/redemptions?status=failed.
    this.addSql(`
      create table failed_redemptions (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        kind text not null check (kind in ('redemption', 'reservation')),
        code text not null,
        campaign_id uuid not null,
        reason text not null,
        rule jsonb,
        customer_id text,
        order_id text,
        api_key_id uuid,
        created_at timestamptz not null default now()
      )`);
    this.addSql('create index failed_redemptions_campaign_seq_idx on failed_redemptions (campaign_id, seq)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table failed_redemptions');
    this.addSql('alter table redemptions drop column customer_email_key');
    this.addSql('alter table campaigns drop column customer_identity');
    this.addSql('drop table reservation_uses');
    this.addSql('drop table reservations');
    this.addSql('alter table vouchers drop column held_count');
    this.addSql('alter table redemptions drop column budget_discount');
    this.addSql('drop table campaign_budget_customers');
    this.addSql('drop table campaign_budgets');
    this.addSql('alter table campaigns drop column budget');
  }
}
