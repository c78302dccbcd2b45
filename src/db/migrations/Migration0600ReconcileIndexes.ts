import { Migration } from '@mikro-orm/migrations';

/**
 * The reconciler (src/queues/reconcile.ts) walks the rows that still owe work in id order, a page at a time: partial
 * indexes on id hold only those rows. They replace the indexes the old requeue sweeps read (by created_at and by
 * next_attempt_at), so writes keep the same number of indexes.
 */
export class Migration0600ReconcileIndexes extends Migration {
  override async up(): Promise<void> {
    this.addSql('drop index if exists deliveries_queued_idx');
    this.addSql(`create index deliveries_queued_id_idx on deliveries (id) where status = 'queued'`);
    this.addSql('drop index if exists webhook_deliveries_due_idx');
    this.addSql(`create index webhook_deliveries_pending_id_idx on webhook_deliveries (id) where status = 'pending'`);
    this.addSql(`create index business_events_received_id_idx on business_events (id) where status = 'received'`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index business_events_received_id_idx');
    this.addSql('drop index webhook_deliveries_pending_id_idx');
    this.addSql(`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending'`);
    this.addSql('drop index deliveries_queued_id_idx');
    this.addSql(`create index deliveries_queued_idx on deliveries (created_at) where status = 'queued'`);
  }
}
