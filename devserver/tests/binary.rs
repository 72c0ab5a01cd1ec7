//! The process interface others depend on: flags and the `READY` line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn prints_one_ready_line_with_both_origins() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clerk-fauna-devserver"))
        .args([
            "--clerk-port",
            "0",
            "--fauna-port",
            "0",
            "--allowed-origin",
            "http://localhost:5173",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    read.expect("a line on stdout");
    let json = line
        .trim_end()
        .strip_prefix("READY ")
        .expect("READY prefix");
    let origins: serde_json::Value = serde_json::from_str(json).expect("JSON after READY");
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
