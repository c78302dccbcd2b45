import { z } from 'zod';
import { segmentConditionSchema } from '../rules/conditions.ts';
import { segmentDefinitionSchema } from '../rules/segments.ts';
import { timestampSchema } from '../shared/fields.ts';

/** POST /v1/segments: a name and a condition over the customer (customer.id, customer.metadata.<key>). */
export const createSegmentSchema = segmentDefinitionSchema.meta({
  id: 'SegmentRequest',
  examples: [{ name: 'members', when: { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] } }],
});

/** PUT /v1/segments/{name}: the segment's condition, created or replaced. */
export const putSegmentSchema = z.strictObject({ when: segmentConditionSchema });

export type CreateSegmentInput = z.output<typeof createSegmentSchema>;

export const segmentViewSchema = z
  .object({
    name: z.string(),
    when: z.record(z.string(), z.unknown()).describe('The condition over the customer (rules.md)'),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  })
  .meta({
    id: 'Segment',
    examples: [
      {
        name: 'members',
        when: { field: 'customer.metadata.tier', op: 'in', value: ['gold', 'platinum'] },
        created_at: '2026-03-01T09:30:00.000Z',
        updated_at: '2026-03-01T09:30:00.000Z',
      },
    ],
  });

export type SegmentView = z.output<typeof segmentViewSchema>;
