import { z } from 'zod';
import { idSchema, timestampSchema } from '../shared/fields.ts';
import { ROLES } from './roles.ts';

/** A browser origin as the Origin header carries it: scheme, host and port, nothing else. */
const originSchema = z
  .string()
  .max(300)
  .refine((o) => URL.canParse(o) && new URL(o).origin === o, 'an origin such as https://shop.example (scheme, host, port; no path)');

export const createApiKeySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).describe('What the key is for (shown in listings and logs)'),
    role: z
      .enum(ROLES)
      .default('standard')
      .describe(
        'admin: everything (keys, jobs, Bull Board); standard: everything else; viewer: reads everything, changes nothing (console); client: only the Voucherify-compatible client API (validate, redeem, publish, events) from `allowed_origins`',
      ),
    allowed_origins: z
      .array(originSchema)
      .min(1)
      .max(100)
      .optional()
      .describe('client keys only (and required for them): the browser origins allowed to call with the key'),
  })
  .refine((k) => (k.role === 'client') === (k.allowed_origins !== undefined), {
    message: 'required for role client, and only for it',
    path: ['allowed_origins'],
  });

export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;

export const apiKeyViewSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    role: z.enum(ROLES),
    allowed_origins: z.array(z.string()).nullable().describe("A client key's allowed browser origins; null for other roles"),
    key_prefix: z.string().describe('First characters of the key, to recognise it'),
    created_at: timestampSchema,
    last_used_at: timestampSchema.nullable(),
    revoked_at: timestampSchema.nullable(),
  })
  .meta({
    id: 'ApiKey',
    examples: [
      {
        id: '5d0b8c1e-2f3a-4b5c-9d6e-7f8a9b0c1d2e',
        name: 'checkout',
        role: 'standard',
        allowed_origins: null,
        key_prefix: 'pk_Qz8Ya',
        created_at: '2026-03-01T09:30:00.000Z',
        last_used_at: null,
        revoked_at: null,
      },
    ],
  });

/** The creation response: the only time the key's value is shown (only its hash is stored). */
export const createdApiKeyViewSchema = apiKeyViewSchema.extend({ key: z.string().describe('The key; shown only now') });
