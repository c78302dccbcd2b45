/** A timestamp from a column is a Date, one from inside a jsonb value is text; these accept either form. */
export type Timestamp = Date | string;

export function ms(value: Timestamp): number {
  return new Date(value).getTime();
}
