import { Migration } from '@mikro-orm/migrations';

/**
 * Voucherify sessions named by the caller (src/compat/voucherify/sessions.ts) keep their key in the reservation's
 * metadata; finding a session by its key reads this index instead of every reservation.
 */
export class Migration1101VoucherifySessionKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index reservations_voucherify_session_key_idx on reservations ((metadata ->> 'voucherify_session_key'), created_at)
      where metadata ? 'voucherify_session_key'`);
  }

  override async down(): Promise<void> {
    this.addSql('drop index reservations_voucherify_session_key_idx');
  }
}
