import type { EntityManager } from '@mikro-orm/postgresql';
import { type CodeConfig, CodeGenerator, type CodeShape, resolveCodeShape } from '../codes/index.ts';
import { Campaign } from '../db/entities.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { pageOf } from '../shared/paging.ts';
import type { CampaignView, CreateCampaignInput, UpdateCampaignInput } from './schemas.ts';

export type CampaignEntity = InstanceType<typeof Campaign.class>;

/** Checks that a code config describes a usable shape, naming the field that is wrong. */
export function validatedShape(config: CodeConfig): CodeShape {
  const shape = resolveCodeShape(config);
  const errors: { field: string; message: string }[] = [];
  if (shape.alphabet.length < 2) errors.push({ field: 'code_config.charset', message: 'needs at least 2 distinct characters' });
  if (shape.alphabet.includes('#')) errors.push({ field: 'code_config.charset', message: 'must not contain #' });
  if (!/^[\x21-\x7e]*$/.test(shape.alphabet)) errors.push({ field: 'code_config.charset', message: 'printable ASCII only, no spaces' });
  if (!/^[\x21-\x7e]*$/.test(shape.template)) {
    errors.push({ field: 'code_config', message: 'prefix, pattern and postfix use printable ASCII only, no spaces' });
  }
  if (shape.template.length > 96) errors.push({ field: 'code_config', message: 'codes are at most 96 characters long' });
  if (errors.length > 0) throw new ValidationError(errors);
  new CodeGenerator(shape);
  return shape;
}

export async function createCampaign(em: EntityManager, input: CreateCampaignInput): Promise<CampaignEntity> {
  const shape = validatedShape(input.code_config);
  const campaign = em.create(Campaign, {
    name: input.name,
    codeConfig: input.code_config,
    spaceKey: shape.spaceKey,
    allowGuessable: input.allow_guessable,
    metadata: input.metadata,
    active: input.active,
    startDate: input.start_date,
    expirationDate: input.expiration_date,
    timezone: input.timezone,
    rules: input.rules,
  });
  await em.flush();
  return campaign;
}

/** Changes a campaign's rules, dates, time zone, active flag, name or metadata; the next validation sees them. */
export async function updateCampaign(em: EntityManager, id: string, patch: UpdateCampaignInput): Promise<CampaignEntity> {
  const campaign = await getCampaign(em, id);
  if (patch.name !== undefined) campaign.name = patch.name;
  if (patch.active !== undefined) campaign.active = patch.active;
  if (patch.start_date !== undefined) campaign.startDate = patch.start_date;
  if (patch.expiration_date !== undefined) campaign.expirationDate = patch.expiration_date;
  if (patch.timezone !== undefined) campaign.timezone = patch.timezone;
  if (patch.rules !== undefined) campaign.rules = patch.rules;
  if (patch.metadata !== undefined) campaign.metadata = patch.metadata;
  await em.flush();
  return campaign;
}

export async function getCampaign(em: EntityManager, id: string): Promise<CampaignEntity> {
  const campaign = isUuid(id) ? await em.findOne(Campaign, { id }) : null;
  if (!campaign) throw new NotFoundError('campaign', id);
  return campaign;
}

/** Newest first, a page at a time; `after` is the (created_at, id) of the last campaign of the previous page. */
export async function listCampaigns(
  em: EntityManager,
  limit: number,
  after?: readonly [string, string],
): Promise<{ data: CampaignView[]; next_cursor: string | null }> {
  const where = after
    ? { $or: [{ createdAt: { $lt: new Date(after[0]) } }, { createdAt: new Date(after[0]), id: { $lt: after[1] } }] }
    : {};
  const rows = await em.find(Campaign, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
  const page = pageOf(rows, limit, (c) => [isoTime(c.createdAt), c.id]);
  return { data: page.data.map(campaignView), next_cursor: page.next_cursor };
}

export function campaignView(c: CampaignEntity): CampaignView {
  const shape = resolveCodeShape(c.codeConfig as CodeConfig);
  return {
    id: c.id,
    name: c.name,
    code_config: c.codeConfig,
    code_template: shape.template,
    charset: shape.alphabet,
    allow_guessable: c.allowGuessable,
    active: c.active,
    status: c.status as CampaignView['status'],
    start_date: isoTime(c.startDate ?? null),
    expiration_date: isoTime(c.expirationDate ?? null),
    timezone: c.timezone,
    rules: c.rules,
    issued_count: Number(c.issuedCount),
    metadata: c.metadata,
    created_at: isoTime(c.createdAt),
    updated_at: isoTime(c.updatedAt),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
