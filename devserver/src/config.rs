//! The devserver's TOML configuration: demo users and JWT templates for the
//! Clerk stand-in, databases and access providers for the Fauna stand-in.

use serde::Deserialize;
use serde_json::Value as Json;

/// The configuration embedded in the binary, used when no `--config` is given.
pub const DEMO_CONFIG: &str = include_str!("../demo.toml");

/// Placeholder replaced by the Clerk stand-in's actual origin at start.
pub const CLERK_ORIGIN_PLACEHOLDER: &str = "{{clerk.origin}}";

/// Everything the two stand-ins are configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub clerk: ClerkConfig,
    #[serde(default)]
    pub fauna: FaunaConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClerkConfig {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub templates: Vec<JwtTemplate>,
}

/// A demo user, shaped like the fields of a Clerk user the templates can use.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// A Clerk JWT template: lifetime, clock skew, and custom claims.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtTemplate {
    pub name: String,
    /// Token lifetime in seconds (`exp = now + lifetime`). Clerk's default is 60.
    #[serde(default = "default_lifetime")]
    pub lifetime: u64,
    /// Seconds subtracted from `now` for `nbf`. Clerk's default is 5.
    #[serde(default = "default_skew")]
    pub allowed_clock_skew: u64,
    /// Custom claims; strings may contain `{{user.*}}` shortcodes.
    #[serde(default)]
    pub claims: serde_json::Map<String, Json>,
}

fn default_lifetime() -> u64 {
    60
}

fn default_skew() -> u64 {
    5
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaunaConfig {
    #[serde(default)]
    pub databases: Vec<Database>,
    #[serde(default)]
    pub access_providers: Vec<AccessProvider>,
    /// Event stream timing (`[fauna.streams]`).
    #[serde(default)]
    pub streams: crate::fauna::stream_hub::StreamSettings,
}

/// A database; `id` is its global id, the last segment of a token's `aud`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub id: String,
    pub name: String,
}

/// A Fauna access provider: which issuer's tokens a database trusts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessProvider {
    pub name: String,
    /// Name of the database the provider belongs to.
    pub database: String,
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub roles: Vec<ProviderRole>,
}

/// A role granted to tokens whose payload satisfies the predicate (or all, without one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderRole {
    pub role: String,
    pub predicate: Option<Predicate>,
}

/// A simple check over one claim of the JWT payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    pub claim: String,
    pub starts_with: Option<String>,
    pub equals: Option<Json>,
}

impl Predicate {
    /// True when the claim exists and passes every check given.
    pub fn matches(&self, payload: &Json) -> bool {
        let Some(value) = payload.get(&self.claim) else {
            return false;
        };
        if let Some(prefix) = &self.starts_with {
            match value.as_str() {
                Some(s) if s.starts_with(prefix.as_str()) => {}
                _ => return false,
            }
        }
        if let Some(expected) = &self.equals {
            if value != expected {
                return false;
            }
        }
        true
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config is not valid TOML for the devserver: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("config is inconsistent: {0}")]
    Invalid(String),
}

impl Config {
    /// Parses `text` after replacing `{{clerk.origin}}` with `clerk_origin`.
    pub fn load(text: &str, clerk_origin: &str) -> Result<Config, ConfigError> {
        let text = text.replace(CLERK_ORIGIN_PLACEHOLDER, clerk_origin);
        let config: Config = toml::from_str(&text)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.fauna
            .streams
            .validate()
            .map_err(ConfigError::Invalid)?;
        for provider in &self.fauna.access_providers {
            if self.database_by_name(&provider.database).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "access provider `{}` names unknown database `{}`",
                    provider.name, provider.database
                )));
            }
        }
        let mut names: Vec<&str> = self
            .clerk
            .templates
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(ConfigError::Invalid("duplicate JWT template name".into()));
        }
        Ok(())
    }

    pub fn database_by_name(&self, name: &str) -> Option<&Database> {
        self.fauna.databases.iter().find(|d| d.name == name)
    }

    pub fn database_by_id(&self, id: &str) -> Option<&Database> {
        self.fauna.databases.iter().find(|d| d.id == id)
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.clerk.users.iter().find(|u| u.id == id)
    }

    pub fn template(&self, name: &str) -> Option<&JwtTemplate> {
        self.clerk.templates.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn demo_config_loads_and_substitutes_origin() {
        let config = Config::load(DEMO_CONFIG, "http://127.0.0.1:1234").unwrap();
        assert_eq!(config.clerk.users.len(), 3);
        for user in &config.clerk.users {
            assert!(user.id.starts_with("user_"));
            assert_eq!(user.id.len(), 5 + 27);
            assert!(user.id[5..].chars().all(|c| c.is_ascii_alphanumeric()));
        }
        let provider = &config.fauna.access_providers[0];
        assert_eq!(provider.issuer, "http://127.0.0.1:1234");
        assert_eq!(
            provider.jwks_uri,
            "http://127.0.0.1:1234/.well-known/jwks.json"
        );
        assert_eq!(config.template("fauna").unwrap().lifetime, 60);
        assert_eq!(config.template("fauna-short").unwrap().lifetime, 3);
        assert!(config
            .template("no-aud")
            .unwrap()
            .claims
            .get("aud")
            .is_none());
    }

    #[test]
    fn predicate_checks_claims() {
        let starts = Predicate {
            claim: "sub".into(),
            starts_with: Some("user_".into()),
            equals: None,
        };
        assert!(starts.matches(&json!({"sub": "user_1"})));
        assert!(!starts.matches(&json!({"sub": "bot_1"})));
        assert!(!starts.matches(&json!({})));
        let equals = Predicate {
            claim: "org".into(),
            starts_with: None,
            equals: Some(json!("acme")),
        };
        assert!(equals.matches(&json!({"org": "acme"})));
        assert!(!equals.matches(&json!({"org": "other"})));
    }

    #[test]
    fn provider_with_unknown_database_is_refused() {
        let text = r#"
            [[fauna.access_providers]]
            name = "p"
            database = "nope"
            issuer = "x"
            jwks_uri = "y"
        "#;
        assert!(matches!(
            Config::load(text, "o"),
            Err(ConfigError::Invalid(_))
        ));
    }
}
