/** The ORM's pg pool hands timestamps back as strings; these accept either form. */
export type Timestamp = Date | string;

export function ms(value: Timestamp): number {
  return new Date(value).getTime();
}
