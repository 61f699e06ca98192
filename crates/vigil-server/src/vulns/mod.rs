//! Vulnerabilities on the server: the advisory database (`<data_dir>/vulndb.bin`, reloaded when
//! the file changes), matching each host's reported packages against it, the lifecycle the store
//! keeps (unfixed → fixed by a later scan, ignored with a reason and back), and the API over it:
//! per-host rows and fleet views grouped by advisory or by package.
//!
//! Matching runs on the blocking pool. Match-and-record is serialised by one lock, so a re-match
//! of every host from its stored inventory (after a database reload) cannot overwrite the result
//! of a newer report.

pub(crate) mod routes;

use crate::state::SharedState;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;
use vigil_model::Inventory;
use vigil_store::{StoreError, VulnFinding};
use vigil_vuln::{Db, Ecosystem, InstalledPackage};

/// The database's file name in the data directory (the same name `vigil vulndb` writes).
pub const DB_FILE: &str = "vulndb.bin";

const BUILD_HINT: &str = "build it with `vigil vulndb update --source apt --data DIR` or \
     `vigil vulndb import OSV_PATH --data DIR` (DIR: the server's data directory)";

/// The loaded advisory database and what is known of its file.
#[derive(Default)]
pub struct VulnDb {
    loaded: RwLock<Loaded>,
    /// Held while a host's findings are matched and recorded.
    sync: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Loaded {
    db: Option<Arc<Db>>,
    /// Modification time and size of the file when last looked at; `None`: no file.
    stamp: Option<(SystemTime, u64)>,
    /// The file has been looked at once (so a missing file is reported once).
    looked: bool,
}

impl VulnDb {
    fn current(&self) -> Option<Arc<Db>> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .db
            .clone()
    }
}

fn db_path(st: &SharedState) -> PathBuf {
    st.config.data_dir.join(DB_FILE)
}

/// Loads the database when its file appeared or changed since the last look; returns whether a
/// new one is in use. A file that cannot be read keeps the previous database.
pub async fn refresh(st: &SharedState) -> bool {
    let path = db_path(st);
    let stamp = tokio::fs::metadata(&path)
        .await
        .ok()
        .filter(|m| m.is_file())
        .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
    {
        let loaded = st.vulns.loaded.read().unwrap_or_else(|p| p.into_inner());
        if loaded.looked && loaded.stamp == stamp {
            return false;
        }
    }
    let Some(_) = stamp else {
        let mut loaded = st.vulns.loaded.write().unwrap_or_else(|p| p.into_inner());
        if !loaded.looked || loaded.stamp.is_some() {
            tracing::info!(
                path = %path.display(),
                "no advisory database: vulnerability scanning is off; {BUILD_HINT}"
            );
        }
        loaded.looked = true;
        loaded.stamp = None;
        // A removed file keeps the database in use: matching on stale advisories beats
        // marking every vulnerability fixed.
        return false;
    };
    let p = path.clone();
    let result = tokio::task::spawn_blocking(move || Db::load(&p)).await;
    let mut loaded = st.vulns.loaded.write().unwrap_or_else(|p| p.into_inner());
    loaded.looked = true;
    loaded.stamp = stamp;
    match result {
        Ok(Ok(db)) => {
            tracing::info!(
                path = %path.display(),
                advisories = db.advisory_count(),
                sources = db.sources().len(),
                "advisory database loaded"
            );
            loaded.db = Some(Arc::new(db));
            true
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "advisory database not loaded (keeping the previous one); {BUILD_HINT}");
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "loading the advisory database failed");
            false
        }
    }
}

/// The findings of `inv` under `db`; `None` when the host's OS has no advisory feed here.
fn findings(db: &Db, inv: &Inventory) -> Option<Vec<VulnFinding>> {
    let eco = Ecosystem::for_os(&inv.os)?;
    let installed: Vec<InstalledPackage> =
        inv.packages.iter().map(InstalledPackage::from).collect();
    let ecosystem = eco.to_string();
    Some(
        vigil_vuln::match_packages(db, &eco, &installed)
            .into_iter()
            .filter_map(|f| {
                Some(VulnFinding {
                    advisory_id: f.ids.first()?.clone(),
                    ids: f.ids,
                    package: f.package,
                    ecosystem: ecosystem.clone(),
                    installed: f.installed,
                    fixed: f.fixed,
                    level: f.level.as_str().into(),
                    rce: f.rce,
                    summary: f.summary,
                    fix_command: f.fix_command,
                    needs_restart: f.needs_restart,
                })
            })
            .collect(),
    )
}

/// Matches a host's inventory and records the result. Does nothing without a database or for
/// an OS without advisories (recording an empty scan would mark everything fixed).
pub async fn scan(st: &SharedState, host_id: &str, inv: Arc<Inventory>) -> Result<(), StoreError> {
    let _guard = st.vulns.sync.lock().await;
    scan_locked(st, host_id, inv).await
}

async fn scan_locked(
    st: &SharedState,
    host_id: &str,
    inv: Arc<Inventory>,
) -> Result<(), StoreError> {
    let Some(db) = st.vulns.current() else {
        return Ok(());
    };
    let found = tokio::task::spawn_blocking(move || findings(&db, &inv))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
    let Some(found) = found else {
        tracing::debug!(host = %host_id, "no advisory feed for this host's OS; not scanned");
        return Ok(());
    };
    let s = st.store.sync_host_vulns(host_id, &found, st.now()).await?;
    if s.new + s.reopened + s.fixed > 0 {
        tracing::info!(host = %host_id, new = s.new, reopened = s.reopened, fixed = s.fixed, "vulnerabilities changed");
    }
    Ok(())
}

/// Re-matches every installed host from its latest stored inventory (after a database change).
pub async fn rescan_all(st: &SharedState) -> Result<usize, StoreError> {
    if st.vulns.current().is_none() {
        return Ok(0);
    }
    let mut n = 0;
    for h in st.store.hosts().await? {
        if h.uninstalled_at.is_some() {
            continue;
        }
        let _guard = st.vulns.sync.lock().await;
        let Some(json) = st.store.inventory(&h.id).await? else {
            continue;
        };
        let Ok(inv) = serde_json::from_str::<Inventory>(&json) else {
            tracing::warn!(host = %h.id, "stored inventory is unreadable; not re-matched");
            continue;
        };
        scan_locked(st, &h.id, Arc::new(inv)).await?;
        n += 1;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// API

/// Unfixed vulnerabilities per host and level, for the security score.
pub async fn counts(
    st: &SharedState,
) -> Result<BTreeMap<String, BTreeMap<String, i64>>, StoreError> {
    let mut by_host: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (host, level, n) in st.store.unfixed_vuln_counts().await? {
        by_host.entry(host).or_default().insert(level, n);
    }
    Ok(by_host)
}
