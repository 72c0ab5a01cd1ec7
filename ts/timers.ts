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
    watch(expire, performance.now() + ms);
    work.then(
      (value) => {
        unwatch(expire);
        resolve(value);
      },
      (e) => {
        unwatch(expire);
        reject(e);
      },
    );
  });
}

/** Calls `expire` at `at` (a `performance.now()` time) unless unwatched first. */
function watch(expire: () => void, at: number): void {
  deadlines.set(expire, at);
  if (at < timerAt) {
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(sweep, at - performance.now());
  }
  timer.ref?.();
}

/** Forgets `expire`: its call has its answer. */
function unwatch(expire: () => void): void {
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
