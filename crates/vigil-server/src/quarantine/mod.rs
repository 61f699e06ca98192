//! The fleet's quarantine boxes as the server knows them: what each agent reported it holds,
//! and restoring a file (a host action).

pub(crate) mod routes;

use crate::commands::{CommandListener, Outcome};
use crate::state::SharedState;
use vigil_proto::agent::CommandAction;
use vigil_store::{CommandRecord, QuarantineRecord, StoreError};

/// Keeps the server's copy of each box: a quarantine adds the file, a restore marks it restored.
pub struct BoxListener;

#[async_trait::async_trait]
impl CommandListener for BoxListener {
    fn actions(&self) -> Option<&'static [&'static str]> {
        Some(&["quarantine_file", "kill_and_quarantine", "restore_file"])
    }

    async fn finished(
        &self,
        st: &SharedState,
        cmd: &CommandRecord,
        outcome: &Outcome<'_>,
    ) -> Result<(), StoreError> {
        if !outcome.ok {
            return Ok(());
        }
        if cmd.action == "restore_file" {
            if let Ok(CommandAction::RestoreFile { quarantine_id, .. }) =
                serde_json::from_str::<CommandAction>(&cmd.params)
            {
                st.store
                    .mark_restored(&cmd.host_id, &quarantine_id, st.now())
                    .await?;
            }
        } else if let Some(q) = quarantine_record(&cmd.host_id, outcome.data) {
            st.store.put_quarantined(&q).await?;
        }
        Ok(())
    }
}

/// The quarantined file's record from an agent report (`data.file` or `data` itself).
fn quarantine_record(host_id: &str, data: &serde_json::Value) -> Option<QuarantineRecord> {
    let f = data.get("file").unwrap_or(data);
    let s = |k: &str| f.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Some(QuarantineRecord {
        host_id: host_id.into(),
        qid: s("id")?,
        path: s("original_path")?,
        sha256: s("sha256").unwrap_or_default(),
        md5: s("md5").unwrap_or_default(),
        size: f.get("size").and_then(|v| v.as_i64()).unwrap_or(0),
        quarantined_at: f
            .get("quarantined_at")
            .and_then(|v| v.as_i64())
            .unwrap_or(0),
        state: vigil_model::QuarantineState::Quarantined,
        restored_at: None,
        record: f.to_string(),
    })
}
