import { type EvaluationContext, localNow } from './context.ts';

/** The fields a predicate can name: each one's type (what ops and values fit it) and how it is read. */

export type FieldType =
  /** A number; comparisons need a number. */
  | 'number'
  | 'string'
  /** A three-letter currency code, compared upper-cased. */
  | 'currency'
  /** An ISO weekday, 1 = Monday … 7 = Sunday. */
  | 'weekday'
  /** Local time of day `HH:MM`, read as minutes since midnight. */
  | 'time'
  /** A metadata value: any JSON; a comparison holds only when the value has the type of the operand. */
  | 'any'
  /** Segment membership by name. */
  | 'segment';

export interface FieldSpec {
  type: FieldType;
  /** Whether a segment definition may read it (segments are about the customer alone). */
  inSegment: boolean;
  /** The value, or undefined when it is absent (no order, no customer, no such metadata key). */
  read: (ctx: EvaluationContext) => unknown;
}

const FIXED_FIELDS: Record<string, FieldSpec> = {
  'order.amount': { type: 'number', inSegment: false, read: (ctx) => ctx.order?.amount },
  'order.items_quantity': { type: 'number', inSegment: false, read: (ctx) => ctx.order?.items_quantity },
  'order.currency': { type: 'currency', inSegment: false, read: (ctx) => ctx.order?.currency },
  'customer.id': { type: 'string', inSegment: true, read: (ctx) => ctx.customer?.id },
  'customer.segment': { type: 'segment', inSegment: false, read: () => undefined },
  'customer.redemptions_in_campaign': {
    type: 'number',
    inSegment: false,
    read: (ctx) => (ctx.customer ? ctx.customerRedemptionsInCampaign : undefined),
  },
  'now.day_of_week': { type: 'weekday', inSegment: false, read: (ctx) => localNow(ctx).weekday },
  'now.time': { type: 'time', inSegment: false, read: (ctx) => localNow(ctx).minutes },
};

const METADATA_ROOTS: [prefix: string, inSegment: boolean, root: (ctx: EvaluationContext) => unknown][] = [
  ['order.metadata.', false, (ctx) => ctx.order?.metadata],
  ['customer.metadata.', true, (ctx) => ctx.customer?.metadata],
  ['redemption.metadata.', false, (ctx) => ctx.redemptionMetadata],
];

const MAX_METADATA_DEPTH = 5;

export const FIELD_NAMES: readonly string[] = [...Object.keys(FIXED_FIELDS), ...METADATA_ROOTS.map(([prefix]) => `${prefix}<key>`)];

/** The field's spec, or null when no such field exists. `<root>.metadata.a.b` reads nested objects. */
export function resolveField(name: string): FieldSpec | null {
  const fixed = FIXED_FIELDS[name];
  if (fixed && Object.hasOwn(FIXED_FIELDS, name)) return fixed;
  for (const [prefix, inSegment, root] of METADATA_ROOTS) {
    if (!name.startsWith(prefix)) continue;
    const path = name.slice(prefix.length).split('.');
    if (path.length > MAX_METADATA_DEPTH || path.some((key) => key === '')) return null;
    return { type: 'any', inSegment, read: metadataReader(root, path) };
  }
  return null;
}

function metadataReader(root: (ctx: EvaluationContext) => unknown, path: string[]): (ctx: EvaluationContext) => unknown {
  if (path.length === 1) {
    const key = path[0] as string;
    return (ctx) => {
      const object = root(ctx);
      return isObject(object) && Object.hasOwn(object, key) ? object[key] : undefined;
    };
  }
  return (ctx) => {
    let value = root(ctx);
    for (const key of path) {
      if (!isObject(value) || !Object.hasOwn(value, key)) return undefined;
      value = value[key];
    }
    return value;
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
