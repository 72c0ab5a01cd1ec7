/** What `within` rejects with when time is up. */
export const TIMED_OUT = Symbol();

/** The first of `racing` to settle, or a rejection with `TIMED_OUT` after `ms`; the timer never outlives the race. */
export async function within<T>(ms: number, ...racing: Promise<T>[]): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([...racing, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
