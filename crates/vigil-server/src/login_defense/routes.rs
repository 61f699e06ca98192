//! `/api/v1/login-settings`, `/api/v1/login-policy` and `/api/v1/attacks`.

use crate::http::*;
use crate::login_defense::model::ValidatePolicy;
use crate::scoped::{self, Scope, Scoped};
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::BTreeMap;
use vigil_model::RuleOrigin;
use vigil_proto::agent::LoginSettings;
use vigil_proto::api::{
    AttackDay, AttackQuery, AttackReport, AttackSource, RemovedScoped, ScopeQuery,
};

/// `?host=ID`, `?group=NAME` or neither (the fleet).
pub(crate) async fn scope_of(
    st: &SharedState,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Scope> {
    use Scope;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    match (
        q.host.filter(|h| !h.is_empty()),
        q.group.filter(|g| !g.is_empty()),
    ) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest("give host or group, not both".into())),
        (Some(h), None) => {
            find_host(st, &h).await?;
            Ok(Scope::Host(h))
        }
        (None, Some(g)) => {
            if !st.store.groups().await?.iter().any(|x| x.name == g) {
                return Err(ApiError::NotFound(format!("group {g} not found")));
            }
            Ok(Scope::Group(g))
        }
        (None, None) => Ok(Scope::Global),
    }
}

/// The fleet's settings, or a group's or host's own (404 when it inherits).
pub(crate) async fn get_login_settings(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<vigil_proto::agent::LoginSettings>> {
    let scope = scope_of(&st, q).await?;
    if scope == Scope::Global {
        return Ok(Json(
            scoped::own::<LoginSettings>(&st, &scope)
                .await?
                .unwrap_or_default(),
        ));
    }
    own_or_404::<LoginSettings>(&st, &scope).await.map(Json)
}

/// Replaces the brute-force rule and access whitelist of the fleet, a group (`?group=`) or a
/// host (`?host=`); agents pick them up with their next heartbeat.
pub(crate) async fn put_login_settings(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> ApiResult<Json<vigil_proto::agent::LoginSettings>> {
    let scope = scope_of(&st, q).await?;
    let mut req: vigil_proto::agent::LoginSettings = parse_json(&body)?;
    req.to_config().map_err(ApiError::BadRequest)?;
    for entry in &req.access_whitelist {
        let Ok(net) = vigil_detect::ip::Cidr::parse(entry) else {
            continue;
        };
        let limit = if net.addr().is_ipv4() {
            st.config.max_block_prefix_v4
        } else {
            st.config.max_block_prefix_v6
        };
        if net.prefix() < limit {
            return Err(ApiError::BadRequest(format!(
                "access whitelist entry {net} is wider than /{limit}: it would turn the \
                 brute-force rule off for a large part of the internet"
            )));
        }
    }
    req.access_whitelist = req
        .access_whitelist
        .iter()
        .filter_map(|c| vigil_detect::ip::Cidr::parse(c).ok())
        .map(|c| c.to_string())
        .collect();
    scoped::save(&st, &scope, Some(&req)).await?;
    Ok(Json(req))
}

/// Removes a group's or host's own settings: it uses its group's or the fleet's again.
pub(crate) async fn delete_login_settings(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RemovedScoped>> {
    let scope = scope_of(&st, q).await?;
    remove::<LoginSettings>(&st, &scope, "PUT the defaults instead").await
}

/// The fleet's login policy, or a group's or host's own (404 when it inherits).
pub(crate) async fn get_login_policy(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<crate::login_defense::model::PolicyDoc>> {
    let scope = scope_of(&st, q).await?;
    if scope == Scope::Global {
        return Ok(Json(
            crate::login_defense::model::load_policy(&st)
                .await?
                .to_doc(),
        ));
    }
    let own = own_or_404::<vigil_detect::login_model::LoginPolicy>(&st, &scope).await?;
    Ok(Json(
        crate::login_defense::model::Policy {
            policy: own,
            malicious: Vec::new(),
        }
        .to_doc(),
    ))
}

/// Replaces the approved login locations, IPs, times and accounts (and, for the fleet, the
/// malicious-IP list) of the fleet, a group or a host; a host's own factors take priority over
/// its group's, which take priority over the fleet's.
pub(crate) async fn put_login_policy(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> ApiResult<Json<crate::login_defense::model::PolicyDoc>> {
    let scope = scope_of(&st, q).await?;
    let req: crate::login_defense::model::PolicyDoc = parse_json(&body)?;
    let policy = req.validate().map_err(ApiError::BadRequest)?;
    if scope == Scope::Global {
        crate::login_defense::model::save_policy(&st, &policy).await?;
    } else {
        if !policy.malicious.is_empty() {
            return Err(ApiError::BadRequest(
                "the malicious-IP list is fleet-wide: set it without host or group".into(),
            ));
        }
        scoped::save(&st, &scope, Some(&policy.policy)).await?;
    }
    Ok(Json(policy.to_doc()))
}

/// Removes a group's or host's own policy: it uses its group's or the fleet's again.
pub(crate) async fn delete_login_policy(
    State(st): State<SharedState>,
    q: Result<Query<ScopeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RemovedScoped>> {
    let scope = scope_of(&st, q).await?;
    remove::<vigil_detect::login_model::LoginPolicy>(&st, &scope, "PUT an empty one instead").await
}

/// Attack analysis (SPEC R-LG10): failed logins, distinct sources and automatic blocks per host
/// per UTC day, and the sources that failed most.
pub(crate) async fn attacks(
    State(st): State<SharedState>,
    q: Result<Query<AttackQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AttackReport>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(ApiError::BadRequest(format!(
            "days must be 1 to 366 (got {days})"
        )));
    }
    let host = q.host.as_deref().filter(|h| !h.is_empty());
    let now = st.now();
    let since = now - now.rem_euclid(86_400) - (days - 1) * 86_400;
    let mut rows: BTreeMap<(i64, String), (i64, i64, i64)> = BTreeMap::new();
    for d in st.store.attack_days(host, since).await? {
        rows.insert((d.day, d.host_id), (d.failures, d.sources, 0));
    }
    for r in st.store.ip_rules(None).await? {
        if r.rule.origin != RuleOrigin::System || r.rule.created_at < since {
            continue;
        }
        let Some(h) = r.rule.hosts.first() else {
            continue;
        };
        if host.is_some_and(|x| x != h) {
            continue;
        }
        let day = r.rule.created_at - r.rule.created_at.rem_euclid(86_400);
        rows.entry((day, h.clone())).or_default().2 += 1;
    }
    let days: Vec<_> = rows
        .into_iter()
        .map(|((day, host_id), (failures, sources, blocks))| AttackDay {
            day,
            host_id,
            failures,
            sources,
            blocks,
        })
        .collect();
    let top: Vec<_> = st
        .store
        .top_attack_sources(host, since, 10)
        .await?
        .into_iter()
        .map(|(source, failures)| AttackSource { source, failures })
        .collect();
    Ok(Json(AttackReport {
        since,
        days,
        top_sources: top,
    }))
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/attacks", get(attacks))
        .route(
            "/api/v1/login-settings",
            get(get_login_settings)
                .put(put_login_settings)
                .delete(delete_login_settings),
        )
        .route(
            "/api/v1/login-policy",
            get(get_login_policy)
                .put(put_login_policy)
                .delete(delete_login_policy),
        )
}

/// A group's or host's own document; 404 when it inherits.
pub(crate) async fn own_or_404<D: Scoped>(st: &SharedState, scope: &Scope) -> ApiResult<D> {
    scoped::own::<D>(st, scope).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "{scope} has no {} of its own; it uses its group's or the fleet's",
            D::WHAT
        ))
    })
}

/// Removes a group's or host's own document, so it uses its group's or the fleet's again.
pub(crate) async fn remove<D: Scoped>(
    st: &SharedState,
    scope: &Scope,
    instead: &str,
) -> ApiResult<Json<RemovedScoped>> {
    if *scope == Scope::Global {
        let what = D::WHAT.split(' ').next_back().unwrap_or(D::WHAT);
        return Err(ApiError::BadRequest(format!(
            "the fleet's {what} cannot be removed; {instead}"
        )));
    }
    scoped::save::<D>(st, scope, None).await?;
    Ok(Json(RemovedScoped {
        removed: scope.to_string(),
    }))
}
