import { redemptionGroupViewSchema } from '../../redemptions/schemas.ts';
import { confirmReservation, createReservation, getReservation, releaseReservation } from '../../reservations/reservations.ts';
import {
  confirmReservationSchema,
  releaseReservationSchema,
  reservationRequestSchema,
  reservationViewSchema,
} from '../../reservations/schemas.ts';
import { CHECKOUT_WRITE_SPEC, checkoutWrite } from '../checkout-write.ts';
import { routeModule, written } from '../context.ts';

/** Holding codes through payment: reserve, confirm (a redemption group), release; expiry is a job. See docs/checkout.md. */
export const reservationRoutes = routeModule({ tag: 'reservations' }, (api, { platform }) => {
  api.post(
    '/reservations',
    {
      ...CHECKOUT_WRITE_SPEC,
      summary: 'Hold codes for an order until it is paid (confirm) or not (release); unconfirmed holds expire',
      description:
        "Every code must be valid for the order (422 with each code's reason otherwise, exactly as a redemption refuses). " +
        'A held use counts against every limit and budget as a redemption does. `ttl_seconds` defaults to 900, at most 86,400.',
      body: reservationRequestSchema,
      responses: { 201: { description: 'Held', schema: reservationViewSchema, headers: ['Location', 'Idempotent-Replayed'] } },
    },
    ({ req, res, body }) =>
      checkoutWrite(platform, req, res, body.customer?.id, '/v1/reservations', (ctx) =>
        createReservation(platform.db, platform.queues, body, ctx),
      ),
  );

  const aReservation = api.resource('/reservations/:id', 'reservation');
  aReservation.read({ summary: 'Get a reservation', ok: ['The reservation', reservationViewSchema] }, ({ id }) =>
    getReservation(platform.db, id),
  );

  aReservation.post(
    '/confirm',
    {
      summary: 'Confirm a reservation (payment succeeded): its held uses become a redemption group; confirming again returns it',
      body: confirmReservationSchema,
      bodyExample: {},
      errors: { 409: ['reservation_expired', 'reservation_released', 'order_mismatch'] },
      ok: ['The redemption group', redemptionGroupViewSchema],
    },
    written(platform, ({ params, body }, ...by) => confirmReservation(platform.db, params.id, body.order?.id, ...by)),
  );

  aReservation.post(
    '/release',
    {
      summary: 'Release a reservation (payment failed or abandoned): the codes can be used again; releasing again is a no-op',
      body: releaseReservationSchema,
      bodyExample: { reason: 'payment failed' },
      errors: { 409: ['reservation_expired', 'reservation_confirmed'] },
      ok: ['The released reservation', reservationViewSchema],
    },
    written(platform, ({ params, body }, ...by) => releaseReservation(platform.db, params.id, body.reason, ...by)),
  );
});
