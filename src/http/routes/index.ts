import type { RouteModule } from '../context.ts';
import { adminRoutes } from './admin.ts';
import { businessEventIntakeRoutes } from './business-events.ts';
import { campaignRoutes } from './campaigns.ts';
import { customerRoutes } from './customers.ts';
import { distributionRoutes } from './distributions.ts';
import { eventFeedRoutes } from './event-feed.ts';
import { exportRoutes } from './exports.ts';
import { generationRoutes } from './generations.ts';
import { importRoutes } from './imports.ts';
import { orderRoutes } from './orders.ts';
import { publicationRoutes } from './publications.ts';
import { redemptionRoutes } from './redemptions.ts';
import { reservationRoutes } from './reservations.ts';
import { segmentRoutes } from './segments.ts';
import { statsRoutes } from './stats.ts';
import { templateRoutes } from './templates.ts';
import { validationRoutes } from './validations.ts';
import { voucherSymbolRoutes } from './voucher-symbols.ts';
import { voucherRoutes } from './vouchers.ts';
import { webhookRoutes } from './webhooks.ts';

/**
 * Every capability's /v1 routes. Express tries routes in this order, so checkout's hot routes come first (no two
 * modules share a path, so the order changes nothing else).
 */
export const v1RouteModules: RouteModule[] = [
  validationRoutes,
  redemptionRoutes,
  reservationRoutes,
  orderRoutes,
  adminRoutes,
  campaignRoutes,
  generationRoutes,
  voucherRoutes,
  publicationRoutes,
  templateRoutes,
  distributionRoutes,
  businessEventIntakeRoutes,
  voucherSymbolRoutes,
  webhookRoutes,
  eventFeedRoutes,
  statsRoutes,
  exportRoutes,
  importRoutes,
  customerRoutes,
  segmentRoutes,
];
