import { cancelOrder, getOrder } from '../../orders/orders.ts';
import { cancelOrderSchema, orderViewSchema } from '../../orders/schemas.ts';
import { routeModule, written } from '../context.ts';

const orderId = { id: { description: 'Your order id (as given in `order.id`)' } };
const notFound = { 404: ['order_not_found'] };

/** Orders that change: what was redeemed and reserved for an order id, and cancelling it (or POST /v1/events order.*). */
export const orderRoutes = routeModule({ tag: 'orders' }, (api, { platform }) => {
  const anOrder = api.resource('/orders/:id', orderId, { errors: notFound });
  anOrder.read({ summary: "An order's redemptions and reservations, and their statuses", ok: ['The order', orderViewSchema] }, ({ id }) =>
    getOrder(platform.db, id),
  );

  anOrder.post(
    '/cancel',
    {
      summary: 'Cancel an order: roll back every redemption and release every held reservation of it, once',
      description: 'Also done by the business events `order.cancelled` and `order.refunded` (POST /v1/events, `data.order_id`).',
      body: cancelOrderSchema,
      bodyExample: { reason: 'refunded' },
      ok: ['The order, cancelled', orderViewSchema],
    },
    written(platform, ({ params, body }, ...by) => cancelOrder(platform.db, params.id, body.reason, ...by)),
  );
});
