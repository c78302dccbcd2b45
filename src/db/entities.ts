import { defineEntity, p } from '@mikro-orm/core';

/** API keys: only a SHA-256 of the key is stored; keys are 256-bit random so a slow hash adds nothing. */
export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    name: p.text(),
    keyHash: p.text().unique(),
    keyPrefix: p.text(),
    role: p.text().default('admin'),
    createdAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});

export const Campaign = defineEntity({
  name: 'Campaign',
  tableName: 'campaigns',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    name: p.text(),
    codeConfig: p.json<Record<string, unknown>>(),
    spaceKey: p.text().index(),
    allowGuessable: p.boolean().default(false),
    active: p.boolean().default(true),
    status: p.text().default('active'),
    startDate: p.datetime().nullable(),
    expirationDate: p.datetime().nullable(),
    timezone: p.text().default('UTC'),
    rules: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    metadata: p.json<Record<string, unknown>>().defaultRaw(`'{}'::jsonb`),
    issuedCount: p.bigint('number').default(0),
    createdAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

export const Generation = defineEntity({
  name: 'Generation',
  tableName: 'generations',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    campaignId: p.uuid().index(),
    status: p.text().default('queued'),
    requested: p.integer(),
    generated: p.integer().default(0),
    collisions: p.bigint('number').default(0),
    chunkSize: p.integer(),
    chunkCount: p.integer(),
    idempotencyKey: p.text().nullable(),
    entropyBits: p.double(),
    guessProbability: p.double(),
    error: p.text().nullable(),
    createdAt: p
      .datetime()
      .defaultRaw('now()')
      .onCreate(() => new Date()),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
  },
});

export const entities = [ApiKey, Campaign, Generation];
