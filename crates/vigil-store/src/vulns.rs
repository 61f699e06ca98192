//! Vulnerabilities found on hosts: one row per host, package and advisory, synced by each scan
//! and changed by operators (ignore, undo).

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Arg, OwnedArg, Row, Where};
use crate::{
    Result, VulnFilter, VulnFinding, VulnKey, VulnRecord, VulnStatus, VulnSync, VulnTransition,
    MAX_VULN_PAGE,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use vigil_model::Timestamp;

#[async_trait]
pub trait VulnStore {
    /// Records one scan of a host in one transaction: each finding is inserted (`unfixed`) or
    /// updated (versions, text, `last_seen`; a `fixed` one is `unfixed` again, an `ignored` one
    /// stays ignored), and every `unfixed` one the scan did not find becomes `fixed` at `now`.
    async fn sync_host_vulns(
        &self,
        host_id: &str,
        findings: &[VulnFinding],
        now: Timestamp,
    ) -> Result<VulnSync>;
    /// A page of vulnerabilities, highest level first, and how many match.
    async fn vulns(&self, filter: &VulnFilter) -> Result<(Vec<VulnRecord>, i64)>;
    /// An operator's change: `ignored` from `unfixed`, `unfixed` from `ignored` (`fixed` only
    /// comes from a scan). One outcome per key, in order.
    async fn set_vuln_status(
        &self,
        keys: &[VulnKey],
        to: VulnStatus,
        reason: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<Vec<VulnTransition>>;
    /// Unfixed vulnerabilities per (host, level).
    async fn unfixed_vuln_counts(&self) -> Result<Vec<(String, String, i64)>>;
}

const VULN_COLUMNS: &str = "host_id, package, advisory_id, ids, ecosystem, installed, \
     fixed, level, rce, summary, fix_command, needs_restart, status, reason, handled_by, \
     handled_at, first_seen, last_seen, fixed_at";

const VULN_ORDER: &str = "CASE level WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, \
     host_id, package, advisory_id";

fn status_of(s: &str) -> VulnStatus {
    VulnStatus::parse(s).unwrap_or(VulnStatus::Unfixed)
}

fn vuln_of(mut r: Row) -> Result<VulnRecord> {
    Ok(VulnRecord {
        host_id: r.text()?,
        finding: VulnFinding {
            package: r.text()?,
            advisory_id: r.text()?,
            ids: serde_json::from_str(&r.text()?).unwrap_or_default(),
            ecosystem: r.text()?,
            installed: r.text()?,
            fixed: r.opt_text()?,
            level: r.text()?,
            rce: r.bool()?,
            summary: r.text()?,
            fix_command: r.opt_text()?,
            needs_restart: r.bool()?,
        },
        status: status_of(&r.text()?),
        reason: r.text()?,
        handled_by: r.text()?,
        handled_at: r.opt_int()?,
        first_seen: r.int()?,
        last_seen: r.int()?,
        fixed_at: r.opt_int()?,
    })
}

fn vuln_where(f: &VulnFilter) -> Where {
    let mut w = Where::default();
    if let Some(h) = &f.host_id {
        w.add("host_id = #", OwnedArg::Text(h.clone()));
    }
    if let Some(s) = f.status {
        w.add("status = #", OwnedArg::Text(s.as_str().into()));
    }
    if let Some(l) = &f.level {
        w.add("level = #", OwnedArg::Text(l.clone()));
    }
    if let Some(p) = &f.package {
        w.add("package = #", OwnedArg::Text(p.clone()));
    }
    if let Some(q) = f.search.as_deref().filter(|q| !q.is_empty()) {
        w.contains("ids", q);
    }
    w
}

/// The status an operator's change to `to` must start from; `None` when operators cannot set
/// `to` (only a scan marks a vulnerability fixed).
fn change_from(to: VulnStatus) -> Option<VulnStatus> {
    match to {
        VulnStatus::Ignored => Some(VulnStatus::Unfixed),
        VulnStatus::Unfixed => Some(VulnStatus::Ignored),
        VulnStatus::Fixed => None,
    }
}

/// One finding per key, the last one winning (a scan may list a package twice, once per
/// architecture).
fn dedup_findings(findings: &[VulnFinding]) -> Vec<VulnFinding> {
    let mut by_key: BTreeMap<(&str, &str), &VulnFinding> = BTreeMap::new();
    for f in findings {
        by_key.insert((&f.package, &f.advisory_id), f);
    }
    by_key.into_values().cloned().collect()
}

#[async_trait]
impl VulnStore for SqlStore {
    async fn sync_host_vulns(
        &self,
        host_id: &str,
        findings: &[VulnFinding],
        now: Timestamp,
    ) -> Result<VulnSync> {
        let (h, findings) = (host_id.to_owned(), dedup_findings(findings));
        write_tx!(self, |tx| {
            // Scans of one host are serialised, so two servers cannot interleave their updates.
            tx.lock(&format!("vulns:{h}")).await?;
            let mut before: HashMap<(String, String), VulnStatus> = HashMap::new();
            for mut r in tx
                .query(
                    "SELECT package, advisory_id, status FROM vulns WHERE host_id = $1",
                    args![&h],
                )
                .await?
            {
                before.insert((r.text()?, r.text()?), status_of(&r.text()?));
            }
            let mut sync = VulnSync::default();
            for f in &findings {
                let ids = serde_json::to_string(&f.ids).expect("string lists serialize");
                tx.execute(
                    "INSERT INTO vulns (host_id, package, advisory_id, ids, ecosystem, installed, \
                       fixed, level, rce, summary, fix_command, needs_restart, status, first_seen, \
                       last_seen) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'unfixed', $13, $13) \
                     ON CONFLICT (host_id, package, advisory_id) DO UPDATE SET ids = excluded.ids, \
                     ecosystem = excluded.ecosystem, installed = excluded.installed, \
                     fixed = excluded.fixed, level = excluded.level, rce = excluded.rce, \
                     summary = excluded.summary, fix_command = excluded.fix_command, \
                     needs_restart = excluded.needs_restart, last_seen = excluded.last_seen, \
                     status = CASE WHEN vulns.status = 'fixed' THEN 'unfixed' ELSE vulns.status END, \
                     fixed_at = CASE WHEN vulns.status = 'fixed' THEN NULL ELSE vulns.fixed_at END",
                    args![
                        &h,
                        &f.package,
                        &f.advisory_id,
                        &ids,
                        &f.ecosystem,
                        &f.installed,
                        &f.fixed,
                        &f.level,
                        f.rce,
                        &f.summary,
                        &f.fix_command,
                        f.needs_restart,
                        now
                    ],
                )
                .await?;
                match before.remove(&(f.package.clone(), f.advisory_id.clone())) {
                    None => sync.new += 1,
                    Some(VulnStatus::Fixed) => sync.reopened += 1,
                    Some(_) => {}
                }
            }
            for ((package, advisory), status) in &before {
                if *status == VulnStatus::Unfixed {
                    sync.fixed += tx
                        .execute(
                            "UPDATE vulns SET status = 'fixed', fixed_at = $4 WHERE host_id = $1 \
                             AND package = $2 AND advisory_id = $3 AND status = 'unfixed'",
                            args![&h, package, advisory, now],
                        )
                        .await?;
                }
            }
            Ok(sync)
        })
    }

    async fn vulns(&self, filter: &VulnFilter) -> Result<(Vec<VulnRecord>, i64)> {
        let f = filter.clone();
        read_tx!(self, |tx| {
            let w = vuln_where(&f);
            let (wh, n) = (w.sql(), w.next());
            let total = tx
                .query_one(&format!("SELECT COUNT(*) FROM vulns {wh}"), &w.with(&[]))
                .await?
                .int()?;
            let page = tx
                .query(
                    &format!(
                        "SELECT {VULN_COLUMNS} FROM vulns {wh} ORDER BY {VULN_ORDER} \
                         LIMIT ${n} OFFSET ${}",
                        n + 1
                    ),
                    &w.with(&[
                        Arg::Int(f.limit.clamp(0, MAX_VULN_PAGE)),
                        Arg::Int(f.offset.max(0)),
                    ]),
                )
                .await?
                .into_iter()
                .map(vuln_of)
                .collect::<Result<_>>()?;
            Ok((page, total))
        })
    }

    async fn set_vuln_status(
        &self,
        keys: &[VulnKey],
        to: VulnStatus,
        reason: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<Vec<VulnTransition>> {
        let (keys, reason, by) = (keys.to_vec(), reason.to_owned(), by.to_owned());
        write_tx!(self, |tx| {
            let mut out = Vec::with_capacity(keys.len());
            for k in &keys {
                let changed = match change_from(to) {
                    Some(from) => {
                        tx.execute(
                            "UPDATE vulns SET status = $4, reason = $5, handled_by = $6, \
                             handled_at = $7 WHERE host_id = $1 AND package = $2 \
                             AND advisory_id = $3 AND status = $8",
                            args![
                                &k.host_id,
                                &k.package,
                                &k.advisory_id,
                                to.as_str(),
                                &reason,
                                &by,
                                now,
                                from.as_str()
                            ],
                        )
                        .await?
                    }
                    None => 0,
                };
                if changed == 1 {
                    out.push(VulnTransition::Changed);
                    continue;
                }
                let status = tx
                    .query_opt(
                        "SELECT status FROM vulns WHERE host_id = $1 AND package = $2 \
                         AND advisory_id = $3",
                        args![&k.host_id, &k.package, &k.advisory_id],
                    )
                    .await?;
                out.push(match status {
                    Some(mut r) => VulnTransition::Unchanged(status_of(&r.text()?)),
                    None => VulnTransition::Missing,
                });
            }
            Ok(out)
        })
    }

    async fn unfixed_vuln_counts(&self) -> Result<Vec<(String, String, i64)>> {
        read_tx!(self, |tx| crate::alerts::level_counts(
            tx.query(
                "SELECT host_id, level, COUNT(*) FROM vulns WHERE status = 'unfixed' \
                 GROUP BY host_id, level",
                &[],
            )
            .await?
        ))
    }
}
