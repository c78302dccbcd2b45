import type { Request } from 'express';
import type { z } from 'zod';
import { ValidationError } from '../shared/errors.ts';
import { zodFieldErrors } from './problem.ts';

/** Parses a request part with a zod schema; a failure becomes a 400 naming each offending field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new ValidationError(zodFieldErrors(result.error));
  return result.data;
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
