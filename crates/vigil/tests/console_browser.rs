//! End-to-end test of the web console in a real headless Chromium.
//!
//! Starts `vigil up` (server plus a local agent protecting this host) in a temporary data
//! directory, starts `/usr/bin/chromedriver`, and drives Chromium through the W3C WebDriver
//! protocol with plain HTTP+JSON calls: sign in (a wrong password first), the overview, the host
//! list, the host's fingerprint tabs (with its security score and agent health), an install code
//! created and revoked, and a real alert handled end to end: the test opens a TCP port on all
//! interfaces, the local agent (collecting every second) reports it, and the alert it raises is
//! ignored, whitelisted, seen on the Whitelist page, taken off the whitelist, counted in the
//! overview's security score, and marked handled from the batch bar. Then a host action end to
//! end: a copy of python3 named `fakesvc` listens on all interfaces, its alert is handled with
//! Kill and quarantine from the alert drawer (the process exits, its file leaves its path), the
//! file shows in the Quarantine box, a restore over a file that reappeared at the path fails
//! with the agent's exact error, Restore and overwrite puts it back byte for byte, and the
//! host's Commands tab lists the three commands. Notifications: before those alerts are raised,
//! the Notifications page adds an inbox channel and an email channel (one with a bad recipient is
//! refused with the server's message), shows a webhook's URL redacted and deletes it, and saves
//! SMTP settings whose password it never shows; afterwards the top bar's Inbox badge counts the
//! port alert's message, opening it marks it read and leads to the alert, and the delivery log
//! shows the inbox delivery sent and the email delivery failed, in red. The alert list's search
//! box, time filter (a preset, then a custom range of days long past) and sort are followed in
//! the URL and narrow the list. The IP policy page refuses a bad address with the server's
//! message, blocks the documentation address 192.0.2.44 on this host for an hour (the agent
//! applies it), and disables it in two clicks (the agent removes it). The Attack analysis page
//! shows what the server has (the empty state on a machine without failed logins) and, for a
//! known answer put in place of the API's, its per-day chart with tooltips and block marks,
//! totals, host selector and top sources, whose Block… link fills in the IP policy form. The
//! Login security page saves a brute-force rule and an access whitelist that survive a reload,
//! refuses a bad network with the server's message, and keeps an approved login location.
//! The Vulnerabilities page shows how to build the advisory database when none is loaded (for
//! an answer put in place of the API's), then this machine's findings against a Debian 12
//! database `vigil vulndb update --source apt` built in the data directory before `vigil up`:
//! a level filter, the drawer's fix command and Verify, an ignore refused without a reason and
//! then done with one, the row under status ignored, its ignore undone from the batch bar, and
//! the by-advisory view.
//! Screenshots go to `target/console-screenshots/`.
//!
//! The local agent's `nft` is a stand-in (`VIGIL_NFT`, see [`FAKE_NFT`]) that records the
//! nftables scripts it is given and keeps the set elements in a file: the test never touches
//! this machine's firewall.
//!
//! Needs Debian's `chromium` and `chromium-driver`: run `scripts/setup.sh` once.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const UI_TIMEOUT: Duration = Duration::from_secs(20);
/// The key under which WebDriver returns element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

// ------------------------------------------------------------------------------------------
// Processes: started here, always stopped by the guard, even when an assertion fails.

/// Stops what the test started when dropped: chromedriver (and any Chromium it left behind),
/// then the vigil server with SIGTERM, SIGKILL if it does not exit in time.
struct Guard {
    vigil: Option<Child>,
    chromedriver: Option<Child>,
    /// Chromium runs with this profile directory: any process still using it is ours.
    profile_dir: Option<PathBuf>,
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn stop_child(child: &mut Child, grace: Duration) {
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
fn pids_mentioning(needle: &str) -> Vec<u32> {
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
const FAKE_NFT: &str = r#"#!/usr/bin/python3
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
fn write_fake_nft(dir: &Path) -> PathBuf {
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
struct FakeSvc {
    child: Child,
    path: PathBuf,
    /// The copy's content, to check the restored file against.
    bytes: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl Drop for FakeSvc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn spawn_fakesvc() -> WdResult<FakeSvc> {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binding a free port")
        .local_addr()
        .unwrap()
        .port()
}

fn tail(path: &Path, max: usize) -> String {
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
struct Banner {
    console: String,
    password: String,
    api_token: String,
}

fn wait_for_ready(lines: &mpsc::Receiver<String>, child: &mut Child, stderr_log: &Path) -> Banner {
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

// ------------------------------------------------------------------------------------------
// A small W3C WebDriver client over reqwest.

/// Standard base64 (with padding), as WebDriver sends screenshots.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let data = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="))
        .unwrap_or(&bytes);
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}

struct WebDriver {
    http: reqwest::Client,
    base: String,
    session: String,
}

type WdResult<T> = Result<T, String>;

async fn wd_call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> WdResult<Value> {
    let mut req = http.request(method.clone(), url);
    if let Some(b) = body {
        req = req.json(&b);
    } else if method == reqwest::Method::POST {
        req = req.json(&json!({}));
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = res.status();
    let v: Value = res
        .json()
        .await
        .map_err(|e| format!("{method} {url}: bad JSON reply: {e}"))?;
    if !status.is_success() {
        let err = v["value"]["error"].as_str().unwrap_or("unknown error");
        let msg = v["value"]["message"].as_str().unwrap_or("");
        let msg = msg.lines().next().unwrap_or("");
        return Err(format!("{method} {url}: {status} {err}: {msg}"));
    }
    Ok(v["value"].clone())
}

impl WebDriver {
    async fn start(http: reqwest::Client, base: String, profile: &Path) -> WdResult<WebDriver> {
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "unhandledPromptBehavior": "dismiss",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        format!("--user-data-dir={}", profile.display()), "--window-size=1280,900",
                    ],
                },
            }}
        });
        let v = wd_call(
            &http,
            reqwest::Method::POST,
            &format!("{base}/session"),
            Some(caps),
        )
        .await?;
        let session = v["sessionId"]
            .as_str()
            .ok_or("new session: no sessionId")?
            .to_string();
        Ok(WebDriver {
            http,
            base,
            session,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> WdResult<Value> {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        wd_call(&self.http, method, &url, body).await
    }

    async fn goto(&self, url: &str) -> WdResult<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(|_| ())
    }

    async fn find(&self, css: &str) -> WdResult<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await?;
        v[ELEMENT_KEY]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("find {css}: no element reference"))
    }

    async fn click(&self, el: &str) -> WdResult<()> {
        self.call(reqwest::Method::POST, &format!("/element/{el}/click"), None)
            .await
            .map(|_| ())
    }

    async fn clear(&self, el: &str) -> WdResult<()> {
        self.call(reqwest::Method::POST, &format!("/element/{el}/clear"), None)
            .await
            .map(|_| ())
    }

    async fn send_keys(&self, el: &str, text: &str) -> WdResult<()> {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await
        .map(|_| ())
    }

    async fn text(&self, el: &str) -> WdResult<String> {
        let v = self
            .call(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    async fn property(&self, el: &str, name: &str) -> WdResult<Value> {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{el}/property/{name}"),
            None,
        )
        .await
    }

    async fn attribute(&self, el: &str, name: &str) -> WdResult<Option<String>> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{el}/attribute/{name}"),
                None,
            )
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    async fn exec(&self, script: &str, args: Value) -> WdResult<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    async fn screenshot(&self, path: &Path) -> WdResult<()> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let png = base64_decode(v.as_str().unwrap_or_default()).ok_or("screenshot: bad base64")?;
        std::fs::write(path, png).map_err(|e| format!("writing {}: {e}", path.display()))
    }

    async fn quit(&self) -> WdResult<()> {
        wd_call(
            &self.http,
            reqwest::Method::DELETE,
            &format!("{}/session/{}", self.base, self.session),
            None,
        )
        .await
        .map(|_| ())
    }

    // ---- polling helpers: wait for a state instead of sleeping blindly

    /// Runs `script` until it returns something other than null/false/""; returns that value.
    async fn wait_js(
        &self,
        what: &str,
        script: &str,
        args: Value,
        timeout: Duration,
    ) -> WdResult<Value> {
        let deadline = Instant::now() + timeout;
        let mut last_err = String::new();
        loop {
            match self.exec(script, args.clone()).await {
                Ok(v) if !(v.is_null() || v == json!(false) || v == json!("")) => return Ok(v),
                Ok(_) => {}
                Err(e) => last_err = e,
            }
            if Instant::now() >= deadline {
                let banner = self.banner().await.unwrap_or_default();
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what}{}{}",
                    if last_err.is_empty() {
                        String::new()
                    } else {
                        format!(" (last error: {last_err})")
                    },
                    if banner.is_empty() {
                        String::new()
                    } else {
                        format!(" (error banner: {banner:?})")
                    },
                ));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits for a visible element matching `css` and returns its reference.
    async fn wait_visible(&self, css: &str) -> WdResult<String> {
        self.wait_js(
            &format!("a visible {css}"),
            "const e = document.querySelector(arguments[0]); return !!(e && e.getClientRects().length);",
            json!([css]),
            UI_TIMEOUT,
        )
        .await?;
        self.find(css).await
    }

    /// Waits until the text of `css` satisfies `pred`; returns the text.
    async fn wait_text(
        &self,
        css: &str,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> WdResult<String> {
        let deadline = Instant::now() + UI_TIMEOUT;
        let mut last = String::new();
        loop {
            if let Ok(el) = self.find(css).await {
                if let Ok(t) = self.text(&el).await {
                    if pred(&t) {
                        return Ok(t);
                    }
                    last = t;
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out waiting for {css} to show {what}; it shows {last:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The error banner's text when it is shown, else "".
    async fn banner(&self) -> WdResult<String> {
        let v = self
            .exec(
                "const b = document.getElementById('error-banner'); return b && !b.hidden ? b.textContent.trim() : '';",
                json!([]),
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Waits for a row of table `testid` whose column `col` (0-based) reads exactly `text`.
    async fn wait_cell(&self, testid: &str, col: usize, text: &str) -> WdResult<()> {
        self.wait_js(
            &format!("a row of {testid} with {text:?} in column {col}"),
            "return [...document.querySelectorAll(`[data-testid='${arguments[0]}'] tbody tr`)]
                 .some(tr => tr.cells[arguments[1]] && tr.cells[arguments[1]].textContent.trim() === arguments[2]);",
            json!([testid, col, text]),
            UI_TIMEOUT,
        )
        .await
        .map(|_| ())
    }
}

// ------------------------------------------------------------------------------------------
// The scenario.

fn css_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Ports listening on this machine, from `/proc/net/tcp` and `/proc/net/tcp6`.
fn listening_tcp_ports() -> Vec<u16> {
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

struct Ctx<'a> {
    wd: &'a WebDriver,
    http: &'a reqwest::Client,
    banner: &'a Banner,
    hostname: String,
    shots: PathBuf,
    /// What the stand-in nft was asked to do.
    nft_log: PathBuf,
}

async fn step(name: &str, started: Instant) {
    eprintln!(
        "[console_browser {:>5.1}s] {name}",
        started.elapsed().as_secs_f64()
    );
}

async fn scenario(c: &Ctx<'_>) -> WdResult<()> {
    let wd = c.wd;
    let t0 = Instant::now();
    let console = &c.banner.console;

    // --- sign in: a wrong password first
    step("login page", t0).await;
    wd.goto(&format!("{console}/")).await?;
    wd.wait_visible("#login-form").await?;
    let user = wd.find("#login-username").await?;
    wd.clear(&user).await?;
    wd.send_keys(&user, "admin").await?;
    let pw = wd.find("#login-password").await?;
    wd.send_keys(&pw, "definitely-not-the-password").await?;
    wd.click(&wd.find("#login-submit").await?).await?;
    wd.wait_visible("#error-banner").await?;
    let msg = wd
        .wait_text("#error-text", "the server's error message", |t| {
            !t.is_empty()
        })
        .await?;
    if !msg.to_lowercase().contains("password") {
        return Err(format!(
            "wrong password: the banner says {msg:?}, not the server's message"
        ));
    }
    let token = wd
        .exec("return sessionStorage.getItem('vigil.token');", json!([]))
        .await?;
    if !token.is_null() {
        return Err("a wrong password left a session token behind".into());
    }
    wd.screenshot(&c.shots.join("login-error.png")).await?;

    step("sign in", t0).await;
    let pw = wd.find("#login-password").await?;
    wd.clear(&pw).await?;
    wd.send_keys(&pw, &c.banner.password).await?;
    wd.click(&wd.find("#login-submit").await?).await?;
    wd.wait_visible("#app-view").await?;
    wd.wait_text("#current-user", "admin", |t| t.trim() == "admin")
        .await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!(
            "the error banner is still shown after signing in: {b:?}"
        ));
    }

    // --- overview: this host is online (the page refreshes itself every 10 s)
    step("overview", t0).await;
    wd.wait_visible("[data-testid=ov-hosts-online]").await?;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let t = wd
            .text(&wd.find("[data-testid=ov-hosts-online] .stat-value").await?)
            .await?;
        if t.trim() == "1" {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!("overview shows {t:?} hosts online, wanted 1"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wd.wait_text("[data-testid=latest-alerts-count]", "a row count", |t| {
        t.contains("row")
    })
    .await?;
    wd.screenshot(&c.shots.join("overview.png")).await?;

    // --- notification channels, set up before the port alerts below are raised: an alert
    // notifies only when it first occurs.
    notifications_setup(c, t0).await?;

    // --- host list: this machine, online
    step("host list", t0).await;
    wd.click(&wd.find("#nav-hosts").await?).await?;
    let row_css = format!(
        "tr[data-testid=host-row][data-hostname={}]",
        css_str(&c.hostname)
    );
    let row = wd.wait_visible(&row_css).await?;
    let state = wd.attribute(&row, "data-state").await?.unwrap_or_default();
    if state != "online" {
        return Err(format!(
            "host {} is {state:?} in the host list, wanted online",
            c.hostname
        ));
    }
    let badge = wd
        .text(
            &wd.find(&format!("{row_css} [data-testid=host-state]"))
                .await?,
        )
        .await?;
    if !badge.eq_ignore_ascii_case("online") {
        return Err(format!("the state badge of {} reads {badge:?}", c.hostname));
    }
    let host_id = wd
        .attribute(&row, "data-host-id")
        .await?
        .unwrap_or_default();
    wd.screenshot(&c.shots.join("hosts.png")).await?;

    // The agent sends its first fingerprints right after enrolling; wait for them through the
    // API so the detail page is not caught in between.
    let fp_url = format!("{console}/api/v1/hosts/{host_id}/fingerprints");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let res = c
            .http
            .get(&fp_url)
            .bearer_auth(&c.banner.api_token)
            .send()
            .await;
        if matches!(&res, Ok(r) if r.status().is_success()) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no fingerprints for host {host_id} after 60 s: {:?}",
                res.map(|r| r.status())
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A port listening on every interface, opened after the first fingerprints (a baseline
    // raises nothing): the agent reports it and the server raises a suspicious_port reminder.
    // Kept open to the end of the scenario.
    let listener = std::net::TcpListener::bind("0.0.0.0:0")
        .map_err(|e| format!("binding a listener on 0.0.0.0: {e}"))?;
    let lport = listener
        .local_addr()
        .map_err(|e| format!("listener address: {e}"))?
        .port();
    // The process a host action kills, started after the baseline for the same reason.
    let mut fake = spawn_fakesvc()?;
    eprintln!(
        "[console_browser] fakesvc runs as pid {} from {}",
        fake.child.id(),
        fake.path.display()
    );

    // --- host detail
    step("host detail", t0).await;
    wd.click(
        &wd.find(&format!("{row_css} a[data-testid=host-link]"))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=host-name]", "the host name", |t| {
        t.trim() == c.hostname
    })
    .await?;
    let st = wd
        .text(&wd.find("[data-testid=host-detail-state]").await?)
        .await?;
    if !st.eq_ignore_ascii_case("online") {
        return Err(format!("host detail state badge reads {st:?}"));
    }
    // The host's security score (from /api/v1/score) and the agent's own health line.
    let score = wd
        .wait_text("[data-testid=host-score-value]", "a score", |t| {
            t.trim()
                .parse::<u32>()
                .is_ok_and(|n| (10..=100).contains(&n))
        })
        .await?;
    let band = wd
        .text(&wd.find("[data-testid=host-score-band]").await?)
        .await?;
    if !["secure", "a few risks", "many risks", "high risk"].contains(&band.trim()) {
        return Err(format!("host score {score} has the band {band:?}"));
    }
    let health = wd
        .wait_text("[data-testid=host-agent-health]", "memory and spool", |t| {
            t.contains("MB") && t.contains("dropped")
        })
        .await?;
    if wd.find("[data-testid=agent-dropped].bad").await.is_ok() && !health.contains(" 0 events") {
        eprintln!("note: the agent reports dropped events: {health:?}");
    }

    step("packages tab", t0).await;
    wd.click(&wd.wait_visible("#tab-packages").await?).await?;
    wd.wait_visible("[data-testid=table-packages]").await?;
    wd.wait_cell("table-packages", 0, "dpkg").await?;
    wd.wait_text("[data-testid=table-packages-count]", "a row count", |t| {
        t.contains("row") || t.contains("showing")
    })
    .await?;
    wd.screenshot(&c.shots.join("host-detail.png")).await?;
    let filter = wd.find("[data-testid=table-packages-filter]").await?;
    wd.send_keys(&filter, "dpkg").await?;
    wd.wait_cell("table-packages", 1, "dpkg").await?;

    step("ports tab", t0).await;
    wd.click(&wd.find("#tab-ports").await?).await?;
    wd.wait_visible("[data-testid=table-ports]").await?;
    let listening = listening_tcp_ports();
    let api_port: u16 = console
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let mut want = vec![];
    if listening.contains(&5432) {
        want.push(5432);
    } else {
        eprintln!("note: nothing listens on 5432 here (no PostgreSQL); checking the console's own port instead");
    }
    want.push(api_port);
    for port in want {
        wd.wait_visible(&format!("[data-testid=table-ports] tr[data-port='{port}']"))
            .await?;
    }
    wd.screenshot(&c.shots.join("host-ports.png")).await?;

    step("accounts tab", t0).await;
    wd.click(&wd.find("#tab-accounts").await?).await?;
    wd.wait_visible("[data-testid=table-accounts]").await?;
    wd.wait_cell("table-accounts", 0, "root").await?;

    step("system and events tabs", t0).await;
    wd.click(&wd.find("#tab-system").await?).await?;
    wd.wait_cell("table-system", 1, &c.hostname).await?;
    wd.click(&wd.find("#tab-events").await?).await?;
    wd.wait_visible("[data-testid=table-events]").await?;

    // --- install: create a code for group web, env=prod; then revoke it
    step("install page", t0).await;
    wd.click(&wd.find("#nav-install").await?).await?;
    wd.wait_visible("#install-form").await?;
    let group = wd.find("#install-group").await?;
    wd.clear(&group).await?;
    wd.send_keys(&group, "web").await?;
    wd.send_keys(&wd.find("#install-labels").await?, "env=prod")
        .await?;
    // Attacker-style text must come back as text, never as markup.
    wd.send_keys(
        &wd.find("#install-provider").await?,
        "<b id=\"xss\">idc</b>",
    )
    .await?;
    wd.click(&wd.find("#install-create").await?).await?;
    let cmd_el = wd.wait_visible("#install-command").await?;
    let command = wd
        .property(&cmd_el, "value")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string();
    for needle in ["curl", "--pinnedpubkey"] {
        if !command.contains(needle) {
            return Err(format!("the install command lacks {needle:?}: {command:?}"));
        }
    }
    let once = wd
        .text(&wd.find("[data-testid=install-once-note]").await?)
        .await?;
    if !once.contains("only once") || !once.contains("root") {
        return Err(format!(
            "the install note does not say shown-once / run-as-root: {once:?}"
        ));
    }
    let code_id = wd
        .attribute(&wd.find("#install-result").await?, "data-code-id")
        .await?
        .unwrap_or_default();
    let code_row = format!(
        "[data-testid=codes-table] tr[data-code-id={}]",
        css_str(&code_id)
    );
    let row = wd.wait_visible(&code_row).await?;
    let row_text = wd.text(&row).await?;
    if !row_text.contains("web")
        || !row_text.contains("env=prod")
        || !row_text.contains("<b id=\"xss\">idc</b>")
    {
        return Err(format!(
            "the new code's row lacks its group, label or provider: {row_text:?}"
        ));
    }
    let injected = wd
        .exec("return document.getElementById('xss') !== null;", json!([]))
        .await?;
    if injected != json!(false) {
        return Err("the provider text was inserted as HTML".into());
    }
    wd.wait_text(
        &format!("{code_row} [data-testid=code-state]"),
        "active",
        |t| t.eq_ignore_ascii_case("active"),
    )
    .await?;
    wd.screenshot(&c.shots.join("install.png")).await?;

    step("revoke", t0).await;
    let revoke_css = format!("{code_row} button[data-testid=revoke]");
    wd.click(&wd.find(&revoke_css).await?).await?;
    wd.wait_text(&revoke_css, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&revoke_css).await?).await?;
    wd.wait_js(
        "the code to be revoked",
        "const r = document.querySelector(arguments[0]); return !!(r && r.dataset.state === 'revoked');",
        json!([code_row]),
        UI_TIMEOUT,
    )
    .await?;
    wd.wait_text(
        &format!("{code_row} [data-testid=code-state]"),
        "revoked",
        |t| t.eq_ignore_ascii_case("revoked"),
    )
    .await?;
    wd.screenshot(&c.shots.join("install-revoked.png")).await?;

    let port_alert = alert_lifecycle(c, t0, &host_id, lport).await?;
    host_actions(c, t0, &host_id, &mut fake).await?;
    drop(fake);
    inbox_and_log(c, t0, lport, port_alert).await?;
    alert_filters(c, t0, lport, port_alert).await?;
    ip_policy(c, t0, &host_id).await?;
    attack_analysis(c, t0, &host_id).await?;
    login_security(c, t0).await?;
    vulnerabilities(c, t0, &host_id).await?;

    // --- alerts page: filters and pager render
    step("alerts page", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    wd.wait_text("[data-testid=alerts-pager]", "the pager", |t| {
        t.contains(" of ")
    })
    .await?;
    // Clicking an <option> selects it and fires `change`, as a user picking it would.
    wd.click(&wd.find("#alerts-level option[value=urgent]").await?)
        .await?;
    wd.wait_js(
        "the level filter in the URL",
        "return location.hash.includes('level=urgent');",
        json!([]),
        UI_TIMEOUT,
    )
    .await?;
    wd.wait_text("[data-testid=alerts-pager]", "the pager", |t| {
        t.contains(" of ")
    })
    .await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the alerts page shows an error: {b:?}"));
    }

    // --- a session the server no longer knows sends the user back to the sign-in page
    step("expired session", t0).await;
    wd.exec(
        "sessionStorage.setItem('vigil.token', 'vgs_not_a_session'); location.hash = '#/hosts';",
        json!([]),
    )
    .await?;
    wd.wait_visible("#login-form").await?;
    let msg = wd
        .wait_text("#error-text", "why the session ended", |t| !t.is_empty())
        .await?;
    if !msg.contains("Signed out") {
        return Err(format!("after a 401 the banner says {msg:?}"));
    }
    let pw = wd.find("#login-password").await?;
    wd.send_keys(&pw, &c.banner.password).await?;
    wd.click(&wd.find("#login-submit").await?).await?;
    // Back where the user was going.
    wd.wait_visible("[data-testid=hosts-table]").await?;
    wd.wait_visible(&row_css).await?;

    // --- sign out: back to the sign-in page, and the token is gone
    step("sign out", t0).await;
    wd.click(&wd.find("#logout").await?).await?;
    wd.wait_visible("#login-form").await?;
    let token = wd
        .exec("return sessionStorage.getItem('vigil.token');", json!([]))
        .await?;
    if !token.is_null() {
        return Err("signing out left the session token in sessionStorage".into());
    }
    wd.goto(&format!("{console}/#/hosts")).await?;
    wd.wait_visible("#login-form").await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("an error banner appeared after signing out: {b:?}"));
    }
    step("done", t0).await;
    drop(listener);
    Ok(())
}

/// GET on the operator API with the API token printed by `vigil up`.
async fn api_get(c: &Ctx<'_>, path: &str) -> WdResult<Value> {
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

/// The status of alert `id`, through the API.
async fn alert_status(c: &Ctx<'_>, id: i64) -> WdResult<String> {
    let a = api_get(c, &format!("/api/v1/alerts/{id}")).await?;
    Ok(a["status"].as_str().unwrap_or_default().to_string())
}

/// Opens alert `id` from its row in the alerts table and waits for its handle section.
async fn open_alert(wd: &WebDriver, row_css: &str, id: i64) -> WdResult<()> {
    // The name cell: the first one is the selection checkbox.
    wd.click(&wd.find(&format!("{row_css} td:nth-child(3)")).await?)
        .await?;
    wd.wait_visible(&format!(
        "#drawer[data-alert-id='{id}'] [data-testid=alert-handle]"
    ))
    .await?;
    Ok(())
}

/// Picks a status in the alerts page's status filter and waits for the list.
async fn filter_status(wd: &WebDriver, status: &str) -> WdResult<()> {
    wd.click(
        &wd.find(&format!("#alerts-status option[value={status}]"))
            .await?,
    )
    .await?;
    wd.wait_js(
        &format!("the alerts page filtered on {status}"),
        "const p = document.querySelector('[data-testid=alerts-panel]');
         return !!p && p.dataset.loadedStatus === arguments[0];",
        json!([status]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// A real alert through its life: raised by a port this test opens, ignored (twice: the second
/// time the server says why nothing changed), whitelisted for this host from the ignored list,
/// seen on the Whitelist page, taken off the whitelist (back to unhandled), counted in the
/// security score, and finally marked handled with the batch bar. Returns the alert's id.
async fn alert_lifecycle(c: &Ctx<'_>, t0: Instant, host_id: &str, lport: u16) -> WdResult<i64> {
    let wd = c.wd;
    step("waiting for the port alert", t0).await;
    let want_name = format!("port {lport} listening on all interfaces");
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let list = api_get(c, "/api/v1/alerts?kind=suspicious_port&limit=1000").await?;
        let found = list["alerts"].as_array().and_then(|a| {
            a.iter().find(|a| {
                a["host_id"] == json!(host_id)
                    && a["name"].as_str().is_some_and(|n| n.contains(&want_name))
            })
        });
        if let Some(a) = found {
            if a["status"] != json!("unhandled") {
                return Err(format!("the new port alert is not unhandled: {a}"));
            }
            break a["id"].as_i64().ok_or("alert without an id")?;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no suspicious_port alert for port {lport} after 60 s; alerts: {list}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("[console_browser] port {lport} raised alert {id}");
    let row_css =
        format!("[data-testid=alerts-table] tr[data-testid=alert-row][data-alert-id='{id}']");

    // --- the default list holds what waits for an operator
    step("alerts: ignore", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    let status = wd
        .property(&wd.find("#alerts-status").await?, "value")
        .await?;
    if status != json!("unhandled") {
        return Err(format!(
            "the alerts status filter starts at {status}, not unhandled"
        ));
    }
    let row = wd.wait_visible(&row_css).await?;
    let text = wd.text(&row).await?;
    if !text.contains(&want_name) {
        return Err(format!("the alert row reads {text:?}"));
    }
    open_alert(wd, &row_css, id).await?;
    wd.wait_text("[data-testid=alert-status]", "unhandled", |t| {
        t.eq_ignore_ascii_case("unhandled")
    })
    .await?;
    if wd
        .find("[data-testid=alert-handle] [data-testid=handle-unwhitelist]")
        .await
        .is_ok()
    {
        return Err("an alert that is not whitelisted offers Remove whitelist".into());
    }
    wd.click(&wd.find("[data-testid=handle-ignore]").await?)
        .await?;
    wd.wait_text("[data-testid=handle-result]", "the alert ignored", |t| {
        t.contains("now ignored")
    })
    .await?;
    wd.wait_text("[data-testid=alert-status]", "ignored", |t| {
        t.eq_ignore_ascii_case("ignored")
    })
    .await?;
    // The list behind the drawer refreshed: the alert left the unhandled list.
    wd.wait_js(
        "the ignored alert to leave the unhandled list",
        "return !document.querySelector(arguments[0]);",
        json!([row_css]),
        UI_TIMEOUT,
    )
    .await?;
    // Again: nothing changes, and the server's message says why (a 200, not an error).
    wd.click(&wd.find("[data-testid=handle-ignore]").await?)
        .await?;
    let msg = wd
        .wait_text("[data-testid=handle-result]", "why nothing changed", |t| {
            t.contains("cannot become ignored")
        })
        .await?;
    wd.find("[data-testid=handle-notice][data-outcome=unchanged]")
        .await
        .map_err(|_| format!("the second ignore is not shown as unchanged: {msg:?}"))?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("ignoring twice raised the error banner: {b:?}"));
    }
    if alert_status(c, id).await? != "ignored" {
        return Err("the API does not say the alert is ignored".into());
    }
    wd.screenshot(&c.shots.join("alerts-handle.png")).await?;

    // --- whitelist it for this host, from the ignored list
    step("alerts: whitelist", t0).await;
    wd.click(&wd.find("#drawer-close").await?).await?;
    filter_status(wd, "ignored").await?;
    let row = wd.wait_visible(&row_css).await?;
    if wd.attribute(&row, "data-status").await?.as_deref() != Some("ignored") {
        return Err("the alert is not listed as ignored".into());
    }
    open_alert(wd, &row_css, id).await?;
    wd.click(&wd.find("[data-testid=handle-whitelist]").await?)
        .await?;
    wd.wait_visible("[data-testid=whitelist-form]").await?;
    let host_scope = wd.find("[data-testid=wl-scope-host]").await?;
    wd.click(&host_scope).await?;
    if wd.property(&host_scope, "checked").await? != json!(true) {
        return Err("the host scope is not selected".into());
    }
    wd.send_keys(
        &wd.find("[data-testid=handle-note]").await?,
        "console test listener <i>",
    )
    .await?;
    wd.screenshot(&c.shots.join("alerts-whitelist-form.png"))
        .await?;
    wd.click(&wd.find("[data-testid=handle-whitelist-confirm]").await?)
        .await?;
    wd.wait_text("[data-testid=handle-result]", "whitelisted", |t| {
        t.contains("is whitelisted")
    })
    .await?;
    wd.wait_text("[data-testid=alert-status]", "whitelisted", |t| {
        t.eq_ignore_ascii_case("whitelisted")
    })
    .await?;
    wd.wait_visible("[data-testid=handle-unwhitelist]").await?;
    if alert_status(c, id).await? != "whitelisted" {
        return Err("the API does not say the alert is whitelisted".into());
    }

    // --- the rule on the Whitelist page
    step("whitelist page", t0).await;
    wd.click(&wd.find("#nav-whitelist").await?).await?;
    wd.wait_visible("[data-testid=whitelist-table]").await?;
    let rule_id = wd
        .wait_js(
            "the port rule in the whitelist table",
            "const r = [...document.querySelectorAll('tr[data-testid=rule-row]')]
                 .find(tr => [...tr.querySelectorAll('[data-testid=rule-fields] .chip')].some(c => c.textContent === arguments[0]));
             return r ? r.dataset.ruleId : null;",
            json!([format!("port={lport}")]),
            UI_TIMEOUT,
        )
        .await?;
    let rule_row = format!(
        "tr[data-testid=rule-row][data-rule-id='{}']",
        rule_id.as_str().unwrap_or_default()
    );
    // The host name appears once the host list has loaded.
    wd.wait_text(
        &format!("{rule_row} [data-testid=rule-scope]"),
        "the host",
        |t| t.contains(&c.hostname),
    )
    .await?;
    let text = wd.text(&wd.find(&rule_row).await?).await?;
    for needle in [
        "suspicious port",
        "protocol=tcp",
        "console test listener <i>",
        "admin",
    ] {
        if !text.contains(needle) {
            return Err(format!("the rule row lacks {needle:?}: {text:?}"));
        }
    }
    wd.screenshot(&c.shots.join("whitelist.png")).await?;

    // A rule added by hand (all hosts, a port nothing listens on), then deleted in two clicks.
    step("whitelist: add and delete a rule", t0).await;
    wd.click(&wd.find("#wl-kind option[value=suspicious_port]").await?)
        .await?;
    wd.click(&wd.find("#wl-scope option[value=all]").await?)
        .await?;
    wd.send_keys(&wd.find("[data-testid=wl-field-port]").await?, "1")
        .await?;
    wd.click(&wd.find("#wl-add").await?).await?;
    wd.wait_text("[data-testid=rule-added]", "the rule added", |t| {
        t.contains("0 existing alerts whitelisted")
    })
    .await?;
    let added = wd
        .wait_js(
            "the added rule in the table",
            "const r = [...document.querySelectorAll('tr[data-testid=rule-row]')]
                 .find(tr => tr.querySelector('[data-testid=rule-fields]').textContent === 'port=1');
             return r ? r.dataset.ruleId : null;",
            json!([]),
            UI_TIMEOUT,
        )
        .await?;
    let del_css = format!(
        "tr[data-testid=rule-row][data-rule-id='{}'] button[data-testid=rule-delete]",
        added.as_str().unwrap_or_default()
    );
    wd.click(&wd.find(&del_css).await?).await?;
    wd.wait_text(&del_css, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&del_css).await?).await?;
    wd.wait_text("[data-testid=rule-deleted]", "the deletion", |t| {
        t.contains("0 alerts back in the list")
    })
    .await?;
    wd.wait_js(
        "the deleted rule to leave the table",
        "return !document.querySelector(arguments[0]);",
        json!([del_css]),
        UI_TIMEOUT,
    )
    .await?;
    wd.find(&rule_row)
        .await
        .map_err(|_| "deleting the other rule removed the port rule too".to_string())?;

    // --- remove the whitelist from the alert: back to unhandled
    step("alerts: remove the whitelist", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    filter_status(wd, "whitelisted").await?;
    wd.wait_visible(&row_css).await?;
    open_alert(wd, &row_css, id).await?;
    wd.click(&wd.find("[data-testid=handle-unwhitelist]").await?)
        .await?;
    wd.wait_text("[data-testid=handle-result]", "the alert back", |t| {
        t.contains("back in the list")
    })
    .await?;
    wd.wait_text("[data-testid=alert-status]", "unhandled", |t| {
        t.eq_ignore_ascii_case("unhandled")
    })
    .await?;
    wd.click(&wd.find("#drawer-close").await?).await?;
    filter_status(wd, "unhandled").await?;
    let row = wd.wait_visible(&row_css).await?;
    if wd.attribute(&row, "data-status").await?.as_deref() != Some("unhandled") {
        return Err("the alert is not back as unhandled".into());
    }
    let rules = api_get(c, "/api/v1/whitelist").await?;
    if rules["rules"].as_array().is_some_and(|r| !r.is_empty()) {
        return Err(format!("whitelist rules left after removing them: {rules}"));
    }

    // --- the security score: one unhandled alert caps this host at 60, "high risk"
    step("overview: security score", t0).await;
    wd.click(&wd.find("#nav-overview").await?).await?;
    let score = wd
        .wait_text("[data-testid=ov-score-value]", "a fleet score", |t| {
            t.trim().parse::<u32>().is_ok_and(|n| n <= 60)
        })
        .await?;
    wd.wait_text("[data-testid=ov-score-band]", "high risk", |t| {
        t.trim() == "high risk"
    })
    .await?;
    let costs = wd
        .text(
            &wd.find(&format!(
                "[data-testid=score-host-row][data-host-id={}] [data-testid=score-host-costs]",
                css_str(host_id)
            ))
            .await?,
        )
        .await?;
    if !costs.contains("alerts −") || !costs.contains("capped at 60") {
        return Err(format!("the lowest host's costs read {costs:?}"));
    }
    let color = wd
        .exec(
            "return getComputedStyle(document.querySelector('[data-testid=ov-score-value]')).color;",
            json!([]),
        )
        .await?;
    if color != json!("rgb(212, 47, 34)") {
        return Err(format!("a high-risk score is drawn in {color}, not red"));
    }
    eprintln!("[console_browser] fleet score {score}, host costs: {costs}");
    wd.screenshot(&c.shots.join("overview-score.png")).await?;

    // --- the batch bar: select the alert, mark it handled
    step("alerts: batch mark handled", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible(&row_css).await?;
    let handled = wd.find("[data-testid=batch-handled]").await?;
    if wd.property(&handled, "disabled").await? != json!(true) {
        return Err("the batch buttons are enabled with nothing selected".into());
    }
    wd.click(
        &wd.find(&format!("{row_css} input[data-testid=alert-check]"))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=batch-count]", "1 selected", |t| {
        t.trim() == "1 selected"
    })
    .await?;
    if !wd
        .exec(
            "return document.getElementById('drawer').hidden;",
            json!([]),
        )
        .await?
        .as_bool()
        .unwrap_or(false)
    {
        return Err("ticking a row's box opened the alert".into());
    }
    wd.screenshot(&c.shots.join("alerts-batch.png")).await?;
    wd.click(&wd.find("[data-testid=batch-handled]").await?)
        .await?;
    wd.wait_text("[data-testid=batch-result]", "the alert handled", |t| {
        t.contains("now handled")
    })
    .await?;
    wd.wait_js(
        "the handled alert to leave the unhandled list",
        "return !document.querySelector(arguments[0]);",
        json!([row_css]),
        UI_TIMEOUT,
    )
    .await?;
    if alert_status(c, id).await? != "handled" {
        return Err("the API does not say the alert is handled".into());
    }
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("handling alerts left an error banner: {b:?}"));
    }
    Ok(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_headless_chromium() {
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
    let ctx = Ctx {
        wd: &wd,
        http: &http,
        banner: &banner,
        hostname,
        shots: shots.clone(),
        nft_log: nft_dir.join("nft.log"),
    };
    let t0 = Instant::now();
    let result = scenario(&ctx).await;
    if result.is_err() {
        let _ = wd.screenshot(&shots.join("failure.png")).await;
    }
    let _ = wd.quit().await;
    drop(guard);
    if let Err(e) = result {
        panic!(
            "console scenario failed after {:.1}s: {e}\n(screenshot: {}; vigil stderr ends with:\n{})",
            t0.elapsed().as_secs_f64(),
            shots.join("failure.png").display(),
            tail(&vigil_log, 3000)
        );
    }
    eprintln!(
        "[console_browser] scenario passed in {:.1}s; screenshots in {}",
        t0.elapsed().as_secs_f64(),
        shots.display()
    );
}

/// The data-loaded key of the Vulnerabilities page: what its rows were loaded for.
async fn wait_vulns_loaded(wd: &WebDriver, prefix: &str) -> WdResult<()> {
    wd.wait_js(
        &format!("the vulnerability list loaded for {prefix:?}"),
        "const p = document.querySelector('[data-testid=vulns-panel]');
         return !!(p && (p.dataset.loaded || '').startsWith(arguments[0]));",
        json!([prefix]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// The vulnerability rows on show, as `[advisory, package, level, status]`.
async fn vuln_rows(wd: &WebDriver) -> WdResult<Vec<[String; 4]>> {
    let v = wd
        .exec(
            "return [...document.querySelectorAll('[data-testid=vuln-row]')].map((r) =>
               [r.dataset.advisory, r.dataset.package, r.dataset.level, r.dataset.status]);",
            json!([]),
        )
        .await?;
    Ok(v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| std::array::from_fn(|i| r[i].as_str().unwrap_or_default().to_string()))
        .collect())
}

/// The status the API gives the vulnerability `advisory` in `package` on `host_id`.
async fn vuln_status(
    c: &Ctx<'_>,
    host_id: &str,
    package: &str,
    advisory: &str,
) -> WdResult<String> {
    let res = api_get(
        c,
        &format!("/api/v1/vulns?host={host_id}&package={package}&q={advisory}&limit=100"),
    )
    .await?;
    res["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["advisory"] == json!(advisory) && i["package"] == json!(package))
        })
        .and_then(|i| i["status"].as_str().map(str::to_string))
        .ok_or_else(|| format!("the API does not list {advisory} in {package}: {res}"))
}

/// The Vulnerabilities page: the database hint (for an answer without a database, put in place
/// of the API's: this server has one), then the real findings of this machine against the
/// Debian 12 database built before `vigil up`: the DB line, a level filter, the drawer with its
/// fix command and Verify, an ignore refused without a reason and then done with one, the row
/// under status ignored, its ignore undone from the batch bar, and the by-advisory view.
async fn vulnerabilities(c: &Ctx<'_>, t0: Instant, host_id: &str) -> WdResult<()> {
    let wd = c.wd;
    step("vulnerabilities: no database", t0).await;
    wd.exec(
        "if (!window.__vigilFetch) window.__vigilFetch = window.fetch;
         const real = window.__vigilFetch;
         window.fetch = (url, init) => {
           if (!String(url).startsWith('/api/v1/vulns?')) return real(url, init);
           const body = { group_by: 'none', total: 0, truncated: false, items: [], database: {
             loaded: false, path: '/data/vulndb.bin', advisories: 0, sources: [],
             hint: 'no advisory database at /data/vulndb.bin: build it with `vigil vulndb update --source apt --data DIR`' } };
           return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }));
         };
         return true;",
        json!([]),
    )
    .await?;
    wd.click(&wd.find("#nav-vulns").await?).await?;
    wd.wait_visible("[data-testid=vulns-db][data-loaded='0']")
        .await?;
    wd.wait_text("[data-testid=vulns-db-hint]", "the build hint", |t| {
        t.contains("vigil vulndb update --source apt")
    })
    .await?;
    wd.wait_text("[data-testid=vulns-table] tbody", "the empty state", |t| {
        t.contains("No vulnerability matches")
    })
    .await?;
    wd.screenshot(&c.shots.join("vulns-no-db.png")).await?;
    unstub_fetch(wd).await?;

    step("vulnerabilities: this machine's findings", t0).await;
    // The status filter to all reloads from the real API.
    wd.click(&wd.find("#vulns-status option[value=all]").await?)
        .await?;
    wait_vulns_loaded(wd, "rows|all|").await?;
    let db = wd
        .wait_text("[data-testid=vulns-db]", "the loaded database", |t| {
            t.contains("advisories") && t.contains("security")
        })
        .await?;
    // The first inventory may still be on its way: the page refreshes every 10 s.
    wd.wait_js(
        "vulnerability rows",
        "return document.querySelectorAll('[data-testid=vuln-row]').length > 0;",
        json!([]),
        Duration::from_secs(60),
    )
    .await?;
    let rows = vuln_rows(wd).await?;
    let level = rows[0][2].clone();
    eprintln!(
        "[console_browser] {db:?}; first page: {} rows, the first {:?}",
        rows.len(),
        rows[0]
    );
    wd.screenshot(&c.shots.join("vulns-list.png")).await?;

    step("vulnerabilities: level filter", t0).await;
    wd.click(
        &wd.find(&format!("#vulns-level option[value={level}]"))
            .await?,
    )
    .await?;
    wait_vulns_loaded(wd, &format!("rows|all|{level}|")).await?;
    let rows = vuln_rows(wd).await?;
    if rows.is_empty() || rows.iter().any(|r| r[2] != level) {
        return Err(format!("the {level} filter shows {rows:?}"));
    }
    let unfixed = rows.iter().find(|r| r[3] == "unfixed").cloned();
    let Some([advisory, package, _, _]) = unfixed else {
        return Err(format!("no unfixed {level} row: {rows:?}"));
    };
    let row_css = format!(
        "[data-testid=vuln-row][data-advisory={}][data-package={}]",
        css_str(&advisory),
        css_str(&package)
    );

    step("vulnerabilities: drawer", t0).await;
    wd.click(
        &wd.find(&format!("{row_css} [data-testid=vuln-advisory]"))
            .await?,
    )
    .await?;
    wd.wait_visible("[data-testid=vuln-drawer]").await?;
    let fix = wd
        .property(&wd.find("[data-testid=vuln-fix-command]").await?, "value")
        .await?;
    if fix != json!(format!("apt-get install --only-upgrade {package}")) {
        return Err(format!("the drawer's fix command reads {fix}"));
    }
    let versions = wd
        .text(&wd.find("[data-testid=vuln-versions]").await?)
        .await?;
    if !versions.contains(" → ") {
        return Err(format!("the drawer's versions read {versions:?}"));
    }
    wd.wait_text("[data-testid=vuln-ids]", "the advisory ids", |t| {
        t.contains(&advisory)
    })
    .await?;
    wd.click(
        &wd.find("[data-testid=vuln-drawer] [data-testid=vuln-verify]")
            .await?,
    )
    .await?;
    wd.wait_text(
        "[data-testid=vuln-verify-message]",
        "the rescan message",
        |t| t.starts_with("Rescan requested") && t.contains("refreshes in 5 s"),
    )
    .await?;
    wd.screenshot(&c.shots.join("vulns-drawer.png")).await?;

    step("vulnerabilities: ignore", t0).await;
    wd.click(&wd.find("[data-testid=vuln-ignore]").await?)
        .await?;
    wd.wait_visible("[data-testid=vuln-reason-dialog]").await?;
    wd.click(&wd.find("[data-testid=vuln-reason-submit]").await?)
        .await?;
    wd.wait_text(
        "[data-testid=vuln-reason-error]",
        "the server's refusal",
        |t| t.contains("needs a reason"),
    )
    .await?;
    wd.screenshot(&c.shots.join("vulns-ignore-refused.png"))
        .await?;
    if vuln_status(c, host_id, &package, &advisory).await? != "unfixed" {
        return Err("an ignore without a reason changed the status".into());
    }
    let reason = "not reachable: the service is not exposed here";
    fill_input(wd, "[data-testid=vuln-reason]", reason).await?;
    wd.click(&wd.find("[data-testid=vuln-reason-submit]").await?)
        .await?;
    wd.wait_visible("[data-testid=vuln-drawer][data-status=ignored]")
        .await?;
    wd.wait_text("[data-testid=vuln-reason-text]", "the reason", |t| {
        t == reason
    })
    .await?;
    wd.wait_text("[data-testid=vuln-handle-notice]", "the result", |t| {
        t.contains("is now ignored")
    })
    .await?;
    if vuln_status(c, host_id, &package, &advisory).await? != "ignored" {
        return Err("the API does not list the row as ignored".into());
    }
    wd.screenshot(&c.shots.join("vulns-ignored.png")).await?;

    step(
        "vulnerabilities: status ignored, undo from the batch bar",
        t0,
    )
    .await;
    wd.click(&wd.find("#drawer-close").await?).await?;
    wd.click(&wd.find("#vulns-status option[value=ignored]").await?)
        .await?;
    wait_vulns_loaded(wd, &format!("rows|ignored|{level}|")).await?;
    let rows = vuln_rows(wd).await?;
    if !rows.iter().any(|r| r[0] == advisory && r[1] == package)
        || rows.iter().any(|r| r[3] != "ignored")
    {
        return Err(format!("status ignored lists {rows:?}"));
    }
    wd.click(
        &wd.find(&format!("{row_css} [data-testid=vuln-check]"))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=vulns-batch-count]", "one selected", |t| {
        t == "1 selected"
    })
    .await?;
    wd.click(&wd.find("[data-testid=vulns-batch-unignore]").await?)
        .await?;
    wd.wait_text("[data-testid=vuln-handle-notice]", "the undo", |t| {
        t.contains("is now unfixed")
    })
    .await?;
    wd.wait_js(
        "the row gone from the ignored list",
        "return !document.querySelector(arguments[0]);",
        json!([row_css]),
        UI_TIMEOUT,
    )
    .await?;
    if vuln_status(c, host_id, &package, &advisory).await? != "unfixed" {
        return Err("the undone ignore is not unfixed in the API".into());
    }

    step("vulnerabilities: by advisory", t0).await;
    wd.click(&wd.find("#vulns-status option[value=unfixed]").await?)
        .await?;
    wait_vulns_loaded(wd, &format!("rows|unfixed|{level}|")).await?;
    wd.click(&wd.find("[data-testid=vulns-view-advisory]").await?)
        .await?;
    wait_vulns_loaded(wd, &format!("advisory|unfixed|{level}|")).await?;
    let group = format!(
        "[data-testid=vuln-group-row][data-key={}]",
        css_str(&advisory)
    );
    wd.click(
        &wd.find(&format!("{group} [data-testid=vuln-group-key]"))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=vuln-hosts]", "the affected host", |t| {
        t.contains(&c.hostname)
    })
    .await?;
    wd.screenshot(&c.shots.join("vulns-by-advisory.png"))
        .await?;
    wd.click(&wd.find("#drawer-close").await?).await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the Vulnerabilities page raised the banner: {b:?}"));
    }
    Ok(())
}

/// Waits up to `timeout` for `child` to exit.
async fn wait_exit(child: &mut Child, timeout: Duration) -> WdResult<std::process::ExitStatus> {
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

/// A host action end to end, from the alert drawer, on the `fakesvc` process: Kill and
/// quarantine (two clicks), the drawer following the alert from in progress to handled with the
/// agent's message; the Quarantine box listing the file; a restore refused because a file
/// reappeared at the path (the agent's exact error), then Restore and overwrite; the file back
/// byte for byte; the host's Commands tab.
async fn host_actions(c: &Ctx<'_>, t0: Instant, host_id: &str, fake: &mut FakeSvc) -> WdResult<()> {
    let wd = c.wd;
    let pid = fake.child.id();
    let path = fake.path.to_string_lossy().to_string();
    // Host actions wait for the agent's next heartbeat (every 2 s here).
    let host_wait = Duration::from_secs(60);

    step("waiting for the fakesvc alert", t0).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let list = api_get(c, "/api/v1/alerts?kind=suspicious_port&limit=1000").await?;
        let found = list["alerts"].as_array().and_then(|a| {
            a.iter().find(|a| {
                a["host_id"] == json!(host_id)
                    && a["evidence"].as_array().is_some_and(|ev| {
                        ev.iter().any(|e| {
                            e["name"] == json!("pid") && e["value"] == json!(pid.to_string())
                        })
                    })
            })
        });
        if let Some(a) = found {
            if a["status"] != json!("unhandled") {
                return Err(format!("the fakesvc alert is not unhandled: {a}"));
            }
            break a["id"].as_i64().ok_or("alert without an id")?;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no suspicious_port alert names pid {pid} after 60 s; alerts: {list}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("[console_browser] fakesvc (pid {pid}) raised alert {id}");

    // --- the drawer offers the actions the evidence allows: a pid, no file path
    step("alert drawer: kill and quarantine", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    let row_css =
        format!("[data-testid=alerts-table] tr[data-testid=alert-row][data-alert-id='{id}']");
    wd.wait_visible(&row_css).await?;
    open_alert(wd, &row_css, id).await?;
    wd.wait_text(
        "[data-testid=host-action-target]",
        "the process to act on",
        |t| t.contains("fakesvc") && t.contains(&format!("pid {pid}")),
    )
    .await?;
    wd.find("[data-testid=handle-kill_process]").await?;
    if wd.find("[data-testid=handle-quarantine]").await.is_ok() {
        return Err("Quarantine file is offered for an alert that names no file".into());
    }
    if wd.find("[data-testid=handle-block_ip]").await.is_ok() {
        return Err("Block source IP is offered for an alert that names no source IP".into());
    }
    let kq = "[data-testid=handle-kill_and_quarantine]";
    wd.click(&wd.find(kq).await?).await?;
    wd.wait_text(kq, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    // One click sends nothing.
    if alert_status(c, id).await? != "unhandled" || !matches!(fake.child.try_wait(), Ok(None)) {
        return Err("the first click of Kill and quarantine already acted".into());
    }
    wd.click(&wd.find(kq).await?).await?;
    // Queued: the drawer shows the alert in progress and the server's message.
    wd.wait_text("[data-testid=alert-status]", "in progress", |t| {
        t.eq_ignore_ascii_case("in progress")
    })
    .await?;
    wd.wait_visible("[data-testid=host-action-progress]")
        .await?;
    let queued = wd
        .wait_text("[data-testid=handle-result]", "the queued command", |t| {
            t.contains("queued as command")
        })
        .await?;
    if !queued.contains(host_id) {
        return Err(format!(
            "the queued message does not name the host: {queued:?}"
        ));
    }
    // The agent runs it at its next heartbeat; the drawer polls the alert until it is handled.
    wd.wait_js(
        "the drawer to show the alert handled by the agent",
        "return document.getElementById('drawer').dataset.status === 'handled'
             && !!document.querySelector('[data-testid=host-action-outcome][data-outcome=handled]');",
        json!([]),
        host_wait,
    )
    .await?;
    let outcome = wd
        .text(&wd.find("[data-testid=host-action-outcome]").await?)
        .await?;
    for needle in [
        format!("process {pid}: killed"),
        format!("{path} quarantined as "),
    ] {
        if !outcome.contains(&needle) {
            return Err(format!("the outcome lacks {needle:?}: {outcome:?}"));
        }
    }
    let status = wd
        .text(&wd.find("[data-testid=alert-status]").await?)
        .await?;
    if !status.eq_ignore_ascii_case("handled") {
        return Err(format!(
            "after the action the status badge reads {status:?}"
        ));
    }
    if wd.find(kq).await.is_ok() {
        return Err("a handled alert still offers Kill and quarantine".into());
    }
    wd.screenshot(&c.shots.join("alert-kill.png")).await?;

    // --- on the host: the process exited (killed), its executable left its path
    let exit = wait_exit(&mut fake.child, Duration::from_secs(10)).await?;
    if exit.signal() != Some(9) {
        return Err(format!("fakesvc ended with {exit:?}, not SIGKILL"));
    }
    if fake.path.exists() {
        return Err(format!("{path} is still there after Kill and quarantine"));
    }
    let a = api_get(c, &format!("/api/v1/alerts/{id}")).await?;
    if a["status"] != json!("handled") || !a["note"].as_str().is_some_and(|n| n.contains("killed"))
    {
        return Err(format!(
            "the API does not show the alert handled by the agent: {a}"
        ));
    }

    // --- the Quarantine box lists the file under its original path
    step("quarantine box", t0).await;
    wd.click(&wd.find("#nav-quarantine").await?).await?;
    wd.wait_visible("[data-testid=quarantine-table]").await?;
    let qrow = format!(
        "[data-testid=quarantine-table] tr[data-testid=quarantine-row][data-path={}]",
        css_str(&path)
    );
    let row = wd.wait_visible(&qrow).await?;
    if wd.attribute(&row, "data-state").await?.as_deref() != Some("quarantined") {
        return Err("the quarantined file is not listed as quarantined".into());
    }
    let qid = wd.attribute(&row, "data-qid").await?.unwrap_or_default();
    let text = wd.text(&row).await?;
    for needle in [c.hostname.as_str(), path.as_str(), "in 30 days", "Restore"] {
        if !text.contains(needle) {
            return Err(format!("the quarantine row lacks {needle:?}: {text:?}"));
        }
    }
    let sha = hex::encode(Sha256::digest(&fake.bytes));
    let hash_title = wd
        .attribute(
            &wd.find(&format!("{qrow} [data-testid=q-hash]")).await?,
            "title",
        )
        .await?
        .unwrap_or_default();
    if !hash_title.contains(&sha) || !hash_title.contains("MD5 ") {
        return Err(format!(
            "the hash cell's tooltip {hash_title:?} lacks SHA-256 {sha} or the MD5"
        ));
    }

    // --- a file reappeared at the path: the restore is refused with the agent's words
    step("quarantine box: restore refused, then overwrite", t0).await;
    std::fs::write(&fake.path, b"decoy").map_err(|e| format!("writing the decoy: {e}"))?;
    let restore = format!("{qrow} button[data-testid=restore]");
    wd.click(&wd.find(&restore).await?).await?;
    wd.wait_text(&restore, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&restore).await?).await?;
    let notice = format!("[data-testid=restore-notice][data-qid={}]", css_str(&qid));
    let state_is = "const n = document.querySelector(arguments[0]); return !!n && n.dataset.state === arguments[1];";
    wd.wait_js(
        "the restore to fail",
        state_is,
        json!([notice, "failed"]),
        host_wait,
    )
    .await?;
    let err = wd
        .text(
            &wd.find(&format!("{notice} [data-testid=restore-error]"))
                .await?,
        )
        .await?;
    if !err.contains(&format!(
        "cannot restore {path}: a file exists at that path again"
    )) {
        return Err(format!("the failed restore says {err:?}"));
    }
    if std::fs::read(&fake.path).ok().as_deref() != Some(b"decoy".as_slice()) {
        return Err("the refused restore touched the file at the path".into());
    }
    wd.screenshot(&c.shots.join("quarantine-refused.png"))
        .await?;
    let overwrite = format!("{notice} button[data-testid=restore-overwrite]");
    wd.click(&wd.find(&overwrite).await?).await?;
    wd.wait_text(&overwrite, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&overwrite).await?).await?;
    wd.wait_js(
        "the restore to succeed",
        state_is,
        json!([notice, "succeeded"]),
        host_wait,
    )
    .await?;
    let ok = wd.text(&wd.find(&notice).await?).await?;
    if !ok.contains(&format!("{path} restored")) {
        return Err(format!("the restore notice reads {ok:?}"));
    }
    wd.wait_js(
        "the file listed as restored",
        "const r = document.querySelector(arguments[0]); return !!r && r.dataset.state === 'restored';",
        json!([qrow]),
        UI_TIMEOUT,
    )
    .await?;
    wd.wait_text(&format!("{qrow} [data-testid=q-state]"), "restored", |t| {
        t.eq_ignore_ascii_case("restored")
    })
    .await?;
    if wd.find(&restore).await.is_ok() {
        return Err("a restored file still offers Restore".into());
    }
    let back = std::fs::read(&fake.path).map_err(|e| format!("reading {path}: {e}"))?;
    if back != fake.bytes {
        return Err(format!(
            "{path} is back but differs from the copy ({} bytes, {} expected)",
            back.len(),
            fake.bytes.len()
        ));
    }
    wd.screenshot(&c.shots.join("quarantine.png")).await?;

    // --- the host's Commands tab: the three commands and what the agent said
    step("host commands tab", t0).await;
    wd.exec(
        "location.hash = arguments[0];",
        json!([format!("#/hosts/{host_id}?tab=commands")]),
    )
    .await?;
    wd.wait_visible("[data-testid=table-commands]").await?;
    let rows = wd
        .wait_js(
            "the three commands in the Commands tab",
            "const rows = [...document.querySelectorAll('tr[data-testid=command-row]')]
                 .map(tr => [tr.dataset.action, tr.dataset.state, tr.textContent]);
             const has = (a, s) => rows.some(r => r[0] === a && r[1] === s);
             return has('kill_and_quarantine', 'succeeded') && has('restore_file', 'failed')
                 && has('restore_file', 'succeeded') ? rows : null;",
            json!([]),
            UI_TIMEOUT,
        )
        .await?;
    let failed = rows
        .as_array()
        .and_then(|r| {
            r.iter()
                .find(|r| r[0] == "restore_file" && r[1] == "failed")
        })
        .and_then(|r| r[2].as_str())
        .unwrap_or_default()
        .to_string();
    for needle in [path.as_str(), "a file exists at that path again", "admin"] {
        if !failed.contains(needle) {
            return Err(format!(
                "the failed restore's row lacks {needle:?}: {failed:?}"
            ));
        }
    }
    wd.screenshot(&c.shots.join("host-commands.png")).await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("host actions left an error banner: {b:?}"));
    }
    Ok(())
}

/// The ids of the alert rows on show, top to bottom.
async fn alert_row_ids(wd: &WebDriver) -> WdResult<Vec<i64>> {
    let v = wd
        .exec(
            "return [...document.querySelectorAll('[data-testid=alerts-table] tr[data-testid=alert-row]')]
                 .map(tr => Number(tr.dataset.alertId));",
            json!([]),
        )
        .await?;
    Ok(v.as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default())
}

/// Waits until the alerts panel says (`dataset[key]`) it holds the rows for `loaded` and the URL
/// carries `param=in_url` (an empty `in_url`: no such parameter).
async fn wait_alerts_loaded(
    wd: &WebDriver,
    key: &str,
    loaded: &str,
    param: &str,
    in_url: &str,
) -> WdResult<()> {
    wd.wait_js(
        &format!("the alerts list loaded for {key} {loaded:?} with {param}={in_url:?} in the URL"),
        "const p = document.querySelector('[data-testid=alerts-panel]');
         const q = new URLSearchParams(location.hash.split('?')[1] || '');
         return !!p && p.dataset[arguments[0]] === arguments[1] && (q.get(arguments[2]) || '') === arguments[3];",
        json!([key, loaded, param, in_url]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// Sets a date input the way a picked date does: its value, then `change`.
async fn pick_date(wd: &WebDriver, css: &str, date: &str) -> WdResult<()> {
    wd.exec(
        "const d = document.querySelector(arguments[0]);
         d.value = arguments[1];
         d.dispatchEvent(new Event('input', { bubbles: true }));
         d.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([css, date]),
    )
    .await
    .map(|_| ())
}

/// The alert list's search box, time filter and sort, each kept in the URL: every status
/// listed, then the port alert's name typed in the search box leaves that one row (the server
/// searches, after a pause in typing); the last 24 hours keep it; a custom range of days long
/// past leaves none; any time brings it back; sorting by level keeps the search.
async fn alert_filters(c: &Ctx<'_>, t0: Instant, lport: u16, port_alert: i64) -> WdResult<()> {
    let wd = c.wd;
    step("alerts: search box", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    filter_status(wd, "all").await?;
    let row_css = format!(
        "[data-testid=alerts-table] tr[data-testid=alert-row][data-alert-id='{port_alert}']"
    );
    wd.wait_visible(&row_css).await?;
    let before = alert_row_ids(wd).await?;
    // The port alert and the fakesvc alert at least.
    if before.len() < 2 {
        return Err(format!(
            "all statuses list {before:?}: not enough alerts to see a search narrow them"
        ));
    }
    let want = format!("port {lport} listening on all interfaces");
    let search = wd.find("[data-testid=alerts-search]").await?;
    wd.click(&search).await?;
    wd.send_keys(&search, &want).await?;
    wait_alerts_loaded(wd, "loadedQ", &want, "q", &want).await?;
    let after = alert_row_ids(wd).await?;
    if after != vec![port_alert] {
        return Err(format!(
            "searching {want:?} lists alerts {after:?} (before: {before:?}), wanted only {port_alert}"
        ));
    }
    // Rebuilt for the new URL, the page kept the search box focused with the text typed.
    let kept = wd
        .exec(
            "const s = document.getElementById('alerts-search');
             return [s.value, document.activeElement === s, new URLSearchParams(location.hash.split('?')[1]).get('status')];",
            json!([]),
        )
        .await?;
    if kept != json!([want, true, "all"]) {
        return Err(format!(
            "after the search the box, its focus and the status read {kept}"
        ));
    }
    wd.screenshot(&c.shots.join("alerts-search.png")).await?;

    step("alerts: time filter", t0).await;
    wd.click(&wd.find("#alerts-time option[value='24h']").await?)
        .await?;
    wait_alerts_loaded(wd, "loadedTime", "24h", "time", "24h").await?;
    wait_alerts_loaded(wd, "loadedQ", &want, "q", &want).await?;
    if alert_row_ids(wd).await? != vec![port_alert] {
        return Err("the last 24 hours do not list the port alert raised minutes ago".into());
    }
    // A custom range: two days in January 2001, long before any alert here.
    wd.click(&wd.find("#alerts-time option[value=custom]").await?)
        .await?;
    wait_alerts_loaded(wd, "loadedTime", "custom::", "time", "custom").await?;
    wd.wait_visible("[data-testid=alerts-since]").await?;
    pick_date(wd, "[data-testid=alerts-since]", "2001-01-01").await?;
    wd.wait_js(
        "the custom start in the URL",
        "return new URLSearchParams(location.hash.split('?')[1]).get('since') === '2001-01-01'
             && document.querySelector('[data-testid=alerts-panel]').dataset.loadedTime === 'custom:2001-01-01:';",
        json!([]),
        UI_TIMEOUT,
    )
    .await?;
    pick_date(wd, "[data-testid=alerts-until]", "2001-01-02").await?;
    wd.wait_js(
        "the custom range loaded",
        "const q = new URLSearchParams(location.hash.split('?')[1]);
         return q.get('since') === '2001-01-01' && q.get('until') === '2001-01-02' && q.get('time') === 'custom'
             && q.get('q') === arguments[0]
             && document.querySelector('[data-testid=alerts-panel]').dataset.loadedTime === 'custom:2001-01-01:2001-01-02';",
        json!([want]),
        UI_TIMEOUT,
    )
    .await?;
    let left = alert_row_ids(wd).await?;
    if !left.is_empty() {
        return Err(format!("January 2001 lists alerts {left:?}"));
    }
    wd.wait_text("[data-testid=alerts-table] tbody", "no alert", |t| {
        t.contains("No alert matches")
    })
    .await?;
    wd.wait_text("[data-testid=alerts-pager]", "0 of 0", |t| {
        t.contains("of 0")
    })
    .await?;
    wd.screenshot(&c.shots.join("alerts-time-filter.png"))
        .await?;
    // Any time again: the range leaves the URL, the search stays.
    wd.click(&wd.find("#alerts-time option[value='']").await?)
        .await?;
    wait_alerts_loaded(wd, "loadedTime", "", "time", "").await?;
    let q = wd
        .exec(
            "const q = new URLSearchParams(location.hash.split('?')[1]); return [q.get('since'), q.get('until'), q.get('q')];",
            json!([]),
        )
        .await?;
    if q != json!([null, null, want]) {
        return Err(format!("back to any time, the URL keeps {q}"));
    }
    if alert_row_ids(wd).await? != vec![port_alert] {
        return Err("back to any time, the port alert is not listed".into());
    }

    step("alerts: sort", t0).await;
    wd.click(&wd.find("#alerts-sort option[value=level]").await?)
        .await?;
    wait_alerts_loaded(wd, "loadedSort", "level", "sort", "level").await?;
    if alert_row_ids(wd).await? != vec![port_alert] {
        return Err("sorting by level lost the search".into());
    }
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the alert filters raised the banner: {b:?}"));
    }
    Ok(())
}

/// What the stand-in nft was asked so far.
fn nft_log(c: &Ctx<'_>) -> String {
    std::fs::read_to_string(&c.nft_log).unwrap_or_default()
}

/// The IP policy page: a bad address refused with the server's message in the form (the input
/// kept); the documentation address 192.0.2.44 blocked on this host for an hour, its row active
/// and the block pending, then applied by the agent (through the stand-in nft); disabled in two
/// clicks, its row disabled and the block removed from the host.
async fn ip_policy(c: &Ctx<'_>, t0: Instant, host_id: &str) -> WdResult<()> {
    let wd = c.wd;
    let host_wait = Duration::from_secs(60);
    step("IP policy: a bad address", t0).await;
    wd.click(&wd.find("#nav-ip-policy").await?).await?;
    wd.wait_visible("[data-testid=ip-rules-table]").await?;
    wd.wait_visible("#ip-form").await?;
    fill_input(wd, "#ip-target", "192.0.2.300").await?;
    wd.click(&wd.find("#ip-block").await?).await?;
    let msg = wd
        .wait_text("[data-testid=ip-form-error]", "the server's refusal", |t| {
            t.contains("192.0.2.300")
        })
        .await?;
    if !msg.contains("not an IP address") {
        return Err(format!("the refused address reads {msg:?}"));
    }
    let kept = wd.property(&wd.find("#ip-target").await?, "value").await?;
    if kept != json!("192.0.2.300") {
        return Err(format!("the refused address left {kept} in the form"));
    }
    if api_get(c, "/api/v1/ip-rules").await?["rules"]
        .as_array()
        .is_some_and(|r| !r.is_empty())
    {
        return Err("the refused address made a rule".into());
    }
    wd.screenshot(&c.shots.join("ip-policy-refused.png"))
        .await?;

    step("IP policy: block 192.0.2.44 on this host for 1 h", t0).await;
    fill_input(wd, "#ip-target", "192.0.2.44").await?;
    wd.click(&wd.find("#ip-scope option[value=some]").await?)
        .await?;
    wd.wait_visible("#ip-hosts").await?;
    wd.click(
        &wd.find(&format!("#ip-hosts option[value={}]", css_str(host_id)))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=ip-hosts-note]", "one host chosen", |t| {
        t.starts_with("1 host chosen")
    })
    .await?;
    wd.click(&wd.find("#ip-duration option[value='1h']").await?)
        .await?;
    fill_input(
        wd,
        "#ip-reason",
        "console test <b>documentation address</b>",
    )
    .await?;
    wd.click(&wd.find("#ip-block").await?).await?;
    let added = wd
        .wait_text("[data-testid=ip-rule-added]", "the rule added", |t| {
            t.contains("192.0.2.44 blocked inbound on 1 host, for 1 hour")
        })
        .await?;
    if wd
        .exec(
            "return document.querySelector('[data-testid=ip-form-error]').hidden;",
            json!([]),
        )
        .await?
        != json!(true)
    {
        return Err("the form still shows the earlier error".into());
    }
    let row_css = "tr[data-testid=ip-rule-row][data-target='192.0.2.44/32']";
    let row = wd.wait_visible(row_css).await?;
    let rule_id = wd
        .attribute(&row, "data-rule-id")
        .await?
        .unwrap_or_default();
    eprintln!("[console_browser] {added}");
    wd.wait_text(
        &format!("{row_css} [data-testid=ip-status]"),
        "active",
        |t| t.eq_ignore_ascii_case("active"),
    )
    .await?;
    let summary = wd
        .wait_text(
            &format!("{row_css} [data-testid=ip-host-summary]"),
            "the block pending or applied on the host",
            |t| t == "pending on 1" || t == "applied on 1",
        )
        .await?;
    eprintln!("[console_browser] IP rule {rule_id} first shows {summary:?}");
    let text = wd.text(&row).await?;
    for needle in [
        "192.0.2.44",
        "inbound",
        c.hostname.as_str(),
        "custom",
        "console test <b>documentation address</b>",
        "by admin",
    ] {
        // Badges are capitalized by the style sheet.
        if !text.to_lowercase().contains(&needle.to_lowercase()) {
            return Err(format!("the rule's row lacks {needle:?}: {text:?}"));
        }
    }
    if text.contains("permanent") {
        return Err(format!("a 1 h block reads permanent: {text:?}"));
    }
    let rules = api_get(c, "/api/v1/ip-rules").await?;
    let rule = rules["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["id"].to_string().as_str() == rule_id))
        .ok_or_else(|| format!("the API does not list rule {rule_id}: {rules}"))?;
    let lasts = rule["expires_at"].as_i64().unwrap_or(0) - rule["created_at"].as_i64().unwrap_or(0);
    if rule["hosts"] != json!([host_id]) || rule["direction"] != json!("in") || lasts != 3600 {
        return Err(format!("the API holds the rule as {rule}"));
    }

    // The agent applies it at its next check-in (every 2 s here), through the stand-in nft.
    step("IP policy: applied by the agent", t0).await;
    wd.wait_js(
        "the block applied on this host",
        "return !!document.querySelector(arguments[0] + ' [data-testid=ip-host-state][data-state=applied]');",
        json!([row_css]),
        host_wait,
    )
    .await?;
    wd.click(
        &wd.find(&format!("{row_css} [data-testid=ip-host-summary]"))
            .await?,
    )
    .await?;
    let applied = wd
        .wait_text(
            &format!("{row_css} [data-testid=ip-host-state] [data-testid=ip-host-message]"),
            "the agent's message",
            |t| t.contains("blocked (in)"),
        )
        .await?;
    eprintln!("[console_browser] the agent reports: {applied}");
    let log = nft_log(c);
    if !log.contains("add element inet vigil in4 { 192.0.2.44/32 timeout ") {
        return Err(format!(
            "the stand-in nft was not asked to block 192.0.2.44: {log:?}"
        ));
    }
    wd.screenshot(&c.shots.join("ip-policy.png")).await?;

    step("IP policy: disable", t0).await;
    let disable = format!("{row_css} button[data-testid=ip-disable]");
    wd.click(&wd.find(&disable).await?).await?;
    wd.wait_text(&disable, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    if api_get(c, "/api/v1/ip-rules?status=active").await?["rules"]
        .as_array()
        .is_none_or(|r| r.is_empty())
    {
        return Err("the first click of Disable already disabled the rule".into());
    }
    wd.click(&wd.find(&disable).await?).await?;
    wd.wait_text("[data-testid=ip-rule-disabled]", "the rule disabled", |t| {
        t.contains("(192.0.2.44) disabled")
    })
    .await?;
    wd.wait_js(
        "the rule's row disabled",
        "const r = document.querySelector(arguments[0]); return !!r && r.dataset.status === 'disabled';",
        json!([row_css]),
        UI_TIMEOUT,
    )
    .await?;
    wd.wait_text(
        &format!("{row_css} [data-testid=ip-status]"),
        "disabled",
        |t| t.eq_ignore_ascii_case("disabled"),
    )
    .await?;
    if wd.find(&disable).await.is_ok() {
        return Err("a disabled rule still offers Disable".into());
    }
    // The agent removes the block at its next check-in; the page follows it.
    wd.wait_js(
        "the block removed from this host",
        "return !!document.querySelector(arguments[0] + ' [data-testid=ip-host-state][data-state=removed]');",
        json!([row_css]),
        host_wait,
    )
    .await?;
    let log = nft_log(c);
    let unblock = "delete element inet vigil in4 { 192.0.2.44/32 }";
    // The block itself deletes and re-adds the element (to reset its timeout): the unblock is one more.
    if log.matches(unblock).count() < 2 {
        return Err(format!(
            "the stand-in nft was not asked to unblock 192.0.2.44: {log:?}"
        ));
    }
    let rules = api_get(c, "/api/v1/ip-rules?status=disabled").await?;
    if !rules["rules"].as_array().is_some_and(|r| {
        r.iter()
            .any(|r| r["id"].to_string().as_str() == rule_id && r["ended_by"] == json!("admin"))
    }) {
        return Err(format!(
            "the API does not list rule {rule_id} disabled by admin: {rules}"
        ));
    }
    // The status filter: not among the active rules, among the disabled ones.
    wd.click(&wd.find("[data-testid=ip-status-filter-active]").await?)
        .await?;
    wd.wait_text(
        "[data-testid=ip-rules-table] tbody",
        "no active rule",
        |t| t.contains("No active IP rule"),
    )
    .await?;
    wd.click(&wd.find("[data-testid=ip-status-filter-disabled]").await?)
        .await?;
    wd.wait_visible(row_css).await?;
    wd.screenshot(&c.shots.join("ip-policy-disabled.png"))
        .await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the IP policy page raised the banner: {b:?}"));
    }
    Ok(())
}

/// Installs a stand-in for `fetch` in the page that answers `/api/v1/attacks` with `data`
/// (its `days` filtered on the `host` query parameter, as the server does) and passes every
/// other call through. The test cannot raise failed logins on this machine: the local agent
/// reads the machine's own login logs, which the test must not write to. The real API's answer
/// is checked first; this checks how the page draws a known one.
async fn stub_attacks(wd: &WebDriver, data: Value) -> WdResult<()> {
    wd.exec(
        "const data = arguments[0];
         if (!window.__vigilFetch) window.__vigilFetch = window.fetch;
         const real = window.__vigilFetch;
         window.__attackQueries = [];
         window.fetch = (url, init) => {
           const u = String(url);
           if (!u.startsWith('/api/v1/attacks')) return real(url, init);
           window.__attackQueries.push(u);
           const host = new URLSearchParams(u.split('?')[1] || '').get('host');
           const body = { ...data, days: data.days.filter((d) => !host || d.host_id === host) };
           return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }));
         };
         return true;",
        json!([data]),
    )
    .await
    .map(|_| ())
}

/// Takes the stand-in `fetch` away again.
async fn unstub_fetch(wd: &WebDriver) -> WdResult<()> {
    wd.exec(
        "if (window.__vigilFetch) { window.fetch = window.__vigilFetch; delete window.__vigilFetch; } return true;",
        json!([]),
    )
    .await
    .map(|_| ())
}

/// The text of the value in the totals card `testid`.
async fn stat_value(wd: &WebDriver, testid: &str) -> WdResult<String> {
    let el = wd
        .find(&format!("[data-testid={testid}] .stat-value"))
        .await?;
    Ok(wd.text(&el).await?.trim().to_string())
}

/// Waits until the attack chart shows `days` days for `host` ("" for all hosts), loaded.
async fn wait_attacks(wd: &WebDriver, days: u32, host: &str, empty: bool) -> WdResult<()> {
    wd.wait_js(
        &format!("the attack analysis of {days} days (host {host:?}, empty: {empty})"),
        "const c = document.querySelector('[data-testid=attacks-chart]');
         return !!c && c.dataset.days === arguments[0] && c.dataset.host === arguments[1]
           && c.dataset.empty === (arguments[2] ? '1' : '')
           && (arguments[2] || document.querySelectorAll('[data-testid=attack-day]').length === Number(arguments[0]));",
        json!([days.to_string(), host, empty]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// The Attack analysis page. First what the server really has (on this machine, most likely
/// nothing: the empty state, the chart's box and zero totals); the range selector in the URL.
/// Then a known answer (see [`stub_attacks`]): one column per day with its tooltip, bars in
/// proportion, the days with automatic blocks marked, the totals, the by-host and top-source
/// tables, the host selector; and a source's Block… link filling in the IP policy form.
async fn attack_analysis(c: &Ctx<'_>, t0: Instant, host_id: &str) -> WdResult<()> {
    let wd = c.wd;
    step("attacks: what the server has", t0).await;
    wd.click(&wd.find("#nav-attacks").await?).await?;
    let real = api_get(c, "/api/v1/attacks?days=30").await?;
    let rows = real["days"].as_array().cloned().unwrap_or_default();
    let sum = |k: &str| rows.iter().map(|d| d[k].as_i64().unwrap_or(0)).sum::<i64>();
    let (failures, blocks) = (sum("failures"), sum("blocks"));
    let empty = failures == 0 && blocks == 0;
    wait_attacks(wd, 30, "", empty).await?;
    if empty {
        let t = wd
            .text(&wd.find("[data-testid=attacks-empty]").await?)
            .await?;
        if !t.contains("No failed logins and no automatic blocks in the last 30 days") {
            return Err(format!("the empty attack analysis reads {t:?}"));
        }
        wd.wait_text(
            "[data-testid=attacks-sources-table] tbody",
            "no source",
            |t| t.contains("No failed login in this range"),
        )
        .await?;
    } else {
        eprintln!("note: this machine has {failures} failed logins in 30 days: checking the chart, not the empty state");
    }
    let shown = stat_value(wd, "attacks-total-failures").await?;
    if shown != failures.to_string()
        || stat_value(wd, "attacks-total-blocks").await? != blocks.to_string()
    {
        return Err(format!(
            "the totals read {shown} failed logins, the API counts {failures} failed logins and {blocks} blocks"
        ));
    }
    wd.screenshot(&c.shots.join("attacks-real.png")).await?;

    step("attacks: range", t0).await;
    wd.click(&wd.find("[data-testid=attacks-range-7]").await?)
        .await?;
    wd.wait_js(
        "the range in the URL",
        "return location.hash === '#/attacks?days=7';",
        json!([]),
        UI_TIMEOUT,
    )
    .await?;
    let real7 = api_get(c, "/api/v1/attacks?days=7").await?;
    let empty7 = real7["days"].as_array().is_none_or(|d| {
        d.iter()
            .all(|r| r["failures"].as_i64() == Some(0) && r["blocks"].as_i64() == Some(0))
    });
    wait_attacks(wd, 7, "", empty7).await?;

    // A known answer: 60 failed logins over three of the seven days, on this host and another.
    step("attacks: the chart of a known answer", t0).await;
    let since = real7["since"]
        .as_i64()
        .ok_or_else(|| format!("the attack analysis has no since: {real7}"))?;
    let day = |i: i64| since + i * 86_400;
    let other = "h-elsewhere";
    stub_attacks(
        wd,
        json!({
            "since": since,
            "days": [
                { "day": day(0), "host_id": host_id, "failures": 5, "sources": 2, "blocks": 0 },
                { "day": day(2), "host_id": host_id, "failures": 40, "sources": 3, "blocks": 1 },
                { "day": day(2), "host_id": other, "failures": 12, "sources": 1, "blocks": 0 },
                { "day": day(6), "host_id": host_id, "failures": 3, "sources": 1, "blocks": 2 },
            ],
            "top_sources": [
                { "source": "198.51.100.23", "failures": 41 },
                { "source": "203.0.113.9", "failures": 19 },
            ],
        }),
    )
    .await?;
    wd.click(&wd.find("[data-testid=attacks-refresh]").await?)
        .await?;
    wait_attacks(wd, 7, "", false).await?;
    let cols = wd
        .exec(
            "return [...document.querySelectorAll('[data-testid=attack-day]')].map((g) => ({
               day: Number(g.dataset.day), failures: Number(g.dataset.failures), blocks: Number(g.dataset.blocks),
               title: g.querySelector('title').textContent,
               height: Number(g.querySelector('[data-testid=attack-bar]').getAttribute('height')),
               mark: !!g.querySelector('[data-testid=attack-block-mark]'),
             }));",
            json!([]),
        )
        .await?;
    let cols = cols.as_array().cloned().unwrap_or_default();
    let col = |i: usize, k: &str| cols[i][k].clone();
    let want = [(5, 0), (0, 0), (52, 1), (0, 0), (0, 0), (0, 0), (3, 2)];
    for (i, (f, b)) in want.iter().enumerate() {
        if col(i, "day") != json!(day(i as i64))
            || col(i, "failures") != json!(f)
            || col(i, "blocks") != json!(b)
            || col(i, "mark") != json!(*b > 0)
        {
            return Err(format!("day {i} of the chart reads {}", cols[i]));
        }
    }
    let title = col(2, "title").as_str().unwrap_or_default().to_string();
    if !title.contains("52 failed logins, 4 sources, 1 automatic block") {
        return Err(format!("the third day's tooltip reads {title:?}"));
    }
    let (h0, h2, h1) = (
        col(0, "height").as_f64().unwrap_or(0.0),
        col(2, "height").as_f64().unwrap_or(0.0),
        col(1, "height").as_f64().unwrap_or(-1.0),
    );
    // 52 against 5 (the axis tops at 60): about ten times as tall.
    if h1 != 0.0 || h0 <= 0.0 || !(8.0..12.0).contains(&(h2 / h0)) {
        return Err(format!(
            "the bars are not in proportion: {h0} for 5, {h2} for 52, {h1} for 0"
        ));
    }
    let labels = wd
        .exec(
            "return [...document.querySelectorAll('[data-testid=attack-x-label]')].map((t) => t.textContent)
               .concat(['|'], [...document.querySelectorAll('[data-testid=attack-y-label]')].map((t) => t.textContent));",
            json!([]),
        )
        .await?;
    let last_day = chrono_day(day(6));
    if !labels
        .to_string()
        .contains(&format!("\"{}\"", &last_day[5..]))
        || !labels.to_string().contains("\"60\"")
    {
        return Err(format!(
            "the axes are labelled {labels}, wanted today ({last_day}) and 60"
        ));
    }
    for (testid, want) in [
        ("attacks-total-failures", "60"),
        ("attacks-total-sources", "7"),
        ("attacks-total-blocks", "3"),
        ("attacks-total-days", "3"),
    ] {
        let got = stat_value(wd, testid).await?;
        if got != want {
            return Err(format!("{testid} reads {got:?}, wanted {want}"));
        }
    }
    wd.wait_cell("attacks-sources-table", 0, "198.51.100.23")
        .await?;
    wd.wait_cell("attacks-sources-table", 1, "41").await?;
    wd.wait_cell("attacks-hosts-table", 0, &c.hostname).await?;
    wd.wait_cell("attacks-hosts-table", 0, other).await?;
    // This host's row: 48 failed logins, 6 sources, 3 blocks, on 3 days.
    let row = wd
        .text(
            &wd.find(&format!(
                "tr[data-testid=attacks-host-row][data-host-id={}]",
                css_str(host_id)
            ))
            .await?,
        )
        .await?;
    if !row.contains("48") || !row.contains(&chrono_day(day(6))) {
        return Err(format!("this host's row reads {row:?}"));
    }
    wd.screenshot(&c.shots.join("attacks.png")).await?;

    step("attacks: one host", t0).await;
    wd.click(
        &wd.find(&format!("#attacks-host option[value={}]", css_str(host_id)))
            .await?,
    )
    .await?;
    wait_attacks(wd, 7, host_id, false).await?;
    if stat_value(wd, "attacks-total-failures").await? != "48" {
        return Err("with this host chosen the total is not its 48 failed logins".into());
    }
    let asked = wd
        .exec(
            "return window.__attackQueries[window.__attackQueries.length - 1];",
            json!([]),
        )
        .await?;
    if asked != json!(format!("/api/v1/attacks?days=7&host={host_id}")) {
        return Err(format!("the page asked the API for {asked}"));
    }

    step("attacks: Block… fills in the IP policy form", t0).await;
    wd.click(
        &wd.find("[data-testid=attacks-block-link][data-source='198.51.100.23']")
            .await?,
    )
    .await?;
    wd.wait_visible("[data-testid=ip-prefill-note]").await?;
    wd.wait_js(
        "the block form filled in for 198.51.100.23 on this host",
        "const o = document.querySelector(`#ip-hosts option[value='${arguments[0]}']`);
         return document.getElementById('ip-target').value === '198.51.100.23'
           && document.getElementById('ip-scope').value === 'some' && !!o && o.selected;",
        json!([host_id]),
        UI_TIMEOUT,
    )
    .await?;
    let reason = wd.property(&wd.find("#ip-reason").await?, "value").await?;
    if reason
        != json!(format!(
            "Attack analysis: 41 failed logins in 7 days on {}",
            c.hostname
        ))
    {
        return Err(format!("the block form's reason reads {reason}"));
    }
    if wd
        .exec(
            "return document.querySelector('.nav-link.active').dataset.nav;",
            json!([]),
        )
        .await?
        != json!("ip-policy")
    {
        return Err("the IP policy page is not the active one in the menu".into());
    }
    wd.screenshot(&c.shots.join("attacks-block-prefilled.png"))
        .await?;
    unstub_fetch(wd).await?;
    if api_get(c, "/api/v1/ip-rules?status=active").await?["rules"]
        .as_array()
        .is_some_and(|r| !r.is_empty())
    {
        return Err("following Block… blocked something before the form was sent".into());
    }
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the attack analysis raised the banner: {b:?}"));
    }
    Ok(())
}

/// Unix seconds → `YYYY-MM-DD` (UTC).
fn chrono_day(ts: i64) -> String {
    // Howard Hinnant's days-to-civil.
    let z = ts.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Reloads the page and waits until `ready` (a script) is true in the new one.
async fn reload(wd: &WebDriver, what: &str, ready: &str) -> WdResult<()> {
    wd.exec(
        "window.__vigilBeforeReload = true; setTimeout(() => location.reload(), 0); return true;",
        json!([]),
    )
    .await?;
    wd.wait_js(
        what,
        &format!("if (window.__vigilBeforeReload) return false; {ready}"),
        json!([]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// The value of form control `css`.
async fn value_of(wd: &WebDriver, css: &str) -> WdResult<String> {
    Ok(wd
        .property(&wd.find(css).await?, "value")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// The Login security page: the brute-force rule set to more than 10 failures with two access
/// whitelist entries, saved, kept across a reload and in the API; a bad network refused with
/// the server's message, the input kept and nothing saved; the abnormal-login policy refusing a
/// country name and keeping the approved location AU across a reload.
async fn login_security(c: &Ctx<'_>, t0: Instant) -> WdResult<()> {
    let wd = c.wd;
    let loaded = "return !!document.querySelector('#ls-form[data-loaded]') && !!document.querySelector('#lp-form[data-loaded]');";
    step("login security: brute-force rule", t0).await;
    wd.click(&wd.find("#nav-login-settings").await?).await?;
    wd.wait_js("the login security forms", loaded, json!([]), UI_TIMEOUT)
        .await?;
    let before = api_get(c, "/api/v1/login-settings").await?;
    let num = |v: String| v.parse::<i64>().ok();
    if num(value_of(wd, "#ls-max").await?) != before["max_failures"].as_i64()
        || num(value_of(wd, "#ls-span").await?) != before["span_mins"].as_i64()
    {
        return Err(format!("the form does not show the saved rule {before}"));
    }
    let options = wd
        .exec(
            "return [...document.querySelectorAll('#ls-max option')].map((o) => Number(o.value));",
            json!([]),
        )
        .await?;
    if options != json!([2, 3, 4, 5, 10, 50, 80, 100]) {
        return Err(format!("the failure limit offers {options}"));
    }
    wd.click(&wd.find("#ls-max option[value='10']").await?)
        .await?;
    fill_input(wd, "#ls-whitelist", "203.0.113.7\n198.51.100.0/24").await?;
    wd.wait_text("[data-testid=ls-rule-text]", "the rule in words", |t| {
        t.contains("more than 10 ")
    })
    .await?;
    wd.click(&wd.find("#ls-save").await?).await?;
    wd.wait_text("[data-testid=ls-saved]", "the settings saved", |t| {
        t.contains("Saved") && t.contains("2 whitelist entries")
    })
    .await?;
    let saved = api_get(c, "/api/v1/login-settings").await?;
    if saved["max_failures"] != json!(10)
        || saved["access_whitelist"] != json!(["203.0.113.7/32", "198.51.100.0/24"])
        || saved["span_mins"] != before["span_mins"]
        || saved["protocols"] != before["protocols"]
    {
        return Err(format!("the API holds the settings as {saved}"));
    }
    reload(wd, "the login security forms after a reload", loaded).await?;
    let (max, wl) = (
        value_of(wd, "#ls-max").await?,
        value_of(wd, "#ls-whitelist").await?,
    );
    if max != "10" || wl != "203.0.113.7\n198.51.100.0/24" {
        return Err(format!(
            "after a reload the form shows {max:?} failures and the whitelist {wl:?}"
        ));
    }

    step("login security: a bad whitelist entry", t0).await;
    let bad = "203.0.113.7\n198.51.100.0/24\n10.0.0.0/33";
    fill_input(wd, "#ls-whitelist", bad).await?;
    wd.click(&wd.find("#ls-save").await?).await?;
    let msg = wd
        .wait_text("[data-testid=ls-error]", "the server's refusal", |t| {
            t.contains("10.0.0.0/33")
        })
        .await?;
    if !msg.contains("invalid network") {
        return Err(format!("the refused whitelist reads {msg:?}"));
    }
    if value_of(wd, "#ls-whitelist").await? != bad || value_of(wd, "#ls-max").await? != "10" {
        return Err("the refused settings did not stay in the form".into());
    }
    let marked = wd
        .exec(
            "const t = document.getElementById('ls-whitelist');
             return t.classList.contains('invalid') && t.value.slice(t.selectionStart, t.selectionEnd);",
            json!([]),
        )
        .await?;
    if marked != json!("10.0.0.0/33") {
        return Err(format!(
            "the bad entry is not marked in the whitelist: {marked}"
        ));
    }
    if api_get(c, "/api/v1/login-settings").await? != saved {
        return Err("the refused settings changed what the API holds".into());
    }
    wd.screenshot(&c.shots.join("login-settings-refused.png"))
        .await?;

    step("login security: approved location AU", t0).await;
    if wd
        .text(&wd.find("[data-testid=lp-locations-state]").await?)
        .await?
        != "learned"
    {
        return Err("the locations do not start out learned".into());
    }
    fill_input(wd, "#lp-locations", "Australia").await?;
    wd.click(&wd.find("#lp-save").await?).await?;
    let msg = wd
        .wait_text("[data-testid=lp-error]", "the server's refusal", |t| {
            t.contains("Australia")
        })
        .await?;
    if !msg.contains("two-letter") {
        return Err(format!("the refused location reads {msg:?}"));
    }
    fill_input(wd, "#lp-locations", "AU").await?;
    wd.click(&wd.find("#lp-save").await?).await?;
    wd.wait_text("[data-testid=lp-saved]", "the policy saved", |t| {
        t.contains("approved locations configured")
    })
    .await?;
    if wd
        .exec(
            "return document.querySelector('[data-testid=lp-error]').hidden;",
            json!([]),
        )
        .await?
        != json!(true)
    {
        return Err("the policy form still shows the earlier error".into());
    }
    let policy = api_get(c, "/api/v1/login-policy").await?;
    if policy["locations"] != json!(["AU"])
        || !policy["ips"].is_null()
        || !policy["times"].is_null()
        || !policy["accounts"].is_null()
    {
        return Err(format!("the API holds the login policy as {policy}"));
    }
    reload(wd, "the login security forms after a reload", loaded).await?;
    let locs = value_of(wd, "#lp-locations").await?;
    let st = wd
        .text(&wd.find("[data-testid=lp-locations-state]").await?)
        .await?;
    if locs != "AU" || !st.starts_with("1 approved") {
        return Err(format!(
            "after a reload the approved locations read {locs:?} ({st:?})"
        ));
    }
    // The whitelist the refused save left behind is gone: the saved one shows.
    if value_of(wd, "#ls-whitelist").await? != "203.0.113.7\n198.51.100.0/24" {
        return Err("after a reload the whitelist is not the saved one".into());
    }
    wd.exec(
        "document.getElementById('lp-form').scrollIntoView({ block: 'end' }); return true;",
        json!([]),
    )
    .await?;
    wd.screenshot(&c.shots.join("login-settings.png")).await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the login security page raised the banner: {b:?}"));
    }
    Ok(())
}

/// Replaces the value of input `css` with `text`.
async fn fill_input(wd: &WebDriver, css: &str, text: &str) -> WdResult<()> {
    let el = wd.find(css).await?;
    wd.clear(&el).await?;
    if !text.is_empty() {
        wd.send_keys(&el, text).await?;
    }
    Ok(())
}

/// The channels the API lists.
async fn api_channels(c: &Ctx<'_>) -> WdResult<Vec<Value>> {
    let v = api_get(c, "/api/v1/notify/channels").await?;
    Ok(v["channels"].as_array().cloned().unwrap_or_default())
}

/// The Notifications page, before the scenario raises any alert: an inbox channel (every
/// level, any time, no limits) added through the form; an email channel with a bad recipient
/// refused with the server's message in the banner; an email channel for one alert type that
/// will fail to deliver (its SMTP server refuses connections); a webhook channel with a night
/// window whose secret URL is shown redacted, deleted in two clicks; SMTP settings saved with a
/// password that the page never shows.
async fn notifications_setup(c: &Ctx<'_>, t0: Instant) -> WdResult<()> {
    let wd = c.wd;
    step("notifications: inbox channel", t0).await;
    wd.click(&wd.find("#nav-notifications").await?).await?;
    wd.wait_visible("[data-testid=channels-table]").await?;
    wd.wait_text("[data-testid=channels-table-count]", "no channel", |t| {
        t.contains("0 rows")
    })
    .await?;
    // The settings have loaded once the time zone select has its options.
    wd.wait_js(
        "the time zone options",
        "return document.querySelectorAll('#ns-offset option').length > 10;",
        json!([]),
        UI_TIMEOUT,
    )
    .await?;
    fill_input(wd, "#ch-name", "console inbox").await?;
    if wd.property(&wd.find("#ch-type").await?, "value").await? != json!("inbox") {
        return Err("the channel type does not start at the console inbox".into());
    }
    for level in ["urgent", "suspicious", "reminder"] {
        let b = wd.find(&format!("[data-testid=ch-level-{level}]")).await?;
        if wd.property(&b, "checked").await? != json!(true) {
            return Err(format!("the {level} level is not ticked by default"));
        }
    }
    // No limit: other alerts of this host must not use up the one a day per host.
    fill_input(wd, "#ch-max-day", "0").await?;
    fill_input(wd, "#ch-max-host", "0").await?;
    wd.click(&wd.find("#ch-add").await?).await?;
    wd.wait_text("[data-testid=channel-added]", "the channel added", |t| {
        t.contains("(console inbox) added")
    })
    .await?;
    let inbox_row = "tr[data-testid=channel-row][data-name='console inbox']";
    let text = wd.text(&wd.wait_visible(inbox_row).await?).await?;
    let lower = text.to_lowercase();
    for needle in [
        "console inbox",
        "urgent",
        "suspicious",
        "reminder",
        "all types",
        "any time",
        "no limit in all",
        "no limit per host",
    ] {
        if !lower.contains(needle) {
            return Err(format!(
                "the inbox channel's row lacks {needle:?}: {text:?}"
            ));
        }
    }
    let chans = api_channels(c).await?;
    let cfg = &chans.first().ok_or("the API lists no channel")?["config"];
    if chans.len() != 1
        || cfg["kind"] != json!({"type": "inbox"})
        || cfg["levels"].as_array().map(Vec::len) != Some(3)
        || !cfg["kinds"].is_null()
        || !cfg["window"].is_null()
        || cfg["max_per_day"] != json!(0)
        || cfg["max_per_host_per_day"] != json!(0)
        || cfg["enabled"] != json!(true)
    {
        return Err(format!(
            "the API does not hold the inbox channel as set: {chans:?}"
        ));
    }

    // --- an email channel with a bad recipient: refused, the server's message in the banner
    step("notifications: refused and failing email channels", t0).await;
    fill_input(wd, "#ch-name", "bad mail").await?;
    wd.click(&wd.find("#ch-type option[value=email]").await?)
        .await?;
    wd.wait_visible("#ch-to").await?;
    fill_input(wd, "#ch-to", "not an address").await?;
    wd.click(&wd.find("#ch-add").await?).await?;
    let msg = wd
        .wait_text("#error-text", "the server's refusal", |t| {
            t.contains("not an email address")
        })
        .await?;
    if !msg.contains("Adding the channel") || !msg.contains("\"not an address\"") {
        return Err(format!("the refused channel's banner reads {msg:?}"));
    }
    if api_channels(c).await?.len() != 1 {
        return Err("the refused email channel was saved".into());
    }
    // A good recipient, suspicious ports only, default limits: its deliveries fail (below).
    wd.click(&wd.find("#error-close").await?).await?;
    fill_input(wd, "#ch-name", "ops mail").await?;
    fill_input(wd, "#ch-to", "Ops <ops@example.com>").await?;
    wd.click(&wd.find("#ch-kinds option[value=suspicious_port]").await?)
        .await?;
    wd.wait_text("[data-testid=ch-kinds-note]", "one type", |t| {
        t.starts_with("1 type selected")
    })
    .await?;
    wd.click(&wd.find("#ch-add").await?).await?;
    wd.wait_text("[data-testid=channel-added]", "the channel added", |t| {
        t.contains("(ops mail) added")
    })
    .await?;
    let text = wd
        .text(
            &wd.wait_visible("tr[data-testid=channel-row][data-name='ops mail']")
                .await?,
        )
        .await?;
    for needle in [
        "ops@example.com",
        "suspicious port",
        "5 in all",
        "1 per host",
    ] {
        if !text.to_lowercase().contains(needle) {
            return Err(format!(
                "the email channel's row lacks {needle:?}: {text:?}"
            ));
        }
    }

    // --- a webhook with a night window: its secret path is never shown; deleted in two clicks
    step("notifications: webhook channel", t0).await;
    fill_input(wd, "#ch-name", "chat hook").await?;
    wd.click(&wd.find("#ch-type option[value=webhook]").await?)
        .await?;
    wd.wait_visible("#ch-url").await?;
    fill_input(
        wd,
        "#ch-url",
        "https://hooks.example.com/services/T0/SECRET-TOKEN",
    )
    .await?;
    wd.click(&wd.find("#ch-shape option[value=slack]").await?)
        .await?;
    fill_input(wd, "#ch-window-start", "22:00").await?;
    fill_input(wd, "#ch-window-end", "06:30").await?;
    wd.click(&wd.find("#ch-add").await?).await?;
    wd.wait_text("[data-testid=channel-added]", "the channel added", |t| {
        t.contains("(chat hook) added")
    })
    .await?;
    let hook_row = "tr[data-testid=channel-row][data-name='chat hook']";
    let text = wd.text(&wd.wait_visible(hook_row).await?).await?;
    for needle in [
        "https://hooks.example.com/…",
        "Slack",
        "22:00–06:30 (overnight)",
        "all types",
    ] {
        if !text.contains(needle) {
            return Err(format!(
                "the webhook channel's row lacks {needle:?}: {text:?}"
            ));
        }
    }
    let leaked = wd
        .exec(
            "return document.documentElement.outerHTML.includes('SECRET-TOKEN')
                 || [...document.querySelectorAll('input')].some(i => i.value.includes('SECRET-TOKEN'));",
            json!([]),
        )
        .await?;
    if leaked != json!(false) {
        return Err("the webhook's secret token is still on the page".into());
    }
    let del = format!("{hook_row} button[data-testid=channel-delete]");
    wd.click(&wd.find(&del).await?).await?;
    wd.wait_text(&del, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&del).await?).await?;
    wd.wait_text("[data-testid=channel-deleted]", "the deletion", |t| {
        t.contains("(chat hook) deleted")
    })
    .await?;
    wd.wait_js(
        "the deleted channel to leave the table",
        "return !document.querySelector(arguments[0]);",
        json!([hook_row]),
        UI_TIMEOUT,
    )
    .await?;
    if api_channels(c).await?.len() != 2 {
        return Err("the API does not list exactly the two channels left".into());
    }

    // --- delivery settings: the SMTP server refuses connections (a closed local port)
    step("notifications: delivery settings", t0).await;
    let password = "pw-never-shown-7";
    wd.click(&wd.find("#ns-offset option[value='480']").await?)
        .await?;
    fill_input(wd, "#smtp-host", "127.0.0.1").await?;
    fill_input(wd, "#smtp-port", &free_port().to_string()).await?;
    wd.click(&wd.find("#smtp-tls option[value=none]").await?)
        .await?;
    fill_input(wd, "#smtp-from", "Vigil <vigil@example.com>").await?;
    fill_input(wd, "#smtp-user", "vigil").await?;
    fill_input(wd, "#smtp-password", password).await?;
    wd.click(&wd.find("#ns-save").await?).await?;
    wd.wait_text("[data-testid=settings-saved]", "the settings saved", |t| {
        t.contains("UTC+08:00") && t.contains("SMTP 127.0.0.1")
    })
    .await?;
    wd.wait_text("[data-testid=smtp-password-set]", "password set", |t| {
        t.contains("password set")
    })
    .await?;
    let shown = wd
        .exec(
            "return document.documentElement.outerHTML.includes(arguments[0])
                 || [...document.querySelectorAll('input')].some(i => i.value.includes(arguments[0]));",
            json!([password]),
        )
        .await?;
    if shown != json!(false) {
        return Err("the SMTP password is shown on the page after saving".into());
    }
    let s = api_get(c, "/api/v1/notify/settings").await?;
    if s["utc_offset_minutes"] != json!(480)
        || s["smtp"]["password_set"] != json!(true)
        || s.to_string().contains(password)
    {
        return Err(format!("the API does not hold the settings as saved: {s}"));
    }
    wd.exec("document.getElementById('view').scrollTop = 0;", json!([]))
        .await?;
    wd.screenshot(&c.shots.join("notifications.png")).await?;
    // Changing the SMTP server without the password: the page says to type it again.
    fill_input(wd, "#smtp-port", "2525").await?;
    wd.click(&wd.find("#ns-save").await?).await?;
    wd.wait_text("#error-text", "the password asked again", |t| {
        t.contains("type the SMTP password again")
    })
    .await?;
    wd.click(&wd.find("#error-close").await?).await?;
    Ok(())
}

/// After the scenario's alerts: the top bar's unread badge, the inbox message naming the test's
/// port (bold until opened; opening it marks it read and offers its alert), and the delivery
/// log with a sent attempt on the inbox channel and a failed one, in red, on the email channel.
async fn inbox_and_log(c: &Ctx<'_>, t0: Instant, lport: u16, alert_id: i64) -> WdResult<()> {
    let wd = c.wd;
    step("inbox: unread badge", t0).await;
    let count = |t: &str| t.trim().trim_end_matches('+').parse::<u32>().ok();
    wd.wait_text("[data-testid=inbox-unread]", "an unread count", |t| {
        count(t).is_some_and(|n| n >= 1)
    })
    .await?;
    wd.click(&wd.find("#inbox-link").await?).await?;
    wd.wait_visible("[data-testid=inbox-list]").await?;
    let want = format!("port {lport} listening on all interfaces");
    let mid = wd
        .wait_js(
            "the message about the test's port",
            "const m = [...document.querySelectorAll('li[data-testid=inbox-message]')]
                 .find(li => li.querySelector('[data-testid=inbox-title]').textContent.includes(arguments[0]));
             return m ? m.dataset.messageId : null;",
            json!([want]),
            UI_TIMEOUT,
        )
        .await?;
    let mid = mid.as_str().unwrap_or_default().to_string();
    let msg_css = format!("li[data-testid=inbox-message][data-message-id='{mid}']");
    let state = wd
        .exec(
            "const li = document.querySelector(arguments[0]);
             return [li.dataset.read, getComputedStyle(li.querySelector('[data-testid=inbox-title]')).fontWeight];",
            json!([msg_css]),
        )
        .await?;
    if state != json!(["0", "700"]) {
        return Err(format!(
            "the new message is not shown unread in bold (read flag, weight): {state}"
        ));
    }
    // Newest first.
    let order = wd
        .exec(
            "return [...document.querySelectorAll('li[data-testid=inbox-message]')].map(li => Number(li.dataset.messageId));",
            json!([]),
        )
        .await?;
    let ids: Vec<i64> = order
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    if ids.windows(2).any(|w| w[0] < w[1]) {
        return Err(format!("the inbox is not newest first: {ids:?}"));
    }

    step("inbox: open and mark read", t0).await;
    wd.click(
        &wd.find(&format!("{msg_css} [data-testid=inbox-open]"))
            .await?,
    )
    .await?;
    wd.wait_js(
        "the message marked read",
        "const li = document.querySelector(arguments[0]); return !!li && li.dataset.read === '1';",
        json!([msg_css]),
        UI_TIMEOUT,
    )
    .await?;
    let body = wd
        .text(
            &wd.find(&format!("{msg_css} [data-testid=inbox-body]"))
                .await?,
        )
        .await?;
    if !body.contains(&want) || !body.contains(&c.hostname) {
        return Err(format!(
            "the message body does not name the port and the host: {body:?}"
        ));
    }
    let inbox = api_get(c, "/api/v1/inbox").await?;
    let m = inbox["messages"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|m| m["id"].as_i64().is_some_and(|i| i.to_string() == mid))
        })
        .ok_or_else(|| format!("the API does not list message {mid}"))?;
    if m["read_at"].is_null() || m["alert_id"] != json!(alert_id) {
        return Err(format!(
            "the API does not show message {mid} read for alert {alert_id}: {m}"
        ));
    }
    // The badge follows: it shows what the server counts as unread (other alerts may come).
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let unread = api_get(c, "/api/v1/inbox").await?["unread"]
            .as_u64()
            .unwrap_or(u64::MAX);
        let shown = wd
            .exec(
                "const b = document.getElementById('inbox-unread'); return b.hidden ? '0' : b.textContent;",
                json!([]),
            )
            .await?;
        let shown = count(shown.as_str().unwrap_or_default()).map(u64::from);
        if shown == Some(unread.min(99)) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the badge shows {shown:?} unread, the server counts {unread}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wd.screenshot(&c.shots.join("inbox.png")).await?;
    wd.click(
        &wd.find(&format!("{msg_css} [data-testid=inbox-alert]"))
            .await?,
    )
    .await?;
    wd.wait_visible(&format!(
        "#drawer[data-alert-id='{alert_id}'] [data-testid=alert-handle]"
    ))
    .await?;
    wd.click(&wd.find("#drawer-close").await?).await?;

    // --- the delivery log: sent to the inbox; the email attempts failed, in red, with why
    step("notifications: delivery log", t0).await;
    wd.click(&wd.find("#nav-notifications").await?).await?;
    wd.wait_visible("[data-testid=outbox-table]").await?;
    let sent_row =
        format!("tr[data-testid=outbox-row][data-alert-id='{alert_id}'][data-state=sent]");
    let text = wd.text(&wd.wait_visible(&sent_row).await?).await?;
    if !text.contains("console inbox") || !text.contains(&c.hostname) {
        return Err(format!(
            "the sent notification's row lacks its channel or host: {text:?}"
        ));
    }
    wd.find(&format!(
        "{sent_row} [data-testid=outbox-attempt][data-outcome=sent]"
    ))
    .await
    .map_err(|_| format!("the sent notification lists no sent attempt: {text:?}"))?;
    // The email channel's first try fails at once (connection refused); the log refreshes
    // itself every 10 s, so look again with the Refresh button until it shows.
    let failed = "tr[data-testid=outbox-row] [data-testid=outbox-attempt][data-outcome=failed]";
    let deadline = Instant::now() + UI_TIMEOUT;
    while wd.find(failed).await.is_err() {
        if Instant::now() >= deadline {
            return Err(format!(
                "no failed attempt in the delivery log; the outbox: {}",
                api_get(c, "/api/v1/notify/outbox").await?
            ));
        }
        wd.click(&wd.find("[data-testid=outbox-refresh]").await?)
            .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let attempt = wd
        .exec(
            "const a = document.querySelector(arguments[0]);
             return [a.closest('tr').querySelector('[data-testid=outbox-channel]').textContent,
                     a.querySelector('[data-testid=attempt-message]').textContent,
                     getComputedStyle(a).color];",
            json!([failed]),
        )
        .await?;
    if attempt[0] != json!("ops mail")
        || attempt[1].as_str().is_none_or(str::is_empty)
        || attempt[2] != json!("rgb(212, 47, 34)")
    {
        return Err(format!(
            "the failed attempt is not the email channel's, with a reason, in red: {attempt}"
        ));
    }
    wd.exec(
        "document.querySelector('[data-testid=outbox-panel]').scrollIntoView();",
        json!([]),
    )
    .await?;
    wd.screenshot(&c.shots.join("notifications-log.png"))
        .await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!(
            "the inbox or the delivery log raised the banner: {b:?}"
        ));
    }
    Ok(())
}
