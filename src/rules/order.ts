import { z } from 'zod';
import { ValidationError } from '../shared/errors.ts';
import { currencySchema, minorUnitsSchema } from './minor-units.ts';

/** The order a checkout sends with a validation or redemption, and its one normalized form every rule reads. */

export const MAX_ORDER_ITEMS = 500;

export type Metadata = Record<string, unknown>;

/** Any JSON object (a looseObject parses several times faster than a record, which re-checks every key). */
export const metadataSchema: z.ZodType<Metadata> = z.looseObject({});
const IDENTIFIER_MAX = 255;
const identifier = z.string().trim().min(1).max(IDENTIFIER_MAX);
const MAX_CATEGORIES = 50;
const MAX_QUANTITY = 1_000_000_000;

const orderLineSchema = z.strictObject({
  sku: identifier,
  product_id: identifier.optional(),
  categories: z.array(identifier).max(MAX_CATEGORIES).optional(),
  quantity: z.number().int().min(1).max(MAX_QUANTITY),
  /** The unit price in minor units. */
  price: minorUnitsSchema,
  metadata: metadataSchema.optional(),
});
const LINE_FIELDS: ReadonlySet<string> = new Set(Object.keys(orderLineSchema.shape));

export const orderItemSchema = acceptingUnchanged(orderLineSchema, isWellFormedItem);

const orderFields = {
  id: identifier.optional(),
  currency: currencySchema,
  /** Minor units; when items are given and the amount is not, it is their sum. */
  amount: minorUnitsSchema.optional(),
  items: z.array(orderItemSchema).max(MAX_ORDER_ITEMS).optional(),
  metadata: metadataSchema.optional(),
};
const ORDER_FIELDS: ReadonlySet<string> = new Set(Object.keys(orderFields));

export const orderInputSchema = acceptingUnchanged(
  z
    .strictObject(orderFields)
    .refine((o) => o.amount !== undefined || o.items !== undefined, { message: 'amount or items is required', path: ['amount'] }),
  isWellFormedOrder,
);

export type OrderInput = z.input<typeof orderInputSchema>;
export type OrderItemInput = z.output<typeof orderItemSchema>;

export interface OrderLine {
  sku: string;
  product_id: string | null;
  categories: readonly string[];
  quantity: number;
  price: number;
  /** quantity × price. */
  amount: number;
  metadata: Metadata | null;
}

export interface NormalizedOrder {
  id: string | null;
  currency: string;
  amount: number;
  /** null when the order came as an amount only (no line breakdown). */
  items: OrderLine[] | null;
  /** The sum of the lines' quantities; 0 without items. */
  items_quantity: number;
  metadata: Metadata | null;
}

/**
 * `schema`, with a shortcut: a value `unchanged` vouches for (one the schema accepts and would give back equal, as a
 * well-formed order and its lines are) is taken as it is; anything else goes through the schema, which stays the one
 * definition (and the OpenAPI document's) and gives its exact errors. A 20-line order costs zod tens of µs per
 * request, the checks a few. The hook is zod's per-schema `_zod.run`, which every parent schema calls;
 * test/unit/rules-order-fast-path.test.ts holds the checks to zod and sees the shortcut taken.
 */
function acceptingUnchanged<S extends z.ZodType>(schema: S, unchanged: (value: unknown) => boolean): S {
  const run = schema._zod.run;
  schema._zod.run = (payload, ctx) => (ctx.direction !== 'backward' && unchanged(payload.value) ? payload : run(payload, ctx));
  return schema;
}

/** An object as JSON.parse makes it (zod would copy anything else into one). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** What `identifier` gives back unchanged: 1 to 255 UTF-16 units with nothing to trim. */
function isIdentifier(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= IDENTIFIER_MAX && value.trim() === value;
}

/** An order line that `orderItemSchema` accepts and would give back equal; false for anything it might not (it then decides). */
export function isWellFormedItem(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key in value) {
    if (!LINE_FIELDS.has(key)) return false;
  }
  const { sku, product_id, categories, quantity, price, metadata } = value;
  if (!isIdentifier(sku)) return false;
  if (!Number.isSafeInteger(quantity) || (quantity as number) < 1 || (quantity as number) > MAX_QUANTITY) return false;
  if (!Number.isSafeInteger(price) || (price as number) < 0) return false;
  if ('product_id' in value && !isIdentifier(product_id)) return false;
  if ('categories' in value) {
    if (!Array.isArray(categories)) return false;
    if (categories.length > MAX_CATEGORIES) return false;
    for (let i = 0; i < categories.length; i++) if (!isIdentifier(categories[i])) return false;
  }
  return !('metadata' in value) || isCopiedAlike(metadata);
}

/** Metadata that `metadataSchema`'s copy equals: an own `__proto__` key is the one thing a copy would not keep. */
function isCopiedAlike(metadata: unknown): boolean {
  return isPlainObject(metadata) && !Object.hasOwn(metadata, '__proto__');
}

/** An order that `orderInputSchema` accepts and would give back equal (its currency already upper-cased); false otherwise. */
export function isWellFormedOrder(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key in value) {
    if (!ORDER_FIELDS.has(key)) return false;
  }
  const { id, currency, amount, items, metadata } = value;
  if (!isUpperCaseCurrency(currency)) return false;
  if ('id' in value && !isIdentifier(id)) return false;
  if ('amount' in value && (!Number.isSafeInteger(amount) || (amount as number) < 0)) return false;
  if ('items' in value) {
    if (!Array.isArray(items) || items.length > MAX_ORDER_ITEMS) return false;
    for (let i = 0; i < items.length; i++) if (!isWellFormedItem(items[i])) return false;
  } else if (!('amount' in value)) return false;
  return !('metadata' in value) || isCopiedAlike(metadata);
}

/** Three letters A to Z: what `currencySchema` accepts and leaves as it is. */
function isUpperCaseCurrency(value: unknown): boolean {
  if (typeof value !== 'string' || value.length !== 3) return false;
  for (let i = 0; i < 3; i++) {
    const c = value.charCodeAt(i);
    if (c < 65 || c > 90) return false;
  }
  return true;
}

const NO_CATEGORIES: readonly string[] = Object.freeze([]);

/**
 * The order every rule reads, from a parsed `orderInputSchema` value. Refuses (400) a line or a total past
 * Number.MAX_SAFE_INTEGER minor units, and `order_amount_mismatch` when both amount and items are given and disagree.
 * `field` is where the order sits in the request, for the error's field path.
 */
export function normalizeOrder(input: z.output<typeof orderInputSchema>, field = 'order'): NormalizedOrder {
  let items: OrderLine[] | null = null;
  let sum = 0;
  let quantity = 0;
  if (input.items) {
    items = new Array(input.items.length);
    for (let i = 0; i < input.items.length; i++) {
      const item = input.items[i] as OrderItemInput;
      const amount = item.quantity * item.price;
      if (amount > Number.MAX_SAFE_INTEGER) throw tooLarge(`${field}.items.${i}`, 'quantity × price');
      sum += amount;
      if (sum > Number.MAX_SAFE_INTEGER) throw tooLarge(`${field}.items`, 'the sum of the lines');
      quantity += item.quantity;
      items[i] = {
        sku: item.sku,
        product_id: item.product_id ?? null,
        categories: item.categories ?? NO_CATEGORIES,
        quantity: item.quantity,
        price: item.price,
        amount,
        metadata: item.metadata ?? null,
      };
    }
    if (input.amount !== undefined && input.amount !== sum) {
      throw new ValidationError(
        [{ field: `${field}.amount`, message: `${input.amount} is not the sum of the items (${sum})` }],
        'order_amount_mismatch',
        `The order amount ${input.amount} is not the sum of its items, ${sum}.`,
      );
    }
  }
  return {
    id: input.id ?? null,
    currency: input.currency,
    amount: items ? sum : (input.amount as number),
    items,
    items_quantity: quantity,
    metadata: input.metadata ?? null,
  };
}

function tooLarge(field: string, what: string): ValidationError {
  return new ValidationError([{ field, message: `${what} exceeds ${Number.MAX_SAFE_INTEGER} minor units` }]);
}
