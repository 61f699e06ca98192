//! The asset rules as a stage of ingest: alerts from changes in a host's fingerprints (a new
//! uid-0 account, a new administrator, a new port on all interfaces).

use crate::pipeline::{Batch, IngestStage, Judged, Raised};
use crate::state::SharedState;
use async_trait::async_trait;
use vigil_store::StoreError;

/// The agent-side asset rules' server half: alerts from inventory changes.
pub struct AssetRules;

#[async_trait]
impl IngestStage for AssetRules {
    fn name(&self) -> &'static str {
        "asset rules"
    }

    async fn judge(&self, st: &SharedState, batch: &Batch<'_>) -> Result<Judged, StoreError> {
        let content = st.content.current();
        Ok(Judged {
            alerts: vigil_detect::asset_rules::evaluate(batch.events, &content.assets)
                .into_iter()
                .map(Raised::new)
                .collect(),
            writes: Vec::new(),
        })
    }
}
