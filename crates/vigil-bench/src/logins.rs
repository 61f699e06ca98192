//! `vigil-bench logins`: writes a realistic auth.log and times `vigil scan logins` and
//! `fail2ban-regex` (sshd filter) on the same file in the same run, and CrowdSec's replay on its
//! first lines: lines/s and peak RSS.

use anyhow::{bail, Context, Result};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, clap::Args)]
pub struct LoginsArgs {
    /// Lines to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub lines: usize,
    /// The vigil binary to measure (build it with `cargo build --release -p vigil`).
    #[arg(long, default_value = "target/release/vigil")]
    pub vigil: PathBuf,
    /// Keep the generated log here instead of a temporary directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip fail2ban-regex (for a quick look at vigil alone).
    #[arg(long)]
    pub no_peer: bool,
    /// Lines of the same log CrowdSec's replay reads (it needs minutes and gigabytes for a
    /// million); 0 skips it. Vigil is timed on the same lines for the ratio.
    #[arg(long, default_value_t = 200_000)]
    pub crowdsec_lines: usize,
}

/// A small deterministic generator (xorshift64*), so every run measures the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const USERS: [&str; 12] = [
    "root", "admin", "test", "oracle", "postgres", "ubuntu", "git", "user", "guest", "ftpuser",
    "deploy", "pi",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A pool of attacking addresses as a busy internet-facing host sees them in a month: a few
/// thousand sources, some IPv6, some written IPv4-mapped.
fn attackers(rng: &mut Rng) -> Vec<String> {
    (0..3000)
        .map(|_| match rng.below(10) {
            0 => format!("2001:db8:{:x}::{:x}", rng.below(64), rng.below(4096)),
            1 => format!("::ffff:203.0.113.{}", rng.below(250) + 1),
            _ => format!(
                "{}.{}.{}.{}",
                [45, 61, 103, 141, 185, 193, 218, 222][rng.below(8) as usize],
                rng.below(256),
                rng.below(4),
                rng.below(250) + 1
            ),
        })
        .collect()
}

/// Most attempts come from a few heavy sources, the rest from a long tail.
fn attacker<'a>(rng: &mut Rng, pool: &'a [String]) -> &'a str {
    let i = match rng.below(10) {
        0..=5 => rng.below(20),
        6..=8 => rng.below(300),
        _ => rng.below(pool.len() as u64),
    };
    &pool[i as usize]
}

/// Writes `lines` lines of a busy server's auth.log: mostly sshd brute force, with accepted
/// logins, PAM, sudo, su, cron sessions and other daemons' noise mixed in.
pub fn generate(path: &Path, lines: usize) -> Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut t: u64 = 0; // seconds since Nov 1 00:00
    let mut pid = 10_000u64;
    let pool = attackers(&mut rng);
    for _ in 0..lines {
        t += rng.below(2);
        let day = 1 + (t / 86_400) % 28;
        let (h, m, s) = ((t / 3600) % 24, (t / 60) % 60, t % 60);
        let month = MONTHS[10];
        write!(w, "{month} {day:>2} {h:02}:{m:02}:{s:02} web1 ")?;
        if rng.below(50) == 0 {
            pid += 1;
        }
        let user = USERS[rng.below(USERS.len() as u64) as usize];
        let src = attacker(&mut rng, &pool);
        let port = 1024 + rng.below(64_000);
        match rng.below(100) {
            0..=34 => writeln!(w, "sshd[{pid}]: Failed password for {user} from {src} port {port} ssh2")?,
            35..=49 => writeln!(w, "sshd[{pid}]: Failed password for invalid user {user}{} from {src} port {port} ssh2", rng.below(100))?,
            50..=57 => writeln!(w, "sshd[{pid}]: Invalid user {user}{} from {src} port {port}", rng.below(100))?,
            58..=64 => writeln!(w, "sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={src}  user={user}")?,
            65..=69 => writeln!(w, "sshd[{pid}]: Connection closed by authenticating user {user} {src} port {port} [preauth]")?,
            70..=73 => writeln!(w, "sshd[{pid}]: Received disconnect from {src} port {port}:11: Bye Bye [preauth]")?,
            74..=75 => writeln!(w, "sshd[{pid}]: error: maximum authentication attempts exceeded for {user} from {src} port {port} ssh2 [preauth]")?,
            76..=78 => writeln!(w, "sshd[{pid}]: Accepted publickey for deploy from 192.0.2.{} port {port} ssh2: ED25519 SHA256:Yf4s0r6bGv0Jqk3tq8m1kQ", rng.below(20) + 1)?,
            79 => writeln!(w, "sshd[{pid}]: Accepted password for alice from 2001:db8:100::{:x} port {port} ssh2", rng.below(16))?,
            80..=83 => writeln!(w, "sshd[{pid}]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)")?,
            84..=88 => writeln!(w, "CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")?,
            89..=91 => writeln!(w, "sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx")?,
            92 => writeln!(w, "sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1002 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob")?,
            93 => writeln!(w, "su[{pid}]: (to root) alice on pts/0")?,
            94 => writeln!(w, "su[{pid}]: FAILED SU (to root) bob on pts/1")?,
            95..=97 => writeln!(w, "systemd-logind[512]: New session {} of user deploy.", rng.below(100_000))?,
            _ => writeln!(w, "sshd[{pid}]: Disconnected from user deploy 192.0.2.{} port {port}", rng.below(20) + 1)?,
        }
    }
    w.flush()?;
    Ok(())
}

/// Wall seconds and peak RSS (KiB) of a command, from GNU time; its stdout is returned.
/// The fastest of three runs of `cmd` (and the largest peak RSS).
fn best_of_three(cmd: &[&str]) -> Result<(f64, u64, String)> {
    let mut best = measure(cmd)?;
    for _ in 0..2 {
        let r = measure(cmd)?;
        best.1 = best.1.max(r.1);
        if r.0 < best.0 {
            best.0 = r.0;
        }
    }
    Ok(best)
}

fn measure(cmd: &[&str]) -> Result<(f64, u64, String)> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "VIGIL-BENCH %e %M"])
        .args(cmd)
        .output()
        .with_context(|| format!("running {cmd:?} under /usr/bin/time (Debian package time)"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        );
    }
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("VIGIL-BENCH "))
        .context("no timing from /usr/bin/time")?;
    let mut parts = line.split_whitespace().skip(1);
    let secs: f64 = parts.next().unwrap_or("0").parse()?;
    let kb: u64 = parts.next().unwrap_or("0").parse()?;
    Ok((secs, kb, String::from_utf8_lossy(&out.stdout).into_owned()))
}

pub fn run(args: LoginsArgs) -> Result<()> {
    if !args.vigil.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p vigil` or pass --vigil",
            args.vigil.display()
        );
    }
    let tmp = tempfile::tempdir()?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| tmp.path().join("auth.log"));
    let start = std::time::Instant::now();
    generate(&path, args.lines)?;
    let size = std::fs::metadata(&path)?.len();
    println!(
        "generated {} lines ({:.1} MiB) in {:.1}s: {}",
        args.lines,
        size as f64 / 1_048_576.0,
        start.elapsed().as_secs_f64(),
        path.display()
    );
    let file = path.to_str().context("non-UTF-8 path")?;
    let vigil = args.vigil.to_str().context("non-UTF-8 path")?;
    let now = "--now=2026-11-30T00:00:00Z";

    // Vigil's runs take well under a second, so the best of three (fail2ban's take half a
    // minute, whose noise is small beside it).
    let (v_secs, v_kb, v_out) =
        best_of_three(&[vigil, "scan", "logins", file, now, "--utc-offset=0"])?;
    let (j_secs, j_kb, _) = measure(&[
        "sh",
        "-c",
        &format!("{vigil} scan logins {file} {now} --utc-offset=0 --json > /dev/null"),
    ])?;
    let summary = v_out.lines().next().unwrap_or("").to_string();
    let lines = args.lines as f64;
    println!(
        "\n{:<36} {:>9} {:>14} {:>14}",
        "command", "seconds", "lines/s", "peak RSS MiB"
    );
    let row = |name: &str, secs: f64, kb: u64| {
        println!(
            "{name:<36} {secs:>9.2} {:>14.0} {:>14.1}",
            lines / secs.max(0.001),
            kb as f64 / 1024.0
        );
    };
    row("vigil scan logins (summary)", v_secs, v_kb);
    row("vigil scan logins --json", j_secs, j_kb);
    println!("vigil: {summary}");
    if args.no_peer {
        return Ok(());
    }
    if Command::new("fail2ban-regex")
        .arg("--help")
        .output()
        .is_err()
    {
        bail!("fail2ban-regex not found: run scripts/bench-logins.sh, which installs Debian's fail2ban");
    }
    let (f_secs, f_kb, f_out) =
        measure(&["fail2ban-regex", file, "/etc/fail2ban/filter.d/sshd.conf"])?;
    row("fail2ban-regex (sshd filter)", f_secs, f_kb);
    if let Some(l) = f_out.lines().find(|l| l.starts_with("Lines:")) {
        println!("fail2ban: {}", l.trim());
    }
    println!(
        "\nthroughput: vigil {:.1}x fail2ban-regex (goal >= 50x); peak RSS: vigil {:.2}x fail2ban-regex (goal <= 1x)",
        f_secs / v_secs.max(0.001),
        v_kb as f64 / f_kb.max(1) as f64
    );
    if args.crowdsec_lines == 0 {
        return Ok(());
    }
    if !crate::compare_logins::crowdsec_installed() {
        println!("(crowdsec is not installed: scripts/bench-logins.sh installs it)");
        return Ok(());
    }
    // The first N lines of the same log, for CrowdSec and for vigil.
    let n = args.crowdsec_lines.min(args.lines);
    let head = tmp.path().join("head.log");
    let text = std::fs::read_to_string(&path)?;
    let mut cut = String::new();
    for l in text.lines().take(n) {
        cut.push_str(l);
        cut.push('\n');
    }
    std::fs::write(&head, cut)?;
    let head_s = head.to_str().context("non-UTF-8 path")?;
    let cfg = crate::compare_logins::crowdsec_config(&tmp.path().join("crowdsec"))?;
    let dsn = format!("file://{head_s}");
    let (c_secs, c_kb, _) = measure(&["crowdsec", "-c", &cfg, "-dsn", &dsn, "-type", "syslog"])?;
    let (h_secs, h_kb, _) =
        best_of_three(&[vigil, "scan", "logins", head_s, now, "--utc-offset=0"])?;
    let per = |secs: f64| n as f64 / secs.max(0.001);
    println!("\non the first {n} lines:");
    println!(
        "{:<36} {h_secs:>9.2} {:>14.0} {:>14.1}",
        "vigil scan logins (summary)",
        per(h_secs),
        h_kb as f64 / 1024.0
    );
    println!(
        "{:<36} {c_secs:>9.2} {:>14.0} {:>14.1}",
        "crowdsec replay (login parsers)",
        per(c_secs),
        c_kb as f64 / 1024.0
    );
    println!(
        "throughput: vigil {:.1}x crowdsec; peak RSS: vigil {:.3}x crowdsec",
        c_secs / h_secs.max(0.001),
        h_kb as f64 / c_kb.max(1) as f64
    );
    Ok(())
}
