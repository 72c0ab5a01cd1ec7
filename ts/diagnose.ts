// Setup diagnosis: what in a token (and the client's configuration) would
// make Fauna refuse it, each with a stable code and a one-line fix. Fauna
// answers every such mistake with the same bare 401; these findings say
// which one it is. The core decodes the token (as Fauna reads it); this
// judges its claims: mostly text, which is smaller here than in the .wasm.

import { diagnoseOptions, readOptions, type DiagnoseOptions, defaults } from './options.js';
import { decoded } from './jwt.js';

/** Every code a diagnosis finding can carry. */
export type FindingCode =
  | 'aud_missing'
  | 'aud_not_fauna'
  | 'aud_several_fauna'
  | 'aud_other_database'
  | 'iss_missing'
  | 'iss_trailing_slash'
  | 'iss_mismatch'
  | 'alg_unsupported'
  | 'exp_ignored'
  | 'nbf_ignored'
  | 'expired'
  | 'not_yet_valid'
  | 'lifetime_too_short'
  | 'sub_missing'
  | 'endpoint_hosted_closed'
  | 'endpoint_has_path'
  | 'malformed_token';

/** One thing that would make Fauna refuse the token, and how to fix it. */
export interface Finding {
  code: FindingCode;
  message: string;
  /** A one-line fix. */
  fix: string;
}

type Claims = Record<string, any>;

const FAUNA_AUD = 'https://db.fauna.com/db/';
/** Every `aud` finding's fix. */
const SET_AUD = 'Set "aud": "https://db.fauna.com/db/<database id>" in the `fauna` JWT template in Clerk.';
/** Both `iss_trailing_slash` findings' fix. */
const SAME_SLASH = "Fauna compares issuers exactly: the access provider's issuer must equal the token's `iss`, down to the trailing slash.";
/** Both endpoint findings' fix. */
const SET_ENDPOINT = "Set the FaunaClient's endpoint to your Fauna server's base URL, e.g. https://fauna.example.com.";
const PASS_TOKEN = 'Pass the string that getToken({ template }) resolves to.';

/**
 * Diagnoses a token against Fauna's rules for third-party JWTs: a list of
 * findings (`aud` missing or wrong, issuer with a trailing slash or
 * different, unsupported `alg`, expired, not yet valid, a lifetime shorter
 * than `minValiditySeconds`, no `sub`, a closed or malformed endpoint), each
 * with a stable `code`, a `message` and a one-line `fix`. Empty: nothing
 * found. Never throws for a bad token: that is a `malformed_token` finding;
 * throws `invalid_option` for bad options.
 */
export function diagnose(token: string, options?: DiagnoseOptions): Finding[] {
  // As read: no prototype, so nothing inherited (a polluted `issuer`) counts.
  const expect = readOptions(options, 'diagnose options', diagnoseOptions);
  let jwt;
  try {
    if (typeof token !== 'string') throw new Error('The token is not a string.');
    // As Fauna reads it: a time claim it ignores is a finding, not a malformed token.
    jwt = decoded(token, true);
  } catch (e) {
    return [{ code: 'malformed_token', message: (e as Error).message, fix: PASS_TOKEN }];
  }
  return findings(jwt.header, jwt.payload, expect, Date.now(), (expect.minValiditySeconds ?? defaults.minValiditySeconds) * 1000);
}

/**
 * Everything wrong with a decoded token for Fauna, judged at `nowMs` on the
 * local clock: `[{ code, message, fix }]`. `expect` holds what the caller
 * knows (`issuer`, `databaseId`, `endpoint`); `minValidityMs` is the cache's
 * `minValiditySeconds`.
 */
export function findings(
  header: Claims,
  payload: Claims,
  expect: DiagnoseOptions,
  nowMs: number,
  minValidityMs: number,
): Finding[] {
  const found: Finding[] = [];
  const add = (code: FindingCode, message: string, fix: string) => found.push({ code, message, fix });
  // Own members only: a claim the token lacks is not borrowed from a polluted Object.prototype.
  header = ownClaims(header);
  payload = ownClaims(payload);
  const { iss, sub, exp, iat, nbf } = payload;

  const aud = audiences(payload);
  const ids = aud.filter((a) => a.startsWith(FAUNA_AUD)).map((a) => a.slice(FAUNA_AUD.length));
  if (aud.length === 0) {
    add('aud_missing', 'The token has no `aud` claim.', SET_AUD);
  } else if (ids.length === 0) {
    add('aud_not_fauna', `The token's \`aud\` (${aud.join(', ')}) names no Fauna database.`, SET_AUD);
  } else if (ids.length > 1) {
    add('aud_several_fauna', "The token's `aud` names several Fauna databases; Fauna needs exactly one.", SET_AUD);
  } else {
    if (expect.databaseId !== undefined && ids[0] !== expect.databaseId) {
      add('aud_other_database', `The token's \`aud\` names database ${ids[0]}, not ${expect.databaseId}.`, SET_AUD);
    }
    if (ids[0] === '') add('aud_not_fauna', "The token's Fauna `aud` has no database id.", SET_AUD);
  }

  if (iss === undefined) {
    add(
      'iss_missing',
      'The token has no `iss`: Fauna cannot match it to an access provider.',
      "Keep Clerk's default `iss` claim in the JWT template.",
    );
  } else if (expect.issuer !== undefined && expect.issuer !== iss) {
    // Fauna compares issuers exactly, so a slash is a mismatch of its own.
    const slashOnly = trimSlashes(expect.issuer) === trimSlashes(iss);
    add(
      slashOnly ? 'iss_trailing_slash' : 'iss_mismatch',
      `The token's \`iss\` is ${iss} but the access provider expects ${expect.issuer}.`,
      slashOnly ? SAME_SLASH : "Set the access provider's issuer to your Clerk Frontend API URL, exactly as the token's `iss`.",
    );
  } else if (iss.endsWith('/')) {
    add('iss_trailing_slash', `The token's \`iss\` (${iss}) ends with a slash.`, SAME_SLASH);
  }

  if (!['RS256', 'RS384', 'RS512'].includes(header.alg)) {
    add(
      'alg_unsupported',
      `The token is signed with ${header.alg ?? 'no algorithm'}; Fauna accepts only RS256, RS384 and RS512.`,
      'Use a Clerk JWT template: Clerk signs them with RS256.',
    );
  }

  const now = nowMs / 1000;
  // Fauna reads `exp` and `nbf` only when they are integers (the server's
  // `asOpt[Long]`); any other value (a fraction, a string, null) is ignored as
  // if absent. A JSON `60.0` parses to the integer 60 here but is a double to
  // the server: that one case is beyond what a parsed payload can tell.
  const expRead = Number.isInteger(exp);
  const nbfRead = Number.isInteger(nbf);
  if (exp !== undefined && !expRead) {
    add(
      'exp_ignored',
      `The token's \`exp\` (${JSON.stringify(exp)}) is not a whole number of seconds: Fauna ignores it, so it would accept this token for ever.`,
      "Keep Clerk's default `exp` claim: do not set `exp` in the JWT template.",
    );
  }
  if (nbf !== undefined && !nbfRead) {
    add(
      'nbf_ignored',
      `The token's \`nbf\` (${JSON.stringify(nbf)}) is not a whole number of seconds: Fauna ignores it.`,
      "Keep Clerk's default `nbf` claim: do not set `nbf` in the JWT template.",
    );
  }
  if (expRead && now >= exp) {
    add(
      'expired',
      `The token expired ${Math.round(now - exp)} s ago by this device's clock.`,
      "Get a new token (the cache does this); if it keeps happening, check this device's clock.",
    );
  }
  if (nbfRead && now <= nbf) {
    add(
      'not_yet_valid',
      `The token is not valid for another ${Math.round(nbf - now)} s by this device's clock.`,
      "Keep the template's allowed clock skew (Clerk's default is 5 s), and check this device's clock.",
    );
  }
  if (expRead && Number.isFinite(iat) && (exp - iat) * 1000 < minValidityMs) {
    add(
      'lifetime_too_short',
      `The token lives ${Math.round(exp - iat)} s, less than the cache's minValiditySeconds.`,
      "Lengthen the template's token lifetime, or lower minValiditySeconds.",
    );
  }

  if (sub === undefined) {
    add(
      'sub_missing',
      "The token has no `sub`: Fauna's identity for it would be missing.",
      "Keep Clerk's default `sub` claim (the user id) in the JWT template.",
    );
  }

  if (expect.endpoint !== undefined) {
    const base = trimSlashes(expect.endpoint);
    if (base === 'https://db.fauna.com') {
      add(
        'endpoint_hosted_closed',
        'The client sends to https://db.fauna.com: the hosted Fauna service closed on 2025-05-30.',
        SET_ENDPOINT,
      );
    }
    if (base.endsWith('/query/1')) {
      add('endpoint_has_path', 'The endpoint ends with /query/1; the client adds the path itself.', SET_ENDPOINT);
    }
  }
  return found;
}

/**
 * The `hint` of an `unauthorized` error: what `findings` sees in the rejected
 * token (`payload` undefined: it could not be decoded), else the usual
 * causes; then what the token claims. Never the token itself.
 */
export function unauthorizedHint(
  header: Claims | undefined,
  payload: Claims | undefined,
  endpoint: string | undefined,
  minValidityMs: number,
  nowMs = Date.now(),
): string {
  const found = payload ? findings(header!, payload, { endpoint }, nowMs, minValidityMs) : [];
  let hint = 'Fauna rejected the token, and a freshly fetched one too.';
  for (const f of found) hint += ` ${f.message} Fix: ${f.fix}`;
  if (found.length === 0) {
    // Nothing wrong with the token: the cause is on Fauna's side, and no new token will help.
    hint +=
      " The token looks right, so check the access provider: its issuer must equal the token's `iss` exactly (no trailing slash)," +
      " its JWKS URI must be the issuer's /.well-known/jwks.json and reachable from the Fauna server" +
      ' (a first JWKS download that failed stays failed for up to an hour: fix the URI, then recreate the access provider),' +
      " the token's `aud` must be https://db.fauna.com/db/<database id>, and a role's predicate must match the token.";
  }
  if (payload) {
    payload = ownClaims(payload);
    const aud = audiences(payload);
    hint += ` The token has iss ${payload.iss ?? '(none)'}, aud ${aud.length ? aud.join(', ') : '(none)'}`;
    hint +=
      payload.exp === undefined
        ? ', and no exp.'
        : Number.isInteger(payload.exp)
          ? `, and exp ${Math.round((payload.exp * 1000 - nowMs) / 1000)} s from now by this device's clock.`
          : ', and an exp Fauna ignores.';
  }
  return hint;
}

/** `claims`' own members, in an object with no prototype. */
const ownClaims = (claims: Claims): Claims => Object.assign(Object.create(null), claims);

/** `aud` as a list, whether the token carried a string or an array. */
const audiences = (payload: Claims): string[] => (payload.aud === undefined ? [] : [].concat(payload.aud));

const trimSlashes = (s: string) => s.replace(/\/+$/, '');
