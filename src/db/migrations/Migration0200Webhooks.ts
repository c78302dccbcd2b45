import { Migration } from '@mikro-orm/migrations';

/** Webhook endpoints, one delivery per event × endpoint, every attempt; and a commit-order cursor for the outbox. */
export class Migration0200Webhooks extends Migration {
  override async up(): Promise<void> {
    // The writing transaction's id: events are listed in (txid, seq) order and only once every older transaction
    // has finished, so a cursor never skips an event that commits late with a smaller seq.
    this.addSql('alter table outbox_events add column txid xid8 not null default pg_current_xact_id()');
    this.addSql('create index outbox_events_txid_seq_idx on outbox_events (txid, seq)');
    this.addSql('create index outbox_events_type_txid_seq_idx on outbox_events (type, txid, seq)');
    this.addSql('create index outbox_events_created_at_idx on outbox_events (created_at)');
    this.addSql(`
      create table webhook_endpoints (
        id uuid primary key default gen_random_uuid(),
        url text not null,
        description text,
        events text[] not null,
        enabled boolean not null default true,
        secret_encrypted text not null,
        previous_secret_encrypted text,
        previous_secret_expires_at timestamptz,
        disabled_reason text,
        disabled_at timestamptz,
        failing_since timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    // status: pending (an attempt is due or running), succeeded, failed (dead-lettered), cancelled (endpoint disabled).
    // The id is derived from event × endpoint, so it is the stable webhook-id even if the relay runs twice.
    this.addSql(`
      create table webhook_deliveries (
        id uuid primary key,
        endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
        event_id uuid not null references outbox_events (id),
        event_type text not null,
        status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed', 'cancelled')),
        round integer not null default 1,
        attempts integer not null default 0,
        total_attempts integer not null default 0,
        next_attempt_at timestamptz not null default now(),
        last_status_code integer,
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        unique (endpoint_id, event_id)
      )`);
    this.addSql('create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, created_at desc)');
    this.addSql(`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending'`);
    this.addSql(`
      create table webhook_attempts (
        id bigint generated always as identity primary key,
        delivery_id uuid not null references webhook_deliveries (id) on delete cascade,
        round integer not null,
        attempt integer not null,
        attempted_at timestamptz not null,
        status_code integer,
        latency_ms integer not null,
        error text,
        response_body text
      )`);
    this.addSql('create index webhook_attempts_delivery_idx on webhook_attempts (delivery_id, id)');
  }
}
