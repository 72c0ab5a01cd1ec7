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

// The deadlines of the requests in flight, under one timer armed for the
// earliest: a timer set and cleared per request was a fifth of a query's
// own CPU time. While none is in flight, the timer (if still armed) does
// not keep a Node process alive.
const deadlines = new Map<() => void, number>();
// A number in browsers; in Node a Timeout, with ref() and unref().
let timer: any;
let timerAt = Infinity;

/** Calls `expire` at `at` (a `performance.now()` time) unless unwatched first. */
export function watch(expire: () => void, at: number): void {
  deadlines.set(expire, at);
  if (at < timerAt) {
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(sweep, at - performance.now());
  }
  timer.ref?.();
}

/** Forgets `expire`: its request has its answer. */
export function unwatch(expire: () => void): void {
  deadlines.delete(expire);
  if (!deadlines.size) timer?.unref?.();
}

/** Expires the deadlines passed; the timer is armed again for the next one. */
function sweep(): void {
  timerAt = Infinity;
  const now = performance.now();
  let next = Infinity;
  for (const [expire, at] of deadlines) {
    if (at > now) next = Math.min(next, at);
    else {
      deadlines.delete(expire);
      expire();
    }
  }
  if (next < Infinity) {
    timerAt = next;
    timer = setTimeout(sweep, next - now);
  }
}
