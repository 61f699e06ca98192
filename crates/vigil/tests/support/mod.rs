//! What the tests of the `vigil` binary share: `vigil up` in a temporary directory, the CLI
//! run against it, and waiting.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

/// Kills the process when the test ends, passing or not.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Up {
    pub guard: Guard,
    pub lines: Vec<String>,
    pub console: String,
    pub token: String,
}

/// Starts `vigil up` on `data` and waits for `ready`.
pub fn up(data: &Path) -> Up {
    up_with(data, &[])
}

/// [`up`] with more options.
pub fn up_with(data: &Path, extra: &[&str]) -> Up {
    up_with_env(data, extra, &[])
}

/// [`up_with`] with environment variables for the server and its agent.
pub fn up_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Up {
    let mut child = Command::new(VIGIL)
        .envs(env.iter().copied())
        .args(["up", "--data"])
        .arg(data)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--agent-listen",
            "127.0.0.1:0",
            "--heartbeat-secs",
            "1",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vigil up");
    let stdout = child.stdout.take().unwrap();
    let guard = Guard(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("vigil up said ready");
        let done = line == "ready";
        lines.push(line);
        if done {
            break;
        }
    }
    let field = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no {prefix:?} line in {lines:?}"))
    };
    let console = field("console: ");
    // The token is printed when it is made; later starts name the file it is in.
    let token = match field("api token: ").as_str() {
        "in" => std::fs::read_to_string(data.join("admin.token"))
            .expect("admin.token")
            .trim()
            .to_string(),
        t => t.to_string(),
    };
    Up {
        guard,
        console,
        token,
        lines,
    }
}

pub fn cli(u: &Up, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(VIGIL)
        .args(args)
        .env("VIGIL_SERVER", &u.console)
        .env("VIGIL_TOKEN", &u.token)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

pub fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
