//! Ingest: an event batch, the alerts raised from it and every write the server's stages want
//! from it (learned state, counters, blocks, links, queued notifications), committed in one
//! transaction once per batch sequence number, or not at all.

use crate::db::{write_tx, SqlStore};
use crate::sql::{args, Arg, Column, SqlType, Tx};
use crate::{
    AlertFilter, AlertRecord, ChannelRow, EventRow, HostRecord, IpRuleRecord, LoginFailureRow,
    NewIpRule, OutboxRow, Result, StoreError, Transition,
};
use async_trait::async_trait;
use vigil_model::{AlertKind, AlertStatus, IpRuleHostState, IpRuleStatus, NewAlert, Timestamp};

/// Outcome of committing an event batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Events, alerts and writes were committed.
    Stored,
    /// This sequence number was committed before; nothing was written.
    Duplicate,
    /// The batch's number is at or below the last one committed but it is not a retry of that
    /// one (a different digest): the agent's counter went back (a restored snapshot, a lost
    /// counter file). Nothing was written; the agent should renumber from `next_seq`.
    Behind { next_seq: i64 },
}

/// A write a stage of the server's ingest wants, applied inside the batch's transaction after
/// its events and alerts are in (so it can find them by key). It awaits only `tx`.
#[async_trait]
pub trait TxWrite: Send {
    async fn apply(self: Box<Self>, tx: &mut Txn<'_>) -> Result<()>;
}

/// Everything one event batch commits.
pub struct IngestPlan {
    pub host_id: String,
    /// The batch's sequence number: claimed in the same transaction, so a retried batch is
    /// acknowledged without writing anything twice.
    pub seq: i64,
    /// SHA-256 of the batch as the agent sent it. Empty: any batch at or below the last
    /// committed number counts as a duplicate (no way to tell a retry from a counter gone back).
    pub digest: String,
    pub now: Timestamp,
    pub events: Vec<EventRow>,
    /// Each alert with the whitelist rule that covers it, if any: such an alert is stored as
    /// `whitelisted` instead of being raised.
    pub alerts: Vec<(NewAlert, Option<i64>)>,
    /// Applied in order, after the alerts.
    pub writes: Vec<Box<dyn TxWrite>>,
}

impl std::fmt::Debug for IngestPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestPlan")
            .field("host_id", &self.host_id)
            .field("seq", &self.seq)
            .field("events", &self.events.len())
            .field("alerts", &self.alerts.len())
            .field("writes", &self.writes.len())
            .finish()
    }
}

impl IngestPlan {
    /// A plan of events and alerts only.
    pub fn new(
        host_id: &str,
        seq: i64,
        events: Vec<EventRow>,
        alerts: Vec<(NewAlert, Option<i64>)>,
        now: Timestamp,
    ) -> IngestPlan {
        IngestPlan {
            host_id: host_id.to_string(),
            seq,
            digest: String::new(),
            now,
            events,
            alerts,
            writes: Vec::new(),
        }
    }

    /// The plan with the digest of the batch it comes from.
    pub fn with_digest(mut self, digest: String) -> IngestPlan {
        self.digest = digest;
        self
    }
}

#[async_trait]
pub trait IngestStore {
    /// Commits the plan atomically, once per `(host_id, seq)`.
    async fn ingest(&self, plan: IngestPlan) -> Result<Ingested>;
}

const EVENT_COLUMNS: &[Column] = &[
    Column {
        name: "time",
        ty: SqlType::Int,
    },
    Column {
        name: "kind",
        ty: SqlType::Text,
    },
    Column {
        name: "body",
        ty: SqlType::Text,
    },
];

async fn ingest(tx: &mut dyn Tx, plan: IngestPlan) -> Result<Ingested> {
    let IngestPlan {
        host_id,
        seq,
        digest,
        now,
        events,
        alerts,
        writes,
    } = plan;
    // Claiming the sequence number first makes a replayed batch a no-op; on PostgreSQL the row
    // lock it takes also serialises one host's batches across servers.
    let claimed = tx
        .execute(
            "UPDATE hosts SET last_seq = $2, last_batch_digest = $4, \
               last_seen = GREATEST(COALESCE(last_seen, 0), $3) \
             WHERE id = $1 AND last_seq < $2",
            args![&host_id, seq, now, &digest],
        )
        .await?;
    if claimed == 0 {
        let Some(mut row) = tx
            .query_opt(
                "SELECT last_seq, last_batch_digest FROM hosts WHERE id = $1",
                args![&host_id],
            )
            .await?
        else {
            return Err(StoreError::NotFound(format!("host {host_id}")));
        };
        let last = row.int()?;
        let last_digest = row.opt_text()?.unwrap_or_default();
        let retry = seq == last && (last_digest.is_empty() || last_digest == digest);
        return Ok(if digest.is_empty() || retry {
            Ingested::Duplicate
        } else {
            Ingested::Behind { next_seq: last + 1 }
        });
    }
    let rows: Vec<Vec<Arg<'_>>> = events
        .iter()
        .map(|e| vec![Arg::Int(e.time), Arg::Text(&e.kind), Arg::Text(&e.body)])
        .collect();
    tx.insert_many(
        "events",
        &[("host_id", Arg::Text(&host_id)), ("seq", Arg::Int(seq))],
        EVENT_COLUMNS,
        &rows,
    )
    .await?;
    for (a, rule) in &alerts {
        // A recurring alert is live again unless an operator ignored or whitelisted it.
        tx.execute(
            "INSERT INTO alerts (host_id, kind, level, status, name, dedup_key, evidence, \
               first_seen, last_seen, whitelist_rule_id) \
             VALUES ($1, $2, $3, CASE WHEN CAST($8 AS BIGINT) IS NULL THEN 'unhandled' \
               ELSE 'whitelisted' END, $4, $5, $6, $7, $7, $8) \
             ON CONFLICT (host_id, kind, dedup_key) DO UPDATE SET \
               last_seen = GREATEST(alerts.last_seen, excluded.last_seen), \
               count = alerts.count + 1, level = excluded.level, name = excluded.name, \
               evidence = excluded.evidence, \
               whitelist_rule_id = COALESCE(excluded.whitelist_rule_id, alerts.whitelist_rule_id), \
               status = CASE WHEN excluded.whitelist_rule_id IS NOT NULL THEN 'whitelisted' \
                 WHEN alerts.status IN ('expired', 'handled') THEN 'unhandled' \
                 ELSE alerts.status END",
            args![
                &host_id,
                a.kind.as_str(),
                a.level.as_str(),
                &a.name,
                &a.key,
                &crate::alerts::evidence_to_json(&a.evidence),
                a.time,
                *rule
            ],
        )
        .await?;
    }
    let mut txn = Txn { tx };
    for w in writes {
        w.apply(&mut txn).await?;
    }
    Ok(Ingested::Stored)
}

#[async_trait]
impl IngestStore for SqlStore {
    async fn ingest(&self, plan: IngestPlan) -> Result<Ingested> {
        write_tx!(self, |tx| ingest(tx, plan).await)
    }
}

/// The part of the store a [`TxWrite`] may use, inside the batch's transaction: each method is
/// the same query as the store's method of that name.
pub struct Txn<'a> {
    tx: &'a mut dyn Tx,
}

impl Txn<'_> {
    pub async fn host(&mut self, id: &str) -> Result<Option<HostRecord>> {
        crate::hosts::host(self.tx, id).await
    }

    pub async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        crate::settings::get(self.tx, key).await
    }

    pub async fn put_setting(&mut self, key: &str, value: &str) -> Result<()> {
        crate::settings::put(self.tx, key, value).await
    }

    /// Records a baseline run of `host_id` (see `BaselineStore`).
    pub async fn put_baseline_run(
        &mut self,
        host_id: &str,
        results: &[vigil_model::BaselineOutcome],
        now: Timestamp,
    ) -> Result<()> {
        crate::baseline::put_run(self.tx, host_id, results, now).await
    }

    pub async fn add_login_failures(
        &mut self,
        host_id: &str,
        rows: &[LoginFailureRow],
    ) -> Result<()> {
        crate::logins::add_failures(self.tx, host_id, rows).await
    }

    pub async fn alerts(&mut self, filter: &AlertFilter) -> Result<(Vec<AlertRecord>, i64)> {
        crate::alerts::alerts(self.tx, filter).await
    }

    pub async fn alert_by_key(
        &mut self,
        host_id: &str,
        kind: AlertKind,
        key: &str,
    ) -> Result<Option<AlertRecord>> {
        crate::alerts::by_key(self.tx, host_id, kind, key).await
    }

    pub async fn transition_alerts(
        &mut self,
        ids: &[i64],
        from: &[AlertStatus],
        to: AlertStatus,
        by: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<Vec<Transition>> {
        crate::alerts::transition(self.tx, ids, from, to, by, note, now).await
    }

    pub async fn link_alerts(&mut self, a: i64, b: i64) -> Result<()> {
        crate::alerts::link(self.tx, a, b).await
    }

    pub async fn ip_rules(&mut self, status: Option<IpRuleStatus>) -> Result<Vec<IpRuleRecord>> {
        crate::ip_rules::list(self.tx, status).await
    }

    pub async fn add_ip_rule(&mut self, rule: &NewIpRule) -> Result<i64> {
        crate::ip_rules::add(self.tx, rule).await
    }

    pub async fn set_ip_rule_host(
        &mut self,
        rule_id: i64,
        host_id: &str,
        state: IpRuleHostState,
        message: &str,
        now: Timestamp,
    ) -> Result<()> {
        crate::ip_rules::set_host(self.tx, rule_id, host_id, state, message, now).await
    }

    pub async fn notify_channels(&mut self) -> Result<Vec<ChannelRow>> {
        crate::notify::channels(self.tx).await
    }

    pub async fn notify_counts(
        &mut self,
        channel_id: i64,
        day_start: Timestamp,
        host_id: &str,
    ) -> Result<(i64, i64)> {
        crate::notify::counts(self.tx, channel_id, day_start, host_id).await
    }

    pub async fn was_notified(&mut self, channel_id: i64, alert_id: i64) -> Result<bool> {
        crate::notify::was_notified(self.tx, channel_id, alert_id).await
    }

    pub async fn enqueue_notification(&mut self, row: &OutboxRow) -> Result<i64> {
        crate::notify::enqueue(self.tx, row).await
    }
}
