//! The detection content in force: the embedded tree with the files of `<data>/content/` over
//! it, loaded at start, reloaded when that tree changes, and a refused override reported while
//! the previous content stays in force. `GET /api/v1/content` shows it.

use crate::state::SharedState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use vigil_content::{load, Content, ContentError};
use vigil_proto::api::{ContentFileView, ContentRejection, ContentStatus};

/// The content the engines read, swapped whole on a reload.
pub struct ContentState {
    dir: PathBuf,
    current: RwLock<Arc<Content>>,
    status: Mutex<Status>,
}

struct Status {
    loaded_at: i64,
    fingerprint: load::Fingerprint,
    rejected: Option<ContentRejection>,
}

impl ContentState {
    /// Loads `<data_dir>/content` over the embedded tree; a bad override leaves the embedded
    /// content in force and is reported.
    pub fn load(data_dir: &Path, now: i64) -> ContentState {
        let st = ContentState {
            dir: data_dir.join("content"),
            current: RwLock::new(Arc::new(Content::embedded())),
            status: Mutex::new(Status {
                loaded_at: now,
                fingerprint: Vec::new(),
                rejected: None,
            }),
        };
        st.reload(now);
        st
    }

    /// The content in force.
    pub fn current(&self) -> Arc<Content> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reloads when the override tree changed since the last look. Returns whether it did.
    pub fn reload_if_changed(&self, now: i64) -> bool {
        let fp = load::fingerprint(&self.dir);
        if self.lock_status().fingerprint == fp {
            return false;
        }
        self.reload(now);
        true
    }

    fn lock_status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reload(&self, now: i64) {
        // The fingerprint is taken before reading, so an edit during the read is seen next time.
        let fp = load::fingerprint(&self.dir);
        let built = load::read_tree(&self.dir).and_then(|files| Content::build(&files));
        let mut status = self.lock_status();
        status.fingerprint = fp;
        match built {
            Ok(content) => {
                if content.overridden() > 0 || status.rejected.is_some() {
                    tracing::info!(
                        version = %content.version,
                        overridden = content.overridden(),
                        dir = %self.dir.display(),
                        "detection content loaded"
                    );
                }
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(content);
                status.loaded_at = now;
                status.rejected = None;
            }
            Err(ContentError { file, message }) => {
                tracing::error!(
                    file = %self.dir.join(&file).display(),
                    error = %message,
                    "content override refused; the previous content stays in force"
                );
                status.rejected = Some(ContentRejection {
                    at: now,
                    file,
                    message,
                });
            }
        }
    }

    pub fn status(&self) -> ContentStatus {
        let current = self.current();
        let status = self.lock_status();
        ContentStatus {
            version: current.version.clone(),
            override_dir: self.dir.display().to_string(),
            loaded_at: status.loaded_at,
            files: current
                .files
                .iter()
                .map(|f| ContentFileView {
                    path: f.path.clone(),
                    origin: f.origin.as_str().into(),
                    sha256: f.sha256.clone(),
                    bytes: f.bytes,
                })
                .collect(),
            rejected: status.rejected.clone(),
        }
    }
}

/// Looks at the override tree every `content_poll_secs` until shutdown.
pub async fn watch(st: SharedState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_secs(st.config.content_poll_secs.max(1));
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(every) => {}
        }
        let s = st.clone();
        let _ = tokio::task::spawn_blocking(move || s.content.reload_if_changed(s.now())).await;
    }
}

/// Merged into the API's authenticated routes.
pub fn routes() -> Router<SharedState> {
    Router::new().route(
        "/api/v1/content",
        get(|State(st): State<SharedState>| async move { Json(st.content.status()) }),
    )
}
