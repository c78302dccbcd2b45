import { Migration } from '@mikro-orm/migrations';

/**
 * Erasing a customer reaches every table that names one: the lifecycle log may clear the `customer_id` of its
 * entries (its only permitted change; everything else stays append-only), and distribution recipient lists, recorded
 * business events, reservations, refusals and per-customer budget use get indexes by the customer id they stand for, so erasure finds their rows without a scan.
 */
export class Migration1100CustomerErasure extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create or replace function voucher_events_guard() returns trigger language plpgsql as $$
      begin
        if tg_op = 'UPDATE'
           and new.id = old.id and new.voucher_id = old.voucher_id and new.type = old.type
           and new.actor is not distinct from old.actor and new.created_at = old.created_at
           and old.details ? 'customer_id' and new.details = old.details || '{"customer_id": null}'::jsonb then
          return new;
        end if;
        raise exception '% is append-only', tg_table_name;
      end $$`);
    this.addSql('drop trigger voucher_events_append_only on voucher_events');
    this.addSql(`create trigger voucher_events_append_only before update or delete on voucher_events
      for each row execute function voucher_events_guard()`);
    // The customer id a recipient row stands for, as the distribution job derives it (src/distributions/distributions.ts).
    this.addSql(`create index distribution_recipients_customer_idx on distribution_recipients
      ((coalesce(customer_id, 'email:' || lower(nullif(email, '')), 'phone:' || regexp_replace(nullif(phone, ''), '[^+\\d]', '', 'g'))))`);
    this.addSql(`create index business_events_customer_idx on business_events ((customer ->> 'id'))`);
    this.addSql('create index reservations_customer_idx on reservations (customer_id) where customer_id is not null');
    this.addSql('create index failed_redemptions_customer_idx on failed_redemptions (customer_id) where customer_id is not null');
    this.addSql('create index reservation_uses_customer_idx on reservation_uses (customer_id) where customer_id is not null');
    this.addSql('create index campaign_budget_customers_key_idx on campaign_budget_customers (customer_key)');
  }

  override async down(): Promise<void> {
    this.addSql('drop index campaign_budget_customers_key_idx');
    this.addSql('drop index reservation_uses_customer_idx');
    this.addSql('drop index failed_redemptions_customer_idx');
    this.addSql('drop index reservations_customer_idx');
    this.addSql('drop index business_events_customer_idx');
    this.addSql('drop index distribution_recipients_customer_idx');
    this.addSql('drop trigger voucher_events_append_only on voucher_events');
    this.addSql(`create trigger voucher_events_append_only before update or delete on voucher_events
      for each row execute function forbid_change()`);
    this.addSql('drop function voucher_events_guard()');
  }
}
