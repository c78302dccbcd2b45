import { z } from 'zod';

/**
 * Who a customer is for per-customer limits. A campaign's `customer_identity` says what a limit counts: `id` (the
 * customer id, the default), `email` (the normalized e-mail), or `id_or_email` (both: a limit holds once either
 * count reaches it), so a second account or a guest checkout with the same e-mail does not get the code again.
 */

export const CUSTOMER_IDENTITIES = ['id', 'email', 'id_or_email'] as const;
export const customerIdentitySchema = z
  .enum(CUSTOMER_IDENTITIES)
  .describe('What per-customer limits count: the customer id, the normalized e-mail, or both (the first to reach the limit)');
export type CustomerIdentity = (typeof CUSTOMER_IDENTITIES)[number];

/** The domains whose mailboxes ignore `+tag` and dots in the local part (EMAIL_TAG_DOMAINS overrides). */
export const DEFAULT_EMAIL_TAG_DOMAINS: readonly string[] = ['gmail.com', 'googlemail.com'];

/**
 * An e-mail as limits compare it: trimmed and lower-cased; for the listed domains, `+tag` stripped and dots in the
 * local part ignored (ann.b+x@gmail.com is annb@gmail.com). Null without an e-mail.
 */
export function emailKey(email: string | null | undefined, tagDomains: readonly string[] = DEFAULT_EMAIL_TAG_DOMAINS): string | null {
  if (!email) return null;
  const normalized = email.trim().toLowerCase();
  const at = normalized.lastIndexOf('@');
  if (at <= 0) return normalized || null;
  let local = normalized.slice(0, at);
  const domain = normalized.slice(at + 1);
  if (tagDomains.includes(domain)) {
    const plus = local.indexOf('+');
    if (plus >= 0) local = local.slice(0, plus);
    local = local.replaceAll('.', '');
  }
  return `${local}@${domain}`;
}
