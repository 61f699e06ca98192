//! Hosts as the API shows them: state, view, counts.

pub(crate) mod assets;
pub(crate) mod report;
pub(crate) mod routes;

use crate::state::SharedState;
use std::collections::BTreeMap;
use vigil_detect::score::Pending;
use vigil_model::{HostState, OsInfo};
use vigil_proto::api::*;
use vigil_store::HostRecord;

pub(crate) fn host_state(st: &SharedState, h: &HostRecord) -> HostState {
    HostState::derive(
        h.last_seen,
        h.uninstalled_at.is_some(),
        st.now(),
        st.config.offline_after_secs as i64,
    )
}

pub(crate) fn host_view(
    st: &SharedState,
    h: HostRecord,
    alerts: BTreeMap<String, i64>,
) -> HostView {
    let os: OsInfo = serde_json::from_str(&h.os_json).unwrap_or_default();
    HostView {
        state: host_state(st, &h),
        id: h.id,
        hostname: h.hostname,
        group: h.group,
        labels: h.labels,
        os: if os.pretty_name.is_empty() {
            os.id
        } else {
            os.pretty_name
        },
        kernel: os.kernel,
        ips: os.ips,
        agent_version: h.agent_version,
        enrolled_at: h.enrolled_at,
        last_seen: h.last_seen,
        uninstalled_at: h.uninstalled_at,
        inventory_at: h.inventory_at,
        alerts,
        agent: serde_json::from_str(&h.agent_stats).unwrap_or_default(),
        monitors: serde_json::from_str(&h.monitors).unwrap_or_default(),
    }
}

pub(crate) async fn alert_counts(
    st: &SharedState,
) -> Result<BTreeMap<String, BTreeMap<String, i64>>, vigil_store::StoreError> {
    let mut by_host: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (host, level, n) in st.store.unhandled_alert_counts().await? {
        by_host.entry(host).or_default().insert(level, n);
    }
    Ok(by_host)
}

/// What the score counts against a host: unhandled alerts and unfixed vulnerabilities.
pub(crate) fn pending(
    alerts: Option<&BTreeMap<String, i64>>,
    vulns: Option<&BTreeMap<String, i64>>,
    baseline: Option<&BTreeMap<String, i64>>,
) -> Pending {
    let n = |m: Option<&BTreeMap<String, i64>>, level: &str| {
        m.and_then(|m| m.get(level)).copied().unwrap_or(0).max(0) as u64
    };
    Pending {
        alerts_urgent: n(alerts, "urgent"),
        alerts_suspicious: n(alerts, "suspicious"),
        alerts_reminder: n(alerts, "reminder"),
        vulns_high: n(vulns, "high"),
        vulns_medium: n(vulns, "medium"),
        vulns_low: n(vulns, "low"),
        baseline_high: n(baseline, "high"),
        baseline_medium: n(baseline, "medium"),
        baseline_low: n(baseline, "low"),
        ..Pending::default()
    }
}
