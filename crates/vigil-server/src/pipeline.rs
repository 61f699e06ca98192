//! The seam every detection engine plugs into on the server: an [`IngestStage`] judges an
//! agent's event batch and returns the alerts it raises and the writes it wants; the agent
//! channel's ingest (`agent/ingest.rs`) runs every stage and commits it all in one transaction.
//! The stages themselves live with their domains and are listed once, in `state.rs`.

use crate::state::SharedState;
use async_trait::async_trait;
use vigil_model::{Event, NewAlert, Timestamp};
use vigil_store::{StoreError, TxWrite};

/// One batch as the stages see it.
pub struct Batch<'a> {
    pub host: &'a str,
    pub events: &'a [Event],
    pub now: Timestamp,
}

/// An alert a stage raises, and whether it may notify (the abnormal-login model notifies only a
/// key's first raise, SPEC R-LG3; the rest show in the console).
#[derive(Debug, Clone)]
pub struct Raised {
    pub alert: NewAlert,
    pub notify: bool,
}

impl Raised {
    pub fn new(alert: NewAlert) -> Raised {
        Raised {
            alert,
            notify: true,
        }
    }
}

/// What a stage wants from a batch.
#[derive(Default)]
pub struct Judged {
    pub alerts: Vec<Raised>,
    /// Applied in the batch's transaction after its events and alerts.
    pub writes: Vec<Box<dyn TxWrite>>,
}

/// One engine's part of ingest. `judge` may read the store (outside the batch's transaction)
/// but writes nothing: what it wants written it returns.
#[async_trait]
pub trait IngestStage: Send + Sync {
    fn name(&self) -> &'static str;
    async fn judge(&self, st: &SharedState, batch: &Batch<'_>) -> Result<Judged, StoreError>;
}
