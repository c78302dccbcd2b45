import type { Request, Response } from 'express';
import { type GuessTicket, guessingDefenceFor, RateLimitedError, shopperIp } from '../guessing/defence.ts';
import type { Platform } from '../platform.ts';

/**
 * Runs one code lookup under the guessing defence: admits it (429 with Retry-After past a limit), runs it,
 * and settles the reserved guess by what the lookup found. A lookup that throws is not counted as a guess.
 */
export async function withGuessingDefence<T>(
  platform: Platform,
  req: Request,
  res: Response,
  customerId: string | undefined,
  lookup: () => Promise<T>,
  classify: (result: T) => { guess: boolean; campaignId?: string | null },
): Promise<T> {
  const defence = guessingDefenceFor(platform);
  let ticket: GuessTicket;
  try {
    ticket = await defence.admit(req.apiKey?.id ?? 'anonymous', {
      ip: shopperIp(req.headers[platform.config.GUESS_IP_HEADER]),
      customerId,
    });
  } catch (error) {
    if (error instanceof RateLimitedError) res.set('Retry-After', String(error.retryAfterSeconds));
    throw error;
  }
  let outcome: { guess: boolean; campaignId?: string | null } = { guess: false };
  try {
    const result = await lookup();
    outcome = classify(result);
    return result;
  } finally {
    // Not awaited: the answer does not wait for a refund; the reserved point simply lives a moment longer.
    void defence.settle(ticket, outcome);
  }
}
