import { Migration } from '@mikro-orm/migrations';

/**
 * Redemptions (the truth every limit is counted from), their idempotency keys, the holder column publications set,
 * and the indexes the validation hot path and the per-customer limits read.
 */
export class Migration0100Redemptions extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table vouchers add column if not exists holder_customer_id text');
    // Only standalone vouchers carry metadata; bulk rows (metadata null) stay out of the index and cost nothing.
    this.addSql(
      'create index if not exists vouchers_metadata_idx on vouchers using gin (metadata jsonb_path_ops) where metadata is not null',
    );
    this.addSql(`
      create table redemptions (
        id uuid primary key default gen_random_uuid(),
        seq bigint generated always as identity unique,
        voucher_id bigint not null,
        campaign_id uuid not null,
        code text not null,
        customer_id text,
        customer_email text,
        status text not null check (status in ('succeeded', 'rolled_back')),
        order_amount bigint,
        order_currency text,
        discount jsonb,
        discount_amount bigint,
        currency text,
        metadata jsonb not null default '{}'::jsonb,
        api_key_id uuid,
        idempotency_key text,
        created_at timestamptz not null default now(),
        rolled_back_at timestamptz,
        rollback_reason text
      )`);
    this.addSql('create index redemptions_voucher_seq_idx on redemptions (voucher_id, seq)');
    this.addSql('create index redemptions_customer_seq_idx on redemptions (customer_id, seq) where customer_id is not null');
    this.addSql('create index redemptions_campaign_created_idx on redemptions (campaign_id, created_at)');
    // Per-customer limits count succeeded redemptions through these (per code, and across a campaign).
    this.addSql(
      `create index redemptions_voucher_customer_idx on redemptions (voucher_id, customer_id)
       where status = 'succeeded' and customer_id is not null`,
    );
    this.addSql(
      `create index redemptions_campaign_customer_idx on redemptions (campaign_id, customer_id)
       where status = 'succeeded' and customer_id is not null`,
    );
    // Idempotency keys are scoped to the API key that sent them and claimed in the redemption's transaction.
    this.addSql(`
      create table redemption_idempotency_keys (
        api_key_id uuid not null,
        key text not null,
        request_hash text not null,
        response_status integer,
        response_body jsonb,
        created_at timestamptz not null default now(),
        primary key (api_key_id, key)
      )`);
  }
}
