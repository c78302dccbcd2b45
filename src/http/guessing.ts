import type { Request, Response } from 'express';
import { guessingDefenceFor, RateLimitedError, type Shopper, shopperIp } from '../guessing/defence.ts';
import type { Platform } from '../platform.ts';
import { guessTallyFor } from '../stats/guesses.ts';

export interface GuessingOptions {
  /**
   * The lookup changes nothing (validation), so it may run while admission is checked; its result is only
   * shown once the shopper is admitted. A lookup that changes state (redemption) runs after admission.
   */
  readOnly?: boolean;
}

/**
 * Runs one code lookup under the guessing defence: admits it (429 with Retry-After past a limit), runs it, and
 * counts each guess it made, answering 429 instead if that guess went past the shopper's limit. A lookup
 * that throws is not counted as a guess.
 */
export async function withGuessingDefence<T>(
  platform: Platform,
  req: Request,
  res: Response,
  customerId: string | undefined,
  lookup: () => Promise<T>,
  classify: (result: T) => { guess: boolean; campaignId?: string | null } | { guesses: readonly (string | null)[] },
  options: GuessingOptions = {},
): Promise<T> {
  const defence = guessingDefenceFor(platform);
  const shopper: Shopper = { ip: shopperIp(req.headers[platform.config.GUESS_IP_HEADER]), customerId };
  if (options.readOnly && req.apiKey) defence.noteValidation(req.apiKey, shopper);
  try {
    const admission = defence.admit(req.apiKey?.id ?? 'anonymous', shopper);
    let result: T;
    if (options.readOnly) {
      [, result] = await Promise.all([admission, lookup()]);
    } else {
      await admission;
      result = await lookup();
    }
    const outcome = classify(result);
    // Each unknown code of a request is one guess (several codes in one request are no cheaper to guess with).
    const guesses = 'guesses' in outcome ? outcome.guesses : outcome.guess ? [outcome.campaignId ?? null] : [];
    for (const campaignId of guesses) {
      guessTallyFor(platform).count(campaignId, platform.clock.now());
      await defence.recordGuess(shopper, campaignId);
    }
    return result;
  } catch (error) {
    if (error instanceof RateLimitedError) res.set('Retry-After', String(error.retryAfterSeconds));
    throw error;
  }
}

/** What an operation run under the guessing defence can answer besides its own responses. */
export const GUESSING_ERRORS = { 429: ['too_many_guesses', 'rate_limited'] } as const;
