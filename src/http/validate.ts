import type { Request } from 'express';
import type { z } from 'zod';
import { ValidationError } from '../shared/errors.ts';
import { zodFieldErrors } from './problem.ts';

const DETAILS: Record<string, string> = {
  validation_failed: 'The request is not valid.',
  invalid_cursor: 'The cursor is not valid.',
  unknown_event_type: 'The request names an event type that does not exist.',
};

/**
 * Parses a request part with a zod schema; a failure becomes a 400 naming each offending field, `validation_failed`
 * unless a custom issue names a more specific problem (`params: { problem: 'invalid_cursor' }`).
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const specific = result.error.issues.find((i) => i.code === 'custom' && typeof i.params?.problem === 'string');
  const code = (specific?.code === 'custom' ? (specific.params?.problem as string) : undefined) ?? 'validation_failed';
  throw new ValidationError(zodFieldErrors(result.error), code, DETAILS[code] ?? DETAILS.validation_failed);
}

/** The Idempotency-Key header, if present (1–255 visible characters). */
export function idempotencyKey(req: Request): string | undefined {
  const value = req.get('Idempotency-Key');
  if (value === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw new ValidationError([{ field: 'Idempotency-Key', message: '1 to 255 visible ASCII characters' }]);
  }
  return value;
}
