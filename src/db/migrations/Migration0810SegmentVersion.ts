import { Migration } from '@mikro-orm/migrations';

/**
 * One row counting changes to `segments`: the validation lookup reads it in its one statement, so each API process
 * keeps the compiled segments and reloads them only when the count moved (src/customers/checkout-context.ts).
 */
export class Migration0810SegmentVersion extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table segment_catalogue (
        id boolean primary key default true check (id),
        version bigint not null default 0
      )`);
    this.addSql('insert into segment_catalogue (id, version) values (true, 0)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table segment_catalogue');
  }
}
