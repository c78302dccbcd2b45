import type { ConsoleModule } from '../index.ts';
import { campaignPages } from './campaign.ts';
import { campaignListPages } from './campaigns.ts';
import { codePages } from './code.ts';
import { deliveryPages } from './deliveries.ts';
import { jobPages } from './jobs.ts';
import { webhookPages } from './webhooks.ts';

/**
 * Every module of console pages. A new capability adds its module here and, when it has a top-level page, an
 * entry in NAVIGATION (layout.ts); a section of an existing page goes in that page's section list
 * (CAMPAIGN_SECTIONS in campaign.ts).
 */
export const CONSOLE_PAGES: ConsoleModule[] = [campaignListPages, campaignPages, codePages, webhookPages, deliveryPages, jobPages];
