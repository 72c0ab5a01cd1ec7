//! Local stand-ins for Clerk (the token issuer) and Fauna (the database), so
//! the clerk-fauna demo and end-to-end tests run without the internet.
//!
//! [`start`] runs both on given listeners (tests use ephemeral ports); the
//! binary in `main.rs` binds 127.0.0.1 and prints a `READY` line.

pub mod clerk;
pub mod config;
pub mod cors;
pub mod faults;
pub mod fauna;
pub mod keys;
mod util;

use config::Config;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Where the two running stand-ins listen.
#[derive(Debug, Clone)]
pub struct Servers {
    pub clerk: SocketAddr,
    pub fauna: SocketAddr,
}

impl Servers {
    /// `http://127.0.0.1:<port>` of the Clerk stand-in; also its token issuer.
    pub fn clerk_origin(&self) -> String {
        format!("http://{}", self.clerk)
    }

    pub fn fauna_origin(&self) -> String {
        format!("http://{}", self.fauna)
    }

    /// The line the binary prints once both listeners are up.
    pub fn ready_line(&self) -> String {
        let json =
            serde_json::json!({ "clerk": self.clerk_origin(), "fauna": self.fauna_origin() });
        format!("READY {json}")
    }
}

/// Why the servers could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot read listener address: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot load the dev signing keys: {0}")]
    Keys(String),
}

/// What the stand-ins serve besides the defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Origins CORS allows; empty means any loopback origin.
    pub allowed_origins: Vec<String>,
    /// Also serve `POST /graphql` on the Fauna stand-in: a stand-in for
    /// hosted Fauna's retired GraphQL API, NOT part of Fauna's own server
    /// (which has no GraphQL endpoint). Off by default.
    pub graphql: bool,
    /// Milliseconds between credential re-checks of an idle event stream,
    /// instead of `[fauna.streams] idle_check_ms` (the server's: 60000).
    pub stream_idle_check_ms: Option<u64>,
    /// Milliseconds between status events on an idle event stream, instead
    /// of `[fauna.streams] status_interval_ms` (the server's: 300000).
    pub stream_status_interval_ms: Option<u64>,
}

impl Options {
    /// Applies the overrides to a loaded config; intervals under 10 ms are refused.
    fn apply(&self, config: &mut Config) -> Result<(), config::ConfigError> {
        let streams = &mut config.fauna.streams;
        if let Some(ms) = self.stream_idle_check_ms {
            streams.idle_check_ms = ms;
        }
        if let Some(ms) = self.stream_status_interval_ms {
            streams.status_interval_ms = ms;
        }
        streams.validate().map_err(config::ConfigError::Invalid)
    }
}

/// Starts both stand-ins on the given listeners, in background tasks.
///
/// `config_text` is TOML (see `demo.toml`); `{{clerk.origin}}` in it becomes
/// the Clerk listener's origin. `allowed_origins` restricts CORS; empty means
/// any loopback origin.
pub async fn start(
    clerk_listener: TcpListener,
    fauna_listener: TcpListener,
    config_text: &str,
    allowed_origins: &[String],
) -> Result<Servers, StartError> {
    let options = Options {
        allowed_origins: allowed_origins.to_vec(),
        ..Options::default()
    };
    start_with(clerk_listener, fauna_listener, config_text, &options).await
}

/// [`start`] with [`Options`]: the stream overrides are applied to the
/// loaded config and checked as `[fauna.streams]` is.
pub async fn start_with(
    clerk_listener: TcpListener,
    fauna_listener: TcpListener,
    config_text: &str,
    options: &Options,
) -> Result<Servers, StartError> {
    let allowed_origins = &options.allowed_origins;
    let servers = Servers {
        clerk: clerk_listener.local_addr()?,
        fauna: fauna_listener.local_addr()?,
    };
    let mut config = Config::load(config_text, &servers.clerk_origin())?;
    options.apply(&mut config)?;
    let config = Arc::new(config);

    let clerk_state = Arc::new(
        clerk::ClerkState::new(servers.clerk_origin(), config.clone()).map_err(StartError::Keys)?,
    );
    let clerk_app = clerk::router(clerk_state).layer(cors::clerk_layer(allowed_origins));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(clerk_listener, clerk_app).await {
            eprintln!("[clerk] server stopped: {e}");
        }
    });

    let fauna_state = fauna::FaunaState::with_graphql(config, options.graphql);
    let fauna_app = fauna::router(fauna_state)
        .layer(cors::fauna_layer(allowed_origins))
        .layer(axum::middleware::from_fn(cors::expose_x_headers));
    tokio::spawn(fauna::serve(fauna_listener, fauna_app));

    Ok(servers)
}

/// Starts both stand-ins on ephemeral 127.0.0.1 ports with the demo config.
pub async fn start_demo() -> Result<Servers, StartError> {
    start_demo_with(&Options::default()).await
}

/// [`start_demo`] with [`Options`].
pub async fn start_demo_with(options: &Options) -> Result<Servers, StartError> {
    let clerk = TcpListener::bind(("127.0.0.1", 0)).await?;
    let fauna = TcpListener::bind(("127.0.0.1", 0)).await?;
    start_with(clerk, fauna, config::DEMO_CONFIG, options).await
}
