import { Liquid, type Template } from 'liquidjs';
import type { z } from 'zod';
import { type Queryable, rowById } from '../db/sql.ts';
import { DomainError, ValidationError } from '../shared/errors.ts';
import { isoTime } from '../shared/fields.ts';
import { type LinkSettings, voucherLinks } from './public-links.ts';
import type { CreateTemplateInput, templateViewSchema } from './schemas.ts';

/**
 * Liquid with the safety switches on: output HTML-escaped unless `| raw`, unknown variables and filters are
 * errors (never silently blank), dates in UTC. Subjects, text parts and SMS bodies use a non-escaping twin.
 */
const common = { strictVariables: true, strictFilters: true, timezoneOffset: 0, ownPropertyOnly: true } as const;
const htmlEngine = new Liquid({ ...common, outputEscape: 'escape' });
const textEngine = new Liquid(common);

export type Channel = 'email' | 'sms';

export interface TemplateRow {
  id: string;
  name: string;
  channel: Channel;
  subject: string | null;
  html: string | null;
  text: string;
  created_at: Date;
  updated_at: Date;
}

/** What a template can refer to; `metadata` objects are open (their keys are the customer's or campaign's own). */
const ALLOWED: Record<string, Set<string>> = {
  voucher: new Set(['code', 'qr_url', 'barcode_url', 'expiration_date', 'start_date', 'campaign_id', 'metadata']),
  customer: new Set(['id', 'name', 'email', 'phone', 'metadata']),
  campaign: new Set(['id', 'name', 'metadata']),
};

export interface RenderContext {
  voucher: {
    code: string;
    qr_url: string;
    barcode_url: string;
    expiration_date: Date | null;
    start_date: Date | null;
    campaign_id: string;
    metadata: Record<string, unknown>;
  };
  customer: { id: string; name: string | null; email: string | null; phone: string | null; metadata: Record<string, unknown> };
  campaign: { id: string; name: string; metadata: Record<string, unknown> };
}

export interface RenderedMessage {
  subject: string | null;
  html: string | null;
  text: string;
}

interface Parsed {
  subject: Template[] | null;
  html: Template[] | null;
  text: Template[];
}

interface Compiled {
  updatedAt: number;
  parsed: Parsed;
  inlineQr: boolean;
}

const parsedCache = new Map<string, Compiled>();

function parsePart(engine: Liquid, field: string, source: string): Template[] {
  let parsed: Template[];
  try {
    parsed = engine.parse(source);
  } catch (error) {
    throw new ValidationError(
      [{ field, message: `Liquid syntax error: ${(error as Error).message}` }],
      'template_invalid',
      'The template does not parse.',
    );
  }
  const unknown: string[] = [];
  for (const segments of engine.globalVariableSegmentsSync(parsed)) {
    const [root, key] = segments.map(String);
    const allowed = root ? ALLOWED[root] : undefined;
    const ok = allowed !== undefined && (key === undefined || allowed.has(key)) && (segments.length <= 2 || key === 'metadata');
    if (!ok) unknown.push(segments.map(String).join('.'));
  }
  if (unknown.length > 0) {
    throw new ValidationError(
      [{ field, message: `unknown variable(s): ${[...new Set(unknown)].join(', ')}` }],
      'template_invalid',
      'The template refers to variables that do not exist.',
    );
  }
  return parsed;
}

/** Parses and checks every part; throws 400 template_invalid naming the part and the unknown variables. */
export function compileTemplate(input: { channel: Channel; subject?: string | null; html?: string | null; text: string }): Parsed {
  return {
    subject: input.subject ? parsePart(textEngine, 'subject', input.subject) : null,
    html: input.html ? parsePart(htmlEngine, 'html', input.html) : null,
    text: parsePart(textEngine, 'text', input.text),
  };
}

/** A template version's parsed parts, parsed once per process (the cache is keyed by id and updated_at). */
function compiled(t: TemplateRow): Compiled {
  const updatedAt = new Date(t.updated_at).getTime();
  const cached = parsedCache.get(t.id);
  if (cached && cached.updatedAt === updatedAt) return cached;
  const parsed = compileTemplate(t);
  const inlineQr =
    parsed.html !== null && htmlEngine.globalVariableSegmentsSync(parsed.html).some((s) => s[0] === 'voucher' && s[1] === 'qr_url');
  const entry = { updatedAt, parsed, inlineQr };
  parsedCache.set(t.id, entry);
  return entry;
}

export class TemplateRenderError extends DomainError {
  constructor(message: string) {
    super('unprocessable', 'template_render_failed', message);
  }
}

/**
 * Renders all parts; an unknown variable at render time (a missing metadata key) is a TemplateRenderError. Rendered
 * synchronously: every tag and filter a template may use is synchronous, and a message's three parts then cost no
 * promise per node.
 */
export async function renderTemplate(
  t: TemplateRow,
  context: RenderContext,
  htmlContext: RenderContext = context,
): Promise<RenderedMessage> {
  const parsed = compiled(t).parsed;
  try {
    const subject = parsed.subject ? textEngine.renderSync(parsed.subject, context) : null;
    const html = parsed.html ? htmlEngine.renderSync(parsed.html, htmlContext) : null;
    const text = textEngine.renderSync(parsed.text, context);
    return {
      subject:
        subject === null
          ? null
          : String(subject)
              .replace(/[\r\n]+/g, ' ')
              .trim(),
      html,
      text,
    };
  } catch (error) {
    throw new TemplateRenderError((error as Error).message);
  }
}

/** True when the HTML part shows the QR code, so email embeds the image inline (worked out once per version). */
export function usesQrInHtml(t: TemplateRow): boolean {
  return compiled(t).inlineQr;
}

export async function createTemplate(db: Queryable, input: CreateTemplateInput): Promise<TemplateRow> {
  if (input.channel === 'email' && !input.subject) {
    throw new ValidationError([{ field: 'subject', message: 'an email template needs a subject' }]);
  }
  if (input.channel === 'sms' && input.html) {
    throw new ValidationError([{ field: 'html', message: 'an SMS template has a text part only' }]);
  }
  compileTemplate(input);
  const { rows } = await db.query<TemplateRow>(
    'insert into message_templates (name, channel, subject, html, text) values ($1, $2, $3, $4, $5) returning *',
    [input.name, input.channel, input.subject ?? null, input.html ?? null, input.text],
  );
  return rows[0] as TemplateRow;
}

export async function updateTemplate(db: Queryable, id: string, input: CreateTemplateInput): Promise<TemplateRow> {
  await getTemplate(db, id);
  if (input.channel === 'email' && !input.subject)
    throw new ValidationError([{ field: 'subject', message: 'an email template needs a subject' }]);
  compileTemplate(input);
  const { rows } = await db.query<TemplateRow>(
    `update message_templates set name = $2, channel = $3, subject = $4, html = $5, text = $6, updated_at = clock_timestamp()
     where id = $1 returning *`,
    [id, input.name, input.channel, input.subject ?? null, input.html ?? null, input.text],
  );
  return rows[0] as TemplateRow;
}

export async function getTemplate(db: Queryable, id: string): Promise<TemplateRow> {
  return rowById<TemplateRow>(db, 'message_templates', 'template', id);
}

export async function listTemplates(db: Queryable): Promise<TemplateRow[]> {
  const { rows } = await db.query<TemplateRow>('select * from message_templates order by created_at desc limit 500');
  return rows;
}

/** Checks a template exists and fits the channel a publication, distribution or trigger wants. */
export async function templateForChannel(
  db: Queryable,
  id: string | undefined,
  channel: string,
  field = 'template_id',
): Promise<TemplateRow | null> {
  if (channel === 'none') return null;
  if (!id) throw new ValidationError([{ field, message: `required when channel is ${channel}` }]);
  const t = await getTemplate(db, id);
  if (t.channel !== channel) throw new ValidationError([{ field, message: `template is for ${t.channel}, not ${channel}` }]);
  return t;
}

export function templateView(t: TemplateRow): z.output<typeof templateViewSchema> {
  return {
    id: t.id,
    name: t.name,
    channel: t.channel,
    subject: t.subject,
    html: t.html,
    text: t.text,
    created_at: isoTime(t.created_at),
    updated_at: isoTime(t.updated_at),
  };
}

/** A context to preview a template with: a sample customer and voucher (links as real deliveries get them). */
export function sampleContext(links: LinkSettings, customer?: Partial<RenderContext['customer']>, code = 'SAMPLE-CODE'): RenderContext {
  return {
    voucher: {
      code,
      ...voucherLinks(links, code),
      expiration_date: new Date(Date.UTC(2030, 11, 31)),
      start_date: null,
      campaign_id: '00000000-0000-0000-0000-000000000000',
      metadata: {},
    },
    customer: {
      id: customer?.id ?? 'cust_sample',
      name: customer?.name ?? 'Alex Sample',
      email: customer?.email ?? 'alex@example.com',
      phone: customer?.phone ?? '+15555550100',
      metadata: customer?.metadata ?? {},
    },
    campaign: { id: '00000000-0000-0000-0000-000000000000', name: 'Sample campaign', metadata: {} },
  };
}
