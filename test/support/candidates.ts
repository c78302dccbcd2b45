import type { Candidate } from '../../src/redemptions/lookup.ts';

/** A code as the redemption lookup reads it: active, of an active campaign, no dates, no rules, no holder; then `overrides`. */
export function activeCandidate(overrides: Partial<Candidate> = {}): Candidate {
  return {
    id: '1',
    code: 'X',
    campaign_id: 'c',
    generation_id: null,
    status: 'active',
    active: true,
    redemption_count: 0,
    start_date: null,
    expiration_date: null,
    rules: null,
    metadata: null,
    holder_customer_id: null,
    created_at: '2026-01-01 00:00:00+00',
    updated_at: null,
    campaign_active: true,
    campaign_status: 'active',
    campaign_start_date: null,
    campaign_expiration_date: null,
    timezone: 'UTC',
    campaign_rules: {},
    ...overrides,
  };
}
