//! `/api/v1/vulns…`: vulnerability rows and fleet views (by advisory or package), ignoring and
//! undoing, and verifying a host (a fresh inventory).

use super::*;
use axum::routing::{get, post};
use axum::Router;

use crate::http::{find_host, parse_json, ApiError, ApiResult, Operator};
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use std::collections::{BTreeMap, BTreeSet};
use vigil_proto::agent::CommandAction;
use vigil_proto::api::{
    HandleVulnResponse, HandleVulnResult, HandleVulns, VerifyVulns, VulnDbView, VulnGroup,
    VulnItems, VulnList, VulnQuery, VulnSourceView, VulnView,
};
use vigil_store::{VulnFilter, VulnKey, VulnRecord, VulnStatus, VulnTransition, MAX_VULN_PAGE};

fn db_view(st: &SharedState) -> VulnDbView {
    let db = st.vulns.current();
    VulnDbView {
        loaded: db.is_some(),
        path: db_path(st).display().to_string(),
        advisories: db.as_ref().map_or(0, |d| d.advisory_count()),
        sources: db
            .as_ref()
            .map(|d| {
                d.sources()
                    .iter()
                    .map(|s| VulnSourceView {
                        name: s.name.clone(),
                        imported_at: s.imported_at,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        hint: db.is_none().then(|| {
            format!(
                "no advisory database at {}: {BUILD_HINT}",
                db_path(st).display()
            )
        }),
    }
}

fn level_rank(level: &str) -> u8 {
    match level {
        "high" => 2,
        "medium" => 1,
        _ => 0,
    }
}

fn view(r: VulnRecord, hostname: String) -> VulnView {
    let f = r.finding;
    VulnView {
        host_id: r.host_id,
        hostname,
        package: f.package,
        advisory: f.advisory_id,
        ids: f.ids,
        ecosystem: f.ecosystem,
        installed: f.installed,
        fixed: f.fixed,
        level: f.level,
        rce: f.rce,
        summary: f.summary,
        fix_command: f.fix_command,
        needs_restart: f.needs_restart,
        status: r.status.as_str().into(),
        reason: r.reason,
        handled_by: r.handled_by,
        handled_at: r.handled_at,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        fixed_at: r.fixed_at,
    }
}

/// Groups rows by advisory or package, most urgent and widest first.
fn group(rows: &[VulnRecord], by_package: bool) -> Vec<VulnGroup> {
    #[derive(Default)]
    struct Acc {
        ids: Vec<String>,
        packages: BTreeSet<String>,
        level: String,
        rce: bool,
        summary: String,
        hosts: BTreeSet<String>,
        installed: BTreeSet<String>,
        fixed: BTreeSet<String>,
        fix_commands: BTreeSet<String>,
        needs_restart: bool,
        counts: [usize; 3],
        first_seen: Option<i64>,
        last_seen: i64,
    }
    let mut groups: BTreeMap<&str, Acc> = BTreeMap::new();
    for r in rows {
        let f = &r.finding;
        let key = if by_package {
            &f.package
        } else {
            &f.advisory_id
        };
        let a = groups.entry(key).or_default();
        for id in if by_package {
            std::slice::from_ref(&f.advisory_id)
        } else {
            &f.ids[..]
        } {
            if !a.ids.contains(id) {
                a.ids.push(id.clone());
            }
        }
        a.packages.insert(f.package.clone());
        if a.level.is_empty() || level_rank(&f.level) > level_rank(&a.level) {
            a.level = f.level.clone();
        }
        if a.summary.is_empty() {
            a.summary = f.summary.clone();
        }
        a.rce |= f.rce;
        a.hosts.insert(r.host_id.clone());
        a.installed.insert(f.installed.clone());
        a.fixed.extend(f.fixed.clone());
        a.fix_commands.extend(f.fix_command.clone());
        a.needs_restart |= f.needs_restart;
        a.counts[match r.status {
            VulnStatus::Unfixed => 0,
            VulnStatus::Ignored => 1,
            VulnStatus::Fixed => 2,
        }] += 1;
        a.first_seen = Some(a.first_seen.map_or(r.first_seen, |t| t.min(r.first_seen)));
        a.last_seen = a.last_seen.max(r.last_seen);
    }
    let mut out: Vec<VulnGroup> = groups
        .into_iter()
        .map(|(key, a)| VulnGroup {
            key: key.to_string(),
            // One package's summary would mislabel a package group of several advisories.
            summary: if by_package && a.ids.len() > 1 {
                format!("{} advisories", a.ids.len())
            } else {
                a.summary
            },
            ids: a.ids,
            packages: a.packages.into_iter().collect(),
            level: a.level,
            rce: a.rce,
            hosts: a.hosts.len(),
            host_ids: a.hosts.into_iter().collect(),
            installed: a.installed.into_iter().collect(),
            fixed: a.fixed.into_iter().collect(),
            fix_commands: a.fix_commands.into_iter().collect(),
            needs_restart: a.needs_restart,
            unfixed: a.counts[0],
            ignored: a.counts[1],
            fixed_count: a.counts[2],
            first_seen: a.first_seen.unwrap_or(0),
            last_seen: a.last_seen,
        })
        .collect();
    out.sort_by(|a, b| {
        level_rank(&b.level)
            .cmp(&level_rank(&a.level))
            .then(b.hosts.cmp(&a.hosts))
            .then_with(|| a.key.cmp(&b.key))
    });
    out
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `GET /api/v1/vulns`.
pub async fn list(
    State(st): State<SharedState>,
    q: Result<Query<VulnQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<VulnList>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let status = match nonempty(q.status) {
        None => None,
        Some(s) => Some(VulnStatus::parse(&s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status {s:?} is not one of unfixed, fixed, ignored"
            ))
        })?),
    };
    let level = nonempty(q.level);
    if let Some(l) = &level {
        if !["high", "medium", "low"].contains(&l.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "level {l:?} is not one of high, medium, low"
            )));
        }
    }
    let group_by = match nonempty(q.group_by).as_deref() {
        None | Some("none") => "none",
        Some("advisory") => "advisory",
        Some("package") => "package",
        Some(g) => {
            return Err(ApiError::BadRequest(format!(
                "group_by {g:?} is not one of advisory, package, none"
            )))
        }
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to 1000 (got {limit})"
        )));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::BadRequest("offset must not be negative".into()));
    }
    let mut filter = VulnFilter {
        host_id: nonempty(q.host),
        status,
        level,
        package: nonempty(q.package),
        search: nonempty(q.q),
        limit,
        offset,
    };
    let hostnames: BTreeMap<String, String> = st
        .store
        .hosts()
        .await?
        .into_iter()
        .map(|h| (h.id, h.hostname))
        .collect();
    let (total, truncated, items) = if group_by == "none" {
        let (rows, total) = st.store.vulns(&filter).await?;
        let items: Vec<VulnView> = rows
            .into_iter()
            .map(|r| {
                let name = hostnames.get(&r.host_id).cloned().unwrap_or_default();
                view(r, name)
            })
            .collect();
        (total, false, VulnItems::Rows(items))
    } else {
        filter.limit = MAX_VULN_PAGE;
        filter.offset = 0;
        let (rows, rows_total) = st.store.vulns(&filter).await?;
        let groups = group(&rows, group_by == "package");
        let total = groups.len() as i64;
        let page: Vec<VulnGroup> = groups
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        (total, rows_total > MAX_VULN_PAGE, VulnItems::Groups(page))
    };
    Ok(Json(VulnList {
        group_by: group_by.into(),
        total,
        truncated,
        items,
        database: db_view(&st),
    }))
}

/// `POST /api/v1/vulns/handle`: ignore with a reason, or undo an ignore.
pub async fn handle(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    body: Bytes,
) -> ApiResult<Json<HandleVulnResponse>> {
    let req: HandleVulns = parse_json(&body)?;
    if req.keys.is_empty() || req.keys.len() > 1000 {
        return Err(ApiError::BadRequest(
            "keys must list 1 to 1000 vulnerabilities".into(),
        ));
    }
    let to = match req.action.as_str() {
        "ignore" => VulnStatus::Ignored,
        "unignore" => VulnStatus::Unfixed,
        a => {
            return Err(ApiError::BadRequest(format!(
                "action {a:?} is not one of ignore, unignore"
            )))
        }
    };
    let reason = req.reason.trim();
    if to == VulnStatus::Ignored && reason.is_empty() {
        return Err(ApiError::BadRequest(
            "ignoring a vulnerability needs a reason (why it does not matter here)".into(),
        ));
    }
    if reason.chars().count() > 1000 {
        return Err(ApiError::BadRequest(
            "reason must be at most 1000 characters".into(),
        ));
    }
    let keys: Vec<VulnKey> = req
        .keys
        .iter()
        .map(|k| VulnKey {
            host_id: k.host_id.clone(),
            package: k.package.clone(),
            advisory_id: k.advisory.clone(),
        })
        .collect();
    let outcomes = st
        .store
        .set_vuln_status(&keys, to, reason, &op.0, st.now())
        .await?;
    let results: Vec<HandleVulnResult> = req
        .keys
        .into_iter()
        .zip(outcomes)
        .map(|(k, t)| {
            let what = format!("{} in {} on host {}", k.advisory, k.package, k.host_id);
            let (outcome, status, message) = match t {
                VulnTransition::Changed => (
                    "changed",
                    Some(to.as_str()),
                    format!("{what} is now {}", to.as_str()),
                ),
                VulnTransition::Unchanged(s) if s == to => (
                    "unchanged",
                    Some(s.as_str()),
                    format!("{what} is already {}", s.as_str()),
                ),
                VulnTransition::Unchanged(VulnStatus::Fixed) => (
                    "unchanged",
                    Some("fixed"),
                    format!(
                        "{what} is fixed (the last scan did not find it); only a scan changes that"
                    ),
                ),
                VulnTransition::Unchanged(s) => (
                    "unchanged",
                    Some(s.as_str()),
                    format!("{what} is {}; it cannot be {}d", s.as_str(), req.action),
                ),
                VulnTransition::Missing => ("missing", None, format!("{what} not found")),
            };
            HandleVulnResult {
                host_id: k.host_id,
                package: k.package,
                advisory: k.advisory,
                outcome: outcome.into(),
                status: status.map(str::to_string),
                message,
            }
        })
        .collect();
    Ok(Json(HandleVulnResponse { results }))
}

/// `POST /api/v1/hosts/{id}/vulns/verify`: asks the agent for a fresh inventory now; its
/// report is matched like any other, so fixed vulnerabilities turn `fixed` on arrival.
pub async fn verify(
    State(st): State<SharedState>,
    axum::Extension(op): axum::Extension<Operator>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<VerifyVulns>)> {
    let host = find_host(&st, &id).await?;
    if host.uninstalled_at.is_some() {
        return Err(ApiError::Conflict(format!(
            "host {id} is uninstalled; it cannot be rescanned"
        )));
    }
    let command_id =
        crate::commands::queue(&st, &id, None, &CommandAction::ReportInventory, &op.0).await?;
    let loaded = st.vulns.current().is_some();
    let message = if loaded {
        "rescan requested: the agent sends a fresh inventory with its next heartbeat, and it is \
         matched on arrival"
            .to_string()
    } else {
        format!("rescan requested, but no advisory database is loaded: {BUILD_HINT}")
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(VerifyVulns {
            host_id: id,
            command_id,
            action: CommandAction::ReportInventory.name().into(),
            database_loaded: loaded,
            message,
        }),
    ))
}

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/vulns", get(list))
        .route("/api/v1/vulns/handle", post(handle))
        .route("/api/v1/hosts/{id}/vulns/verify", post(verify))
}
