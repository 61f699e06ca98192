//! When agents run the baseline, for the fleet, a group or a host (the most specific applies),
//! handed to each agent with its heartbeat; `routes.rs` serves `/api/v1/baseline/schedule`.

use crate::scoped::{self, Scoped};
use crate::state::SharedState;
use vigil_proto::agent::BaselineSchedule;

impl Scoped for BaselineSchedule {
    const SETTING: &'static str = "baseline_schedule";
    const WHAT: &'static str = "baseline schedule";
}

/// The schedule in force on a host: its own, else its group's, else the fleet's (every other
/// night until changed).
pub async fn effective(
    st: &SharedState,
    host: &str,
    group: &str,
) -> Result<BaselineSchedule, vigil_store::StoreError> {
    scoped::most_specific(st, host, group).await
}
