import { z } from 'zod';
import { type CompiledCondition, compileCondition } from './condition-compiler.ts';
import { type Condition, SEGMENT_NAME, segmentConditionSchema } from './conditions.ts';
import { type Customer, evaluationContext, type SegmentMembership } from './context.ts';

/** A segment names a condition over the customer (customer.id, customer.metadata.<key>); conditions test it by name. */

export const segmentNameSchema = z
  .string()
  .regex(SEGMENT_NAME, '1 to 100 letters, digits, "_", "-" or ".", starting with a letter or digit');

export const segmentDefinitionSchema = z.strictObject({
  name: segmentNameSchema,
  when: segmentConditionSchema,
});

export interface SegmentDefinition {
  name: string;
  when: Condition;
}

const NOT_A_MEMBER: SegmentMembership = { isMember: () => false };

/** Compiled segment definitions; compile once per set of definitions, then ask `membership` once per request. */
export class SegmentCatalogue {
  readonly #tests = new Map<string, CompiledCondition>();

  constructor(definitions: readonly SegmentDefinition[]) {
    for (const definition of definitions) this.#tests.set(definition.name, compileCondition(definition.when));
  }

  get size(): number {
    return this.#tests.size;
  }

  /**
   * The customer's membership, evaluated the first time a segment is asked for and remembered; an unknown
   * segment name is not a member. Share one across the codes of a request: they see the same customer.
   */
  membership(customer: Customer | null): SegmentMembership {
    if (!customer || this.#tests.size === 0) return NOT_A_MEMBER;
    const tests = this.#tests;
    const known = new Map<string, boolean>();
    const ctx = evaluationContext({
      order: null,
      customer,
      redemptionMetadata: null,
      customerRedemptionsInCampaign: 0,
      now: new Date(0),
      timeZone: 'UTC',
      segments: null,
    });
    return {
      isMember(name) {
        let member = known.get(name);
        if (member === undefined) {
          const test = tests.get(name);
          member = test?.(ctx) ?? false;
          known.set(name, member);
        }
        return member;
      },
    };
  }
}
