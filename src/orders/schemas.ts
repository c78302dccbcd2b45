import { z } from 'zod';
import { redemptionViewSchema } from '../redemptions/schemas.ts';
import { reservationViewSchema } from '../reservations/schemas.ts';

/** `POST /v1/orders/{id}/cancel`. */
export const cancelOrderSchema = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });

/** An order as the platform knows it: the redemptions and reservations made for its id, and their statuses. */
export const orderViewSchema = z
  .object({
    id: z.string(),
    status: z
      .enum(['held', 'redeemed', 'cancelled', 'open'])
      .describe('held: a reservation is open; redeemed: some redemption stands; cancelled: all rolled back or released; open: neither'),
    redemptions: z.array(redemptionViewSchema),
    reservations: z.array(reservationViewSchema),
  })
  .meta({ id: 'Order' });

export type OrderView = z.output<typeof orderViewSchema>;

/** The business events (`POST /v1/events`) that change an order; `data.order_id` names it. */
export const ORDER_EVENT_TYPES = ['order.cancelled', 'order.refunded', 'order.paid'] as const;
