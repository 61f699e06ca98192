//! The webhook and SMTP receivers the bench delivers to, and what they saw.

use super::*;

/// Webhook deliveries: (alert index read from the body, arrival time).
#[derive(Default)]
pub(super) struct HookLog {
    pub(super) hits: Mutex<Vec<(Option<usize>, f64)>>,
}

impl HookLog {
    pub(super) fn len(&self) -> usize {
        self.hits.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub(super) fn snapshot(&self) -> Vec<(Option<usize>, f64)> {
        self.hits.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub(super) async fn receive_hook(
    axum::extract::State(log): axum::extract::State<Arc<HookLog>>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let at = unix_f64(SystemTime::now());
    let index = marker_index(&body);
    log.hits
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((index, at));
    axum::http::StatusCode::OK
}

/// The alert index after the first `vbnotify-` in a message.
pub(super) fn marker_index(text: &[u8]) -> Option<usize> {
    let m = MARKER.as_bytes();
    let at = text.windows(m.len()).position(|w| w == m)? + m.len();
    let digits: Vec<u8> = text[at..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

pub(super) fn unix_f64(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub(super) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// vigil-notify's aiosmtpd test server as a child process. Each start writes to a new
/// directory (the script numbers its files from 1 again).
pub(super) struct SmtpServer {
    pub(super) python: String,
    pub(super) script: PathBuf,
    pub(super) root: PathBuf,
    pub(super) port: u16,
    /// The child and its stdin: the script runs until its stdin closes.
    pub(super) child: Option<(tokio::process::Child, tokio::process::ChildStdin)>,
    pub(super) dirs: Vec<PathBuf>,
}

impl SmtpServer {
    pub(super) async fn start(&mut self) -> Result<()> {
        let n = self.dirs.len();
        let dir = self.root.join(format!("inbox-{n}"));
        std::fs::create_dir_all(&dir)?;
        let stderr_path = self.root.join(format!("smtp-{n}.stderr.log"));
        let stderr = std::fs::File::create(&stderr_path)?;
        let mut cmd = tokio::process::Command::new(&self.python);
        cmd.arg(&self.script)
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {} {}", self.python, self.script.display()))?;
        let stdin = child.stdin.take().context("the SMTP server's stdin")?;
        let stdout = child.stdout.take().context("the SMTP server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        if !matches!(&ready, Ok(Ok(Some(l))) if l.trim() == "READY") {
            let _ = child.start_kill();
            bail!(
                "the SMTP server did not start on port {} ({ready:?}); its stderr:\n{}",
                self.port,
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        self.dirs.push(dir);
        self.child = Some((child, stdin));
        Ok(())
    }

    pub(super) fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|(c, _)| c.id())
    }

    /// Kills the server (SIGKILL: a crash, not a goodbye) and reaps it.
    pub(super) async fn kill(&mut self) {
        if let Some((mut child, stdin)) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            drop(stdin);
        }
    }

    /// Sends `SIGNAL` (`STOP`, `CONT`) to the running server with kill(1).
    pub(super) async fn signal(&self, signal: &str) -> Result<()> {
        let pid = self.pid().context("the SMTP server is not running")?;
        let ok = tokio::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .is_ok_and(|s| s.success());
        if !ok {
            bail!("kill -{signal} {pid} failed");
        }
        Ok(())
    }

    /// Messages received so far (files written), over every start.
    pub(super) fn count(&self) -> usize {
        self.dirs
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|rd| rd.filter_map(|e| e.ok()))
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    }

    /// Every message received: (alert index read from the body, time the file was written).
    pub(super) fn messages(&self) -> Result<Vec<(Option<usize>, f64)>> {
        let mut out = Vec::new();
        for d in &self.dirs {
            for e in std::fs::read_dir(d)? {
                let path = e?.path();
                if path.extension().is_none_or(|x| x != "json") {
                    continue;
                }
                let at = unix_f64(std::fs::metadata(&path)?.modified()?);
                let msg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
                    .with_context(|| format!("reading {}", path.display()))?;
                let body = msg["body"].as_str().unwrap_or_default();
                let subject = msg["subject"].as_str().unwrap_or_default();
                let index = marker_index(body.as_bytes()).or(marker_index(subject.as_bytes()));
                out.push((index, at));
            }
        }
        Ok(out)
    }
}
