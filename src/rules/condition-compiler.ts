import type { Condition, ItemsPredicate, Op, Predicate } from './conditions.ts';
import type { EvaluationContext } from './context.ts';
import { type FieldSpec, resolveField } from './fields.ts';
import { compileItemMatch } from './item-match.ts';

/**
 * Conditions compiled once into closures, so evaluation does no parsing, no lookups by name and no allocation.
 * Only conditions that passed `conditionSchema` compile; anything else is a programming error and throws.
 *
 * An absent value (no order, no customer, no such metadata key) satisfies no comparison: `eq`, `in`, `gt`…,
 * `contains` and `starts_with` are false on it, `ne` and `not_in` true (they are the negations of `eq` and `in`).
 */
export type CompiledCondition = (ctx: EvaluationContext) => boolean;

export function compileCondition(condition: Condition): CompiledCondition {
  if ('all' in condition) {
    const parts = condition.all.map(compileCondition);
    return (ctx) => {
      for (const part of parts) if (!part(ctx)) return false;
      return true;
    };
  }
  if ('any' in condition) {
    const parts = condition.any.map(compileCondition);
    return (ctx) => {
      for (const part of parts) if (part(ctx)) return true;
      return false;
    };
  }
  if ('not' in condition) {
    const inner = compileCondition(condition.not);
    return (ctx) => !inner(ctx);
  }
  if ('items' in condition) return compileItems(condition.items);
  return compilePredicate(condition);
}

function compilePredicate(p: Predicate): CompiledCondition {
  const spec = resolveField(p.field);
  if (!spec) throw new Error(`unknown field ${p.field}: conditions must pass conditionSchema before they compile`);
  if (spec.type === 'segment') return compileSegmentTest(p.op, p.value);
  const read = spec.read;
  const test = compileTest(spec, p.op, p.value);
  return (ctx) => test(read(ctx));
}

/** Operands in the form values are read in: times as minutes, currencies upper-cased. */
function operand(spec: FieldSpec, value: unknown): unknown {
  if (spec.type === 'time') {
    const [hours, minutes] = String(value).split(':');
    return Number(hours) * 60 + Number(minutes);
  }
  if (spec.type === 'currency') return String(value).toUpperCase();
  return value;
}

function compileTest(spec: FieldSpec, op: Op, raw: unknown): (value: unknown) => boolean {
  switch (op) {
    case 'eq': {
      const wanted = operand(spec, raw);
      return (v) => v === wanted;
    }
    case 'ne': {
      const wanted = operand(spec, raw);
      return (v) => v !== wanted;
    }
    case 'in': {
      const set = new Set((raw as unknown[]).map((element) => operand(spec, element)));
      return (v) => v !== undefined && set.has(v);
    }
    case 'not_in': {
      const set = new Set((raw as unknown[]).map((element) => operand(spec, element)));
      return (v) => v === undefined || !set.has(v);
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = operand(spec, raw) as number | string;
      const kind = typeof bound;
      if (op === 'gt') return (v) => typeof v === kind && (v as number | string) > bound;
      if (op === 'gte') return (v) => typeof v === kind && (v as number | string) >= bound;
      if (op === 'lt') return (v) => typeof v === kind && (v as number | string) < bound;
      return (v) => typeof v === kind && (v as number | string) <= bound;
    }
    case 'exists': {
      const wanted = raw === undefined ? true : raw === true;
      return (v) => (v !== undefined) === wanted;
    }
    case 'contains':
      return (v) => (typeof v === 'string' ? typeof raw === 'string' && v.includes(raw) : Array.isArray(v) && v.includes(raw));
    case 'starts_with': {
      const prefix = raw as string;
      return (v) => typeof v === 'string' && v.startsWith(prefix);
    }
  }
}

function compileSegmentTest(op: Op, raw: unknown): CompiledCondition {
  const names = Array.isArray(raw) ? (raw as string[]) : [raw as string];
  const memberOfAny = (ctx: EvaluationContext) => {
    const segments = ctx.segments;
    if (!segments || !ctx.customer) return false;
    for (const name of names) if (segments.isMember(name)) return true;
    return false;
  };
  if (op === 'eq' || op === 'in') return memberOfAny;
  if (op === 'ne' || op === 'not_in') return (ctx) => !memberOfAny(ctx);
  throw new Error(`${op} does not apply to customer.segment: conditions must pass conditionSchema before they compile`);
}

/**
 * Over the lines that match: at least min_quantity units, at least min_amount (of the lines' undiscounted
 * amounts), at most max_quantity units. With no bound given, at least one matching unit.
 */
function compileItems(items: ItemsPredicate['items']): CompiledCondition {
  const matches = compileItemMatch(items.match);
  const minQuantity = items.min_quantity ?? (items.min_amount === undefined && items.max_quantity === undefined ? 1 : 0);
  const minAmount = items.min_amount ?? 0;
  const maxQuantity = items.max_quantity ?? Number.POSITIVE_INFINITY;
  return (ctx) => {
    const lines = ctx.order?.items;
    let quantity = 0;
    let amount = 0;
    if (lines) {
      for (const line of lines) {
        if (!matches(line)) continue;
        quantity += line.quantity;
        amount += line.amount;
      }
    }
    return quantity >= minQuantity && amount >= minAmount && quantity <= maxQuantity;
  };
}
