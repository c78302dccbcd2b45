import { pageSchema } from '../../shared/paging.ts';
import { createStandaloneVoucher, listVoucherEvents, listVouchers, setVoucherActive, updateVoucher } from '../../vouchers/lifecycle.ts';
import {
  createVoucherSchema,
  eventsQuery,
  listVouchersQuery,
  setActiveSchema,
  updateVoucherSchema,
  voucherEventViewSchema,
  voucherViewSchema,
} from '../../vouchers/schemas.ts';
import { findVoucherByCode, voucherView } from '../../vouchers/vouchers.ts';
import { routeModule, writer, written } from '../context.ts';
import { codeParam } from '../operation.ts';

export const voucherRoutes = routeModule({ tag: 'vouchers' }, (api, { platform }) => {
  api.get(
    '/vouchers',
    { summary: 'Search vouchers', query: listVouchersQuery, ok: ['Vouchers, in the order they were made', pageSchema(voucherViewSchema)] },
    async ({ query }) => ({ status: 200, body: await listVouchers(platform.db, query) }),
  );

  api.post(
    '/vouchers',
    {
      summary: 'Create a single voucher with a chosen code',
      body: createVoucherSchema,
      bodyExample: { campaign_id: '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11', code: 'VIP-ADA', metadata: { partner: 'acme' } },
      errors: { 404: ['campaign_not_found'], 409: ['voucher_code_taken', 'code_space_exhausted'] },
      created: ['Created', voucherViewSchema, ['Location']],
    },
    async ({ req, body }) => {
      const voucher = await createStandaloneVoucher(platform.db, body, ...writer(req, platform));
      return { status: 201, headers: { Location: `/v1/vouchers/${encodeURIComponent(voucher.code)}` }, body: voucher };
    },
  );

  const aVoucher = api.resource('/vouchers/:code', { code: codeParam }, { errors: { 404: ['voucher_not_found'] } });
  aVoucher.read({ summary: 'Look a code up', ok: ['The voucher', voucherViewSchema] }, async ({ code }) =>
    voucherView(await findVoucherByCode(platform.db, code)),
  );

  aVoucher.patch(
    {
      summary: "Update a voucher's dates, rules or metadata",
      body: updateVoucherSchema,
      bodyExample: { expiration_date: '2026-12-31T23:59:59Z' },
      ok: ['Updated', voucherViewSchema],
    },
    written(platform, ({ params, body }, ...by) => updateVoucher(platform.db, params.code, body, ...by)),
  );

  for (const [action, active] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    aVoucher.post(
      `/${action}`,
      {
        summary: `${active ? 'Enable' : 'Disable'} a voucher`,
        body: setActiveSchema,
        bodyExample: { reason: active ? 'resolved' : 'reported as leaked' },
        ok: [active ? 'Enabled' : 'Disabled', voucherViewSchema],
      },
      async ({ req, params, body }) => {
        const { voucher } = await setVoucherActive(
          platform.db,
          params.code,
          active,
          req.apiKey?.id ?? null,
          platform.clock.now(),
          body.reason,
        );
        return { status: 200, body: voucher };
      },
    );
  }

  aVoucher.get(
    '/events',
    {
      summary: "A voucher's lifecycle events, oldest first",
      query: eventsQuery,
      ok: ['Events', pageSchema(voucherEventViewSchema)],
    },
    async ({ params, query }) => ({ status: 200, body: await listVoucherEvents(platform.db, params.code, query.limit, query.cursor) }),
  );
});
