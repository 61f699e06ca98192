//! `vigil-bench compare-logins`: our own login corpus (every message of the parsers' table in the
//! file it is written to — the syslog auth log, vsftpd's own log, MySQL's error log — each as a
//! try of its own, then sessions of interleaved connections in the shapes real sshd writes),
//! counted by `vigil scan logins --json`, by `fail2ban-regex` (its sshd filter in normal and
//! aggressive mode, and its dropbear, pam-generic, vsftpd, proftpd, pure-ftpd and mysqld-auth
//! filters) and by CrowdSec 1.4 in replay mode (Debian's package and its offline hub: the
//! `crowdsecurity/linux` collection's syslog and sshd parts plus the hub's other login parsers,
//! counting the events its scenarios take in) in the same run: failures per source, every line a
//! peer counts that Vigil does not cover with the reason Vigil gives, and every try Vigil counts
//! from a connection no peer counts.
//!
//! A peer's matched line is *covered* when Vigil counted a try from that line, or from another
//! line of the same connection (same program and pid): Vigil counts each try once, from one of
//! the lines that mention it.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use vigil_collect::auth::messages::{Counted, MESSAGES};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The vigil binary (build it with `cargo build --release -p vigil`).
    #[arg(long, default_value = "target/release/vigil")]
    pub vigil: PathBuf,
    /// Keep the corpus here instead of a temporary directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Sessions of generated connections after the table's messages.
    #[arg(long, default_value_t = 200)]
    pub sessions: usize,
}

/// One generated connection: its lines, and the failed tries it stands for.
fn session(i: usize) -> (Vec<String>, usize) {
    let pid = 30_000 + i;
    let src = format!("198.18.{}.{}", i / 250, i % 250 + 1);
    let port = 40_000 + i;
    let t = |s: usize| format!("Nov 23 11:{:02}:{:02} web1", (i / 60) % 60, (i + s) % 60);
    let pam = |u: &str| {
        format!(
            "{} sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={src}  user={u}",
            t(0)
        )
    };
    match i % 7 {
        // Debian with PAM: each try three times over.
        0 => (
            vec![
                pam("root"),
                format!("{} sshd[{pid}]: Failed password for root from {src} port {port} ssh2", t(1)),
                format!("{} sshd[{pid}]: Failed password for root from {src} port {port} ssh2", t(2)),
                format!("{} sshd[{pid}]: Connection closed by authenticating user root {src} port {port} [preauth]", t(3)),
            ],
            2,
        ),
        // An unknown account, to the maximum.
        1 => (
            vec![
                format!("{} sshd[{pid}]: Invalid user oracle from {src} port {port}", t(0)),
                format!("{} sshd[{pid}]: Failed password for invalid user oracle from {src} port {port} ssh2", t(1)),
                format!("{} sshd[{pid}]: Failed password for invalid user oracle from {src} port {port} ssh2", t(2)),
                format!("{} sshd[{pid}]: Failed password for invalid user oracle from {src} port {port} ssh2", t(3)),
                format!("{} sshd[{pid}]: error: maximum authentication attempts exceeded for invalid user oracle from {src} port {port} ssh2 [preauth]", t(4)),
                format!("{} sshd[{pid}]: Disconnecting invalid user oracle {src} port {port}: Too many authentication failures [preauth]", t(5)),
            ],
            3,
        ),
        // AllowUsers refuses the account; sshd still logs the try.
        2 => (
            vec![
                format!("{} sshd[{pid}]: User bob from {src} not allowed because not listed in AllowUsers", t(0)),
                format!("{} sshd[{pid}]: Failed password for invalid user bob from {src} port {port} ssh2", t(1)),
                format!("{} sshd[{pid}]: Connection closed by invalid user bob {src} port {port} [preauth]", t(2)),
            ],
            1,
        ),
        // A client that named an account and left: one try, written once.
        3 => (
            vec![format!(
                "{} sshd[{pid}]: Connection closed by authenticating user admin {src} port {port} [preauth]",
                t(0)
            )],
            1,
        ),
        // A wrong password, then the right one.
        4 => (
            vec![
                format!("{} sshd[{pid}]: Failed password for deploy from {src} port {port} ssh2", t(0)),
                format!("{} sshd[{pid}]: Accepted password for deploy from {src} port {port} ssh2", t(1)),
            ],
            1,
        ),
        // rsyslog folding the same line: `message repeated 2 times` is two more tries.
        6 => (
            vec![
                format!("{} sshd[{pid}]: Failed password for root from {src} port {port} ssh2", t(0)),
                format!("{} sshd[{pid}]: message repeated 2 times: [ Failed password for root from {src} port {port} ssh2]", t(1)),
            ],
            3,
        ),
        // A locked account: the source only on the connection's last line.
        _ => (
            vec![
                format!("{} sshd[{pid}]: User carol not allowed because account is locked", t(0)),
                format!("{} sshd[{pid}]: Connection closed by authenticating user carol {src} port {port} [preauth]", t(1)),
            ],
            1,
        ),
    }
}

fn syslog_framed(line: &str) -> bool {
    let b = line.as_bytes();
    b.first().is_some_and(|c| c.is_ascii_uppercase())
        && b.get(3) == Some(&b' ')
        && !line.starts_with("Mon ")
        || line.starts_with('<')
        || (b.get(4) == Some(&b'-') && b.get(10) == Some(&b'T'))
}

/// The pid of a syslog line's tag (`sshd[123]:`), for grouping a peer's lines by connection.
fn conn_of(line: &str) -> Option<String> {
    let i = line.find("]: ")?;
    let head = &line[..i];
    let j = head.rfind('[')?;
    let prog = head[..j].rsplit(' ').next()?;
    Some(format!("{prog}[{}]", &head[j + 1..]))
}

fn fail2ban(corpus: &str, filter: &str) -> Result<BTreeSet<String>> {
    let out = Command::new("fail2ban-regex")
        .args(["-o", "msg", corpus, filter])
        .output()
        .context("running fail2ban-regex (Debian package fail2ban)")?;
    if !out.status.success() {
        bail!(
            "fail2ban-regex {filter}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// The hub CrowdSec's Debian package ships, and what of it the replay enables (from the
/// `crowdsecurity/linux` collection: syslog, dates, sshd and its two scenarios; and the hub's
/// dropbear, vsftpd, proftpd, MySQL and MariaDB parsers with their scenarios).
const HUB: &str = "/usr/share/crowdsec/hub";
const CROWDSEC_FILES: &[(&str, &str)] = &[
    (
        "parsers/s00-raw",
        "parsers/s00-raw/crowdsecurity/syslog-logs.yaml",
    ),
    (
        "parsers/s01-parse",
        "parsers/s01-parse/crowdsecurity/sshd-logs.yaml",
    ),
    (
        "parsers/s02-enrich",
        "parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml",
    ),
    ("scenarios", "scenarios/crowdsecurity/ssh-bf.yaml"),
    ("scenarios", "scenarios/crowdsecurity/ssh-slow-bf.yaml"),
    // The other login services of the corpus that the hub parses from syslog.
    (
        "parsers/s01-parse",
        "parsers/s01-parse/crowdsecurity/dropbear-logs.yaml",
    ),
    (
        "parsers/s01-parse",
        "parsers/s01-parse/crowdsecurity/vsftpd-logs.yaml",
    ),
    (
        "parsers/s01-parse",
        "parsers/s01-parse/crowdsecurity/proftpd-logs.yaml",
    ),
    (
        "parsers/s01-parse",
        "parsers/s01-parse/crowdsecurity/mysql-logs.yaml",
    ),
    (
        "parsers/s01-parse",
        "parsers/s01-parse/crowdsecurity/mariadb-logs.yaml",
    ),
    ("scenarios", "scenarios/crowdsecurity/vsftpd-bf.yaml"),
    ("scenarios", "scenarios/crowdsecurity/proftpd-bf.yaml"),
    ("scenarios", "scenarios/crowdsecurity/mysql-bf.yaml"),
    ("scenarios", "scenarios/crowdsecurity/mariadb-bf.yaml"),
];

/// The lines CrowdSec's ssh scenarios took in (its `bucketpour-dump.yaml`), from a replay with a
/// private configuration and local API; `None` when CrowdSec is not installed.
fn crowdsec(corpus: &str, work: &std::path::Path) -> Result<Option<BTreeSet<String>>> {
    if !crowdsec_installed() {
        return Ok(None);
    }
    let cfg = crowdsec_config(work)?;
    let dump = format!("{}/dump", work.display());
    let dsn = format!("file://{corpus}");
    let ran = Command::new("crowdsec")
        .args([
            "-c",
            &cfg,
            "-dsn",
            &dsn,
            "-type",
            "syslog",
            "-dump-data",
            &dump,
        ])
        .output()?;
    if !ran.status.success() {
        bail!("crowdsec replay: {}", String::from_utf8_lossy(&ran.stderr));
    }
    let text = std::fs::read_to_string(work.join("dump/bucketpour-dump.yaml"))?;
    Ok(Some(raw_lines(&text)))
}

/// True when Debian's crowdsec package and its hub are installed.
pub fn crowdsec_installed() -> bool {
    std::path::Path::new("/usr/bin/crowdsec").exists() && std::path::Path::new(HUB).is_dir()
}

/// A private CrowdSec configuration under `work` (the login parsers of the offline hub, a
/// local API with this bench's machine registered): its path.
pub fn crowdsec_config(work: &std::path::Path) -> Result<String> {
    let etc = work.join("etc");
    for (dir, file) in CROWDSEC_FILES {
        let d = etc.join(dir);
        std::fs::create_dir_all(&d)?;
        let target = std::path::Path::new(HUB).join(file);
        let link = d.join(target.file_name().context("hub file")?);
        if !link.exists() {
            std::os::unix::fs::symlink(&target, link)?;
        }
    }
    std::fs::create_dir_all(work.join("data"))?;
    std::fs::create_dir_all(work.join("dump"))?;
    std::fs::create_dir_all(etc.join("acquis.d"))?;
    for name in ["profiles.yaml", "simulation.yaml"] {
        std::fs::copy(format!("/etc/crowdsec/{name}"), etc.join(name))
            .with_context(|| format!("/etc/crowdsec/{name}"))?;
    }
    std::fs::write(etc.join("acquis.yaml"), "")?;
    if !Command::new("cp")
        .args(["-r", "/etc/crowdsec/patterns"])
        .arg(&etc)
        .status()?
        .success()
    {
        bail!("copying CrowdSec's grok patterns failed");
    }
    let w = work.display();
    let config = format!(
        "common:\n  daemonize: false\n  log_media: stdout\n  log_level: warning\n\
         config_paths:\n  config_dir: {w}/etc/\n  data_dir: {w}/data/\n  simulation_path: {w}/etc/simulation.yaml\n  hub_dir: {HUB}/\n  index_path: {HUB}/.index.json\n\
         crowdsec_service:\n  acquisition_path: {w}/etc/acquis.yaml\n  parser_routines: 1\n\
         cscli:\n  output: human\n\
         db_config:\n  type: sqlite\n  db_path: {w}/data/crowdsec.db\n\
         api:\n  client:\n    credentials_path: {w}/etc/local_api_credentials.yaml\n  server:\n    listen_uri: 127.0.0.1:18199\n    profiles_path: {w}/etc/profiles.yaml\n\
         prometheus:\n  enabled: false\n"
    );
    let config_path = work.join("config.yaml");
    std::fs::write(&config_path, config)?;
    let cfg = config_path.to_str().context("non-UTF-8 path")?;
    let creds = format!("{w}/etc/local_api_credentials.yaml");
    let added = Command::new("cscli")
        .args([
            "-c",
            cfg,
            "machines",
            "add",
            "vigil-bench",
            "--auto",
            "--force",
            "-f",
            &creds,
        ])
        .output()?;
    if !added.status.success() {
        bail!(
            "cscli machines add: {}",
            String::from_utf8_lossy(&added.stderr)
        );
    }
    Ok(cfg.to_string())
}

/// The `Raw: '…'` scalars of a CrowdSec dump: single-quoted, folded over indented lines (a line
/// break is one space, `''` is `'`).
fn raw_lines(yaml: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut lines = yaml.lines();
    while let Some(l) = lines.next() {
        let Some(start) = l.trim_start().strip_prefix("Raw: '") else {
            continue;
        };
        let mut value = String::new();
        let mut piece = start.to_string();
        loop {
            match closing_quote(&piece) {
                Some(e) => {
                    value.push_str(&piece[..e]);
                    break;
                }
                None => {
                    value.push_str(&piece);
                    match lines.next() {
                        Some(next) => {
                            value.push(' ');
                            piece = next.trim_start().to_string();
                        }
                        None => break,
                    }
                }
            }
        }
        out.insert(value.replace("''", "'"));
    }
    out
}

/// The byte offset of the first `'` that is not doubled.
fn closing_quote(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\'' {
            if b.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// One log file of the corpus: where such lines are written, and the fail2ban filters an
/// operator would enable on it.
struct Log {
    name: &'static str,
    lines: Vec<String>,
    /// The source each line belongs to (the table's program, or `sshd sessions`).
    source: Vec<String>,
    f2b: &'static [&'static str],
    /// CrowdSec reads it with its syslog parser (the offline hub has no other raw parser).
    syslog: bool,
}

/// fail2ban's filters for the services of a syslog auth log, beside its sshd filter.
const F2B_AUTH: &[&str] = &[
    "dropbear",
    "pam-generic",
    "vsftpd",
    "proftpd",
    "pure-ftpd",
    "mysqld-auth",
];

impl Log {
    fn new(name: &'static str, f2b: &'static [&'static str], syslog: bool) -> Log {
        Log {
            name,
            lines: Vec::new(),
            source: Vec::new(),
            f2b,
            syslog,
        }
    }

    fn push(&mut self, line: String, source: &str) {
        self.lines.push(line);
        self.source.push(source.to_string());
    }
}

/// The source a table line is counted under: the writing program as the tag names it.
fn table_source(m: &vigil_collect::auth::messages::Message) -> String {
    match conn_of(m.line) {
        Some(c) => {
            let prog = c.split('[').next().unwrap_or("?");
            let prog = if prog == "sshd-session" { "sshd" } else { prog };
            format!("{prog} ({})", m.program)
        }
        None if m.line.contains(" sshd 101 - ") => "sshd (openssh, RFC 5424)".to_string(),
        None if m.line.contains(" pure-ftpd: ") => "pure-ftpd (pure-ftpd)".to_string(),
        None => m.program.to_string(),
    }
}

/// A table line as a connection and a try of its own: the tag's pid made unique, the time
/// moved a minute on per row (further apart than lines of one try are).
fn own_connection(line: &str, i: usize) -> String {
    let pid = 1_000 + i;
    let mut line = line.replacen(" 101 - ", &format!(" {pid} - "), 1);
    if let Some(end) = line.find("]: ") {
        if let Some(start) = line[..end].rfind('[') {
            if line[start + 1..end].bytes().all(|b| b.is_ascii_digit()) {
                line.replace_range(start + 1..end, &pid.to_string());
            }
        }
    }
    for hour in [9, 10] {
        let at = format!("{hour:02}:00:01");
        let moved = format!("{:02}:{:02}:01", hour + i / 60, i % 60);
        line = line.replacen(&at, &moved, 1);
    }
    line
}

/// What one tool counted: failed tries (Vigil) or matched lines (the peers), per source.
#[derive(Default)]
struct Counts {
    by_source: BTreeMap<String, usize>,
}

/// Vigil's failed tries in one file: the line each was counted from, and each login line's
/// reason (for the report).
struct VigilRun {
    lines: BTreeSet<usize>,
    tries: Vec<usize>,
    reason_of: HashMap<usize, String>,
    unattributed: usize,
}

fn vigil_scan(vigil: &std::path::Path, path: &str) -> Result<VigilRun> {
    let out = Command::new(vigil)
        .args([
            "scan",
            "logins",
            path,
            "--json",
            "--now=2026-11-30T00:00:00Z",
            "--utc-offset=0",
        ])
        .output()
        .context("running vigil scan logins")?;
    if !out.status.success() {
        bail!(
            "vigil scan logins: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut run = VigilRun {
        lines: BTreeSet::new(),
        tries: Vec::new(),
        reason_of: HashMap::new(),
        unattributed: 0,
    };
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(l)?;
        let line = v["line"].as_u64().unwrap_or(0) as usize;
        match v["record"].as_str() {
            Some("login") => {
                run.reason_of
                    .insert(line, v["reason"].as_str().unwrap_or("success").to_string());
            }
            Some("try") if v["outcome"] == "failure" => {
                run.lines.insert(line);
                run.tries.push(line);
                if !v["source"].is_string() {
                    run.unattributed += 1;
                }
            }
            _ => {}
        }
    }
    Ok(run)
}

/// A line's shape for grouping the sessions' lines in the report: numbers and addresses out.
fn shape(line: &str) -> String {
    let body = line.split_once("]: ").map_or(line, |(_, b)| b);
    let mut out = String::new();
    let mut last_digit = false;
    for c in body.chars() {
        if c.is_ascii_digit() || (last_digit && c == '.') {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    out
}

pub fn run(args: Args) -> Result<()> {
    if !args.vigil.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p vigil`",
            args.vigil.display()
        );
    }
    let tmp = tempfile::tempdir()?;
    let dir = args.out.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;

    // The table's messages in the file each is written to; each as a connection of its own (its
    // own pid), as it stands for one try.
    let mut auth = Log::new("auth.log", F2B_AUTH, true);
    let mut vsftpd = Log::new("vsftpd.log", &["vsftpd"], false);
    let mut mysql = Log::new("mysql/error.log", &["mysqld-auth"], false);
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for (i, m) in MESSAGES.iter().enumerate() {
        let log = if m.line.starts_with("Mon ") {
            &mut vsftpd
        } else if matches!(m.program, "mysql" | "mariadb") {
            &mut mysql
        } else if syslog_framed(m.line) {
            &mut auth
        } else {
            continue;
        };
        let line = own_connection(m.line, i);
        let source = format!("{}: {}", log.name, table_source(m));
        if matches!(m.counted, Counted::Failure { .. }) {
            *expected.entry(source.clone()).or_default() += 1;
        } else {
            expected.entry(source.clone()).or_default();
        }
        log.push(line, &source);
    }
    let sessions = "auth.log: sshd sessions".to_string();
    for i in 0..args.sessions {
        let (l, n) = session(i);
        for line in l {
            auth.push(line, &sessions);
        }
        *expected.entry(sessions.clone()).or_default() += n;
    }
    let logs = [auth, vsftpd, mysql];
    let total: usize = logs.iter().map(|l| l.lines.len()).sum();
    println!(
        "corpus: {total} lines in {} ({} table messages, {} sessions): {}",
        logs.iter().map(|l| l.name).collect::<Vec<_>>().join(", "),
        MESSAGES.len(),
        args.sessions,
        dir.display()
    );

    let tools = [
        "vigil",
        "fail2ban normal",
        "fail2ban aggressive",
        "crowdsec",
    ];
    let mut counts: Vec<Counts> = tools.iter().map(|_| Counts::default()).collect();
    let mut crowdsec_missing = false;
    let mut unattributed = 0;
    // (log, line) → the peers that count it and Vigil does not cover; and the other way round.
    let mut uncovered: BTreeMap<(usize, usize), Vec<&str>> = BTreeMap::new();
    let mut only_vigil: Vec<(usize, usize)> = Vec::new();
    let mut reasons: Vec<HashMap<usize, String>> = Vec::new();
    for (li, log) in logs.iter().enumerate() {
        let path = dir.join(log.name.replace('/', "-"));
        std::fs::write(&path, log.lines.join("\n") + "\n")?;
        let path = path.to_str().context("non-UTF-8 path")?;
        let v = vigil_scan(&args.vigil, path)?;
        unattributed += v.unattributed;
        for n in &v.tries {
            *counts[0]
                .by_source
                .entry(log.source[n - 1].clone())
                .or_default() += 1;
        }
        let vigil_conns: BTreeSet<String> = v
            .lines
            .iter()
            .filter_map(|n| conn_of(&log.lines[n - 1]))
            .collect();
        // Each peer's matched lines in this file.
        let mut normal = BTreeSet::new();
        let mut aggressive = BTreeSet::new();
        if log.syslog {
            normal.extend(fail2ban(path, "sshd")?);
            aggressive.extend(fail2ban(path, "sshd[mode=aggressive]")?);
        }
        for filter in log.f2b {
            let m = fail2ban(path, filter)?;
            normal.extend(m.iter().cloned());
            aggressive.extend(m);
        }
        let mut peers: Vec<(usize, BTreeSet<String>)> = vec![(1, normal), (2, aggressive)];
        if log.syslog {
            match crowdsec(path, &tmp.path().join(format!("crowdsec-{li}")))? {
                Some(m) => peers.push((3, m)),
                None => crowdsec_missing = true,
            }
        }
        let mut matched_by_any = vec![false; log.lines.len()];
        for (tool, matched) in &peers {
            for (i, l) in log.lines.iter().enumerate() {
                if !matched.contains(l) {
                    continue;
                }
                matched_by_any[i] = true;
                *counts[*tool]
                    .by_source
                    .entry(log.source[i].clone())
                    .or_default() += 1;
                let covered = v.lines.contains(&(i + 1))
                    || conn_of(l).is_some_and(|c| vigil_conns.contains(&c));
                if !covered {
                    uncovered.entry((li, i + 1)).or_default().push(tools[*tool]);
                }
            }
        }
        let matched_conns: BTreeSet<String> = log
            .lines
            .iter()
            .zip(&matched_by_any)
            .filter(|(_, m)| **m)
            .filter_map(|(l, _)| conn_of(l))
            .collect();
        for n in &v.lines {
            let conn_matched =
                conn_of(&log.lines[n - 1]).is_some_and(|c| matched_conns.contains(&c));
            if !matched_by_any[n - 1] && !conn_matched {
                only_vigil.push((li, *n));
            }
        }
        reasons.push(v.reason_of);
    }

    let mut report = String::new();
    let _ = writeln!(
        report,
        "\nfailed tries per source (the peers: lines matched; each line once per tool)"
    );
    let _ = write!(report, "{:<48} {:>8}", "source", "written");
    for t in tools {
        let _ = write!(report, " {t:>10}");
    }
    let _ = writeln!(report);
    let mut totals = [0usize; 5];
    for (source, written) in &expected {
        let _ = write!(report, "{source:<48} {written:>8}");
        totals[0] += written;
        for (k, c) in counts.iter().enumerate() {
            let n = c.by_source.get(source).copied().unwrap_or(0);
            totals[k + 1] += n;
            if k == 3 && (crowdsec_missing || !source.starts_with("auth.log")) {
                let _ = write!(report, " {:>10}", "-");
            } else {
                let _ = write!(report, " {n:>10}");
            }
        }
        let _ = writeln!(report);
    }
    let _ = write!(report, "{:<48} {:>8}", "total", totals[0]);
    for t in &totals[1..] {
        let _ = write!(report, " {t:>10}");
    }
    let _ = writeln!(
        report,
        "\n(vigil's tries without a source: {unattributed}; crowdsec reads syslog only: the \
         offline hub has no parser for vsftpd's or MySQL's own logs{})",
        if crowdsec_missing {
            "; crowdsec is not installed: apt-get install crowdsec"
        } else {
            ""
        }
    );

    let _ = writeln!(
        report,
        "\nlines a peer counts that vigil does not cover: {}",
        uncovered.len()
    );
    for ((li, n), peers) in &uncovered {
        let why = reasons[*li]
            .get(n)
            .map_or("vigil: not a login line".to_string(), |r| {
                format!("vigil: {r}, not a try")
            });
        let _ = writeln!(
            report,
            "  {}:{n} ({}; {why}): {}",
            logs[*li].name,
            peers.join(", "),
            logs[*li].lines[n - 1]
        );
    }
    // Vigil's tries no peer counted on any line of the connection: the table's lines one by one,
    // the sessions' by shape.
    let _ = writeln!(
        report,
        "\ntries vigil counts from lines no peer counts: {}",
        only_vigil.len()
    );
    let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
    for (li, n) in &only_vigil {
        let log = &logs[*li];
        let why = reasons[*li].get(n).map_or("held line", String::as_str);
        if log.source[n - 1] == sessions {
            *shapes
                .entry(format!("({why}) {}", shape(&log.lines[n - 1])))
                .or_default() += 1;
        } else {
            let _ = writeln!(report, "  {}:{n} ({why}): {}", log.name, log.lines[n - 1]);
        }
    }
    for (s, k) in &shapes {
        let _ = writeln!(report, "  sessions, {k} lines like: {s}");
    }
    print!("{report}");
    Ok(())
}
