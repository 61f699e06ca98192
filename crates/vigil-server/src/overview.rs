//! `/api/v1/overview` and `/api/v1/score`: the fleet at a glance and its security score.

use crate::hosts::{alert_counts, host_state, pending};
use crate::http::*;
use crate::state::SharedState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use vigil_detect::score::score;
use vigil_model::{HostState, Level};
use vigil_proto::api::*;

pub(crate) async fn overview(State(st): State<SharedState>) -> ApiResult<Json<Overview>> {
    let mut o = Overview::default();
    for h in st.store.hosts().await? {
        o.hosts_total += 1;
        match host_state(&st, &h) {
            HostState::Online => o.hosts_online += 1,
            HostState::Offline => o.hosts_offline += 1,
            HostState::Uninstalled => o.hosts_uninstalled += 1,
        }
    }
    for l in Level::ALL {
        o.alerts.insert(l.as_str().into(), 0);
    }
    for (_, level, n) in st.store.unhandled_alert_counts().await? {
        *o.alerts.entry(level).or_default() += n;
    }
    Ok(Json(o))
}

pub(crate) fn score_view(s: &vigil_detect::score::Score) -> ScoreView {
    ScoreView {
        score: s.score,
        band: s.band.as_str().into(),
        deductions: s
            .deductions
            .iter()
            .map(|(m, p)| (m.to_string(), *p))
            .collect(),
        capped_at: s.capped_at,
    }
}

pub(crate) async fn fleet_score(State(st): State<SharedState>) -> ApiResult<Json<FleetScore>> {
    let counts = alert_counts(&st).await?;
    let vulns = crate::vulns::counts(&st).await?;
    let baseline = crate::baseline::counts(&st).await?;
    let mut hosts: Vec<HostScore> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .filter(|h| h.uninstalled_at.is_none())
        .map(|h| {
            let pending = pending(counts.get(&h.id), vulns.get(&h.id), baseline.get(&h.id));
            HostScore {
                host_id: h.id,
                hostname: h.hostname,
                score: score_view(&score(&pending)),
            }
        })
        .collect();
    hosts.sort_by_key(|h| h.score.score);
    let mean = if hosts.is_empty() {
        100
    } else {
        (hosts.iter().map(|h| h.score.score as f64).sum::<f64>() / hosts.len() as f64).round()
            as u32
    };
    let fleet = ScoreView {
        score: mean,
        band: vigil_detect::score::Band::of(mean).as_str().into(),
        deductions: Vec::new(),
        capped_at: None,
    };
    Ok(Json(FleetScore { fleet, hosts }))
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/score", get(fleet_score))
}
