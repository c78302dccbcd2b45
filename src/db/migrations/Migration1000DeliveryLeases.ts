import { Migration } from '@mikro-orm/migrations';

/**
 * Webhook deliveries in batches (issue 16): a delivery claimed for an attempt carries a lease until its attempt is
 * recorded, so a job that runs again (re-created by the reconciler after a Redis flush, or re-run after its lock
 * expired) does not send it a second time while the first send is still in flight; and the batch job that carries
 * a relayed delivery's first attempt, so the reconciler can tell that job from a lost one.
 */
export class Migration1000DeliveryLeases extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table webhook_deliveries add column leased_until timestamptz');
    this.addSql('alter table webhook_deliveries add column batch_job_id text');
  }

  override async down(): Promise<void> {
    this.addSql('alter table webhook_deliveries drop column batch_job_id');
    this.addSql('alter table webhook_deliveries drop column leased_until');
  }
}
