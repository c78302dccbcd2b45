import { Migration } from '@mikro-orm/migrations';

/**
 * Publications (codes assigned to customers), customers, templates, deliveries (one row per message),
 * bulk distributions and event-triggered issuance.
 */
export class Migration0300Delivery extends Migration {
  override async up(): Promise<void> {
    // Issue 3 adds holder_customer_id too; `if not exists` keeps the two migrations order-independent.
    this.addSql('alter table vouchers add column if not exists holder_customer_id text');
    this.addSql('alter table vouchers add column if not exists published_at timestamptz');
    // The claim path: the oldest unpublished codes of a campaign, found without scanning published ones.
    this.addSql('create index if not exists vouchers_unpublished_idx on vouchers (campaign_id, id) where published_at is null');
    this.addSql(`
      create table campaign_publishing (
        campaign_id uuid primary key references campaigns (id),
        join_once boolean not null default false,
        generate_on_demand boolean not null default false,
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table customers (
        id text primary key,
        email text,
        phone text,
        name text,
        metadata jsonb not null default '{}'::jsonb,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table message_templates (
        id uuid primary key default gen_random_uuid(),
        name text not null,
        channel text not null check (channel in ('email', 'sms')),
        subject text,
        html text,
        text text not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`
      create table distributions (
        id uuid primary key default gen_random_uuid(),
        campaign_id uuid not null references campaigns (id),
        channel text not null check (channel in ('email', 'sms', 'none')),
        template_id uuid references message_templates (id),
        status text not null default 'receiving'
          check (status in ('receiving', 'queued', 'running', 'delivering', 'failed')),
        source text not null default 'inline',
        total integer not null default 0,
        chunk_size integer not null,
        chunk_count integer not null default 0,
        idempotency_key text,
        error text,
        created_at timestamptz not null default now(),
        started_at timestamptz,
        published_at timestamptz,
        unique (campaign_id, idempotency_key)
      )`);
    this.addSql(`
      create table distribution_recipients (
        distribution_id uuid not null,
        ord integer not null,
        customer_id text,
        email text,
        phone text,
        name text,
        metadata jsonb not null default '{}'::jsonb,
        primary key (distribution_id, ord)
      )`);
    this.addSql(`
      create table distribution_chunks (
        distribution_id uuid not null,
        chunk_index integer not null,
        published integer not null,
        skipped integer not null,
        invalid integer not null,
        exhausted integer not null,
        completed_at timestamptz not null default now(),
        primary key (distribution_id, chunk_index)
      )`);
    this.addSql(`
      create table publications (
        id uuid primary key default gen_random_uuid(),
        campaign_id uuid not null references campaigns (id),
        voucher_id bigint not null unique,
        code text not null,
        customer_id text not null,
        source_id text,
        join_once boolean not null default false,
        channel text not null default 'none',
        template_id uuid,
        distribution_id uuid,
        actor text,
        created_at timestamptz not null default now()
      )`);
    this.addSql('create unique index publications_source_id_key on publications (source_id) where source_id is not null');
    // One code per customer where the campaign says so, enforced by the database under races.
    this.addSql('create unique index publications_join_once_key on publications (campaign_id, customer_id) where join_once');
    // A distribution reaches each customer once, even when the list names them twice.
    this.addSql(
      'create unique index publications_distribution_customer_key on publications (distribution_id, customer_id) where distribution_id is not null',
    );
    this.addSql('create index publications_customer_idx on publications (customer_id, created_at)');
    this.addSql(`
      create table deliveries (
        id uuid primary key default gen_random_uuid(),
        channel text not null check (channel in ('email', 'sms')),
        status text not null default 'queued' check (status in ('queued', 'sent', 'failed', 'bounced')),
        recipient text not null,
        customer_id text,
        voucher_id bigint,
        publication_id uuid,
        distribution_id uuid,
        template_id uuid not null,
        purpose text not null default 'publication',
        provider text,
        provider_message_id text,
        error text,
        attempts integer not null default 0,
        unconfirmed integer not null default 0,
        sending_started_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        sent_at timestamptz
      )`);
    this.addSql(
      'create index deliveries_distribution_status_idx on deliveries (distribution_id, status) where distribution_id is not null',
    );
    this.addSql("create index deliveries_queued_idx on deliveries (created_at) where status = 'queued'");
    this.addSql('create index deliveries_voucher_idx on deliveries (voucher_id)');
    this.addSql(`
      create table campaign_triggers (
        id uuid primary key default gen_random_uuid(),
        campaign_id uuid not null references campaigns (id),
        event_type text not null,
        channel text not null check (channel in ('email', 'sms', 'none')),
        template_id uuid references message_templates (id),
        conditions jsonb not null default '{}'::jsonb,
        active boolean not null default true,
        created_at timestamptz not null default now()
      )`);
    this.addSql('create index campaign_triggers_event_idx on campaign_triggers (event_type) where active');
    this.addSql(`
      create table business_events (
        id uuid primary key default gen_random_uuid(),
        type text not null,
        customer jsonb not null,
        data jsonb not null default '{}'::jsonb,
        source_id text unique,
        status text not null default 'received' check (status in ('received', 'processed', 'failed')),
        result jsonb,
        created_at timestamptz not null default now(),
        processed_at timestamptz
      )`);
  }
}
