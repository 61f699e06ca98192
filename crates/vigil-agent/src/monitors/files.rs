//! The file-scan monitor: once a day (and at start) the web roots the web servers are configured
//! with, the paths given in `VIGIL_SCAN_PATHS`, and each account's well-known credential files
//! (`~/.aws/credentials`, shell histories, `.env`, `.git-credentials`, …) are scanned for
//! known-bad files (MD5/SHA-256 lists) and credential leaks (SPEC R-MW3, R-AK1), paced to a CPU
//! budget. Each finding is an alert (malicious file: its MD5 is the whitelist key; credential
//! leak: its path), with the secret masked; files are never quarantined by this monitor.

use super::{Monitor, MonitorHealth, Poll};
use crate::files::{judge, walk, FileFinding, Judged, WalkOptions, WalkStats};
use crate::pace::Pacer;
use crate::run::AgentConfig;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vigil_content::Content;
use vigil_model::{AlertKind, Event, EventBody, Level, NewAlert, Timestamp};

/// Files under each home directory that often hold credentials.
const HOME_FILES: &[&str] = &[
    ".aws/credentials",
    ".aws/config",
    ".git-credentials",
    ".netrc",
    ".env",
    ".bash_history",
    ".zsh_history",
    ".mysql_history",
    ".psql_history",
    ".docker/config.json",
    ".config/gcloud/application_default_credentials.json",
    ".kube/config",
    ".aliyun/config.json",
];

pub struct FilesMonitor {
    root: PathBuf,
    paths: Vec<PathBuf>,
    interval: Duration,
    /// Share of one core a scan may use.
    cpu: f64,
    last_run: Option<Timestamp>,
    last: Option<WalkStats>,
    last_error: Option<String>,
}

impl FilesMonitor {
    pub fn new(cfg: &AgentConfig) -> FilesMonitor {
        FilesMonitor {
            root: cfg.root.clone(),
            paths: cfg.file_scan_paths.clone(),
            interval: Duration::from_secs(cfg.file_scan_secs.max(60)),
            cpu: 0.25,
            last_run: None,
            last: None,
            last_error: None,
        }
    }

    /// What a run scans: web roots, the configured paths, every home's credential files.
    fn targets(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = crate::webroots::discover(&self.root)
            .into_iter()
            .map(|w| self.root.join(w.path.trim_start_matches('/')))
            .collect();
        out.extend(self.paths.iter().cloned());
        let mut homes = vec![self.root.join("root")];
        if let Ok(entries) = std::fs::read_dir(self.root.join("home")) {
            homes.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
        }
        for home in homes {
            out.extend(
                HOME_FILES
                    .iter()
                    .map(|f| home.join(f))
                    .filter(|p| p.symlink_metadata().is_ok_and(|m| m.is_file())),
            );
        }
        out.sort();
        out.dedup();
        out
    }

    fn scan(&mut self, now: Timestamp) -> Vec<Event> {
        let content = Content::embedded();
        let rules = content.secret_rules();
        let targets = self.targets();
        self.last_error = targets.is_empty().then(|| {
            "nothing to scan: no web root is configured and no credential file found".to_string()
        });
        let mut events = Vec::new();
        let mut pacer = Pacer::new(self.cpu);
        let stats = walk(&targets, &WalkOptions::default(), |path, meta, bytes| {
            let t = Instant::now();
            let shown = host_path(&self.root, path);
            let judged = judge(&content, &rules, &shown, bytes);
            events.extend(
                alerts(judged, &shown, meta, now)
                    .into_iter()
                    .map(|alert| Event {
                        time: now,
                        body: EventBody::AgentAlert {
                            alert,
                            response: None,
                        },
                    }),
            );
            pacer.spent(t.elapsed(), Duration::MAX);
        });
        self.last = Some(stats);
        events
    }
}

/// The path as the host sees it (without the tree's root).
fn host_path(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if root != Path::new("/") => format!("/{}", rel.display()),
        _ => path.display().to_string(),
    }
}

/// The alerts one file raises.
fn alerts(judged: Judged, path: &str, meta: &std::fs::Metadata, now: Timestamp) -> Vec<NewAlert> {
    let Judged {
        md5,
        sha256,
        findings,
    } = judged;
    let evidence = |extra: Vec<(String, String)>| {
        let mut e = vec![("path".to_string(), path.to_string())];
        e.extend(extra);
        e.push(("md5".into(), md5.clone()));
        e.push(("sha256".into(), sha256.clone()));
        e.push(("owner_uid".into(), meta.uid().to_string()));
        e.push(("mtime".into(), meta.mtime().to_string()));
        e
    };
    findings
        .into_iter()
        .map(|f| match f {
            FileFinding::Malware { name, by } => NewAlert {
                kind: AlertKind::MaliciousFile,
                level: Level::Urgent,
                name: format!("Known-bad file {name}: {path}"),
                key: format!("file:{md5}:{path}"),
                evidence: evidence(vec![
                    ("rule".into(), format!("hash:{name}")),
                    ("signals".into(), format!("{by} in the known-bad list")),
                ]),
                time: now,
            },
            FileFinding::Secret(f) => NewAlert {
                kind: AlertKind::DataLeak,
                level: f.level,
                name: format!("{} in {path}", f.name),
                key: format!("secret:{}:{path}:{}", f.rule, f.line),
                evidence: evidence(vec![
                    ("rule".into(), f.rule),
                    ("line".into(), f.line.to_string()),
                    ("value".into(), f.masked),
                    ("signals".into(), f.signals.join(", ")),
                ]),
                time: now,
            },
        })
        .collect()
}

impl Monitor for FilesMonitor {
    fn name(&self) -> &'static str {
        "files"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn poll(&mut self, now: Timestamp) -> Poll {
        self.last_run = Some(now);
        self.scan(now).into()
    }

    fn health(&self) -> MonitorHealth {
        let unreadable = self
            .last
            .as_ref()
            .map(|s| {
                s.skipped
                    .iter()
                    .map(|(why, n)| format!("{n} skipped: {why}"))
                    .collect()
            })
            .unwrap_or_default();
        super::health_of(self.name(), self.last_run, &self.last_error, unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitors::MonitorState;

    #[test]
    fn a_tree_with_a_leak_and_a_known_bad_file_raises_both() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path();
        std::fs::create_dir_all(t.join("etc/nginx")).unwrap();
        std::fs::create_dir_all(t.join("srv/shop")).unwrap();
        std::fs::create_dir_all(t.join("home/bob/.aws")).unwrap();
        std::fs::write(
            t.join("etc/nginx/nginx.conf"),
            "server { root /srv/shop; }\n",
        )
        .unwrap();
        let eicar = [
            "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
            "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
        ]
        .concat();
        std::fs::write(t.join("srv/shop/upload.bin"), eicar).unwrap();
        std::fs::write(t.join("srv/shop/index.php"), "<?php echo 1;\n").unwrap();
        let id = ["AK", "IA", "Q7ZK2M4XWB9PLR3T"].concat();
        std::fs::write(
            t.join("home/bob/.aws/credentials"),
            format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = h7Kq2Zr9xLm4Tb8Nw3Yc6Vd1Fp5Gs0Jk2Ue7Ri9O\n"),
        )
        .unwrap();
        let mut cfg = AgentConfig::new(t.join("data"));
        cfg.root = t.to_path_buf();
        let mut m = FilesMonitor::new(&cfg);
        let events = m.poll(100).events;
        let alerts: Vec<&NewAlert> = events
            .iter()
            .map(|e| match &e.body {
                EventBody::AgentAlert { alert, .. } => alert,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        let leak = alerts
            .iter()
            .find(|a| a.kind == AlertKind::DataLeak)
            .unwrap();
        let ev = |a: &NewAlert, k: &str| {
            a.evidence
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(ev(leak, "path"), "/home/bob/.aws/credentials");
        assert!(ev(leak, "value").starts_with("AKIA"));
        assert!(
            !format!("{leak:?}").contains("h7Kq2Zr9xLm4"),
            "the secret never leaves"
        );
        let bad = alerts
            .iter()
            .find(|a| a.kind == AlertKind::MaliciousFile)
            .unwrap();
        assert_eq!(ev(bad, "path"), "/srv/shop/upload.bin");
        assert_eq!(ev(bad, "md5"), "44d88612fea8a8f36de82e1278abb02f");
        assert_eq!(m.health().state, MonitorState::Running);
        assert_eq!(m.last.as_ref().unwrap().files, 3);
    }
}
