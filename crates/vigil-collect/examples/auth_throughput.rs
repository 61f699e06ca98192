//! Rough single-core throughput of `auth::parse_log`, on a synthetic auth.log mixed like a
//! server under an SSH dictionary attack, or on a log file given as the argument:
//!
//! ```sh
//! cargo run --release -p vigil-collect --example auth_throughput            # 1,000,000 lines
//! cargo run --release -p vigil-collect --example auth_throughput -- /var/log/auth.log
//! ```
//!
//! A measurement to run by hand, not a test: timings belong to no assertion.

use std::time::Instant;

use vigil_collect::auth::{parse_log, LineContext};

/// 2026-11-23T14:00:00Z.
const NOW: i64 = 1_795_442_400;

const USERS: [&str; 8] = [
    "admin", "test", "oracle", "ubuntu", "postgres", "user", "git", "pi",
];

/// One line of a typical mix (20 kinds, weighted by repetition).
fn line(i: usize) -> String {
    let ts = format!(
        "Nov 23 {:02}:{:02}:{:02}",
        10 + i / 3600 % 4,
        i / 60 % 60,
        i % 60
    );
    let ip = format!("203.0.{}.{}", i / 251 % 256, i % 251);
    let port = 30_000 + i % 30_000;
    let pid = 20_000 + i / 7;
    let user = USERS[i % USERS.len()];
    match i % 20 {
        0 | 1 => format!("{ts} web1 sshd[{pid}]: Failed password for root from {ip} port {port} ssh2"),
        2 | 3 => format!(
            "{ts} web1 sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2"
        ),
        4..=6 => format!("{ts} web1 sshd[{pid}]: Invalid user {user} from {ip} port {port}"),
        7 | 8 => format!(
            "{ts} web1 sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 \
             euid=0 tty=ssh ruser= rhost={ip}  user=root"
        ),
        9 => format!("{ts} web1 sshd[{pid}]: pam_unix(sshd:auth): check pass; user unknown"),
        10 | 11 => format!(
            "{ts} web1 sshd[{pid}]: Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"
        ),
        12 | 13 => format!(
            "{ts} web1 sshd[{pid}]: Disconnected from invalid user {user} {ip} port {port} [preauth]"
        ),
        14 => format!(
            "{ts} web1 CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
        ),
        15 => format!("{ts} web1 CRON[{pid}]: pam_unix(cron:session): session closed for user root"),
        16 => format!(
            "{ts} web1 sshd[{pid}]: Accepted publickey for alice from 192.0.2.10 port {port} ssh2: \
             ED25519 SHA256:3Jq7x2oV8Qbq0f1mZlNq4m9ZK3lLk9vQ2d0r6bJr1nE"
        ),
        17 => format!("{ts} web1 systemd-logind[600]: New session {pid} of user alice."),
        18 => format!(
            "{ts} web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update"
        ),
        _ => format!("{ts} web1 sshd[{pid}]: Connection closed by {ip} port {port} [preauth]"),
    }
}

fn main() {
    let input: Vec<u8> = match std::env::args().nth(1) {
        Some(path) => std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
        None => (0..1_000_000)
            .flat_map(|i| (line(i) + "\n").into_bytes())
            .collect(),
    };
    let lines = input.iter().filter(|&&b| b == b'\n').count();
    let mut best = f64::MAX;
    let mut events = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let parsed = parse_log(&input, &mut LineContext::new(NOW, 0));
        best = best.min(start.elapsed().as_secs_f64());
        events = parsed.value.len();
    }
    println!(
        "{lines} lines, {} MB, {events} login events: best of 5 {:.3} s = {:.0} lines/s, {:.0} MB/s",
        input.len() / 1_000_000,
        best,
        lines as f64 / best,
        input.len() as f64 / best / 1e6
    );
}
