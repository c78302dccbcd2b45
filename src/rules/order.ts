import { z } from 'zod';
import { ValidationError } from '../shared/errors.ts';
import { currencySchema, minorUnitsSchema } from './minor-units.ts';

/** The order a checkout sends with a validation or redemption, and its one normalized form every rule reads. */

export const MAX_ORDER_ITEMS = 500;

export type Metadata = Record<string, unknown>;

/** Any JSON object (a looseObject parses several times faster than a record, which re-checks every key). */
export const metadataSchema: z.ZodType<Metadata> = z.looseObject({});
const identifier = z.string().trim().min(1).max(255);

export const orderItemSchema = z.strictObject({
  sku: identifier,
  product_id: identifier.optional(),
  categories: z.array(identifier).max(50).optional(),
  quantity: z.number().int().min(1).max(1_000_000_000),
  /** The unit price in minor units. */
  price: minorUnitsSchema,
  metadata: metadataSchema.optional(),
});

export const orderInputSchema = z
  .strictObject({
    id: identifier.optional(),
    currency: currencySchema,
    /** Minor units; when items are given and the amount is not, it is their sum. */
    amount: minorUnitsSchema.optional(),
    items: z.array(orderItemSchema).max(MAX_ORDER_ITEMS).optional(),
    metadata: metadataSchema.optional(),
  })
  .refine((o) => o.amount !== undefined || o.items !== undefined, { message: 'amount or items is required', path: ['amount'] });

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
