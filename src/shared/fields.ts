import { z } from 'zod';
import { jsonDepth, METADATA_MAX_BYTES, METADATA_MAX_DEPTH } from './storable.ts';

/** zod building blocks for the fields the API answers with, shared by every capability's response schemas. */

export const timestampSchema = z.iso.datetime().describe('ISO 8601 timestamp, UTC');

export const idSchema = z.guid().describe('UUID');

/** Integer count fields, one per name, in that order: the tallies a view reports (`...counts('sent', 'failed')`). */
export function counts<const K extends string>(...names: K[]): { [P in K]: z.ZodNumber } {
  return Object.fromEntries(names.map((name) => [name, z.number().int()])) as { [P in K]: z.ZodNumber };
}

/** Free-form JSON the caller attached; answered as it was stored. */
export const metadataSchema = z.record(z.string(), z.unknown()).describe('Your own key-value data, returned as given');

/**
 * A timestamp in the form the API answers with (ISO 8601, UTC, milliseconds), whether it comes as a Date (a column)
 * or as text (from inside a jsonb value).
 */
export function isoTime(value: Date | string): string;
export function isoTime(value: Date | string | null): string | null;
export function isoTime(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

/** Metadata as a request gives it: free-form JSON, bounded so it stays cheap to store, index and send on. */
export const metadataInputSchema = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    // Depth first: it bounds the recursion of the size check below.
    if (jsonDepth(value) > METADATA_MAX_DEPTH)
      ctx.addIssue({ code: 'custom', message: `is nested deeper than ${METADATA_MAX_DEPTH} levels` });
    else if (Buffer.byteLength(JSON.stringify(value)) > METADATA_MAX_BYTES) {
      ctx.addIssue({ code: 'custom', message: `is larger than ${METADATA_MAX_BYTES} bytes as JSON` });
    }
  })
  .describe(
    `Your own key-value data, returned as given: at most ${METADATA_MAX_DEPTH} levels deep and ${METADATA_MAX_BYTES / 1024} KiB as JSON`,
  );
