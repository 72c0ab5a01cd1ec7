// Turns whatever a failed call threw into what the page shows. clerk-fauna
// rejects with ClerkFaunaError; switch on `code`, show `message` and `hint`.

import { ClerkFaunaError } from 'clerk-fauna/web';

export interface ShownError {
  code: string;
  message: string;
  hint?: string;
  /** Fauna's own code (`invalid_query`, ...) and the HTTP status, when known. */
  detail?: string;
}

export function toShownError(e: unknown): ShownError {
  if (e instanceof ClerkFaunaError) {
    const detail = [e.faunaCode && `Fauna code ${e.faunaCode}`, e.httpStatus && `HTTP ${e.httpStatus}`]
      .filter(Boolean)
      .join(', ');
    return { code: e.code, message: e.message, hint: e.hint, detail: detail || undefined };
  }
  return { code: 'unexpected', message: e instanceof Error ? e.message : String(e) };
}
