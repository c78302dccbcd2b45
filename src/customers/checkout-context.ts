import type { Database, Queryable, Statement } from '../db/sql.ts';
import type { Metadata } from '../rules/order.ts';
import type { SegmentCatalogue } from '../rules/segments.ts';
import { segmentCatalogue } from '../segments/segments.ts';
import { tickBatcher } from '../shared/tick-batch.ts';

/**
 * What a checkout's conditions read besides the codes: the stored customer's metadata and the segments the codes'
 * conditions name. Read only when a customer is given and some code has conditions.
 */
export interface CustomerContext {
  /** The stored customer's metadata, or null when the customer is not stored. */
  metadata: Metadata | null;
  segments: SegmentCatalogue;
}

interface ContextRow {
  lookup_index: number | null;
  metadata: Metadata | null;
  name: string | null;
  when_text: string | null;
}

/** Customers by position (`unnest` with ordinality) and the segments asked for, in one statement. */
const STATEMENT = {
  name: 'promo.checkout.customers',
  text: `select q.i::int as lookup_index, c.metadata, null::text as name, null::text as when_text
      from unnest($1::text[]) with ordinality as q(id, i) join customers c on c.id = q.id
    union all
    select null, null, s.name, s."when"::text from segments s where s.name = any($2::text[])`,
};

async function readContexts(
  run: (statement: Statement, params: unknown[]) => Promise<{ rows: ContextRow[] }>,
  items: readonly { customerId: string; segments: readonly string[] }[],
): Promise<CustomerContext[]> {
  const names = [...new Set(items.flatMap((item) => item.segments))].sort();
  const { rows } = await run(STATEMENT, [items.map((item) => item.customerId), names]);
  const metadata = new Map<number, Metadata>();
  const definitions: { name: string; when_text: string }[] = [];
  for (const row of rows) {
    if (row.lookup_index !== null) metadata.set(row.lookup_index, row.metadata ?? {});
    else definitions.push({ name: row.name as string, when_text: row.when_text as string });
  }
  definitions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return items.map((item, i) => {
    const own = definitions.filter((d) => item.segments.includes(d.name));
    return { metadata: metadata.get(i + 1) ?? null, segments: segmentCatalogue(own) };
  });
}

/** The validation path: every context asked for in one turn of the event loop is read with one statement. */
export class CustomerContextLookup {
  readonly #lookup: (item: { customerId: string; segments: readonly string[] }) => Promise<CustomerContext>;

  constructor(db: Database) {
    this.#lookup = tickBatcher((items) => readContexts((statement, params) => db.read<ContextRow>(statement, params), items), {
      isolateFailures: true,
    });
  }

  find(customerId: string, segments: readonly string[]): Promise<CustomerContext> {
    return this.#lookup({ customerId, segments });
  }
}

/** The redemption path: the same read inside the redemption's transaction. */
export async function readCustomerContext(tx: Queryable, customerId: string, segments: readonly string[]): Promise<CustomerContext> {
  const [context] = await readContexts((_, params) => tx.query<ContextRow>(STATEMENT.text, params), [{ customerId, segments }]);
  return context as CustomerContext;
}
