/** What `within` rejects with when time is up. */
export const TIMED_OUT = Symbol();

/**
 * The first of `racing` to settle, or a rejection with `TIMED_OUT` after
 * `ms`; the timer is cleared once the race is over. Not an async function:
 * its caller awaits the race itself, one turn sooner.
 */
export function within<T>(ms: number, ...racing: Promise<T>[]): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const race = Promise.race([...racing, new Promise<never>((_, reject) => (timer = setTimeout(reject, ms, TIMED_OUT)))]);
  const stop = () => clearTimeout(timer);
  race.then(stop, stop);
  return race;
}
