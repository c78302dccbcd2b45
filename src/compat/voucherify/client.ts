import type { Router } from 'express';
import { legacyValidate, qualify, redeemOnce, stackableRedeem, stackableValidate } from './checkout.ts';
import type { CompatContext } from './context.ts';
import { notSupported } from './errors.ts';
import { type CompatCall, compatRoute } from './routes.ts';
import { publicationObject, publish, trackEvent } from './server.ts';

/** Client-side query values of `GET /validate` the compatible API cannot honour. */
const REFUSED_VALIDATE_QUERY: Record<string, string> = {
  item: 'order items need the checkout engine (issue 13); send the amount',
  session_type: 'client-side sessions are not supported; open the session with POST /client/v1/validations',
  session_key: 'client-side sessions are not supported; open the session with POST /client/v1/validations',
  session_ttl: 'client-side sessions are not supported; open the session with POST /client/v1/validations',
  session_ttl_unit: 'client-side sessions are not supported; open the session with POST /client/v1/validations',
};

/** `GET /validate?code=&amount=&customer[source_id]=&tracking_id=` as the body of a server-side validation. */
function validateCallFromQuery(call: CompatCall): CompatCall {
  const { code: _code, amount, customer, metadata, tracking_id, order, ...rest } = call.query;
  for (const name of Object.keys(rest)) {
    throw notSupported(name, REFUSED_VALIDATE_QUERY[name] ?? 'this query parameter is not supported by the compatible API');
  }
  const orderMetadata = (order as { metadata?: unknown } | undefined)?.metadata;
  if (orderMetadata !== undefined && orderMetadata !== '') throw notSupported('order.metadata', 'order metadata is not stored');
  const body: Record<string, unknown> = {};
  if (amount !== undefined && amount !== '') body.order = { amount: Number(amount) };
  if (customer !== undefined) body.customer = customer;
  if (metadata !== undefined) body.metadata = metadata;
  return { ...call, body, query: tracking_id === undefined ? {} : { tracking_id } };
}

/**
 * The client-side API (`/client/v1/...`, `VoucherifyClientSide`): validate, redeem, publish and events, nothing
 * else, for a `client` key from one of its allowed origins (checked before these routes).
 */
export function clientRoutes(router: Router, ctx: CompatContext): void {
  compatRoute(router, 'get', '/validate', (call) => {
    const code = typeof call.query.code === 'string' ? call.query.code : '';
    return legacyValidate(ctx, validateCallFromQuery(call), code);
  });
  compatRoute(router, 'post', '/redeem', async (call) => {
    const { code, ...rest } = call.query;
    for (const name of Object.keys(rest))
      if (name !== 'tracking_id') throw notSupported(name, 'this query parameter is not supported by the compatible API');
    return redeemOnce(ctx, call, typeof code === 'string' ? code : '');
  });
  compatRoute(router, 'post', '/publish', async (call) => {
    const { campaign, join_once, ...rest } = call.query;
    for (const name of Object.keys(rest)) throw notSupported(name, 'this query parameter is not supported by the compatible API');
    // The client SDK names its channel (Voucherify.js); the platform publishes without sending a message.
    const { channel: _channel, ...body } = call.body;
    const result = await publish(ctx, call, { ...body, campaign }, join_once === 'true' ? true : undefined);
    return { status: 200, body: publicationObject(result.publication, result.voucher) };
  });
  compatRoute(router, 'post', '/events', async (call) => ({ status: 200, body: await trackEvent(ctx, call.body) }));
  compatRoute(router, 'post', '/validations', (call) => stackableValidate(ctx, call));
  compatRoute(router, 'post', '/redemptions', (call) => stackableRedeem(ctx, call));
  compatRoute(router, 'post', '/qualifications', (call) => qualify(ctx, call));
}
