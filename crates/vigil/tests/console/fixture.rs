//! The shared fixture: `vigil up` (server and local agent) in a temporary data directory with an
//! advisory database built before it starts, chromedriver and one Chromium session, all stopped
//! by a guard even when an assertion fails; and the scenario's context handed to every page.

use crate::webdriver::{wd_call, WdResult, WebDriver, CHROMEDRIVER, CHROMIUM};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Stops what the test started when dropped: chromedriver (and any Chromium it left behind),
/// then the vigil server with SIGTERM, SIGKILL if it does not exit in time.
pub struct Guard {
    pub vigil: Option<Child>,
    pub chromedriver: Option<Child>,
    /// Chromium runs with this profile directory: any process still using it is ours.
    pub profile_dir: Option<PathBuf>,
}

pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

pub fn stop_child(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    signal(child.id(), "TERM");
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Process ids whose command line mentions `needle` (our own Chromium profile directory).
pub fn pids_mentioning(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.chromedriver.take() {
            stop_child(&mut c, Duration::from_secs(3));
        }
        if let Some(dir) = self.profile_dir.take() {
            for pid in pids_mentioning(&dir.to_string_lossy()) {
                signal(pid, "KILL");
            }
        }
        if let Some(mut v) = self.vigil.take() {
            stop_child(&mut v, Duration::from_secs(15));
        }
    }
}

/// A stand-in for `nft(8)`, given to the local agent through `VIGIL_NFT`: it appends every call
/// and its script to `nft.log` beside itself and keeps the elements of Vigil's sets in
/// `nft-state.json`, which `nft -j list` prints back, so blocks and unblocks run their whole
/// course without touching this machine's firewall.
pub const FAKE_NFT: &str = r#"#!/usr/bin/python3
import json, os, re, sys
here = os.path.dirname(os.path.abspath(__file__))
state_path = os.path.join(here, 'nft-state.json')
args = sys.argv[1:]
script = sys.stdin.read() if args[:2] == ['-f', '-'] else ''
with open(os.path.join(here, 'nft.log'), 'a') as log:
    log.write('$ nft ' + ' '.join(args) + '\n' + script)
try:
    with open(state_path) as f:
        sets = json.load(f)
except (OSError, ValueError):
    sets = {}
if args[:2] == ['-f', '-']:
    for line in script.splitlines():
        m = re.match(r'(add|delete) element inet vigil (\w+) \{ ([^ }]+)', line.strip())
        if m:
            op, name, elem = m.groups()
            cur = sets.setdefault(name, [])
            if op == 'add' and elem not in cur:
                cur.append(elem)
            elif op == 'delete' and elem in cur:
                cur.remove(elem)
    with open(state_path, 'w') as f:
        json.dump(sets, f)
elif args[:1] == ['-j']:
    print(json.dumps({'nftables': [{'set': {'family': 'inet', 'table': 'vigil', 'name': n, 'elem': e}}
                                   for n, e in sets.items()]}))
"#;

/// Writes [`FAKE_NFT`] as `dir/nft`, executable; returns its path.
pub fn write_fake_nft(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("nft");
    std::fs::write(&path, FAKE_NFT).expect("writing the stand-in nft");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("making the stand-in nft executable");
    path
}

/// A copy of python3 named `fakesvc`, listening on a port on all interfaces: the process the
/// console kills and quarantines (the test must not kill itself). Killed when dropped if it
/// still runs.
pub struct FakeSvc {
    pub child: Child,
    pub path: PathBuf,
    /// The copy's content, to check the restored file against.
    pub bytes: Vec<u8>,
    pub _dir: tempfile::TempDir,
}

impl Drop for FakeSvc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

pub fn spawn_fakesvc() -> WdResult<FakeSvc> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir for fakesvc: {e}"))?;
    let path = dir.path().join("fakesvc");
    // `copy` follows the /usr/bin/python3 symlink: the copy is the interpreter itself.
    std::fs::copy("/usr/bin/python3", &path)
        .map_err(|e| format!("copying /usr/bin/python3 to {}: {e}", path.display()))?;
    let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let child = Command::new(&path)
        .args([
            "-c",
            "import socket,time; s=socket.socket(); s.bind(('0.0.0.0',0)); s.listen(); time.sleep(300)",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", path.display()))?;
    Ok(FakeSvc {
        child,
        path,
        bytes,
        _dir: dir,
    })
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binding a free port")
        .local_addr()
        .unwrap()
        .port()
}

pub fn tail(path: &Path, max: usize) -> String {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let start = s.len().saturating_sub(max);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    s[start..].to_string()
}

/// What `vigil up` prints before it is ready.
#[derive(Debug, Default)]
pub struct Banner {
    pub console: String,
    pub password: String,
    pub api_token: String,
}

pub fn wait_for_ready(
    lines: &mpsc::Receiver<String>,
    child: &mut Child,
    stderr_log: &Path,
) -> Banner {
    let mut b = Banner::default();
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left.min(Duration::from_millis(500))) {
            Ok(line) => {
                let line = line.trim();
                // The value is the first word: a note in parentheses may follow it.
                let first = |v: &str| v.split_whitespace().next().unwrap_or_default().to_string();
                if let Some(v) = line.strip_prefix("console: ") {
                    b.console = first(v).trim_end_matches('/').to_string();
                } else if let Some(v) = line.strip_prefix("admin password: ") {
                    b.password = first(v);
                } else if let Some(v) = line.strip_prefix("api token: ") {
                    b.api_token = first(v);
                } else if line == "ready" {
                    assert!(
                        !b.console.is_empty(),
                        "vigil said ready without a `console:` line"
                    );
                    assert!(
                        !b.password.is_empty(),
                        "vigil said ready without an `admin password:` line"
                    );
                    return b;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().ok();
                panic!(
                    "vigil up closed its output before `ready` (exit {status:?}); its stderr ends with:\n{}",
                    tail(stderr_log, 4000)
                );
            }
        }
        if Instant::now() >= deadline {
            panic!(
                "vigil up did not print `ready` within {READY_TIMEOUT:?}; its stderr ends with:\n{}",
                tail(stderr_log, 4000)
            );
        }
    }
}

pub fn css_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Ports listening on this machine, from `/proc/net/tcp` and `/proc/net/tcp6`.
pub fn listening_tcp_ports() -> Vec<u16> {
    let mut ports = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 3 && cols[3] == "0A" {
                if let Some(p) = cols[1]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
                {
                    ports.push(p);
                }
            }
        }
    }
    ports
}

pub struct Ctx<'a> {
    pub wd: &'a WebDriver,
    pub http: &'a reqwest::Client,
    pub banner: &'a Banner,
    pub hostname: String,
    pub shots: PathBuf,
    /// What the stand-in nft was asked to do.
    pub nft_log: PathBuf,
}

pub async fn step(name: &str, started: Instant) {
    eprintln!(
        "[console_browser {:>5.1}s] {name}",
        started.elapsed().as_secs_f64()
    );
}

/// GET on the operator API with the API token printed by `vigil up`.
pub async fn api_get(c: &Ctx<'_>, path: &str) -> WdResult<Value> {
    let url = format!("{}{path}", c.banner.console);
    let res = c
        .http
        .get(&url)
        .bearer_auth(&c.banner.api_token)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = res.status();
    let v: Value = res
        .json()
        .await
        .map_err(|e| format!("GET {url}: bad JSON: {e}"))?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status} {v}"));
    }
    Ok(v)
}

/// What the stand-in nft was asked so far.
pub fn nft_log(c: &Ctx<'_>) -> String {
    std::fs::read_to_string(&c.nft_log).unwrap_or_default()
}

/// Waits up to `timeout` for `child` to exit.
pub async fn wait_exit(child: &mut Child, timeout: Duration) -> WdResult<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Ok(None) => return Err(format!("pid {} still runs after {timeout:?}", child.id())),
            Err(e) => return Err(format!("waiting for pid {}: {e}", child.id())),
        }
    }
}

/// Everything the scenario runs against, started once: stopped (guard) when dropped.
pub struct Fixture {
    pub wd: WebDriver,
    pub http: reqwest::Client,
    pub banner: Banner,
    pub hostname: String,
    pub shots: PathBuf,
    nft_log: PathBuf,
    vigil_log: PathBuf,
    guard: Guard,
    _work: tempfile::TempDir,
}

/// Starts the fixture: an advisory database for this machine, `vigil up` with a stand-in nft,
/// chromedriver and a Chromium session.
pub async fn start() -> Fixture {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: this test needs Debian's chromium and chromium-driver packages; \
             run `scripts/setup.sh` (as root) to install them"
        );
    }
    let _ = rustls::crypto::ring::default_provider().install_default();

    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    let profile = work.path().join("chromium-profile");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&profile).unwrap();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&shots).expect("creating target/console-screenshots");
    let shots = shots.canonicalize().unwrap();
    let _ = std::fs::remove_file(shots.join("failure.png"));

    let mut guard = Guard {
        vigil: None,
        chromedriver: None,
        profile_dir: Some(profile.clone()),
    };

    // An advisory database for this machine (Debian 12) in the data directory before the server
    // starts, so the local agent's first inventory is matched: apt's security suite index plus
    // two changelogs, as an operator builds it.
    let built = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .env_remove("VIGIL_DATA")
        .args([
            "vulndb",
            "update",
            "--source",
            "apt",
            "--max-downloads",
            "2",
            "--db",
        ])
        .arg(data.join("vulndb.bin"))
        .output()
        .expect("running vigil vulndb update");
    assert!(
        built.status.success(),
        "vigil vulndb update failed:\n{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );

    // --- vigil up
    let vigil_log = work.path().join("vigil.stderr");
    // The local agent blocks addresses through a stand-in nft, never this machine's firewall.
    let nft_dir = work.path().join("nft");
    std::fs::create_dir_all(&nft_dir).unwrap();
    let fake_nft = write_fake_nft(&nft_dir);
    let mut vigil = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .env("VIGIL_NFT", &fake_nft)
        .args(["up", "--data"])
        .arg(&data)
        .args(["--listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"])
        // The local agent collects every second, so a new listening port shows up quickly,
        // and checks in every 2 s, so host actions run soon after they are queued.
        .args(["--collect-secs", "1", "--heartbeat-secs", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&vigil_log).unwrap()))
        .spawn()
        .expect("starting vigil up");
    let stdout = vigil.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keeps draining stdout after `ready` so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    // Owned by the guard from here on, so a failed wait still stops it.
    let vigil = guard.vigil.insert(vigil);
    let banner = wait_for_ready(&rx, vigil, &vigil_log);
    eprintln!(
        "[console_browser] vigil ready in {:.1}s at {}",
        started.elapsed().as_secs_f64(),
        banner.console
    );

    // --- chromedriver
    let port = free_port();
    let driver_log = work.path().join("chromedriver.log");
    let chromedriver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(&driver_log).unwrap()))
        .stderr(Stdio::from(
            std::fs::File::create(work.path().join("chromedriver.stderr")).unwrap(),
        ))
        .spawn()
        .expect("starting chromedriver");
    guard.chromedriver = Some(chromedriver);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(v) = wd_call(&http, reqwest::Method::GET, &format!("{base}/status"), None).await {
            if v["ready"] == json!(true) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not come up:\n{}",
            tail(&driver_log, 3000)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let wd = match WebDriver::start(http.clone(), base, &profile).await {
        Ok(wd) => wd,
        Err(e) => panic!(
            "starting Chromium through chromedriver failed: {e}\n{}",
            tail(&driver_log, 3000)
        ),
    };
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    Fixture {
        wd,
        http,
        banner,
        hostname,
        shots,
        nft_log: nft_dir.join("nft.log"),
        vigil_log,
        guard,
        _work: work,
    }
}

impl Fixture {
    /// The context every page's steps get.
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            wd: &self.wd,
            http: &self.http,
            banner: &self.banner,
            hostname: self.hostname.clone(),
            shots: self.shots.clone(),
            nft_log: self.nft_log.clone(),
        }
    }

    /// Stops everything; a failed scenario fails the test with its error, a screenshot and the
    /// end of vigil's log.
    pub async fn finish(self, result: WdResult<()>, t0: Instant) {
        if result.is_err() {
            let _ = self.wd.screenshot(&self.shots.join("failure.png")).await;
        }
        let _ = self.wd.quit().await;
        drop(self.guard);
        if let Err(e) = result {
            panic!(
                "console scenario failed after {:.1}s: {e}\n(screenshot: {}; vigil stderr ends with:\n{})",
                t0.elapsed().as_secs_f64(),
                self.shots.join("failure.png").display(),
                tail(&self.vigil_log, 3000)
            );
        }
        eprintln!(
            "[console_browser] scenario passed in {:.1}s; screenshots in {}",
            t0.elapsed().as_secs_f64(),
            self.shots.display()
        );
    }
}
