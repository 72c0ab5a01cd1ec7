//! `clerk-fauna-devserver`: runs the Clerk and Fauna stand-ins on 127.0.0.1
//! and prints `READY {"clerk":..,"fauna":..}` on stdout when both listen.

use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(about = "Local stand-ins for Clerk and Fauna (loopback only, for demos and tests)")]
struct Args {
    /// Port of the Clerk stand-in (0 = ephemeral).
    #[arg(long, default_value_t = 8444)]
    clerk_port: u16,
    /// Port of the Fauna stand-in (0 = ephemeral).
    #[arg(long, default_value_t = 8443)]
    fauna_port: u16,
    /// TOML config file; the embedded demo config is used without one.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Origins allowed by CORS (repeatable); without any, every loopback origin is allowed.
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
    /// Also serve POST /graphql, a stand-in for hosted Fauna's retired GraphQL
    /// API. Not part of Fauna's server, which has no GraphQL endpoint.
    #[arg(long)]
    graphql: bool,
    /// Milliseconds between credential re-checks of an idle event stream (server: 60000).
    #[arg(long)]
    stream_idle_check_ms: Option<u64>,
    /// Milliseconds between status events on an idle event stream (server: 300000).
    #[arg(long)]
    stream_status_interval_ms: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clerk-fauna-devserver: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let config_text = match &args.config {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        None => clerk_fauna_devserver::config::DEMO_CONFIG.to_owned(),
    };
    let clerk = TcpListener::bind(("127.0.0.1", args.clerk_port))
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1:{} for Clerk: {e}", args.clerk_port))?;
    let fauna = TcpListener::bind(("127.0.0.1", args.fauna_port))
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1:{} for Fauna: {e}", args.fauna_port))?;
    let options = clerk_fauna_devserver::Options {
        allowed_origins: args.allowed_origins,
        graphql: args.graphql,
        stream_idle_check_ms: args.stream_idle_check_ms,
        stream_status_interval_ms: args.stream_status_interval_ms,
    };
    let servers = clerk_fauna_devserver::start_with(clerk, fauna, &config_text, &options).await?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", servers.ready_line())?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "[devserver] Clerk at {}, Fauna at {} (Ctrl-C to stop)",
        servers.clerk_origin(),
        servers.fauna_origin()
    );

    tokio::signal::ctrl_c().await?;
    Ok(())
}
