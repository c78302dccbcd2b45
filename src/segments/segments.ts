import type { Database, Queryable } from '../db/sql.ts';
import { assertKnownSegments, type Check, type Condition, referencedSegments, SEGMENT_NAME } from '../rules/conditions.ts';
import { SegmentCatalogue } from '../rules/segments.ts';
import { DomainError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import type { CreateSegmentInput, SegmentView } from './schemas.ts';

/** Named conditions over the customer (the `segments` table is written here only). */

interface SegmentRow {
  name: string;
  when: Condition;
  created_at: Date;
  updated_at: Date;
}

function segmentView(row: SegmentRow): SegmentView {
  return {
    name: row.name,
    when: row.when as unknown as Record<string, unknown>,
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
  };
}

function notFound(name: string): NotFoundError {
  return new NotFoundError('segment', name);
}

/** Every change to `segments` bumps the catalogue version in its transaction, so API processes reload their copy. */
const BUMP_VERSION = 'update segment_catalogue set version = version + 1';

export async function createSegment(db: Database, input: CreateSegmentInput): Promise<SegmentView> {
  const rows = await db.transaction(async (tx) => {
    const inserted = await tx.query<SegmentRow>(
      'insert into segments (name, "when") values ($1, $2) on conflict (name) do nothing returning *',
      [input.name, input.when],
    );
    if (inserted.rows[0]) await tx.query(BUMP_VERSION);
    return inserted.rows;
  });
  if (!rows[0])
    throw new DomainError(
      'conflict',
      'segment_exists',
      `A segment named ${JSON.stringify(input.name)} exists; PUT /v1/segments/{name} replaces it.`,
    );
  return segmentView(rows[0]);
}

/** Creates the segment or replaces its condition; `created` says which. */
export async function putSegment(db: Database, name: string, when: Condition): Promise<{ segment: SegmentView; created: boolean }> {
  if (!SEGMENT_NAME.test(name)) {
    throw new ValidationError([{ field: 'name', message: '1 to 100 letters, digits, "_", "-" or ".", starting with a letter or digit' }]);
  }
  const row = await db.transaction(async (tx) => {
    const { rows } = await tx.query<SegmentRow & { created: boolean }>(
      `insert into segments (name, "when") values ($1, $2)
       on conflict (name) do update set "when" = excluded."when", updated_at = now()
       returning *, (xmax = 0) as created`,
      [name, when],
    );
    await tx.query(BUMP_VERSION);
    return rows[0] as SegmentRow & { created: boolean };
  });
  return { segment: segmentView(row), created: row.created };
}

export async function getSegment(db: Database, name: string): Promise<SegmentView> {
  const { rows } = SEGMENT_NAME.test(name) ? await db.read<SegmentRow>('select * from segments where name = $1', [name]) : { rows: [] };
  if (!rows[0]) throw notFound(name);
  return segmentView(rows[0]);
}

/** Codes whose conditions name a deleted segment keep working: nobody is a member of a segment that does not exist. */
export async function deleteSegment(db: Database, name: string): Promise<void> {
  if (!SEGMENT_NAME.test(name)) throw notFound(name);
  await db.transaction(async (tx) => {
    const { rowCount } = await tx.query('delete from segments where name = $1', [name]);
    if (rowCount === 0) throw notFound(name);
    await tx.query(BUMP_VERSION);
  });
}

/**
 * Save-time check for a campaign's or voucher's `rules.conditions`: every segment they name exists (400 with the
 * path of each unknown name). One read, and none when no condition names a segment.
 */
export async function assertSegmentsExist(
  db: Queryable,
  conditions: readonly Check[] | null | undefined,
  field = 'rules.conditions',
): Promise<void> {
  if (!conditions || conditions.length === 0) return;
  const names = [...new Set(conditions.flatMap((check) => referencedSegments(check.when).map((ref) => ref.name)))];
  if (names.length === 0) return;
  const { rows } = await db.query<{ name: string }>('select name from segments where name = any($1::text[])', [names]);
  assertKnownSegments(conditions, new Set(rows.map((r) => r.name)), field);
}

const catalogues = new Map<string, SegmentCatalogue>();
const CATALOGUE_CACHE_SIZE = 1000;

/**
 * The compiled catalogue of these definitions (`when` as the stored jsonb text), compiled once per distinct set and
 * kept for the CATALOGUE_CACHE_SIZE most recent sets: a checkout asks the same few segments again and again.
 */
export function segmentCatalogue(definitions: readonly { name: string; when_text: string }[]): SegmentCatalogue {
  const key = definitions.map((d) => `${d.name}\u0000${d.when_text}`).join('\u0001');
  let catalogue = catalogues.get(key);
  if (catalogue) {
    catalogues.delete(key);
  } else {
    catalogue = new SegmentCatalogue(definitions.map((d) => ({ name: d.name, when: JSON.parse(d.when_text) as Condition })));
    if (catalogues.size >= CATALOGUE_CACHE_SIZE) catalogues.delete(catalogues.keys().next().value as string);
  }
  catalogues.set(key, catalogue);
  return catalogue;
}
