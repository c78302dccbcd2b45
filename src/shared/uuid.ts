const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a path or query value can be a row id at all: anything else is answered "not found" without a query. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
