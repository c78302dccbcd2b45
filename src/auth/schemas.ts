import { z } from 'zod';

export const createApiKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(200).describe('What the key is for (shown in listings and logs)'),
  role: z.enum(['admin', 'standard']).default('standard').describe('admin can manage keys, jobs and see Bull Board'),
});

export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;
