// The error class of clerk-fauna. Defined in JS so that it truly extends
// Error (stack traces, `instanceof`, `cause`).
export class ClerkFaunaError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'ClerkFaunaError';
    this.code = code;
  }
}

/**
 * Builds the error Rust describes, in one call. Only fields with a value are
 * set, so `'hint' in error` says whether there is one. `body` is Fauna's
 * parsed answer: its `abort`, `constraint_failures`, `summary` and (GraphQL)
 * `errors` are kept.
 */
export function makeError(code, message, httpStatus, faunaCode, hint, retryAfterMs, cause, body) {
  const error = new ClerkFaunaError(code, message);
  const fauna = body?.error;
  const fields = {
    httpStatus,
    faunaCode,
    hint,
    retryAfterMs,
    cause,
    abort: fauna?.abort,
    constraintFailures: fauna?.constraint_failures,
    summary: body?.summary,
    errors: code === 'graphql_error' ? body?.errors : undefined,
  };
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) error[name] = value;
  return error;
}
