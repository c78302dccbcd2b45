/** A timestamp from a column is a Date, one from inside a jsonb value is text; these accept either form. */
export type Timestamp = Date | string;

export function iso(value: Timestamp): string;
export function iso(value: Timestamp | null): string | null;
export function iso(value: Timestamp | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

export function ms(value: Timestamp): number {
  return new Date(value).getTime();
}
