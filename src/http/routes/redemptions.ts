import { z } from 'zod';
import { failedRedemptionViewSchema } from '../../redemptions/failures.ts';
import { getRedemption, listRedemptionRecords, redeemVoucher, rollbackRedemption } from '../../redemptions/redemptions.ts';
import {
  listRedemptionsQuery,
  redemptionOrGroupSchema,
  redemptionRequestSchema,
  redemptionViewSchema,
  rollbackRequestSchema,
} from '../../redemptions/schemas.ts';
import { pageSchema } from '../../shared/paging.ts';
import { CHECKOUT_WRITE_SPEC, checkoutWrite } from '../checkout-write.ts';
import { routeModule, written } from '../context.ts';

export const redemptionRoutes = routeModule({ tag: 'redemption' }, (api, { platform }) => {
  api.post(
    '/redemptions',
    {
      ...CHECKOUT_WRITE_SPEC,
      summary: 'Redeem a code, or up to 5 codes for one order (atomic; refusals are 422 with the reason as `code`)',
      description:
        'With `code`, one redemption (`Redemption`). With `codes` (1 to 5), one transaction redeems them as a group ' +
        "(`RedemptionGroup`): `mode: all` (default) every code or none, a refusal being 422 with each code's answer in " +
        '`codes`; `mode: partial` the valid ones. Roll a group back with POST /v1/redemptions/{group id}/rollback.',
      body: redemptionRequestSchema,
      created: ['Redeemed: one redemption, or with `codes` the group', redemptionOrGroupSchema, ['Location', 'Idempotent-Replayed']],
    },
    ({ req, res, body }) =>
      checkoutWrite(platform, req, res, body.customer?.id, '/v1/redemptions', (ctx) => redeemVoucher(platform.db, body, ctx)),
  );

  api.get(
    '/redemptions',
    {
      summary: 'List redemptions, newest first (status=failed: the refused ones, code by code)',
      query: listRedemptionsQuery,
      ok: ['Redemptions', pageSchema(z.union([redemptionViewSchema, failedRedemptionViewSchema]))],
    },
    async ({ query }) => ({ status: 200, body: await listRedemptionRecords(platform.db, query) }),
  );

  const aRedemption = api.resource('/redemptions/:id', 'redemption');
  aRedemption.read({ summary: 'Get a redemption', ok: ['The redemption', redemptionViewSchema] }, ({ id }) =>
    getRedemption(platform.db, id),
  );

  aRedemption.post(
    '/rollback',
    {
      summary: 'Roll a redemption, or a redemption group (every code of it), back: the codes can be used again',
      body: rollbackRequestSchema,
      bodyExample: { reason: 'order cancelled' },
      errors: { 409: ['already_rolled_back'] },
      ok: ['Rolled back: the redemption, or the group', redemptionOrGroupSchema],
    },
    written(platform, ({ params, body }, ...by) => rollbackRedemption(platform.db, params.id, body.reason, ...by)),
  );
});
