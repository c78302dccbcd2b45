import { z } from 'zod';
import { customerSchema } from '../redemptions/schemas.ts';
import { codeListSchema, codeResultSchema } from '../rules/checkout.ts';
import { orderInputSchema } from '../rules/order.ts';
import { pricedOrderSchema } from '../rules/order-discount.ts';
import { idSchema, metadataInputSchema, metadataSchema, timestampSchema } from '../shared/fields.ts';

export const RESERVATION_DEFAULT_TTL_SECONDS = 900;
export const RESERVATION_MAX_TTL_SECONDS = 86_400;

/** `POST /v1/reservations`: the codes of one order (with its id), held for `ttl_seconds`. */
export const reservationRequestSchema = z
  .strictObject({
    code: z.string().trim().min(1).max(128).optional().describe('One code'),
    codes: codeListSchema.optional().describe('1 to 5 codes for the order, held together or not at all'),
    customer: customerSchema.optional(),
    order: orderInputSchema.refine((o) => o.id !== undefined, {
      message: 'a reservation holds codes for one order: give its id',
      path: ['id'],
    }),
    ttl_seconds: z.number().int().min(1).max(RESERVATION_MAX_TTL_SECONDS).default(RESERVATION_DEFAULT_TTL_SECONDS),
    metadata: metadataInputSchema.default({}),
  })
  .superRefine((request, ctx) => {
    if ((request.code === undefined) === (request.codes === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give either code or codes (1 to 5), not both',
        path: [request.code === undefined ? 'code' : 'codes'],
      });
    }
  })
  .meta({ id: 'ReservationRequest' });

export type ReservationRequest = z.infer<typeof reservationRequestSchema>;

/** `POST /v1/reservations/{id}/confirm`: optionally the order as it was paid (its id must be the reservation's). */
export const confirmReservationSchema = z.strictObject({ order: orderInputSchema.optional() });

export const releaseReservationSchema = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });

export const RESERVATION_STATUSES = ['held', 'confirmed', 'released', 'expired'] as const;

export const reservationViewSchema = z
  .object({
    id: idSchema,
    status: z.enum(RESERVATION_STATUSES),
    expires_at: timestampSchema,
    codes: z.array(codeResultSchema).describe('Each code held, in request order, with what it takes off the order'),
    order: pricedOrderSchema.nullable(),
    customer: z.object({ id: z.string(), email: z.string().optional() }).nullable(),
    metadata: metadataSchema,
    group_id: idSchema.nullable().describe('The redemption group it was confirmed into'),
    created_at: timestampSchema,
    confirmed_at: timestampSchema.nullable(),
    released_at: timestampSchema.nullable(),
    expired_at: timestampSchema.nullable(),
    release_reason: z.string().nullable(),
  })
  .meta({
    id: 'Reservation',
    examples: [
      {
        id: '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a',
        status: 'held',
        expires_at: '2026-03-01T09:45:00.000Z',
        codes: [{ code: 'SPRING-7KQ2-M9XD', valid: true, discount_amount: 750 }],
        order: { id: 'order-1001', currency: 'EUR', amount: 5000, discount_amount: 750, total_amount: 4250 },
        customer: { id: 'cust_42' },
        metadata: {},
        group_id: null,
        created_at: '2026-03-01T09:30:00.000Z',
        confirmed_at: null,
        released_at: null,
        expired_at: null,
        release_reason: null,
      },
    ],
  });

export type ReservationView = z.output<typeof reservationViewSchema>;
