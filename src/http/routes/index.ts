import type { RouteModule } from '../context.ts';
import { adminRoutes } from './admin.ts';
import { campaignRoutes } from './campaigns.ts';
import { exportRoutes } from './exports.ts';
import { eventFeedRoutes } from './event-feed.ts';
import { generationRoutes } from './generations.ts';
import { businessEventIntakeRoutes } from './business-events.ts';
import { distributionRoutes } from './distributions.ts';
import { publicationRoutes } from './publications.ts';
import { templateRoutes } from './templates.ts';
import { voucherSymbolRoutes } from './voucher-symbols.ts';
import { redemptionRoutes } from './redemptions.ts';
import { statsRoutes } from './stats.ts';
import { validationRoutes } from './validations.ts';
import { voucherRoutes } from './vouchers.ts';
import { webhookRoutes } from './webhooks.ts';

/** Every capability's /v1 routes. */
export const v1RouteModules: RouteModule[] = [adminRoutes, campaignRoutes, generationRoutes, voucherRoutes, publicationRoutes, templateRoutes, distributionRoutes, businessEventIntakeRoutes, voucherSymbolRoutes, webhookRoutes, eventFeedRoutes, validationRoutes, redemptionRoutes, statsRoutes, exportRoutes];
