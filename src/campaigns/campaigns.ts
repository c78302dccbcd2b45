import { type CodeConfig, CodeGenerator, type CodeShape, resolveCodeShape } from '../codes/index.ts';
import type { CustomerIdentity } from '../customers/identity.ts';
import type { Database, Queryable } from '../db/sql.ts';
import { assertSegmentsExist } from '../segments/segments.ts';
import { DomainError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { pageOf } from '../shared/paging.ts';
import { isUuid } from '../shared/uuid.ts';
import { BUDGET_COUNTER_COLUMN, type Budget, type BudgetCounter, budgetUsageView, syncBudget } from './budgets.ts';
import type { CampaignView, CreateCampaignInput, UpdateCampaignInput } from './schemas.ts';

export interface CampaignRow {
  id: string;
  name: string;
  code_config: CodeConfig;
  space_key: string;
  allow_guessable: boolean;
  active: boolean;
  status: string;
  start_date: Date | null;
  expiration_date: Date | null;
  timezone: string;
  rules: Record<string, unknown>;
  metadata: Record<string, unknown>;
  issued_count: string;
  /** The budget as set (budgets.ts), and its counter when the query joined it. */
  budget: Budget | null;
  budget_counter?: BudgetCounter | null;
  customer_identity: CustomerIdentity;
  created_at: Date;
  updated_at: Date;
}

const WITH_BUDGET = `select c.*, ${BUDGET_COUNTER_COLUMN} from campaigns c left join campaign_budgets b on b.campaign_id = c.id`;

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

/** Campaign names are unique per installation, case-insensitively (Migration0950): a taken name is a 409. */
function nameTaken(error: unknown): never {
  const pgError = error as { code?: string; constraint?: string };
  if (pgError?.code === '23505' && pgError.constraint === 'campaigns_name_ci_key') {
    throw new DomainError(
      'conflict',
      'campaign_name_taken',
      'A campaign with this name already exists (names are compared case-insensitively).',
    );
  }
  throw error;
}

export async function createCampaign(db: Database, input: CreateCampaignInput): Promise<CampaignRow> {
  if (input.budget) return db.transaction((tx) => insertCampaign(tx, input));
  return insertCampaign(db, input);
}

async function insertCampaign(db: Queryable, input: CreateCampaignInput): Promise<CampaignRow> {
  const shape = validatedShape(input.code_config);
  await assertSegmentsExist(db, input.rules.conditions);
  const { rows } = await db
    .query<CampaignRow>(
      // Milliseconds, as the API shows them: the list cursor carries created_at in that form.
      `insert into campaigns (name, code_config, space_key, allow_guessable, metadata, active, start_date, expiration_date, timezone, rules,
                            budget, customer_identity, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, date_trunc('milliseconds', now()), date_trunc('milliseconds', now()))
     returning *`,
      [
        input.name,
        input.code_config,
        shape.spaceKey,
        input.allow_guessable,
        input.metadata,
        input.active,
        input.start_date,
        input.expiration_date,
        input.timezone,
        input.rules,
        input.budget ?? null,
        input.customer_identity,
      ],
    )
    .catch(nameTaken);
  const campaign = rows[0] as CampaignRow;
  if (input.budget) await syncBudget(db, campaign.id, input.budget);
  return campaign;
}

/**
 * Changes a campaign's rules, dates, time zone, active flag, name or metadata; the next validation sees them. A patch
 * that changes nothing leaves `updated_at` alone.
 */
export async function updateCampaign(db: Database, id: string, patch: UpdateCampaignInput): Promise<CampaignRow> {
  const changes = {
    name: patch.name,
    active: patch.active,
    start_date: patch.start_date,
    expiration_date: patch.expiration_date,
    timezone: patch.timezone,
    rules: patch.rules,
    metadata: patch.metadata,
    budget: patch.budget,
    customer_identity: patch.customer_identity,
  };
  const given = Object.entries(changes).filter(([, value]) => value !== undefined);
  if (!isUuid(id) || given.length === 0) return getCampaign(db, id);
  await assertSegmentsExist(db, patch.rules?.conditions);
  const columns = given.map(([column]) => column);
  const assignments = columns.map((column, i) => `${column} = $${i + 2}`).join(', ');
  const changed = columns.map((column, i) => `${column} is distinct from $${i + 2}`).join(' or ');
  const params = [id, ...given.map(([, value]) => value)];
  const sql = `update campaigns set ${assignments}, updated_at = date_trunc('milliseconds', now()) where id = $1 and (${changed}) returning *`;
  if (patch.budget === undefined) {
    await db.query(sql, params).catch(nameTaken);
    return getCampaign(db, id);
  }
  // The budget as set and its counter's limits change together.
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<CampaignRow>(sql, params).catch(nameTaken);
    if (rows[0]) await syncBudget(tx, id, patch.budget ?? null);
  });
  return getCampaign(db, id);
}

export async function getCampaign(db: Database, id: string): Promise<CampaignRow> {
  const campaign = isUuid(id) ? (await db.read<CampaignRow>(`${WITH_BUDGET} where c.id = $1`, [id])).rows[0] : undefined;
  if (!campaign) throw new NotFoundError('campaign', id);
  return campaign;
}

/** Newest first, a page at a time; `after` is the (created_at, id) of the last campaign of the previous page. */
export async function listCampaigns(
  db: Database,
  limit: number,
  after?: readonly [string, string],
): Promise<{ data: CampaignView[]; next_cursor: string | null }> {
  const { rows } = after
    ? await db.read<CampaignRow>(
        `${WITH_BUDGET} where (c.created_at, c.id) < ($1::timestamptz, $2::uuid) order by c.created_at desc, c.id desc limit $3`,
        [after[0], after[1], limit + 1],
      )
    : await db.read<CampaignRow>(`${WITH_BUDGET} order by c.created_at desc, c.id desc limit $1`, [limit + 1]);
  const page = pageOf(rows, limit, (c) => [isoTime(c.created_at), c.id]);
  return { data: page.data.map(campaignView), next_cursor: page.next_cursor };
}

export function campaignView(c: CampaignRow): CampaignView {
  const shape = resolveCodeShape(c.code_config);
  return {
    id: c.id,
    name: c.name,
    code_config: c.code_config as Record<string, unknown>,
    code_template: shape.template,
    charset: shape.alphabet,
    allow_guessable: c.allow_guessable,
    active: c.active,
    status: c.status as CampaignView['status'],
    start_date: isoTime(c.start_date),
    expiration_date: isoTime(c.expiration_date),
    timezone: c.timezone,
    rules: c.rules,
    issued_count: Number(c.issued_count),
    budget: c.budget ?? null,
    budget_usage: budgetUsageView(c.budget ?? null, c.budget_counter),
    customer_identity: c.customer_identity,
    metadata: c.metadata,
    created_at: isoTime(c.created_at),
    updated_at: isoTime(c.updated_at),
  };
}
