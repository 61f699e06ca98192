//! Login collection on the host: follows the login logs, parses each new line, runs the
//! brute-force rule locally and blocks at once with nftables, so an attack is cut off within a
//! poll, not a heartbeat. Successful logins go to the server one by one; failures are summed
//! per source and service each minute; each rule firing is an alert with the block's outcome.

use crate::firewall::{Direction, Firewall};
use crate::follow::{Follower, Framing, Source};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use vigil_collect::auth::tries::Tries;
use vigil_collect::auth::{parse_line_pid, LineContext, LineResult};
use vigil_collect::utmp::{self, UtmpFile};
use vigil_detect::bruteforce::{Block, BruteForce, BruteForceConfig, Decision};
use vigil_model::{Event, EventBody, LoginEvent, LoginOutcome, Response, Timestamp};

/// The login logs of the common distributions; missing ones are polled and picked up if they
/// appear.
pub const DEFAULT_LOGS: [&str; 6] = [
    "/var/log/auth.log",
    "/var/log/secure",
    "/var/log/vsftpd.log",
    "/var/log/proftpd/proftpd.log",
    "/var/log/mysql/error.log",
    "/var/log/audit/audit.log",
];

/// Where the login records are when no text login log exists (Debian 12 without rsyslog
/// logs to the journal only): every terminal login in wtmp, every failed one in btmp.
pub const RECORD_LOGS: [(&str, UtmpFile); 2] = [
    ("/var/log/wtmp", UtmpFile::Wtmp),
    ("/var/log/btmp", UtmpFile::Btmp),
];

/// The binary login records to follow: wtmp/btmp only when none of the text logs that name the
/// same logins (auth.log, secure) exists, so that one login is never counted twice.
pub fn default_record_logs() -> Vec<(PathBuf, UtmpFile)> {
    let text = ["/var/log/auth.log", "/var/log/secure"];
    if text.iter().any(|p| Path::new(p).exists()) {
        return Vec::new();
    }
    RECORD_LOGS
        .iter()
        .map(|(p, f)| (PathBuf::from(p), *f))
        .collect()
}

/// Failures are summed up and sent this often.
const FLUSH_SECS: i64 = 60;
/// At most this many (source, service) pairs are summed between flushes; more are sent at once.
const MAX_PENDING_SOURCES: usize = 10_000;
/// Bytes read per poll, so a backlog never stalls the agent.
const POLL_BUDGET: usize = 4 << 20;

#[derive(Debug)]
struct Failures {
    failures: u32,
    users: Vec<String>,
    first: Timestamp,
    last: Timestamp,
}

/// A block nftables refused, tried again until it succeeds or its time is up.
#[derive(Debug)]
struct Retry {
    block: Block,
    alert: vigil_model::NewAlert,
    next_try: Timestamp,
    attempts: u32,
}

/// Counters for the agent's own health report and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WatchStats {
    pub lines: u64,
    pub logins: u64,
    pub skipped: u64,
    pub blocks: u64,
    pub block_failures: u64,
}

#[derive(Debug)]
pub struct LoginWatch {
    follower: Follower,
    contexts: HashMap<PathBuf, LineContext>,
    records: HashMap<PathBuf, UtmpFile>,
    journal: Option<crate::journal::Journal>,
    journal_ctx: LineContext,
    /// Each try once across the lines that mention it: one counter for all the log files (a
    /// host's pids are its own, and a service's PAM line in the auth log meets its own line in
    /// its own log), one for the journal (which may hold the same lines again).
    tries: Tries,
    journal_tries: Tries,
    engine: BruteForce,
    firewall: Firewall,
    utc_offset_secs: i32,
    pending: HashMap<(Option<String>, String), Failures>,
    last_flush: Timestamp,
    retries: Vec<Retry>,
    stats: WatchStats,
}

impl LoginWatch {
    /// Follows the text `logs` (state in `data_dir/follow.json`) with the default brute-force
    /// rule.
    pub fn open(data_dir: &Path, logs: &[PathBuf], firewall: Firewall, now: Timestamp) -> Self {
        Self::with_records(data_dir, logs, &[], firewall, now)
    }

    /// Also follows binary wtmp/btmp files.
    pub fn with_records(
        data_dir: &Path,
        logs: &[PathBuf],
        records: &[(PathBuf, UtmpFile)],
        firewall: Firewall,
        now: Timestamp,
    ) -> Self {
        let mut sources: Vec<Source> = logs
            .iter()
            .map(|p| Source {
                path: p.clone(),
                framing: Framing::Lines,
            })
            .collect();
        sources.extend(records.iter().map(|(p, _)| Source {
            path: p.clone(),
            framing: Framing::Records(utmp::RECORD_SIZE),
        }));
        LoginWatch {
            follower: Follower::open(&data_dir.join("follow.json"), sources),
            contexts: HashMap::new(),
            records: records.iter().cloned().collect(),
            journal: None,
            journal_ctx: LineContext::new(now, 0),
            tries: Tries::new(),
            journal_tries: Tries::new(),
            engine: BruteForce::new(BruteForceConfig::default()),
            firewall,
            utc_offset_secs: local_offset_secs(),
            pending: HashMap::new(),
            last_flush: now,
            retries: Vec::new(),
            stats: WatchStats::default(),
        }
    }

    /// Also reads login entries from the systemd journal.
    pub fn with_journal(mut self, data_dir: &Path, source: crate::journal::JournalSource) -> Self {
        self.journal = Some(crate::journal::Journal::open(data_dir, source));
        self
    }

    /// Replaces the brute-force rule and the addresses blocks must never cover (from the
    /// server's settings).
    pub fn apply(&mut self, config: BruteForceConfig, protected: Vec<crate::firewall::Protected>) {
        self.engine.set_config(config);
        self.firewall.set_protected(protected);
    }

    pub fn stats(&self) -> WatchStats {
        self.stats
    }

    /// Each followed file's state, as of the last poll.
    pub fn follow_stats(&self) -> crate::follow::FollowStats {
        self.follower.stats()
    }

    /// The journal reader, when the journal is read.
    pub fn journal(&self) -> Option<&crate::journal::Journal> {
        self.journal.as_ref()
    }

    /// Reads what the logs gained, acts on it, and returns the events to send.
    pub fn poll(&mut self, now: Timestamp) -> Vec<Event> {
        let mut out = Vec::new();
        for chunk in self.follower.poll(POLL_BUDGET) {
            self.stats.skipped += chunk.skipped;
            if let Some(&file) = self.records.get(&chunk.path) {
                for item in &chunk.items {
                    self.stats.lines += 1;
                    for rec in utmp::records(item).value {
                        let Some(mut ev) = rec.login_event(file) else {
                            continue;
                        };
                        // A record on an `ssh:` line is an SSH login; the brute-force rule
                        // counts it as one.
                        if rec.line.starts_with("ssh") {
                            ev.service = "sshd".into();
                        }
                        self.stats.logins += 1;
                        self.observe(ev, now, &mut out);
                    }
                }
                continue;
            }
            let offset = self.utc_offset_secs;
            let ctx = self
                .contexts
                .entry(chunk.path.clone())
                .or_insert_with(|| LineContext::new(now, offset));
            let tries = &mut self.tries;
            let mut logins = Vec::new();
            for line in &chunk.items {
                self.stats.lines += 1;
                match parse_line_pid(line, ctx) {
                    (LineResult::Login(ev), meta) => logins.extend(tries.feed_line(ev, meta)),
                    (LineResult::NotLogin, _) => {}
                    (LineResult::Skipped(_), _) => self.stats.skipped += 1,
                }
            }
            for ev in logins {
                self.stats.logins += 1;
                self.observe(ev, now, &mut out);
            }
        }
        if let Some(j) = &mut self.journal {
            let entries = j.poll(now);
            let tries = &mut self.journal_tries;
            let mut logins = Vec::new();
            for entry in &entries {
                self.stats.lines += 1;
                match parse_line_pid(entry, &mut self.journal_ctx) {
                    (LineResult::Login(ev), meta) => logins.extend(tries.feed_line(ev, meta)),
                    (LineResult::NotLogin, _) => {}
                    (LineResult::Skipped(_), _) => self.stats.skipped += 1,
                }
            }
            for ev in logins {
                self.stats.logins += 1;
                self.observe(ev, now, &mut out);
            }
        }
        // Held lines of connections quiet for a while, which logged no try of their own.
        let mut held = self.tries.flush(Some(now));
        held.extend(self.journal_tries.flush(Some(now)));
        for ev in held {
            self.stats.logins += 1;
            self.observe(ev, now, &mut out);
        }
        if let Some(Err(e)) = self.journal.as_mut().map(|j| j.commit()) {
            tracing::warn!(error = %e, "saving the journal cursor failed; entries may be read again");
        }
        if let Err(e) = self.follower.commit() {
            tracing::warn!(error = %e, "saving log offsets failed; lines may be read again");
        }
        self.retry_blocks(now, &mut out);
        if now - self.last_flush >= FLUSH_SECS || self.pending.len() >= MAX_PENDING_SOURCES {
            self.flush(&mut out);
            self.last_flush = now;
            self.engine.prune(now);
        }
        out
    }

    fn observe(&mut self, ev: LoginEvent, now: Timestamp, out: &mut Vec<Event>) {
        for d in self.engine.observe(&ev, now) {
            match d {
                Decision::Block { block, alert } => {
                    let response = self.block(&block, now);
                    if !response.ok {
                        self.retries.push(Retry {
                            block: block.clone(),
                            alert: alert.clone(),
                            next_try: now + 5,
                            attempts: 1,
                        });
                    }
                    out.push(Event {
                        time: now,
                        body: EventBody::AgentAlert {
                            alert,
                            response: Some(response),
                        },
                    });
                }
                Decision::Alert(alert) => out.push(Event {
                    time: now,
                    body: EventBody::AgentAlert {
                        alert,
                        response: None,
                    },
                }),
            }
        }
        match ev.outcome {
            LoginOutcome::Success => out.push(Event {
                time: ev.time,
                body: EventBody::Login { login: ev },
            }),
            LoginOutcome::Failure => {
                let f = self
                    .pending
                    .entry((ev.source.clone(), ev.service.clone()))
                    .or_insert(Failures {
                        failures: 0,
                        users: Vec::new(),
                        first: ev.time,
                        last: ev.time,
                    });
                f.failures = f.failures.saturating_add(1);
                f.first = f.first.min(ev.time);
                f.last = f.last.max(ev.time);
                if f.users.len() < 10 && !ev.user.is_empty() && !f.users.contains(&ev.user) {
                    f.users.push(ev.user.chars().take(64).collect());
                }
            }
        }
    }

    fn block(&mut self, block: &Block, now: Timestamp) -> Response {
        let target = block.ip.to_string();
        let secs = block.until.map(|u| (u - now).max(1) as u64);
        let done = self
            .firewall
            .ensure()
            .and_then(|()| self.firewall.block(&target, Direction::In, secs));
        match done {
            Ok(net) => {
                self.stats.blocks += 1;
                tracing::info!(%net, ?secs, "brute-force source blocked");
                Response {
                    action: "block_ip".into(),
                    target: net.to_string(),
                    until: block.until,
                    ok: true,
                    message: format!("{net} blocked"),
                }
            }
            Err(e) => {
                self.stats.block_failures += 1;
                tracing::warn!(%target, error = %e, "blocking a brute-force source failed; will retry");
                Response {
                    action: "block_ip".into(),
                    target,
                    until: block.until,
                    ok: false,
                    message: e.to_string(),
                }
            }
        }
    }

    /// Tries failed blocks again with a growing pause, reporting the outcome on the same alert.
    fn retry_blocks(&mut self, now: Timestamp, out: &mut Vec<Event>) {
        let due: Vec<Retry> = {
            let (due, wait): (Vec<Retry>, Vec<Retry>) = std::mem::take(&mut self.retries)
                .into_iter()
                .partition(|r| r.next_try <= now);
            self.retries = wait;
            due
        };
        for mut r in due {
            if r.block.until.is_some_and(|u| u <= now) {
                continue;
            }
            let response = self.block(&r.block, now);
            let ok = response.ok;
            if !ok && r.attempts < 10 {
                r.attempts += 1;
                r.next_try = now + 5 * i64::from(1u32 << r.attempts.min(6));
            }
            out.push(Event {
                time: now,
                body: EventBody::AgentAlert {
                    alert: r.alert.clone(),
                    response: Some(response),
                },
            });
            if !ok && r.attempts < 10 {
                self.retries.push(r);
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<Event>) {
        for ((source, service), f) in self.pending.drain() {
            out.push(Event {
                time: f.last,
                body: EventBody::LoginFailures {
                    source,
                    service,
                    failures: f.failures,
                    users: f.users,
                    first: f.first,
                    last: f.last,
                },
            });
        }
    }
}

/// This machine's UTC offset, for year-less, zone-less syslog times.
fn local_offset_secs() -> i32 {
    chrono::Local::now().offset().local_minus_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// btmp records of SSH failures (made with `utmpdump -r`, as the fixtures are) count for
    /// the brute-force rule; wtmp logins are sent as successes.
    #[test]
    fn wtmp_and_btmp_records_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (wtmp, btmp) = (dir.path().join("wtmp"), dir.path().join("btmp"));
        std::fs::write(&wtmp, b"").unwrap();
        std::fs::write(&btmp, b"").unwrap();
        let fw = Firewall::new(vec!["/nonexistent/nft".into()]);
        let t0 = 1_795_000_000;
        let mut w = LoginWatch::with_records(
            dir.path(),
            &[],
            &[
                (wtmp.clone(), UtmpFile::Wtmp),
                (btmp.clone(), UtmpFile::Btmp),
            ],
            fw,
            t0,
        );
        assert!(w.poll(t0).is_empty());
        let dump = |text: &str| {
            let mut child = std::process::Command::new("utmpdump")
                .arg("-r")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("utmpdump (util-linux)");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap().stdout
        };
        let fail = "[6] [04242] [    ] [root    ] [ssh:notty   ] [192.0.2.66          ] [192.0.2.66     ] [2026-11-19T08:26:40,000000+00:00]\n";
        let ok = "[7] [04243] [ts/0] [alice   ] [pts/0       ] [198.51.100.4        ] [198.51.100.4   ] [2026-11-19T08:26:41,000000+00:00]\n";
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&btmp)
            .unwrap();
        f.write_all(&dump(&fail.repeat(81))).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&wtmp)
            .unwrap()
            .write_all(&dump(ok))
            .unwrap();
        let events = w.poll(t0);
        assert_eq!(w.stats().logins, 82);
        assert!(
            events.iter().any(|e| matches!(&e.body,
            EventBody::AgentAlert { response: Some(r), .. } if r.target == "192.0.2.66")),
            "{events:#?}"
        );
        assert!(events.iter().any(|e| matches!(&e.body,
            EventBody::Login { login } if login.user == "alice" && login.source.as_deref() == Some("198.51.100.4"))));
    }

    fn failures(ip: &str, n: usize, stamp: &str) -> String {
        (0..n)
            .map(|i| {
                format!("{stamp} web1 sshd[9]: Failed password for root from {ip} port {i} ssh2\n")
            })
            .collect()
    }

    /// A block nftables refuses is reported on the alert with the exact error and tried again
    /// with a growing pause; failures are summed per source and sent once a minute.
    #[test]
    fn refused_blocks_are_reported_and_retried() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("auth.log");
        std::fs::write(&log, "").unwrap();
        let fw = Firewall::new(vec!["/nonexistent/nft".into()]);
        let t0 = 1_795_000_000;
        let mut w = LoginWatch::open(dir.path(), std::slice::from_ref(&log), fw, t0);
        assert!(w.poll(t0).is_empty());
        let stamp = "2026-11-19T08:26:40.000000+00:00"; // t0
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(failures("192.0.2.7", 81, stamp).as_bytes())
            .unwrap();
        // PAM's echo of each try is not counted again.
        f.write_all(b"2026-11-19T08:26:40.000000+00:00 web1 sshd[9]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.8  user=root\n").unwrap();
        let events = w.poll(t0);
        let responses: Vec<&Response> = events
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::AgentAlert {
                    response: Some(r), ..
                } => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(responses.len(), 1, "{events:#?}");
        assert!(!responses[0].ok);
        assert_eq!(responses[0].target, "192.0.2.7");
        assert!(
            responses[0].message.contains("nftables package"),
            "{}",
            responses[0].message
        );
        assert_eq!(w.stats().block_failures, 1);
        // Not yet due: nothing; due after 5 s: tried again and reported again.
        assert!(w.poll(t0 + 1).is_empty());
        let again = w.poll(t0 + 6);
        assert!(again
            .iter()
            .any(|e| matches!(&e.body, EventBody::AgentAlert { response: Some(r), .. } if !r.ok)));
        assert_eq!(w.stats().block_failures, 2);
        // The minute's failures, summed per source.
        let flushed = w.poll(t0 + 61);
        let sums: Vec<(Option<String>, u32)> = flushed
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::LoginFailures {
                    source, failures, ..
                } => Some((source.clone(), *failures)),
                _ => None,
            })
            .collect();
        assert_eq!(sums, vec![(Some("192.0.2.7".to_string()), 81)]);
        assert_eq!(w.stats().logins, 81);
    }
}
