import { z } from 'zod';

/** zod building blocks for the fields the API answers with, shared by every capability's response schemas. */

export const timestampSchema = z.iso.datetime().describe('ISO 8601 timestamp, UTC');

export const idSchema = z.guid().describe('UUID');

/** Free-form JSON the caller attached; answered as it was stored. */
export const metadataSchema = z.record(z.string(), z.unknown()).describe('Your own key-value data, returned as given');

/**
 * A timestamp in the form the API answers with (ISO 8601, UTC, milliseconds), whether it comes as a Date or as
 * PostgreSQL's text ('2026-03-02 16:00:00.123+00', which one pool hands back for timestamptz).
 */
export function isoTime(value: Date | string): string;
export function isoTime(value: Date | string | null): string | null;
export function isoTime(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}
