//! Setup diagnosis: what in a token (and the client's configuration) would
//! make Fauna refuse it, each with a one-line fix. Fauna answers every such
//! mistake with the same bare 401; these findings say which one it is.

use super::jwt::Claims;
use super::text;

const FAUNA_AUD_PREFIX: &str = "https://db.fauna.com/db/";
const HOSTED_ENDPOINT: &str = "https://db.fauna.com";

/// What the caller expects, when known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expectations {
    /// The access provider's issuer, exactly as configured in Fauna.
    pub issuer: Option<String>,
    /// The database's global id (the `<id>` of `https://db.fauna.com/db/<id>`).
    pub database_id: Option<String>,
    /// The Fauna endpoint the client sends to.
    pub endpoint: Option<String>,
}

/// One thing that is wrong, with a stable `code` and how to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub code: &'static str,
    pub message: String,
    pub fix: String,
}

fn finding(code: &'static str, message: String, fix: &str) -> Finding {
    Finding {
        code,
        message,
        fix: fix.into(),
    }
}

/// Everything wrong with `claims` for Fauna, judged at `now_ms` on the local
/// clock; `min_validity_ms` is the cache's `minValiditySeconds`.
pub fn diagnose(
    claims: &Claims,
    expect: &Expectations,
    now_ms: f64,
    min_validity_ms: f64,
) -> Vec<Finding> {
    let mut found = Vec::new();
    audience(claims, expect, &mut found);
    issuer(claims, expect, &mut found);
    match claims.alg.as_deref() {
        Some("RS256" | "RS384" | "RS512") => {}
        alg => found.push(finding(
            "alg_unsupported",
            [
                "The token is signed with ",
                alg.unwrap_or("no algorithm"),
                "; Fauna accepts only RS256, RS384 and RS512.",
            ]
            .concat(),
            "Use a Clerk JWT template: Clerk signs them with RS256.",
        )),
    }
    times(claims, now_ms, min_validity_ms, &mut found);
    if claims.sub.is_none() {
        found.push(finding(
            "sub_missing",
            "The token has no `sub`: Fauna's identity for it would be missing.".into(),
            "Keep Clerk's default `sub` claim (the user id) in the JWT template.",
        ));
    }
    if let Some(endpoint) = &expect.endpoint {
        endpoint_findings(endpoint, &mut found);
    }
    found
}

fn audience(claims: &Claims, expect: &Expectations, found: &mut Vec<Finding>) {
    let add_aud = "Add \"aud\": \"https://db.fauna.com/db/<database id>\" to the `fauna` JWT template in Clerk.";
    if claims.aud.is_empty() {
        found.push(finding(
            "aud_missing",
            "The token has no `aud` claim.".into(),
            add_aud,
        ));
        return;
    }
    let fauna: Vec<&str> = claims
        .aud
        .iter()
        .filter_map(|a| a.strip_prefix(FAUNA_AUD_PREFIX))
        .collect();
    match fauna.as_slice() {
        [] => found.push(finding(
            "aud_not_fauna",
            [
                "The token's `aud` (",
                &claims.aud.join(", "),
                ") names no Fauna database.",
            ]
            .concat(),
            add_aud,
        )),
        [id] => {
            if let Some(expected) = &expect.database_id {
                if id != expected {
                    found.push(finding(
                        "aud_other_database",
                        [
                            "The token's `aud` names database ",
                            id,
                            ", not ",
                            expected,
                            ".",
                        ]
                        .concat(),
                        "Set the template's `aud` to https://db.fauna.com/db/<this database's id>.",
                    ));
                }
            }
            if id.is_empty() {
                found.push(finding(
                    "aud_not_fauna",
                    "The token's Fauna `aud` has no database id.".into(),
                    add_aud,
                ));
            }
        }
        _ => found.push(finding(
            "aud_several_fauna",
            "The token's `aud` names several Fauna databases; Fauna needs exactly one.".into(),
            "Keep one https://db.fauna.com/db/<id> value in the template's `aud`.",
        )),
    }
}

fn issuer(claims: &Claims, expect: &Expectations, found: &mut Vec<Finding>) {
    let Some(iss) = claims.iss.as_deref() else {
        found.push(finding(
            "iss_missing",
            "The token has no `iss`: Fauna cannot match it to an access provider.".into(),
            "Keep Clerk's default `iss` claim in the JWT template.",
        ));
        return;
    };
    match expect.issuer.as_deref() {
        Some(expected) if expected != iss => {
            let slash_only = expected.trim_end_matches('/') == iss.trim_end_matches('/');
            let message = ["The token's `iss` is ", iss, " but the access provider expects ", expected, "."].concat();
            let fix = if slash_only {
                "Fauna compares issuers exactly: make the access provider's issuer equal the token's `iss`, trailing slash included or not."
            } else {
                "Set the access provider's issuer to your Clerk Frontend API URL, exactly as the token's `iss`."
            };
            found.push(finding(
                if slash_only { "iss_trailing_slash" } else { "iss_mismatch" },
                message,
                fix,
            ));
        }
        _ if iss.ends_with('/') => found.push(finding(
            "iss_trailing_slash",
            ["The token's `iss` (", iss, ") ends with a slash."].concat(),
            "Fauna compares issuers exactly: the access provider's issuer must end with the same slash.",
        )),
        _ => {}
    }
}

fn times(claims: &Claims, now_ms: f64, min_validity_ms: f64, found: &mut Vec<Finding>) {
    let now = now_ms / 1000.0;
    if let Some(exp) = claims.exp {
        if now >= exp {
            found.push(finding(
                "expired",
                ["The token expired ", &text::int((now - exp).round() as i64), " s ago by this device's clock."].concat(),
                "Get a new token (the cache does this); if it keeps happening, check this device's clock.",
            ));
        }
    }
    if let Some(nbf) = claims.nbf {
        if now <= nbf {
            found.push(finding(
                "not_yet_valid",
                ["The token is not valid for another ", &text::int((nbf - now).round() as i64), " s by this device's clock."].concat(),
                "Keep the template's allowed clock skew (Clerk's default is 5 s), and check this device's clock.",
            ));
        }
    }
    if let (Some(exp), Some(iat)) = (claims.exp, claims.iat) {
        let lifetime_ms = (exp - iat) * 1000.0;
        if lifetime_ms < min_validity_ms {
            found.push(finding(
                "lifetime_too_short",
                [
                    "The token lives ",
                    &text::int((exp - iat).round() as i64),
                    " s, less than the cache's minValiditySeconds.",
                ]
                .concat(),
                "Lengthen the template's token lifetime, or lower minValiditySeconds.",
            ));
        }
    }
}

fn endpoint_findings(endpoint: &str, found: &mut Vec<Finding>) {
    let base = endpoint.trim_end_matches('/');
    if base == HOSTED_ENDPOINT {
        found.push(finding(
            "endpoint_hosted_closed",
            "The client sends to https://db.fauna.com: the hosted Fauna service closed on 2025-05-30.".into(),
            "Set the FaunaClient's endpoint to your self-hosted Fauna's URL.",
        ));
    }
    if base.ends_with("/query/1") {
        found.push(finding(
            "endpoint_has_path",
            "The endpoint ends with /query/1; the client adds the path itself.".into(),
            "Set endpoint to the server's base URL, e.g. https://fauna.example.com.",
        ));
    }
}

/// The `hint` of an `unauthorized` error: what [`diagnose`] finds in the
/// rejected token, else the usual causes; then what the token claims. Never
/// the token itself.
pub fn unauthorized_hint(
    claims: Option<&Claims>,
    expect: &Expectations,
    now_ms: f64,
    min_validity_ms: f64,
) -> String {
    let findings = claims.map_or_else(Vec::new, |c| diagnose(c, expect, now_ms, min_validity_ms));
    let mut hint = String::from("Fauna rejected the token twice.");
    for f in &findings {
        hint.push_str(&[" ", &f.message, " Fix: ", &f.fix].concat());
    }
    if findings.is_empty() {
        hint.push_str(
            " Check the access provider: its issuer must equal the token's `iss` exactly (no \
             trailing slash), its JWKS URI must be the issuer's /.well-known/jwks.json, the \
             token's `aud` must be https://db.fauna.com/db/<database id>, and a role's \
             predicate must match the token.",
        );
    }
    if let Some(c) = claims {
        let iss = c.iss.as_deref().unwrap_or("(none)");
        let aud = if c.aud.is_empty() {
            "(none)".into()
        } else {
            c.aud.join(", ")
        };
        hint.push_str(&[" The token has iss ", iss, ", aud ", &aud].concat());
        match c.exp {
            Some(exp) => {
                let left = ((exp * 1000.0 - now_ms) / 1000.0).round() as i64;
                hint.push_str(
                    &[
                        ", and exp ",
                        &text::int(left),
                        " s from now by this device's clock.",
                    ]
                    .concat(),
                );
            }
            None => hint.push_str(", and no exp."),
        }
    }
    hint
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: f64 = 1_700_000_030_000.0;
    const DB: &str = "ysjowue14yyr1";
    const ISS: &str = "https://clerk.example.com";

    /// A token as the integration guide wants it.
    fn good() -> Claims {
        Claims {
            exp: Some(1_700_000_060.0),
            iat: Some(1_700_000_000.0),
            nbf: Some(1_699_999_995.0),
            sub: Some("user_2abc".into()),
            iss: Some(ISS.into()),
            aud: vec![format!("https://db.fauna.com/db/{DB}")],
            alg: Some("RS256".into()),
        }
    }

    fn expect() -> Expectations {
        Expectations {
            issuer: Some(ISS.into()),
            database_id: Some(DB.into()),
            endpoint: Some("http://127.0.0.1:8443".into()),
        }
    }

    fn codes(claims: &Claims, expect: &Expectations) -> Vec<&'static str> {
        diagnose(claims, expect, NOW_MS, 5_000.0)
            .iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn a_good_token_has_no_findings() {
        assert_eq!(codes(&good(), &expect()), Vec::<&str>::new());
        assert_eq!(codes(&good(), &Expectations::default()), Vec::<&str>::new());
    }

    #[test]
    fn audience_mistakes() {
        let with_aud = |aud: &[&str]| Claims {
            aud: aud.iter().map(|a| a.to_string()).collect(),
            ..good()
        };
        assert_eq!(codes(&with_aud(&[]), &expect()), ["aud_missing"]);
        assert_eq!(
            codes(&with_aud(&["https://example.com"]), &expect()),
            ["aud_not_fauna"]
        );
        assert_eq!(
            codes(&with_aud(&["https://db.fauna.com/db/"]), &expect()),
            ["aud_other_database", "aud_not_fauna"]
        );
        assert_eq!(
            codes(
                &with_aud(&["https://db.fauna.com/db/a", "https://db.fauna.com/db/b"]),
                &expect()
            ),
            ["aud_several_fauna"]
        );
        assert_eq!(
            codes(&with_aud(&["https://db.fauna.com/db/other"]), &expect()),
            ["aud_other_database"]
        );
        // Another, non-Fauna audience beside the Fauna one is fine.
        let both = with_aud(&[
            "https://example.com",
            &format!("https://db.fauna.com/db/{DB}"),
        ]);
        assert_eq!(codes(&both, &expect()), Vec::<&str>::new());
    }

    #[test]
    fn issuer_mistakes() {
        let with_iss = |iss: Option<&str>| Claims {
            iss: iss.map(str::to_owned),
            ..good()
        };
        assert_eq!(codes(&with_iss(None), &expect()), ["iss_missing"]);
        assert_eq!(
            codes(&with_iss(Some("https://clerk.example.com/")), &expect()),
            ["iss_trailing_slash"]
        );
        assert_eq!(
            codes(
                &with_iss(Some("https://clerk.example.com/")),
                &Expectations::default()
            ),
            ["iss_trailing_slash"]
        );
        assert_eq!(
            codes(&with_iss(Some("https://other.example.com")), &expect()),
            ["iss_mismatch"]
        );
        let slash_expected = Expectations {
            issuer: Some(format!("{ISS}/")),
            ..expect()
        };
        let f = diagnose(&good(), &slash_expected, NOW_MS, 5_000.0);
        assert_eq!(f[0].code, "iss_trailing_slash");
        assert!(f[0].fix.contains("exactly"));
    }

    #[test]
    fn algorithm_time_and_subject_mistakes() {
        assert_eq!(
            codes(
                &Claims {
                    alg: Some("HS256".into()),
                    ..good()
                },
                &expect()
            ),
            ["alg_unsupported"]
        );
        assert_eq!(
            codes(
                &Claims {
                    alg: None,
                    ..good()
                },
                &expect()
            ),
            ["alg_unsupported"]
        );
        assert_eq!(
            codes(
                &Claims {
                    sub: None,
                    ..good()
                },
                &expect()
            ),
            ["sub_missing"]
        );
        let expired = Claims {
            exp: Some(1_700_000_029.0),
            ..good()
        };
        assert_eq!(codes(&expired, &expect()), ["expired"]);
        let early = Claims {
            nbf: Some(1_700_000_040.0),
            ..good()
        };
        let f = diagnose(&early, &expect(), NOW_MS, 5_000.0);
        assert_eq!(f[0].code, "not_yet_valid");
        assert!(f[0].message.contains("10 s"), "{}", f[0].message);
        let short = Claims {
            exp: Some(1_700_000_033.0),
            iat: Some(1_700_000_030.0),
            ..good()
        };
        assert_eq!(codes(&short, &expect()), ["lifetime_too_short"]);
    }

    #[test]
    fn endpoint_mistakes() {
        let hosted = Expectations {
            endpoint: Some("https://db.fauna.com/".into()),
            ..expect()
        };
        assert_eq!(codes(&good(), &hosted), ["endpoint_hosted_closed"]);
        let with_path = Expectations {
            endpoint: Some("http://127.0.0.1:8443/query/1".into()),
            ..expect()
        };
        assert_eq!(codes(&good(), &with_path), ["endpoint_has_path"]);
    }

    #[test]
    fn every_finding_has_a_message_and_a_fix() {
        let bad = Claims {
            aud: vec![],
            iss: None,
            alg: Some("ES256".into()),
            sub: None,
            exp: Some(1.0),
            nbf: Some(2e10),
            iat: Some(0.5),
        };
        let f = diagnose(
            &bad,
            &Expectations {
                endpoint: Some("https://db.fauna.com".into()),
                ..expect()
            },
            NOW_MS,
            5_000.0,
        );
        assert_eq!(f.len(), 8);
        for finding in f {
            assert!(
                !finding.message.is_empty() && !finding.fix.is_empty(),
                "{finding:?}"
            );
            assert!(finding
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn the_hint_names_findings_or_causes_and_the_claims_but_not_the_token() {
        let slash = Claims {
            iss: Some(format!("{ISS}/")),
            ..good()
        };
        let h = unauthorized_hint(Some(&slash), &Expectations::default(), NOW_MS, 5_000.0);
        assert!(h.contains("ends with a slash"), "{h}");
        assert!(h.contains("Fix: "), "{h}");
        assert!(h.contains("iss https://clerk.example.com/"), "{h}");
        assert!(h.contains("exp 30 s from now"), "{h}");
        let h = unauthorized_hint(Some(&good()), &Expectations::default(), NOW_MS, 5_000.0);
        assert!(h.contains("no trailing slash") && h.contains("role"), "{h}");
        assert!(
            h.contains(&format!("aud https://db.fauna.com/db/{DB}")),
            "{h}"
        );
        assert!(unauthorized_hint(None, &Expectations::default(), 0.0, 0.0).contains("jwks.json"));
    }
}
