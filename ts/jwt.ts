// JWTs as the core decodes them, parsed into objects.

import { core } from './core.js';
import { ClerkFaunaError, fail } from './errors.js';

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

// A `__proto__` member is dropped: JSON.parse keeps it as an own property,
// and `Object.assign({}, claims)` would make it the copy's prototype.
const noProto = (key: string, value: unknown) => (key === '__proto__' ? undefined : value);

/** JSON text the core has checked (a JWT segment or claims), parsed; never with a `__proto__` member. */
export const parsed = (json: string) => JSON.parse(json, noProto);

/** `token`'s header and payload; throws the core's `malformed_token`. */
export function decoded(token: string, asFauna: boolean): DecodedJwt {
  const [header, payload] = (core.jwtDecode(token, asFauna) ?? fail(core)).split('\0');
  return { header: parsed(header!), payload: parsed(payload!) };
}

/**
 * Decodes a JWT's header and payload without verifying its signature (Fauna
 * verifies it). Throws `ClerkFaunaError` with code `malformed_token`.
 */
export function decodeJwt(token: string): DecodedJwt {
  if (typeof token !== 'string') throw new ClerkFaunaError('malformed_token', 'decodeJwt needs the token as a string.');
  return decoded(token, false);
}
