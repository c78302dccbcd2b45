/**
 * Whether `work` settles within `ms`: true when it did (its rejection passes through), false when the time ran out
 * first. Shutdown uses it so that one stuck close (a job that never returns, a connection that never answers) cannot
 * keep a process from stopping; the caller logs what was left and moves on.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
