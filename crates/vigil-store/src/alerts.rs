//! Events and alerts: lists, statuses, expiry, whitelist rules and links between alerts.

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Arg, OwnedArg, Row, Tx, Where};
use crate::{
    alert_count_cap, AlertFilter, AlertRecord, Result, StoredEvent, Transition, WhitelistRuleRecord,
};
use async_trait::async_trait;
use vigil_model::{AlertKind, AlertStatus, Level, ScopeKind, Timestamp};

#[async_trait]
pub trait AlertStore {
    async fn event_count(&self, host_id: Option<&str>) -> Result<i64>;
    async fn events(&self, host_id: &str, limit: i64) -> Result<Vec<StoredEvent>>;
    /// A page of alerts and how many match, counted up to [`alert_count_cap`] + 1.
    async fn alerts(&self, filter: &AlertFilter) -> Result<(Vec<AlertRecord>, i64)>;
    async fn alert(&self, id: i64) -> Result<Option<AlertRecord>>;
    /// Sets `to` on each alert whose status is one of `from`, recording who and why.
    async fn transition_alerts(
        &self,
        ids: &[i64],
        from: &[AlertStatus],
        to: AlertStatus,
        by: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<Vec<Transition>>;
    /// Unhandled alerts last seen before `before` become expired; returns how many.
    async fn expire_alerts(&self, before: Timestamp) -> Result<u64>;
    /// Alerts of one kind whose status is one of `statuses`.
    async fn alerts_of_kind(
        &self,
        kind: AlertKind,
        statuses: &[AlertStatus],
    ) -> Result<Vec<AlertRecord>>;
    async fn add_whitelist_rule(&self, rule: &WhitelistRuleRecord) -> Result<i64>;
    async fn whitelist_rules(&self) -> Result<Vec<WhitelistRuleRecord>>;
    /// Marks the alerts whitelisted by `rule_id` (those not already whitelisted); returns how many.
    async fn whitelist_alerts(
        &self,
        ids: &[i64],
        rule_id: i64,
        by: &str,
        now: Timestamp,
    ) -> Result<u64>;
    /// Deletes a rule and returns the alerts it covered to `unhandled`. `None` if no such rule,
    /// else how many alerts came back.
    async fn delete_whitelist_rule(&self, id: i64) -> Result<Option<u64>>;
    /// Links two alerts both ways (idempotent).
    async fn link_alerts(&self, a: i64, b: i64) -> Result<()>;
    /// Alerts linked to `id`.
    async fn related_alerts(&self, id: i64) -> Result<Vec<i64>>;
    /// The alert a host raised under `key`, if any.
    async fn alert_by_key(
        &self,
        host_id: &str,
        kind: AlertKind,
        key: &str,
    ) -> Result<Option<AlertRecord>>;
    /// Unhandled alerts per (host, level).
    async fn unhandled_alert_counts(&self) -> Result<Vec<(String, String, i64)>>;
}

pub(crate) fn evidence_to_json(ev: &[(String, String)]) -> String {
    serde_json::to_string(ev).expect("string pairs serialize")
}

/// `'a', 'b'` for `IN (…)`: names of a closed set, never operator text.
pub(crate) fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn status_list(statuses: &[AlertStatus]) -> String {
    name_list(statuses.iter().map(|s| s.as_str()))
}

pub(crate) fn parse_kind(s: &str) -> AlertKind {
    // A kind written by a newer version is shown as a configuration risk rather than lost.
    AlertKind::parse(s).unwrap_or(AlertKind::ConfigurationRisk)
}

pub(crate) const ALERT_COLUMNS: &str =
    "id, host_id, kind, level, status, name, dedup_key, evidence, first_seen, \
     last_seen, count, handled_at, handled_by, note, whitelist_rule_id";

pub(crate) fn alert_of(mut r: Row) -> Result<AlertRecord> {
    Ok(AlertRecord {
        id: r.int()?,
        host_id: r.text()?,
        kind: parse_kind(&r.text()?),
        level: Level::parse(&r.text()?).unwrap_or(Level::Reminder),
        status: AlertStatus::parse(&r.text()?).unwrap_or(AlertStatus::Unhandled),
        name: r.text()?,
        key: r.text()?,
        evidence: serde_json::from_str(&r.text()?).unwrap_or_default(),
        first_seen: r.int()?,
        last_seen: r.int()?,
        count: r.int()?,
        handled_at: r.opt_int()?,
        handled_by: r.text()?,
        note: r.text()?,
        whitelist_rule_id: r.opt_int()?,
    })
}

fn alert_where(f: &AlertFilter) -> Where {
    let mut w = Where::default();
    if let Some(h) = &f.host_id {
        w.add("host_id = #", OwnedArg::Text(h.clone()));
    }
    if let Some(l) = f.level {
        w.add("level = #", OwnedArg::Text(l.as_str().into()));
    }
    if let Some(s) = f.status {
        w.add("status = #", OwnedArg::Text(s.as_str().into()));
    }
    if let Some(k) = f.kind {
        w.add("kind = #", OwnedArg::Text(k.as_str().into()));
    }
    if let Some(t) = f.since {
        w.add("last_seen >= #", OwnedArg::Int(t));
    }
    if let Some(t) = f.until {
        w.add("last_seen < #", OwnedArg::Int(t));
    }
    if let Some(q) = f.search.as_deref().filter(|q| !q.is_empty()) {
        w.contains("name", q);
    }
    w
}

pub(crate) async fn alerts(tx: &mut dyn Tx, f: &AlertFilter) -> Result<(Vec<AlertRecord>, i64)> {
    let w = alert_where(f);
    let (wh, n) = (w.sql(), w.next());
    let total = tx
        .query_one(
            &format!("SELECT COUNT(*) FROM (SELECT 1 FROM alerts {wh} LIMIT ${n}) capped"),
            &w.with(&[Arg::Int(alert_count_cap(f) + 1)]),
        )
        .await?
        .int()?;
    let page = tx
        .query(
            &format!(
                "SELECT {ALERT_COLUMNS} FROM alerts {wh} ORDER BY {} LIMIT ${n} OFFSET ${}",
                f.sort.order_by(),
                n + 1
            ),
            &w.with(&[Arg::Int(f.limit.clamp(0, 1000)), Arg::Int(f.offset.max(0))]),
        )
        .await?
        .into_iter()
        .map(alert_of)
        .collect::<Result<_>>()?;
    Ok((page, total))
}

pub(crate) async fn transition(
    tx: &mut dyn Tx,
    ids: &[i64],
    from: &[AlertStatus],
    to: AlertStatus,
    by: &str,
    note: &str,
    now: Timestamp,
) -> Result<Vec<Transition>> {
    let update = format!(
        "UPDATE alerts SET status = $2, handled_at = $3, handled_by = $4, note = $5 \
         WHERE id = $1 AND status IN ({})",
        status_list(from)
    );
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        if tx
            .execute(&update, args![id, to.as_str(), now, by, note])
            .await?
            == 1
        {
            out.push(Transition::Changed(id));
            continue;
        }
        let row = tx
            .query_opt("SELECT status FROM alerts WHERE id = $1", args![id])
            .await?;
        out.push(match row {
            Some(mut r) => Transition::Unchanged {
                id,
                status: AlertStatus::parse(&r.text()?).unwrap_or(AlertStatus::Unhandled),
            },
            None => Transition::Missing(id),
        });
    }
    Ok(out)
}

pub(crate) async fn link(tx: &mut dyn Tx, a: i64, b: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO alert_links VALUES ($1, $2), ($2, $1) ON CONFLICT DO NOTHING",
        args![a, b],
    )
    .await?;
    Ok(())
}

pub(crate) async fn by_key(
    tx: &mut dyn Tx,
    host_id: &str,
    kind: AlertKind,
    key: &str,
) -> Result<Option<AlertRecord>> {
    tx.query_opt(
        &format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE host_id = $1 AND kind = $2 AND dedup_key = $3"
        ),
        args![host_id, kind.as_str(), key],
    )
    .await?
    .map(alert_of)
    .transpose()
}

fn rule_of(mut r: Row) -> Result<WhitelistRuleRecord> {
    Ok(WhitelistRuleRecord {
        id: r.int()?,
        kind: parse_kind(&r.text()?),
        // A scope written by a newer version narrows to its host value rather than widening.
        scope: ScopeKind::parse(&r.text()?).unwrap_or(ScopeKind::Host),
        scope_value: r.text()?,
        fields: serde_json::from_str(&r.text()?).unwrap_or_default(),
        note: r.text()?,
        created_at: r.int()?,
        created_by: r.text()?,
    })
}

/// (host, level, count) rows.
pub(crate) fn level_counts(rows: Vec<Row>) -> Result<Vec<(String, String, i64)>> {
    rows.into_iter()
        .map(|mut r| Ok((r.text()?, r.text()?, r.int()?)))
        .collect()
}

#[async_trait]
impl AlertStore for SqlStore {
    async fn event_count(&self, host_id: Option<&str>) -> Result<i64> {
        let h = host_id.map(str::to_owned);
        read_tx!(self, |tx| match &h {
            Some(h) => tx
                .query_one("SELECT COUNT(*) FROM events WHERE host_id = $1", args![h])
                .await?
                .int(),
            None => tx
                .query_one("SELECT COUNT(*) FROM events", &[])
                .await?
                .int(),
        })
    }

    async fn events(&self, host_id: &str, limit: i64) -> Result<Vec<StoredEvent>> {
        let h = host_id.to_owned();
        read_tx!(self, |tx| tx
            .query(
                "SELECT id, host_id, seq, time, kind, body FROM events WHERE host_id = $1 \
                 ORDER BY id DESC LIMIT $2",
                args![&h, limit],
            )
            .await?
            .into_iter()
            .map(|mut r| Ok(StoredEvent {
                id: r.int()?,
                host_id: r.text()?,
                seq: r.int()?,
                time: r.int()?,
                kind: r.text()?,
                body: r.text()?,
            }))
            .collect())
    }

    async fn alerts(&self, filter: &AlertFilter) -> Result<(Vec<AlertRecord>, i64)> {
        let f = filter.clone();
        read_tx!(self, |tx| alerts(tx, &f).await)
    }

    async fn alert(&self, id: i64) -> Result<Option<AlertRecord>> {
        read_tx!(self, |tx| tx
            .query_opt(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"),
                args![id],
            )
            .await?
            .map(alert_of)
            .transpose())
    }

    async fn transition_alerts(
        &self,
        ids: &[i64],
        from: &[AlertStatus],
        to: AlertStatus,
        by: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<Vec<Transition>> {
        let (ids, from, by, note) = (ids.to_vec(), from.to_vec(), by.to_owned(), note.to_owned());
        write_tx!(self, |tx| transition(tx, &ids, &from, to, &by, &note, now)
            .await)
    }

    async fn expire_alerts(&self, before: Timestamp) -> Result<u64> {
        write_tx!(self, |tx| {
            tx
            .execute(
                "UPDATE alerts SET status = 'expired' WHERE status = 'unhandled' AND last_seen < $1",
                args![before],
            )
            .await
        })
    }

    async fn alerts_of_kind(
        &self,
        kind: AlertKind,
        statuses: &[AlertStatus],
    ) -> Result<Vec<AlertRecord>> {
        let statuses = status_list(statuses);
        read_tx!(self, |tx| tx
            .query(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE kind = $1 AND status IN ({statuses})"
                ),
                args![kind.as_str()],
            )
            .await?
            .into_iter()
            .map(alert_of)
            .collect())
    }

    async fn add_whitelist_rule(&self, r: &WhitelistRuleRecord) -> Result<i64> {
        let r = r.clone();
        write_tx!(self, |tx| tx
            .query_one(
                "INSERT INTO whitelist_rules (kind, scope, scope_value, fields, note, created_at, \
                 created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                args![
                    r.kind.as_str(),
                    r.scope.as_str(),
                    &r.scope_value,
                    &crate::hosts::labels_to_json(&r.fields),
                    &r.note,
                    r.created_at,
                    &r.created_by
                ],
            )
            .await?
            .int())
    }

    async fn whitelist_rules(&self) -> Result<Vec<WhitelistRuleRecord>> {
        read_tx!(self, |tx| tx
            .query(
                "SELECT id, kind, scope, scope_value, fields, note, created_at, created_by \
                 FROM whitelist_rules ORDER BY id",
                &[],
            )
            .await?
            .into_iter()
            .map(rule_of)
            .collect())
    }

    async fn whitelist_alerts(
        &self,
        ids: &[i64],
        rule_id: i64,
        by: &str,
        now: Timestamp,
    ) -> Result<u64> {
        let (ids, by) = (ids.to_vec(), by.to_owned());
        write_tx!(self, |tx| {
            let mut n = 0;
            for id in ids {
                n += tx
                    .execute(
                        "UPDATE alerts SET status = 'whitelisted', whitelist_rule_id = $2, \
                         handled_at = $3, handled_by = $4 WHERE id = $1 AND status <> 'whitelisted'",
                        args![id, rule_id, now, &by],
                    )
                    .await?;
            }
            Ok(n)
        })
    }

    async fn delete_whitelist_rule(&self, id: i64) -> Result<Option<u64>> {
        write_tx!(self, |tx| {
            if tx
                .execute("DELETE FROM whitelist_rules WHERE id = $1", args![id])
                .await?
                == 0
            {
                return Ok(None);
            }
            let n = tx
                .execute(
                    "UPDATE alerts SET status = CASE WHEN status = 'whitelisted' THEN 'unhandled' \
                     ELSE status END, whitelist_rule_id = NULL WHERE whitelist_rule_id = $1",
                    args![id],
                )
                .await?;
            Ok(Some(n))
        })
    }

    async fn link_alerts(&self, a: i64, b: i64) -> Result<()> {
        write_tx!(self, |tx| link(tx, a, b).await)
    }

    async fn related_alerts(&self, id: i64) -> Result<Vec<i64>> {
        read_tx!(self, |tx| tx
            .query(
                "SELECT related_id FROM alert_links WHERE alert_id = $1 ORDER BY related_id",
                args![id],
            )
            .await?
            .into_iter()
            .map(|mut r| r.int())
            .collect())
    }

    async fn alert_by_key(
        &self,
        host_id: &str,
        kind: AlertKind,
        key: &str,
    ) -> Result<Option<AlertRecord>> {
        let (h, k) = (host_id.to_owned(), key.to_owned());
        read_tx!(self, |tx| by_key(tx, &h, kind, &k).await)
    }

    async fn unhandled_alert_counts(&self) -> Result<Vec<(String, String, i64)>> {
        read_tx!(self, |tx| level_counts(
            tx.query(
                "SELECT host_id, level, COUNT(*) FROM alerts WHERE status = 'unhandled' \
                 GROUP BY host_id, level",
                &[],
            )
            .await?
        ))
    }
}
