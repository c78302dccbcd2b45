import type { Database, Queryable } from '../db/sql.ts';
import type { Metadata } from '../rules/order.ts';
import { SegmentCatalogue, type SegmentDefinition } from '../rules/segments.ts';
import { segmentCatalogue } from '../segments/segments.ts';

/**
 * What a checkout's conditions read besides the codes: the stored customer's metadata and the segments the codes'
 * conditions name. Read only when a customer is given and some code has conditions.
 */
export interface CustomerContext {
  /** The stored customer's metadata, or null when the customer is not stored. */
  metadata: Metadata | null;
  segments: SegmentCatalogue;
}

/**
 * The segments as one API process keeps them for validations: compiled once, and read again only when the catalogue
 * version that the validation lookup reads with the codes (segment_catalogue, bumped by every segment change in its
 * transaction) is newer than the copy. So a changed segment is seen by the next validation, without a round trip for
 * segments on any validation.
 */
export class SegmentCache {
  readonly #db: Database;
  #version = -1n;
  #catalogue = new SegmentCatalogue([]);
  #loading: Promise<void> | null = null;

  constructor(db: Database) {
    this.#db = db;
  }

  /** The catalogue as of `version` or later. */
  async at(version: string): Promise<SegmentCatalogue> {
    const wanted = BigInt(version);
    while (this.#version < wanted) {
      this.#loading ??= this.#load().finally(() => {
        this.#loading = null;
      });
      await this.#loading;
    }
    return this.#catalogue;
  }

  async #load(): Promise<void> {
    const { rows } = await this.#db.read<{ version: string; segments: SegmentDefinition[] }>(
      `select (select version::text from segment_catalogue) as version,
         coalesce((select json_agg(json_build_object('name', name, 'when', "when")) from segments), '[]'::json) as segments`,
    );
    const row = rows[0] as { version: string; segments: SegmentDefinition[] };
    this.#catalogue = new SegmentCatalogue(row.segments);
    this.#version = BigInt(row.version);
  }
}

/** The redemption path: the stored customer and the named segments, read inside the redemption's transaction. */
export async function readCustomerContext(tx: Queryable, customerId: string, segments: readonly string[]): Promise<CustomerContext> {
  const { rows } = await tx.query<{ metadata: Metadata | null; segments: { name: string; when_text: string }[] }>(
    `select (select metadata from customers where id = $1) as metadata,
       coalesce((select json_agg(json_build_object('name', name, 'when_text', "when"::text) order by name)
                 from segments where name = any($2::text[])), '[]'::json) as segments`,
    [customerId, segments],
  );
  const row = rows[0] as { metadata: Metadata | null; segments: { name: string; when_text: string }[] };
  return { metadata: row.metadata, segments: segmentCatalogue(row.segments) };
}
