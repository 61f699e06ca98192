//! The ingest pipeline: an agent's event batch goes through a list of stages, each of which
//! judges it and returns the alerts it raises plus the writes it wants; then the events, the
//! alerts, every stage's writes, the links between related alerts and the notifications they
//! queue (a transactional outbox) commit in the batch's one transaction, or none of it does.
//!
//! A batch is judged and committed under its host's lock, so a stage reading state (the login
//! model's learned places) sees the previous batch's writes. A batch retried after a failure is
//! judged again from the same state; a batch already committed is acknowledged as a duplicate by
//! the store and writes nothing. The stages are listed in `state.rs`.

use crate::state::SharedState;
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use vigil_detect::whitelist::first_match;
use vigil_model::{AlertKind, Event, NewAlert};
use vigil_store::{EventRow, IngestPlan, Ingested, StoreError, TxWrite, Txn};

/// One lock per host: a host's batches are judged and committed one at a time.
#[derive(Default)]
pub struct HostLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl HostLocks {
    async fn lock(&self, host: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(host.to_string())
            .or_default()
            .clone();
        lock.lock_owned().await
    }
}

/// Judges a batch with every stage and commits it with everything it raised and wants.
pub async fn ingest(
    st: &SharedState,
    host: &str,
    group: &str,
    seq: i64,
    digest: String,
    events: &[Event],
) -> Result<Ingested, StoreError> {
    let _guard = st.ingest_locks.lock(host).await;
    let now = st.now();
    let batch = crate::pipeline::Batch { host, events, now };
    let mut raised = Vec::new();
    let mut writes: Vec<Box<dyn TxWrite>> = Vec::new();
    for stage in &st.stages {
        let judged = stage.judge(st, &batch).await.inspect_err(|e| {
            tracing::error!(%host, stage = stage.name(), error = %e, "an ingest stage failed; the batch is not stored");
        })?;
        raised.extend(judged.alerts);
        writes.extend(judged.writes);
    }
    let rules = st.whitelist_rules().await?;
    let mut notifying: HashSet<(AlertKind, String)> = HashSet::new();
    for r in raised.iter().filter(|r| r.notify) {
        notifying.insert((r.alert.kind, r.alert.key.clone()));
    }
    let alerts: Vec<(NewAlert, Option<i64>)> = raised
        .into_iter()
        .map(|r| {
            let rule = first_match(&rules, r.alert.kind, &r.alert.evidence, host, group);
            (r.alert, rule.map(|r| r.id))
        })
        .collect();
    if !alerts.is_empty() {
        writes.push(Box::new(LinkRelated {
            host: host.to_string(),
            keys: alerts
                .iter()
                .map(|(a, _)| (a.kind, a.key.clone()))
                .collect(),
        }));
        writes.push(Box::new(crate::notify::QueueNotifications::new(
            st, host, &alerts, &notifying, now,
        )));
    }
    let rows = events
        .iter()
        .map(|e| EventRow {
            time: e.time,
            kind: e.body.kind().to_string(),
            body: serde_json::to_string(&e.body).expect("events serialize"),
        })
        .collect();
    st.store
        .ingest(IngestPlan {
            host_id: host.to_string(),
            seq,
            digest,
            now,
            events: rows,
            alerts,
            writes,
        })
        .await
}

/// How many of the host's recent alerts a new alert is compared with.
const RELATED_WINDOW: i64 = 200;

/// Links each raised alert to the host's recent alerts about the same process or file.
struct LinkRelated {
    host: String,
    keys: Vec<(AlertKind, String)>,
}

#[async_trait]
impl TxWrite for LinkRelated {
    async fn apply(self: Box<Self>, tx: &mut Txn<'_>) -> Result<(), StoreError> {
        let recent = tx
            .alerts(&vigil_store::AlertFilter {
                host_id: Some(self.host.clone()),
                limit: RELATED_WINDOW,
                ..Default::default()
            })
            .await?
            .0;
        let mut seen = HashSet::new();
        for (kind, key) in &self.keys {
            if !seen.insert((kind, key)) {
                continue;
            }
            let Some(rec) = tx.alert_by_key(&self.host, *kind, key).await? else {
                continue;
            };
            for other in recent.iter().filter(|o| o.id != rec.id) {
                if vigil_detect::correlate::related(&rec.evidence, &other.evidence) {
                    tx.link_alerts(rec.id, other.id).await?;
                }
            }
        }
        Ok(())
    }
}
