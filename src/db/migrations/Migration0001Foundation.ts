import { Migration } from '@mikro-orm/migrations';

/** Keys, campaigns, bulk generations and vouchers, plus the two append-only logs every capability writes to. */
export class Migration0001Foundation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table api_keys (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        key_hash text not null unique,
        key_prefix text not null,
        role text not null default 'admin' check (role in ('admin', 'standard')),
        created_at timestamptz not null default now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    this.addSql(`
      create table campaigns (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        code_config jsonb not null,
        space_key text not null,
        allow_guessable boolean not null default false,
        active boolean not null default true,
        status text not null default 'active',
        start_date timestamptz,
        expiration_date timestamptz,
        timezone text not null default 'UTC',
        rules jsonb not null default '{}'::jsonb,
        metadata jsonb not null default '{}'::jsonb,
        issued_count bigint not null default 0,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql('create index campaigns_space_key_idx on campaigns (space_key)');
    this.addSql(`
      create table generations (
        id uuid primary key default gen_random_uuid(),
        campaign_id uuid not null references campaigns (id),
        status text not null default 'queued' check (status in ('queued', 'running', 'completed', 'failed', 'exhausted')),
        requested integer not null check (requested > 0),
        generated integer not null default 0,
        collisions bigint not null default 0,
        chunk_size integer not null,
        chunk_count integer not null,
        idempotency_key text,
        entropy_bits double precision not null,
        guess_probability double precision not null,
        error text,
        created_at timestamptz not null default now(),
        started_at timestamptz,
        finished_at timestamptz,
        unique (campaign_id, idempotency_key)
      )`);
    this.addSql('create index generations_campaign_id_idx on generations (campaign_id)');
    this.addSql(`
      create table generation_chunks (
        generation_id uuid not null references generations (id),
        chunk_index integer not null,
        size integer not null,
        inserted integer not null,
        collisions integer not null,
        exhausted boolean not null default false,
        written_by text,
        completed_at timestamptz not null default now(),
        primary key (generation_id, chunk_index)
      )`);
    // Bulk-loaded: no foreign key (a per-row trigger) on campaign_id; campaigns are never deleted.
    this.addSql(`
      create table vouchers (
        id bigint generated always as identity primary key,
        code text not null,
        campaign_id uuid not null,
        generation_id uuid,
        status text not null default 'active',
        active boolean not null default true,
        redemption_count integer not null default 0,
        start_date timestamptz,
        expiration_date timestamptz,
        rules jsonb,
        metadata jsonb,
        created_at timestamptz not null default now(),
        updated_at timestamptz
      )`);
    this.addSql('create unique index vouchers_code_key on vouchers (code)');
    this.addSql('create index vouchers_campaign_id_id_idx on vouchers (campaign_id, id)');
    // Lifecycle log of every voucher state change: append-only, never updated or deleted.
    this.addSql(`
      create table voucher_events (
        id bigint generated always as identity primary key,
        voucher_id bigint not null,
        type text not null,
        actor text,
        details jsonb not null default '{}'::jsonb,
        created_at timestamptz not null default now()
      )`);
    this.addSql('create index voucher_events_voucher_id_idx on voucher_events (voucher_id, id)');
    // Transactional outbox: every externally visible event is written here in the same transaction as its change.
    this.addSql(`
      create table outbox_events (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        type text not null,
        data jsonb not null,
        created_at timestamptz not null default now(),
        dispatched_at timestamptz
      )`);
    this.addSql('create index outbox_events_pending_idx on outbox_events (seq) where dispatched_at is null');
    this.addSql('create index outbox_events_type_seq_idx on outbox_events (type, seq)');
    this.addSql(`
      create or replace function forbid_change() returns trigger language plpgsql as $$
      begin raise exception '% is append-only', tg_table_name; end $$`);
    this.addSql(`create trigger voucher_events_append_only before update or delete on voucher_events
      for each row execute function forbid_change()`);
  }
}
