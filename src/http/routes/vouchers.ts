import { createStandaloneVoucher, listVoucherEvents, listVouchers, setVoucherActive, updateVoucher } from '../../vouchers/lifecycle.ts';
import { createVoucherSchema, eventsQuery, listVouchersQuery, setActiveSchema, updateVoucherSchema } from '../../vouchers/schemas.ts';
import { findVoucherByCode, voucherView } from '../../vouchers/vouchers.ts';
import type { RouteModule } from '../context.ts';
import { parse } from '../validate.ts';

export const voucherRoutes: RouteModule = (router, { platform }) => {
  router.get('/vouchers', async (req, res) => {
    res.json(await listVouchers(platform.db, parse(listVouchersQuery, req.query)));
  });

  router.post('/vouchers', async (req, res) => {
    const input = parse(createVoucherSchema, req.body);
    const voucher = await createStandaloneVoucher(platform.db, input, req.apiKey?.id ?? null, platform.clock.now());
    res
      .status(201)
      .location(`/v1/vouchers/${encodeURIComponent(voucher.code)}`)
      .json(voucher);
  });

  router.get('/vouchers/:code', async (req, res) => {
    res.json(voucherView(await findVoucherByCode(platform.db, req.params.code)));
  });

  router.patch('/vouchers/:code', async (req, res) => {
    const patch = parse(updateVoucherSchema, req.body);
    res.json(await updateVoucher(platform.db, req.params.code, patch, req.apiKey?.id ?? null, platform.clock.now()));
  });

  for (const [action, active] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    router.post(`/vouchers/:code/${action}`, async (req, res) => {
      const { reason } = parse(setActiveSchema, req.body);
      const { voucher } = await setVoucherActive(
        platform.db,
        req.params.code,
        active,
        req.apiKey?.id ?? null,
        platform.clock.now(),
        reason,
      );
      res.json(voucher);
    });
  }

  router.get('/vouchers/:code/events', async (req, res) => {
    const { limit, cursor } = parse(eventsQuery, req.query);
    res.json(await listVoucherEvents(platform.db, req.params.code, limit, cursor));
  });
};
