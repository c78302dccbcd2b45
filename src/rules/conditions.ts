import { z } from 'zod';
import { ValidationError } from '../shared/errors.ts';
import { FIELD_NAMES, type FieldType, resolveField } from './fields.ts';
import { type ItemMatch, itemMatchSchema } from './item-match.ts';

/**
 * The condition language of `rules.conditions` and of segments: its types, and the schemas that refuse, when a
 * campaign, voucher or segment is saved, anything that does not parse, names an unknown field or op, or compares
 * incompatible types, each fault with its JSON path.
 */

export const OPS = ['eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'exists', 'contains', 'starts_with'] as const;
export type Op = (typeof OPS)[number];

export type Scalar = string | number | boolean | null;

export interface Predicate {
  field: string;
  op: Op;
  value?: unknown;
}

export interface ItemsPredicate {
  items: { match: ItemMatch; min_quantity?: number; min_amount?: number; max_quantity?: number };
}

export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | Predicate | ItemsPredicate;

/** A named check: `when` must hold; `message` is what the campaign wants the checkout to show when it does not. */
export interface Check {
  name: string;
  when: Condition;
  message?: string;
}

export const SEGMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const TIME_OF_DAY = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const CURRENCY = /^[A-Za-z]{3}$/;

export const MAX_CHECKS = 50;
const MAX_CHILDREN = 50;
const MAX_LIST_VALUES = 1000;
const MAX_STRING_VALUE = 1000;
/** Nesting of JSON objects and arrays in one `when`, checked before parsing so no input can exhaust the stack. */
const MAX_JSON_DEPTH = 32;
const MAX_JSON_NODES = 2000;

const OPS_BY_TYPE: Record<FieldType, readonly Op[]> = {
  number: ['eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'exists'],
  weekday: ['eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'exists'],
  time: ['eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'exists'],
  string: ['eq', 'ne', 'in', 'not_in', 'exists', 'contains', 'starts_with'],
  currency: ['eq', 'ne', 'in', 'not_in', 'exists'],
  segment: ['eq', 'ne', 'in', 'not_in'],
  any: OPS,
};

const TYPE_NAMES: Record<FieldType, string> = {
  number: 'a number',
  weekday: 'an ISO weekday (1 = Monday … 7 = Sunday)',
  time: 'a time of day, HH:MM',
  string: 'a string',
  currency: 'a three-letter currency code',
  segment: 'a segment name',
  any: 'a metadata value',
};

type Scope = 'rules' | 'segment';
type Issue = { path: (string | number)[]; message: string };

/** Why an operand does not fit a field of this type with this op, or null when it does. */
function operandFault(type: FieldType, op: Op, value: unknown): string | null {
  switch (type) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a number';
    case 'weekday':
      return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 7 ? null : 'must be an ISO weekday, 1 to 7';
    case 'time':
      return typeof value === 'string' && TIME_OF_DAY.test(value) ? null : 'must be a time of day, HH:MM';
    case 'currency':
      return typeof value === 'string' && CURRENCY.test(value) ? null : 'must be a three-letter currency code';
    case 'segment':
      return typeof value === 'string' && SEGMENT_NAME.test(value) ? null : 'must be a segment name';
    case 'string':
      return typeof value === 'string' && value.length <= MAX_STRING_VALUE ? null : `must be a string of at most ${MAX_STRING_VALUE}`;
    case 'any':
      if (op === 'starts_with') return typeof value === 'string' ? null : 'must be a string';
      if (op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') {
        return (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'string' ? null : 'must be a number or a string';
      }
      return isScalar(value) ? null : 'must be a string, number, boolean or null';
  }
}

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function predicateIssues(p: { field: string; op: Op; value?: unknown }, scope: Scope): Issue[] {
  const spec = resolveField(p.field);
  if (!spec) return [{ path: ['field'], message: `unknown field; one of ${FIELD_NAMES.join(', ')}` }];
  if (scope === 'segment' && !spec.inSegment) {
    return [{ path: ['field'], message: 'a segment reads only customer.id and customer.metadata.<key>' }];
  }
  if (!OPS_BY_TYPE[spec.type].includes(p.op)) {
    return [
      {
        path: ['op'],
        message: `${p.op} does not apply to ${p.field} (${TYPE_NAMES[spec.type]}); use ${OPS_BY_TYPE[spec.type].join(', ')}`,
      },
    ];
  }
  const hasValue = Object.hasOwn(p, 'value');
  if (p.op === 'exists') return !hasValue || typeof p.value === 'boolean' ? [] : [{ path: ['value'], message: 'must be true or false' }];
  if (!hasValue) return [{ path: ['value'], message: 'is required' }];
  if (p.op === 'in' || p.op === 'not_in') {
    if (!Array.isArray(p.value)) return [{ path: ['value'], message: `${p.op} needs an array` }];
    if (p.value.length === 0 || p.value.length > MAX_LIST_VALUES) {
      return [{ path: ['value'], message: `${p.op} needs 1 to ${MAX_LIST_VALUES} values` }];
    }
    const issues: Issue[] = [];
    p.value.forEach((element, i) => {
      const fault = operandFault(spec.type, 'eq', element);
      if (fault) issues.push({ path: ['value', i], message: fault });
    });
    return issues;
  }
  const fault = operandFault(spec.type, p.op, p.value);
  return fault ? [{ path: ['value'], message: fault }] : [];
}

const FORMS = ['all', 'any', 'not', 'field', 'items'] as const;

const itemsPredicateSchema = z
  .strictObject({
    match: itemMatchSchema,
    min_quantity: z.number().int().min(1).max(1_000_000_000).optional(),
    min_amount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    max_quantity: z.number().int().min(0).max(1_000_000_000).optional(),
  })
  .refine((i) => i.min_quantity === undefined || i.max_quantity === undefined || i.min_quantity <= i.max_quantity, {
    message: 'must not be below min_quantity',
    path: ['max_quantity'],
  });

/**
 * One node of the language. Structurally a single object with optional keys (so the schema, and its JSON Schema,
 * stay exact about each key), then refined: exactly one form per node, and predicates checked against the fields.
 */
function nodeSchema(scope: Scope): z.ZodType<Condition> {
  const node: z.ZodType<Condition> = z.lazy(() =>
    z
      .strictObject({
        all: z.array(node).min(1).max(MAX_CHILDREN).optional(),
        any: z.array(node).min(1).max(MAX_CHILDREN).optional(),
        not: node.optional(),
        field: z.string().max(300).optional(),
        op: z.enum(OPS).optional(),
        value: z.unknown().optional(),
        items: itemsPredicateSchema.optional(),
      })
      .superRefine((n, ctx) => {
        const forms = FORMS.filter((form) => n[form] !== undefined);
        const report = (issue: Issue) => ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: n });
        if (forms.length !== 1) {
          return report({
            path: [],
            message:
              forms.length === 0
                ? 'a condition is one of {all: [...]}, {any: [...]}, {not: ...}, {field, op, value} or {items: {...}}'
                : `a condition has exactly one of ${FORMS.join(', ')}; this one has ${forms.join(' and ')}`,
          });
        }
        if (forms[0] !== 'field') {
          const stray = (['op', 'value'] as const).find((key) => Object.hasOwn(n, key));
          if (stray) return report({ path: [stray], message: `${stray} belongs to a {field, op, value} predicate` });
          if (forms[0] === 'items' && scope === 'segment') return report({ path: ['items'], message: 'a segment cannot test order items' });
          return;
        }
        if (n.op === undefined) return report({ path: ['op'], message: `is required; one of ${OPS.join(', ')}` });
        for (const issue of predicateIssues(n as Predicate, scope)) report(issue);
      }),
  ) as unknown as z.ZodType<Condition>;
  return z.preprocess((value, ctx) => {
    const fault = jsonShapeFault(value);
    if (!fault) return value;
    ctx.addIssue({ code: 'custom', message: fault.message, path: fault.path, input: value });
    return z.NEVER;
  }, node) as unknown as z.ZodType<Condition>;
}

/** The path of the first place a value nests too deep, or of the node that makes it too big, walked without recursion. */
function jsonShapeFault(root: unknown): Issue | null {
  const stack: [unknown, (string | number)[]][] = [[root, []]];
  let nodes = 0;
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, (string | number)[]];
    if (typeof value !== 'object' || value === null) continue;
    if (++nodes > MAX_JSON_NODES) return { path, message: `the condition is too large (more than ${MAX_JSON_NODES} objects and arrays)` };
    if (path.length >= MAX_JSON_DEPTH) return { path, message: `the condition nests deeper than ${MAX_JSON_DEPTH} levels` };
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) stack.push([value[i], [...path, i]]);
    else for (const [key, child] of Object.entries(value)) stack.push([child, [...path, key]]);
  }
  return null;
}

/** A condition anywhere `rules.conditions` may use it. */
export const conditionSchema = nodeSchema('rules');
/** A condition over the customer alone: the `when` of a segment. */
export const segmentConditionSchema = nodeSchema('segment');

export const checkSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  when: conditionSchema,
  message: z.string().trim().min(1).max(500).optional(),
});

/** `rules.conditions`: every check must hold; names are unique, so a failure names one check. */
export const checksSchema = z
  .array(checkSchema)
  .max(MAX_CHECKS)
  .superRefine((checks, ctx) => {
    const seen = new Set<string>();
    checks.forEach((check, i) => {
      if (seen.has(check.name))
        ctx.addIssue({ code: 'custom', message: 'another check has this name', path: [i, 'name'], input: check.name });
      seen.add(check.name);
    });
  });

/** Every segment a condition names, with the JSON path (from the condition) of the name. */
export function referencedSegments(condition: Condition, path: (string | number)[] = []): { name: string; path: (string | number)[] }[] {
  const found: { name: string; path: (string | number)[] }[] = [];
  const visit = (node: Condition, at: (string | number)[]): void => {
    if ('all' in node || 'any' in node) {
      const [form, children] = 'all' in node ? ['all', node.all] : ['any', node.any];
      for (let i = 0; i < children.length; i++) visit(children[i] as Condition, [...at, form, i]);
    } else if ('not' in node) {
      visit(node.not, [...at, 'not']);
    } else if ('field' in node && node.field === 'customer.segment') {
      const value = node.value;
      if (!Array.isArray(value)) found.push({ name: String(value), path: [...at, 'value'] });
      else for (let i = 0; i < value.length; i++) found.push({ name: String(value[i]), path: [...at, 'value', i] });
    }
  };
  visit(condition, path);
  return found;
}

/**
 * Save-time check that every segment the checks name exists; 400 naming each unknown one. `field` is where the
 * checks sit in the request (`rules.conditions`). Unknown names are not an error at evaluation: not a member.
 */
export function assertKnownSegments(checks: readonly Check[], known: ReadonlySet<string>, field = 'rules.conditions'): void {
  const unknown = checks.flatMap((check, i) =>
    referencedSegments(check.when, [i, 'when'])
      .filter((ref) => !known.has(ref.name))
      .map((ref) => ({ field: [field, ...ref.path].join('.'), message: `no segment named ${JSON.stringify(ref.name)}` })),
  );
  if (unknown.length > 0) throw new ValidationError(unknown);
}
