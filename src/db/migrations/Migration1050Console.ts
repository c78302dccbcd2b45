import { Migration } from '@mikro-orm/migrations';

/**
 * The operator console (issue 17): the `viewer` role, console sessions, daily rollups of redemption refusals per
 * reason and of guesses, and the indexes the console's pages read (webhook endpoint health, failed messages).
 */
export class Migration1050Console extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table api_keys drop constraint if exists api_keys_role_check');
    this.addSql(`alter table api_keys add constraint api_keys_role_check check (role in ('admin', 'standard', 'viewer'))`);

    // A session is the SHA-256 of a random token the browser holds in a signed cookie; it ends at expires_at,
    // at logout, or as soon as its key is revoked (every lookup joins api_keys).
    this.addSql(`
      create table console_sessions (
        id text primary key,
        api_key_id uuid not null references api_keys (id) on delete cascade,
        csrf_token text not null,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null
      )`);
    this.addSql('create index console_sessions_expires_idx on console_sessions (expires_at)');
    this.addSql('create index console_sessions_api_key_idx on console_sessions (api_key_id)');

    // Refusals of real codes, per campaign, hour and reason: appended by a trigger on the refusal's own outbox event
    // (so in the refusal's transaction), folded into the hourly rollup like campaign_stat_deltas.
    this.addSql(`
      create table campaign_refusal_deltas (
        id bigint generated always as identity primary key,
        campaign_id uuid not null,
        hour timestamptz not null,
        reason text not null,
        refused integer not null
      )`);
    this.addSql(`
      create table campaign_refusals_hourly (
        campaign_id uuid not null,
        hour timestamptz not null,
        reason text not null,
        refused bigint not null,
        primary key (campaign_id, hour, reason)
      )`);
    this.addSql('create index campaign_refusal_deltas_campaign_idx on campaign_refusal_deltas (campaign_id)');
    this.addSql(`
      create or replace function redemption_refusal_delta() returns trigger language plpgsql as $$
      begin
        insert into campaign_refusal_deltas (campaign_id, hour, reason, refused)
        values ((new.data->>'campaign_id')::uuid, date_trunc('hour', (new.data->>'attempted_at')::timestamptz, 'UTC'),
                new.data->>'reason', 1);
        return null;
      end $$`);
    // The WHEN clause is evaluated without calling the function: other events pay one comparison.
    this.addSql(`create trigger outbox_redemption_refusal_delta after insert on outbox_events
      for each row when (new.type = 'voucher.redemption.failed') execute function redemption_refusal_delta()`);

    // Failed lookups (guesses) per campaign and hour; a guess of a code that does not exist has no campaign (null).
    this.addSql(`
      create table campaign_guesses_hourly (
        campaign_id uuid,
        hour timestamptz not null,
        guesses bigint not null,
        constraint campaign_guesses_hourly_key unique nulls not distinct (campaign_id, hour)
      )`);

    // Each campaign's counters over its whole life, kept by the same fold that fills the hourly rollup, so the
    // campaign list reads one row per campaign (plus its few pending deltas) whatever the campaign's age.
    this.addSql(`
      create table campaign_stats_totals (
        campaign_id uuid primary key,
        published bigint not null default 0,
        redeemed bigint not null default 0,
        redeemed_codes bigint not null default 0,
        rolled_back bigint not null default 0,
        expired bigint not null default 0
      )`);
    this.addSql(`
      insert into campaign_stats_totals (campaign_id, published, redeemed, redeemed_codes, rolled_back, expired)
      select campaign_id, sum(published), sum(redeemed), sum(redeemed_codes), sum(rolled_back), sum(expired)
        from campaign_stats_hourly group by campaign_id`);

    // Endpoint health: the last success without walking a failing endpoint's deliveries.
    this.addSql(
      'create index webhook_deliveries_endpoint_delivered_idx on webhook_deliveries (endpoint_id, delivered_at desc) where delivered_at is not null',
    );
    // A distribution's failed messages, newest first; holds only failed and bounced rows.
    this.addSql(
      `create index deliveries_failed_idx on deliveries (distribution_id, updated_at desc) where status in ('failed', 'bounced')`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop index deliveries_failed_idx');
    this.addSql('drop index webhook_deliveries_endpoint_delivered_idx');
    this.addSql('drop table campaign_stats_totals');
    this.addSql('drop table campaign_guesses_hourly');
    this.addSql('drop trigger outbox_redemption_refusal_delta on outbox_events');
    this.addSql('drop function redemption_refusal_delta()');
    this.addSql('drop table campaign_refusals_hourly');
    this.addSql('drop table campaign_refusal_deltas');
    this.addSql('drop table console_sessions');
    this.addSql(`update api_keys set role = 'standard' where role = 'viewer'`);
    this.addSql('alter table api_keys drop constraint api_keys_role_check');
    this.addSql(`alter table api_keys add constraint api_keys_role_check check (role in ('admin', 'standard'))`);
  }
}
