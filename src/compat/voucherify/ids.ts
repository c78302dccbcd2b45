import { isUuid } from '../../shared/uuid.ts';

/**
 * Voucherify-style prefixed ids, each a reversible encoding of the platform's own id, so an id is the same on
 * every call and in every process, and no mapping table can drift:
 *
 * | prefix | resource | platform id | encoding |
 * |---|---|---|---|
 * | `camp_` | campaign | UUID | its 32 hex digits |
 * | `v_` | voucher | bigint | its decimal digits |
 * | `r_` | redemption | UUID | its 32 hex digits |
 * | `r_0` | parent (stackable) redemption | the (first) child's UUID | `0` + its 32 hex digits |
 * | `r_f` | failed redemption | the failed-redemption row's UUID | `f` + its 32 hex digits |
 * | `ssn_` | validation session (key) | the reservation's UUID | its 32 hex digits |
 * | `rr_` | redemption rollback | the rolled-back redemption's UUID | its 32 hex digits |
 * | `pub_` | publication | UUID | its 32 hex digits |
 * | `cust_` | customer | the customer's id (Voucherify's `source_id`) | base64url of it |
 * | `aa_` | async action | a generation (`g`) or an import (`i`) UUID | kind letter + 32 hex digits |
 */

const hex = (uuid: string) => uuid.replaceAll('-', '').toLowerCase();

function uuidOf(digits: string): string | null {
  if (!/^[0-9a-f]{32}$/.test(digits)) return null;
  const uuid = `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)}`;
  return isUuid(uuid) ? uuid : null;
}

/** A prefixed id, or the platform's bare id (a UUID), to the platform's id; null when it is neither. */
function fromPrefixed(prefix: string, value: string): string | null {
  if (value.startsWith(prefix)) return uuidOf(value.slice(prefix.length).toLowerCase());
  return isUuid(value) ? value : null;
}

export const campaignId = {
  encode: (id: string) => `camp_${hex(id)}`,
  decode: (value: string) => fromPrefixed('camp_', value),
};

export const voucherId = {
  encode: (id: string | number) => `v_${id}`,
  decode: (value: string) => (/^v_\d{1,19}$/.test(value) ? value.slice(2) : null),
};

export const redemptionId = {
  encode: (id: string) => `r_${hex(id)}`,
  decode: (value: string) => (value.startsWith('r_0') && value.length === 35 ? null : fromPrefixed('r_', value)),
};

export const parentRedemptionId = {
  encode: (childId: string) => `r_0${hex(childId)}`,
  decode: (value: string) => (value.startsWith('r_0') && value.length === 35 ? uuidOf(value.slice(3)) : null),
};

export const failedRedemptionId = {
  encode: (id: string) => `r_f${hex(id)}`,
  decode: (value: string) => (value.startsWith('r_f') && value.length === 35 ? uuidOf(value.slice(3)) : null),
};

/** A session's key is its reservation: `ssn_` + the reservation's 32 hex digits. */
export const sessionKey = {
  encode: (reservationId: string) => `ssn_${hex(reservationId)}`,
  decode: (value: string) => (value.startsWith('ssn_') ? uuidOf(value.slice(4).toLowerCase()) : null),
};

export const rollbackId = {
  encode: (redemption: string) => `rr_${hex(redemption)}`,
  decode: (value: string) => fromPrefixed('rr_', value),
};

export const publicationId = {
  encode: (id: string) => `pub_${hex(id)}`,
  decode: (value: string) => fromPrefixed('pub_', value),
};

export const customerId = {
  encode: (id: string) => `cust_${Buffer.from(id, 'utf8').toString('base64url')}`,
  decode(value: string): string | null {
    if (!/^cust_[A-Za-z0-9_-]+$/.test(value)) return null;
    const id = Buffer.from(value.slice(5), 'base64url').toString('utf8');
    // Only an id this encoding made decodes back (base64url has one spelling per byte string here).
    return customerId.encode(id) === value ? id : null;
  },
};

export type AsyncActionKind = 'generation' | 'import';

export const asyncActionId = {
  encode: (kind: AsyncActionKind, id: string) => `aa_${kind === 'generation' ? 'g' : 'i'}${hex(id)}`,
  decode(value: string): { kind: AsyncActionKind; id: string } | null {
    const match = /^aa_([gi])([0-9a-f]{32})$/.exec(value);
    const id = match ? uuidOf(match[2] as string) : null;
    return match && id ? { kind: match[1] === 'g' ? 'generation' : 'import', id } : null;
  },
};
