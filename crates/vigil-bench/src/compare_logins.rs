//! `vigil-bench compare-logins`: our own login corpus (every syslog-framed message of the
//! parsers' table, then sessions of interleaved connections in the shapes real sshd writes),
//! counted by `vigil scan logins --json`, by `fail2ban-regex` (sshd filter, normal and
//! aggressive) and by CrowdSec 1.4 in replay mode (Debian's package and its offline hub: the
//! `crowdsecurity/linux` collection, counting the events its ssh scenarios take in) in the same
//! run: failures per service, and every line a peer counts that Vigil does not cover, with the
//! reason Vigil gives.
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
    match i % 6 {
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

/// The hub CrowdSec's Debian package ships, and what of it the replay enables (the
/// `crowdsecurity/linux` collection: syslog, dates, sshd and its two scenarios).
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

/// A private CrowdSec configuration under `work` (the sshd collection of the offline hub, a
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

pub fn run(args: Args) -> Result<()> {
    if !args.vigil.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p vigil`",
            args.vigil.display()
        );
    }
    let tmp = tempfile::tempdir()?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| tmp.path().join("corpus.log"));
    // Each table message as a connection of its own (its own pid), as it stands for one try.
    let mut lines: Vec<String> = MESSAGES
        .iter()
        .filter(|m| syslog_framed(m.line))
        .enumerate()
        .map(|(i, m)| {
            m.line
                .replacen("[101]", &format!("[{}]", 1_000 + i), 1)
                .replacen(" 101 - ", &format!(" {} - ", 1_000 + i), 1)
        })
        .collect();
    let table_lines = lines.len();
    let table_failure_lines = MESSAGES
        .iter()
        .filter(|m| syslog_framed(m.line) && matches!(m.counted, Counted::Failure { .. }))
        .count();
    let mut expected_session_tries = 0;
    for i in 0..args.sessions {
        let (l, n) = session(i);
        lines.extend(l);
        expected_session_tries += n;
    }
    std::fs::write(&path, lines.join("\n") + "\n")?;
    let corpus = path.to_str().context("non-UTF-8 path")?;
    println!(
        "corpus: {} lines ({table_lines} from the message table, {} sessions): {corpus}",
        lines.len(),
        args.sessions
    );

    // Vigil: the counted tries, each with the line it was counted from.
    let out = Command::new(&args.vigil)
        .args([
            "scan",
            "logins",
            corpus,
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
    let mut vigil_lines: BTreeSet<usize> = BTreeSet::new();
    let mut vigil_failed_by_source: BTreeMap<String, usize> = BTreeMap::new();
    let mut reason_of: HashMap<usize, String> = HashMap::new();
    let mut vigil_failed = 0;
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(l)?;
        let line = v["line"].as_u64().unwrap_or(0) as usize;
        match v["record"].as_str() {
            Some("login") => {
                reason_of.insert(line, v["reason"].as_str().unwrap_or("success").to_string());
            }
            Some("try") if v["outcome"] == "failure" => {
                vigil_failed += 1;
                vigil_lines.insert(line);
                let service = v["service"].as_str().unwrap_or("?").to_string();
                let attributed = if v["source"].is_string() {
                    ""
                } else {
                    " (no source)"
                };
                *vigil_failed_by_source
                    .entry(format!("{service}{attributed}"))
                    .or_default() += 1;
            }
            _ => {}
        }
    }
    let vigil_conns: BTreeSet<String> = vigil_lines
        .iter()
        .filter_map(|n| conn_of(&lines[n - 1]))
        .collect();

    let in_table = |n: usize| n <= table_lines;
    let mut report = String::new();
    let _ = writeln!(
        report,
        "\n{:<22} {:>14} {:>22}",
        "failed tries", "table lines", "sessions"
    );
    let _ = writeln!(
        report,
        "{:<22} {:>14} {:>22}",
        "written here",
        format!("{table_failure_lines} failure lines"),
        format!("{expected_session_tries} tries")
    );
    let vt = vigil_lines.iter().filter(|n| in_table(**n)).count();
    let _ = writeln!(report, "{:<22} {vt:>14} {:>22}", "vigil", vigil_failed - vt);
    let mut uncovered: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    let mut peers: Vec<(&str, BTreeSet<String>)> = vec![
        ("fail2ban normal", fail2ban(corpus, "sshd")?),
        (
            "fail2ban aggressive",
            fail2ban(corpus, "sshd[mode=aggressive]")?,
        ),
    ];
    match crowdsec(corpus, &tmp.path().join("crowdsec"))? {
        Some(m) => peers.push(("crowdsec", m)),
        None => {
            let _ = writeln!(
                report,
                "(crowdsec is not installed: apt-get install crowdsec)"
            );
        }
    }
    for (name, matched) in &peers {
        let name = *name;
        let mt = (0..table_lines)
            .filter(|i| matched.contains(&lines[*i]))
            .count();
        let _ = writeln!(report, "{name:<22} {mt:>14} {:>22}", matched.len() - mt);
        for (i, l) in lines.iter().enumerate() {
            if !matched.contains(l) {
                continue;
            }
            let covered = vigil_lines.contains(&(i + 1))
                || conn_of(l).is_some_and(|c| vigil_conns.contains(&c));
            if !covered {
                uncovered.entry(i + 1).or_default().push(name);
            }
        }
    }
    let _ = writeln!(report, "\nvigil's failed tries by service:");
    for (src, n) in &vigil_failed_by_source {
        let _ = writeln!(report, "  {src:<24} {n}");
    }
    let _ = writeln!(
        report,
        "\nlines a peer counts that vigil does not cover: {}",
        uncovered.len()
    );
    for (n, peers) in &uncovered {
        let why = reason_of
            .get(n)
            .map_or("vigil: not a login line".to_string(), |r| {
                format!("vigil: {r}, not a try")
            });
        let _ = writeln!(
            report,
            "  line {n} ({}; {why}): {}",
            peers.join(", "),
            lines[n - 1]
        );
    }
    print!("{report}");
    Ok(())
}
