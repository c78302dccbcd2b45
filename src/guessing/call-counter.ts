import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { BatchRefusal, tickBatcher } from '../shared/tick-batch.ts';

/**
 * Counts calls per key against a limiter with one `consume(key, n)` per key for the n calls that arrived in one
 * turn of the event loop. When that takes the key past its limit, exactly the calls that still fit are admitted
 * (in arrival order) and the rest are refused with the limiter's answer, as if each had been counted alone.
 */
export function batchedCallCounter(limiter: RateLimiterAbstract): (key: string) => Promise<void> {
  return tickBatcher<string, undefined>(async (keys) => {
    const positions = new Map<string, number[]>();
    keys.forEach((key, i) => {
      const list = positions.get(key);
      if (list) list.push(i);
      else positions.set(key, [i]);
    });
    const answers: (undefined | BatchRefusal)[] = keys.map(() => undefined);
    await Promise.all(
      [...positions].map(async ([key, calls]) => {
        try {
          await limiter.consume(key, calls.length);
        } catch (refusal) {
          // consumedPoints includes this batch: the calls counted before it fill the limit first. (A refusal
          // without a count, from a block the limiter keeps in memory, admits none; any other error refuses all.)
          const counted = refusal instanceof RateLimiterRes ? refusal.consumedPoints : 0;
          const fits = counted > 0 ? Math.max(0, limiter.points - (counted - calls.length)) : 0;
          calls.forEach((position, n) => {
            if (n >= fits) answers[position] = new BatchRefusal(refusal);
          });
        }
      }),
    );
    return answers;
  });
}
