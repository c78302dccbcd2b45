import { Migration } from '@mikro-orm/migrations';

/**
 * Expiry sweep, stats rollups, daily reports and exports.
 *
 * Stats are kept as append-only deltas (`campaign_stat_deltas`, written in the transaction of each change: the
 * sweep's batches and a trigger on single-row `redemptions` writes) folded into an hourly rollup
 * (`campaign_stats_hourly`) by the sweep and report jobs. Nothing is added on `vouchers` inserts, so bulk generation
 * stays as fast as before; `campaigns.issued_count` already counts generated codes.
 */
export class Migration0400ScheduledRuns extends Migration {
  override async up(): Promise<void> {
    // The sweep's claim query walks this partial index: only active vouchers with a date of their own, oldest first.
    this.addSql(
      `create index vouchers_expiry_due_idx on vouchers (expiration_date, id) where status = 'active' and expiration_date is not null`,
    );
    this.addSql(
      `create index campaigns_expiry_due_idx on campaigns (expiration_date) where status <> 'expired' and expiration_date is not null`,
    );

    this.addSql(`
      create table campaign_stat_deltas (
        id bigint generated always as identity primary key,
        campaign_id uuid not null,
        hour timestamptz not null,
        currency text not null default '',
        published integer not null default 0,
        redeemed integer not null default 0,
        redeemed_codes integer not null default 0,
        rolled_back integer not null default 0,
        expired integer not null default 0,
        discount bigint not null default 0
      )`);
    this.addSql('create index campaign_stat_deltas_campaign_idx on campaign_stat_deltas (campaign_id)');
    this.addSql(`
      create table campaign_stats_hourly (
        campaign_id uuid not null,
        hour timestamptz not null,
        currency text not null default '',
        published bigint not null default 0,
        redeemed bigint not null default 0,
        redeemed_codes bigint not null default 0,
        rolled_back bigint not null default 0,
        expired bigint not null default 0,
        discount bigint not null default 0,
        primary key (campaign_id, hour, currency)
      )`);

    // Redemptions are single-row writes, so a row trigger is cheap there; it appends deltas (never updates a hot row).
    this.addSql(`
      create or replace function redemption_stat_delta() returns trigger language plpgsql as $$
      declare
        other_succeeded boolean;
      begin
        if tg_op = 'INSERT' then
          if new.status = 'succeeded' then
            select exists (select 1 from redemptions r where r.voucher_id = new.voucher_id and r.status = 'succeeded' and r.id <> new.id)
              into other_succeeded;
            insert into campaign_stat_deltas (campaign_id, hour, currency, redeemed, redeemed_codes, discount)
            values (new.campaign_id, date_trunc('hour', new.created_at, 'UTC'), coalesce(new.currency, ''), 1,
                    case when other_succeeded then 0 else 1 end, coalesce(new.discount_amount, 0));
          elsif new.status = 'rolled_back' then
            insert into campaign_stat_deltas (campaign_id, hour, currency, rolled_back)
            values (new.campaign_id, date_trunc('hour', coalesce(new.rolled_back_at, new.created_at), 'UTC'), coalesce(new.currency, ''), 1);
          end if;
        elsif tg_op = 'UPDATE' and old.status = 'succeeded' and new.status = 'rolled_back' then
          select exists (select 1 from redemptions r where r.voucher_id = new.voucher_id and r.status = 'succeeded' and r.id <> new.id)
            into other_succeeded;
          -- The use leaves the day it was made; the rollback counts on the day it happened.
          insert into campaign_stat_deltas (campaign_id, hour, currency, redeemed, redeemed_codes, discount)
          values (new.campaign_id, date_trunc('hour', new.created_at, 'UTC'), coalesce(new.currency, ''), -1,
                  case when other_succeeded then 0 else -1 end, -coalesce(new.discount_amount, 0));
          insert into campaign_stat_deltas (campaign_id, hour, currency, rolled_back)
          values (new.campaign_id, date_trunc('hour', coalesce(new.rolled_back_at, now()), 'UTC'), coalesce(new.currency, ''), 1);
        end if;
        return null;
      end $$`);
    // Redemptions come from an earlier migration (issue 3); attach only when the table is there.
    this.addSql(`
      do $$ begin
        if to_regclass('public.redemptions') is not null then
          create trigger redemptions_stat_delta after insert or update of status on redemptions
            for each row execute function redemption_stat_delta();
        end if;
      end $$`);

    // Publications can arrive in bulk (distributions): a statement trigger with a transition table, one delta per campaign.
    this.addSql(`
      create or replace function publication_stat_delta() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          insert into campaign_stat_deltas (campaign_id, hour, published)
          select campaign_id, date_trunc('hour', now(), 'UTC'), count(*) from changed_rows group by campaign_id;
        else
          insert into campaign_stat_deltas (campaign_id, hour, published)
          select campaign_id, date_trunc('hour', now(), 'UTC'), -count(*) from changed_rows group by campaign_id;
        end if;
        return null;
      end $$`);
    this.addSql(`
      do $$ begin
        if to_regclass('public.publications') is not null then
          create trigger publications_stat_delta_insert after insert on publications
            referencing new table as changed_rows for each statement execute function publication_stat_delta();
          create trigger publications_stat_delta_delete after delete on publications
            referencing old table as changed_rows for each statement execute function publication_stat_delta();
        end if;
      end $$`);

    this.addSql(`
      create table campaign_daily_reports (
        campaign_id uuid not null references campaigns (id),
        day date not null,
        timezone text not null,
        generated bigint not null,
        published bigint not null,
        redeemed bigint not null,
        redeemed_codes bigint not null,
        rolled_back bigint not null,
        expired bigint not null,
        discount jsonb not null default '{}'::jsonb,
        totals jsonb not null,
        created_at timestamptz not null default now(),
        primary key (campaign_id, day)
      )`);
    this.addSql(`
      create table daily_report_runs (
        day date not null,
        timezone text not null,
        campaigns integer not null,
        emailed_at timestamptz,
        email_file text,
        created_at timestamptz not null default now(),
        primary key (day, timezone)
      )`);

    // A campaign that asks for expiring-soon reminders, and the vouchers already reminded (once per voucher).
    this.addSql(`
      create table campaign_expiry_reminders (
        campaign_id uuid primary key references campaigns (id),
        days_before integer not null check (days_before between 1 and 365),
        channel text not null default 'email' check (channel in ('email', 'sms')),
        template_id uuid,
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table expiry_reminders (
        voucher_id bigint primary key,
        campaign_id uuid not null,
        expiration_date timestamptz not null,
        created_at timestamptz not null default now()
      )`);

    this.addSql(`
      create table exports (
        id uuid primary key default gen_random_uuid(),
        campaign_id uuid not null references campaigns (id),
        format text not null default 'csv' check (format in ('csv')),
        filter jsonb not null default '{}'::jsonb,
        status text not null default 'queued' check (status in ('queued', 'running', 'completed', 'failed', 'expired')),
        total_rows bigint,
        exported_rows bigint not null default 0,
        file_path text,
        file_size bigint,
        error text,
        requested_by text,
        idempotency_key text,
        created_at timestamptz not null default now(),
        started_at timestamptz,
        finished_at timestamptz,
        expires_at timestamptz,
        unique (campaign_id, idempotency_key)
      )`);
    this.addSql('create index exports_campaign_idx on exports (campaign_id, created_at desc)');
    this.addSql(`create index exports_expiry_idx on exports (expires_at) where status <> 'expired'`);
  }
}
