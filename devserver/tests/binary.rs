//! The process interface others depend on: flags and the `READY` line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts the binary on ephemeral ports with `args`; the origins of its `READY` line, if any.
fn start(args: &[&str]) -> (Child, Option<serde_json::Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clerk-fauna-devserver"))
        .args(["--clerk-port", "0", "--fauna-port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    let origins = read.ok().filter(|n| *n > 0).map(|_| {
        let json = line
            .trim_end()
            .strip_prefix("READY ")
            .expect("READY prefix");
        serde_json::from_str(json).expect("JSON after READY")
    });
    (child, origins)
}

fn stop(mut child: Child) -> std::process::ExitStatus {
    let _ = child.kill();
    child.wait().expect("exit status")
}

#[test]
fn prints_one_ready_line_with_both_origins() {
    let (child, origins) = start(&["--allowed-origin", "http://localhost:5173"]);
    stop(child);
    let origins = origins.expect("a READY line on stdout");
    for key in ["clerk", "fauna"] {
        let origin = origins[key].as_str().expect("origin string");
        let port: u16 = origin
            .strip_prefix("http://127.0.0.1:")
            .expect("loopback origin")
            .parse()
            .expect("port");
        assert_ne!(port, 0);
    }
}

#[test]
fn a_bad_config_file_fails_fast() {
    let path = std::env::temp_dir().join(format!("devserver-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "[clerk]\nunknown = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clerk-fauna-devserver"))
        .args(["--clerk-port", "0", "--fauna-port", "0", "--config"])
        .arg(&path)
        .output()
        .expect("binary runs");
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no READY line on failure");
}

#[test]
fn stream_intervals_and_graphql_can_be_set_on_the_command_line() {
    let intervals = |ms| {
        [
            "--stream-idle-check-ms",
            ms,
            "--stream-status-interval-ms",
            "2000",
            "--graphql",
        ]
    };
    let (child, origins) = start(&intervals("250"));
    let answers = origins.map(|origins| {
        let fauna = origins["fauna"].as_str().unwrap().to_owned();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let settings = reqwest::get(format!("{fauna}/__admin/streams"))
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await;
            let graphql = reqwest::Client::new()
                .post(format!("{fauna}/graphql"))
                .json(&serde_json::json!({"query": "{ whoami }"}))
                .send()
                .await
                .unwrap()
                .status();
            (settings, graphql)
        })
    });
    stop(child);
    let (settings, graphql) = answers.expect("READY line");
    let settings = settings.expect("settings JSON");
    assert_eq!(settings["idle_check_ms"], 250);
    assert_eq!(settings["status_interval_ms"], 2000);
    // Served with `--graphql` (without a secret: refused, not 404).
    assert_eq!(graphql, 401);
    let (child, origins) = start(&intervals("0"));
    assert!(origins.is_none(), "0 ms would spin: refused before READY");
    assert!(!stop(child).success());
}
