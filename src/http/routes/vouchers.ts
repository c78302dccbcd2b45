import { findVoucherByCode, voucherView } from '../../vouchers/vouchers.ts';
import type { RouteModule } from '../context.ts';

export const voucherRoutes: RouteModule = (router, { platform }) => {
  router.get('/vouchers/:code', async (req, res) => {
    res.json(voucherView(await findVoucherByCode(platform.db, req.params.code)));
  });
};
