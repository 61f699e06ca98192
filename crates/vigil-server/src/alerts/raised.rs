//! Alerts the agent raised itself (the brute-force rule runs on the host; the file scan's
//! known-bad files and credential leaks, secrets masked), as a stage of ingest:
//! what the agent did about each is added to its evidence, and its own blocks join the IP
//! policy library.

use crate::pipeline::{Batch, IngestStage, Judged, Raised};
use crate::state::SharedState;
use async_trait::async_trait;
use vigil_model::{EventBody, Response};
use vigil_store::StoreError;

/// Alerts the agent raised itself (the brute-force rule), with what it did about them; its own
/// blocks join the IP policy library.
pub struct AgentAlerts;

#[async_trait]
impl IngestStage for AgentAlerts {
    fn name(&self) -> &'static str {
        "agent alerts"
    }

    async fn judge(&self, _st: &SharedState, batch: &Batch<'_>) -> Result<Judged, StoreError> {
        let mut judged = Judged::default();
        let mut blocks = Vec::new();
        for e in batch.events {
            let EventBody::AgentAlert { alert, response } = &e.body else {
                continue;
            };
            let mut alert = alert.clone();
            if let Some(r) = response {
                alert.evidence.push(("response".into(), response_text(r)));
                if r.ok && r.action == "block_ip" {
                    blocks.push((alert.key.clone(), alert.name.clone(), r.clone()));
                }
            }
            judged.alerts.push(Raised::new(alert));
        }
        if !blocks.is_empty() {
            judged.writes.push(Box::new(crate::ip_policy::AgentBlocks {
                host: batch.host.to_string(),
                blocks,
                now: batch.now,
            }));
        }
        Ok(judged)
    }
}

fn response_text(r: &Response) -> String {
    if r.ok {
        match r.until {
            Some(t) => format!("{} blocked until {}", r.target, rfc3339(t)),
            None => format!("{} blocked permanently", r.target),
        }
    } else {
        format!(
            "block of {} failed, the agent retries: {}",
            r.target, r.message
        )
    }
}

pub(crate) fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| t.to_string())
}
