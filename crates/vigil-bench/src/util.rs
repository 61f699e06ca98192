//! Shared pieces: runtime and interruption, child processes that die with the bench, a `vigil`
//! server child, install codes through the REST API, percentiles.

use anyhow::{bail, Context, Result};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Runs `fut` on a multi-threaded runtime; SIGINT or SIGTERM ends it as an error, so the
/// child-process guards it holds are dropped (and their processes killed) on the way out.
pub fn run_async<F: Future<Output = Result<()>>>(fut: F) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(until_interrupted(fut))
}

/// `fut`, or an error as soon as SIGINT or SIGTERM arrives.
pub async fn until_interrupted<T, F: Future<Output = Result<T>>>(fut: F) -> Result<T> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = fut => r,
        _ = tokio::signal::ctrl_c() => bail!("interrupted (SIGINT)"),
        _ = term.recv() => bail!("interrupted (SIGTERM)"),
    }
}

/// A child process killed (SIGKILL) and reaped when the guard is dropped.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    pub pid: u32,
    pub what: String,
    /// Where its stderr goes, for error messages.
    pub stderr_path: PathBuf,
}

impl ChildGuard {
    /// Starts `cmd` with stdout piped and stderr written to `stderr_path`.
    pub fn spawn(mut cmd: Command, what: &str, stderr_path: &Path) -> Result<ChildGuard> {
        let stderr = std::fs::File::create(stderr_path)
            .with_context(|| format!("creating {}", stderr_path.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        let child = cmd.spawn().with_context(|| format!("starting {what}"))?;
        let pid = child.id().context("the child has no pid")?;
        Ok(ChildGuard {
            child,
            pid,
            what: what.to_string(),
            stderr_path: stderr_path.to_path_buf(),
        })
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The last lines the child wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Fails when the child has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            bail!(
                "{} exited unexpectedly ({status}); its stderr ends with:\n{}",
                self.what,
                self.stderr_tail()
            );
        }
        Ok(())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        // Reap it so no zombie outlives the bench.
        for _ in 0..100 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A `vigil server` or `vigil up` child and what it printed at start-up.
#[derive(Debug)]
pub struct ServerChild {
    pub guard: ChildGuard,
    /// `http://127.0.0.1:PORT`
    pub api: String,
    /// `https://127.0.0.1:PORT`
    pub agent_url: String,
    pub ca_fingerprint: String,
    pub token: String,
}

/// Starts `vigil ARGS --data DATA --listen 127.0.0.1:0 --agent-listen 127.0.0.1:0` and waits for
/// its `ready` line.
pub async fn start_server_child(vigil: &Path, args: &[&str], data: &Path) -> Result<ServerChild> {
    if !vigil.is_file() {
        bail!(
            "the vigil binary {} does not exist; build it with `cargo build --release -p vigil` or pass --vigil PATH",
            vigil.display()
        );
    }
    let mut cmd = Command::new(vigil);
    cmd.args(args)
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"])
        .env_remove("VIGIL_DB")
        .env_remove("VIGIL_DATA");
    let what = format!("`vigil {}`", args.join(" "));
    let stderr_path = data.with_extension("stderr.log");
    let mut guard = ChildGuard::spawn(cmd, &what, &stderr_path)?;
    let stdout = guard.child().stdout.take().context("child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let (mut api, mut agent_url, mut fp) = (None, None, None);
    let read = async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("console: ") {
                api = Some(rest.trim().to_string());
            } else if let Some(rest) = line.strip_prefix("agents connect to: ") {
                let (url, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                agent_url = Some(url.to_string());
                fp = tail
                    .split_whitespace()
                    .last()
                    .map(|s| s.trim_end_matches(')').to_string());
            } else if line.trim() == "ready" {
                return Ok::<bool, std::io::Error>(true);
            }
        }
        Ok(false)
    };
    let ready = tokio::time::timeout(Duration::from_secs(60), read).await;
    match ready {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) | Ok(Err(_)) => {
            bail!(
                "{what} stopped before it was ready; its stderr ends with:\n{}",
                guard.stderr_tail()
            )
        }
        Err(_) => bail!(
            "{what} was not ready within 60 s; its stderr ends with:\n{}",
            guard.stderr_tail()
        ),
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let token_file = data.join("admin.token");
    let token = std::fs::read_to_string(&token_file)
        .with_context(|| format!("reading {}", token_file.display()))?
        .trim()
        .to_string();
    Ok(ServerChild {
        guard,
        api: api.context("no `console:` line in the server's output")?,
        agent_url: agent_url.context("no `agents connect to:` line in the server's output")?,
        ca_fingerprint: fp.context("no CA fingerprint in the server's output")?,
        token,
    })
}

/// The typed REST client of a server the bench started.
pub fn api_client(api: &str, token: &str) -> vigil_client::Client {
    vigil_client::Client::new(reqwest::Client::new(), api, token)
}

/// Creates an install code through `POST /api/v1/install-codes`; one code enrolls many hosts.
pub async fn create_install_code(api: &str, token: &str, group: &str) -> Result<String> {
    let req = vigil_proto::api::CreateInstallCode {
        group: group.into(),
        os: "linux".into(),
        expires: "24h".into(),
        labels: [("bench".to_string(), "yes".to_string())].into(),
        provider: String::new(),
        proxy_cluster: None,
        max_hosts: None,
    };
    let created = api_client(api, token)
        .create_install_code(&req)
        .await
        .context("asking the server for an install code")?;
    Ok(created.code)
}

/// Fails early when this process may not open `needed` files (sockets count).
pub fn check_fd_limit(needed: u64) -> Result<()> {
    if let Some(soft) = crate::procfs::open_files_soft_limit() {
        if soft < needed {
            bail!(
                "the open-file limit is {soft} but this run needs about {needed} descriptors; \
                 raise it first (e.g. `ulimit -n {}`), or use fewer --agents",
                needed.max(4096)
            );
        }
    }
    Ok(())
}

/// The `p`-th percentile (0–100) of sorted values, nearest rank.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// The final JSON line of a bench: `{"bench":NAME,...fields}`, `bench` first.
pub fn json_line(bench: &str, fields: serde_json::Value) -> String {
    let name = serde_json::Value::from(bench);
    match fields {
        serde_json::Value::Object(map) if !map.is_empty() => {
            let rest = serde_json::Value::Object(map).to_string();
            format!("{{\"bench\":{name},{}", &rest[1..])
        }
        _ => format!("{{\"bench\":{name}}}"),
    }
}

/// Rounds for the JSON line.
pub fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn json_line_starts_with_bench() {
        let line = json_line("x", serde_json::json!({ "a": 1, "z": [2] }));
        assert_eq!(line, r#"{"bench":"x","a":1,"z":[2]}"#);
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["bench"], "x");
        assert_eq!(json_line("y", serde_json::json!({})), r#"{"bench":"y"}"#);
    }
}
