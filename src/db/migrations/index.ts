import type { MigrationObject } from '@mikro-orm/core';
import { Migration0001Foundation } from './Migration0001Foundation.ts';
import { Migration0100Redemptions } from './Migration0100Redemptions.ts';
import { Migration0200Webhooks } from './Migration0200Webhooks.ts';
import { Migration0300Delivery } from './Migration0300Delivery.ts';
import { Migration0400ScheduledRuns } from './Migration0400ScheduledRuns.ts';
import { Migration0500IdempotencyRetention } from './Migration0500IdempotencyRetention.ts';
import { Migration0600ReconcileIndexes } from './Migration0600ReconcileIndexes.ts';
import { Migration0800Checkout } from './Migration0800Checkout.ts';
import { Migration0810SegmentVersion } from './Migration0810SegmentVersion.ts';
import { Migration0850Reservations } from './Migration0850Reservations.ts';
import { Migration0900Imports } from './Migration0900Imports.ts';
import { Migration0950VoucherifyCompat } from './Migration0950VoucherifyCompat.ts';
import { Migration0951WebhookFormat } from './Migration0951WebhookFormat.ts';
import { Migration1000DeliveryLeases } from './Migration1000DeliveryLeases.ts';
import { Migration1001DeliveryBatches } from './Migration1001DeliveryBatches.ts';
import { Migration1050Console } from './Migration1050Console.ts';
import { Migration1100CustomerErasure } from './Migration1100CustomerErasure.ts';
import { Migration1101VoucherifySessionKeys } from './Migration1101VoucherifySessionKeys.ts';

/** Every migration, in order. Listed explicitly so they run the same from source and from any bundle. */
export const migrations: MigrationObject[] = [
  { name: 'Migration0001Foundation', class: Migration0001Foundation },
  { name: 'Migration0100Redemptions', class: Migration0100Redemptions },
  { name: 'Migration0200Webhooks', class: Migration0200Webhooks },
  { name: 'Migration0300Delivery', class: Migration0300Delivery },
  { name: 'Migration0400ScheduledRuns', class: Migration0400ScheduledRuns },
  { name: 'Migration0500IdempotencyRetention', class: Migration0500IdempotencyRetention },
  { name: 'Migration0600ReconcileIndexes', class: Migration0600ReconcileIndexes },
  { name: 'Migration0800Checkout', class: Migration0800Checkout },
  { name: 'Migration0810SegmentVersion', class: Migration0810SegmentVersion },
  { name: 'Migration0850Reservations', class: Migration0850Reservations },
  { name: 'Migration0900Imports', class: Migration0900Imports },
  { name: 'Migration1000DeliveryLeases', class: Migration1000DeliveryLeases },
  { name: 'Migration1001DeliveryBatches', class: Migration1001DeliveryBatches },
  { name: 'Migration1050Console', class: Migration1050Console },
  // After 1050: it extends the api_keys role check that 1050 (re)creates.
  { name: 'Migration0950VoucherifyCompat', class: Migration0950VoucherifyCompat },
  { name: 'Migration0951WebhookFormat', class: Migration0951WebhookFormat },
  { name: 'Migration1100CustomerErasure', class: Migration1100CustomerErasure },
  { name: 'Migration1101VoucherifySessionKeys', class: Migration1101VoucherifySessionKeys },
];
