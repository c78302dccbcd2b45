import { Migration } from '@mikro-orm/migrations';

/**
 * E-mail and SMS in batches (issue 16): a queued message keeps the id of the batch job that carries it, so the
 * reconciler can tell that job from a lost one.
 */
export class Migration1001DeliveryBatches extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table deliveries add column batch_job_id text');
  }

  override async down(): Promise<void> {
    this.addSql('alter table deliveries drop column batch_job_id');
  }
}
