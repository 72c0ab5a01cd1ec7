// Deadlines: every call that waits for an answer (a getToken call, a request
// to Fauna) under one timer, armed for the earliest. A timer set and cleared
// per request was a fifth of a query's own CPU time. While none is in flight,
// the timer (if still armed) does not keep a Node process alive.
const deadlines = new Map<() => void, number>();
// A number in browsers; in Node a Timeout, with ref() and unref().
let timer: any;
let timerAt = Infinity;

/**
 * `work`'s outcome, unless it is not settled `ms` from now: then the promise
 * rejects with what `expired()` returns. One promise settled by whichever
 * comes first (cheaper than racing two: this is every query's path).
 */
export function within<T>(ms: number, work: Promise<T>, expired: () => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const expire = () => reject(expired());
    const at = performance.now() + ms;
    deadlines.set(expire, at);
    if (at < timerAt) arm(at);
    timer.ref?.();
    // Answered: the deadline is forgotten.
    const settle =
      <V>(then: (v: V) => void) =>
      (v: V) => {
        deadlines.delete(expire);
        if (!deadlines.size) timer.unref?.();
        then(v);
      };
    work.then(settle(resolve), settle(reject));
  });
}

/** Arms the timer for `at` (a `performance.now()` time), the earliest deadline. */
function arm(at: number): void {
  clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(sweep, at - performance.now());
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
  if (next < Infinity) arm(next);
}
