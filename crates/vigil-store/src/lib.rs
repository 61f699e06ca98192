//! Vigil's storage: one [`Store`] trait with a SQLite and a PostgreSQL implementation.
//!
//! Each backend owns its migrations (`migrations/` beside its module) and the same conformance
//! suite (`tests/conformance.rs`) runs against both. The trait speaks in domain records; SQL,
//! connection pools and blocking calls stay inside the backends.

mod postgres;
mod records;
mod sqlite;
pub mod testing;

pub use postgres::PostgresStore;
pub use records::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use std::sync::Arc;
use vigil_model::{AlertKind, AlertStatus, NewAlert, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("stored JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("database URL {0:?} is not understood (use sqlite://PATH or postgres://…)")]
    BadUrl(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("database task failed: {0}")]
    Task(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why an install code did not enroll a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollRefusal {
    #[error("the install code is not known to this server")]
    Unknown,
    #[error("the install code expired at {at}")]
    Expired { at: Timestamp },
    #[error("the install code was revoked at {at}")]
    Revoked { at: Timestamp },
}

/// Outcome of committing an event batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Events and alerts were committed.
    Stored,
    /// This sequence number was committed before; nothing was written.
    Duplicate,
}

/// Everything the server persists. Implementations must be safe to share between tasks and, for
/// PostgreSQL, between several server processes.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short backend name for logs (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    // --- operators ---
    async fn create_user(&self, username: &str, password_hash: &str, now: Timestamp) -> Result<()>;
    async fn user(&self, username: &str) -> Result<Option<UserRecord>>;
    async fn user_count(&self) -> Result<i64>;
    async fn add_token(&self, token: &TokenRecord) -> Result<()>;
    async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>>;
    /// Deletes a token; `Ok(false)` when it did not exist.
    async fn delete_token(&self, token_hash: &str) -> Result<bool>;

    // --- groups ---
    /// Creates the group; `Ok(false)` when it already existed.
    async fn create_group(&self, name: &str, now: Timestamp) -> Result<bool>;
    async fn groups(&self) -> Result<Vec<GroupRecord>>;

    // --- install codes ---
    async fn create_install_code(&self, code: &InstallCodeRecord) -> Result<()>;
    async fn install_codes(&self) -> Result<Vec<InstallCodeRecord>>;
    async fn install_code(&self, code_hash: &str) -> Result<Option<InstallCodeRecord>>;
    /// Marks the code revoked; `Ok(false)` when no such code exists.
    async fn revoke_install_code(&self, id: &str, now: Timestamp) -> Result<bool>;

    // --- hosts ---
    /// Checks the code (known, not revoked, not expired), counts its use, joins its group and
    /// records the host, all in one transaction.
    async fn enroll_host(
        &self,
        code_hash: &str,
        host: &NewHost,
        now: Timestamp,
    ) -> Result<std::result::Result<HostRecord, EnrollRefusal>>;
    async fn host(&self, id: &str) -> Result<Option<HostRecord>>;
    async fn hosts(&self) -> Result<Vec<HostRecord>>;
    /// Marks the host seen at `now` (never moving backwards).
    async fn touch_host(&self, id: &str, now: Timestamp) -> Result<()>;
    /// Records a heartbeat: seen at `now`, the agent's version and its own health as JSON.
    async fn record_heartbeat(
        &self,
        id: &str,
        now: Timestamp,
        agent_version: &str,
        agent_stats: &str,
    ) -> Result<()>;
    async fn mark_uninstalled(&self, id: &str, now: Timestamp) -> Result<()>;
    /// Replaces the host's fingerprint snapshot (and its OS facts) unless a newer one is stored.
    async fn put_inventory(
        &self,
        id: &str,
        collected_at: Timestamp,
        os_json: &str,
        json: &str,
    ) -> Result<()>;
    async fn inventory(&self, id: &str) -> Result<Option<String>>;

    // --- events and alerts ---
    /// Commits a batch's events and the alerts raised from them atomically, once per `seq`.
    /// Each alert comes with the whitelist rule that covers it, if any: such an alert is stored
    /// as `whitelisted` instead of being raised.
    async fn ingest(
        &self,
        host_id: &str,
        seq: i64,
        events: &[EventRow],
        alerts: &[(NewAlert, Option<i64>)],
        now: Timestamp,
    ) -> Result<Ingested>;
    async fn event_count(&self, host_id: Option<&str>) -> Result<i64>;
    async fn events(&self, host_id: &str, limit: i64) -> Result<Vec<StoredEvent>>;
    /// A page of alerts and how many match, counted up to [`alert_count_cap`] + 1.
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

    // --- host actions ---
    async fn queue_command(&self, command: &NewCommand) -> Result<i64>;
    /// Commands of a host not yet finished nor expired at `now`, oldest first.
    async fn pending_commands(&self, host_id: &str, now: Timestamp) -> Result<Vec<CommandRecord>>;
    async fn mark_commands_sent(&self, ids: &[i64], now: Timestamp) -> Result<()>;
    /// Records the agent's outcome of one of its own unfinished commands; `None` when the
    /// command is unknown, another host's, or already finished.
    async fn finish_command(
        &self,
        host_id: &str,
        id: i64,
        ok: bool,
        message: &str,
        result: &str,
        now: Timestamp,
    ) -> Result<Option<CommandRecord>>;
    /// Unfinished commands past their expiry become `timed_out`; returns them.
    async fn expire_commands(&self, now: Timestamp) -> Result<Vec<CommandRecord>>;
    async fn commands(&self, host_id: Option<&str>, limit: i64) -> Result<Vec<CommandRecord>>;
    async fn put_quarantined(&self, rec: &QuarantineRecord) -> Result<()>;
    async fn quarantined(&self, host_id: Option<&str>) -> Result<Vec<QuarantineRecord>>;
    async fn mark_restored(&self, host_id: &str, qid: &str, now: Timestamp) -> Result<bool>;

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

    // --- settings and notifications ---
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;
    async fn notify_channels(&self) -> Result<Vec<ChannelRow>>;
    async fn add_notify_channel(&self, name: &str, config: &str, now: Timestamp) -> Result<i64>;
    async fn delete_notify_channel(&self, id: i64) -> Result<bool>;
    /// Notifications counted on a channel's local day: (all hosts, this host).
    async fn notify_counts(
        &self,
        channel_id: i64,
        day_start: Timestamp,
        host_id: &str,
    ) -> Result<(i64, i64)>;
    async fn was_notified(&self, channel_id: i64, alert_id: i64) -> Result<bool>;
    /// Queues a notification and remembers its alert as notified on the channel.
    async fn enqueue_notification(&self, row: &OutboxRow) -> Result<i64>;
    /// Pending notifications due at `now`, each leased until `lease_until` so that one server
    /// sends it.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxRow>>;
    /// Records one delivery attempt and the row's new state.
    #[allow(clippy::too_many_arguments)]
    async fn record_outbox_attempt(
        &self,
        id: i64,
        state: &str,
        next_at: Timestamp,
        item: &str,
        number: i64,
        at: Timestamp,
        outcome: &str,
    ) -> Result<()>;
    async fn outbox(&self, limit: i64) -> Result<Vec<OutboxRow>>;
    /// (number, time, outcome JSON) of every attempt, oldest first.
    async fn outbox_attempts(&self, id: i64) -> Result<Vec<(i64, Timestamp, String)>>;
    async fn add_inbox(&self, row: &InboxRow) -> Result<i64>;
    async fn inbox(&self, limit: i64) -> Result<Vec<InboxRow>>;
    async fn mark_inbox_read(&self, id: i64, now: Timestamp) -> Result<bool>;

    /// Unhandled alerts per (host, level).
    async fn unhandled_alert_counts(&self) -> Result<Vec<(String, String, i64)>>;

    // --- IP policy library ---
    async fn add_ip_rule(&self, rule: &NewIpRule) -> Result<i64>;
    /// Rules, newest first; `status` filters when given.
    async fn ip_rules(&self, status: Option<&str>) -> Result<Vec<IpRuleRecord>>;
    async fn ip_rule(&self, id: i64) -> Result<Option<IpRuleRecord>>;
    /// Ends an active rule (`disabled` or `expired`); `None` when it was not active.
    async fn end_ip_rule(
        &self,
        id: i64,
        status: &str,
        now: Timestamp,
        by: &str,
    ) -> Result<Option<IpRuleRecord>>;
    /// Marks active rules whose time is up as expired and returns them.
    async fn expire_ip_rules(&self, now: Timestamp) -> Result<Vec<IpRuleRecord>>;
    /// Records a rule's state on one host (insert or update).
    async fn set_ip_rule_host(
        &self,
        rule_id: i64,
        host_id: &str,
        state: &str,
        message: &str,
        now: Timestamp,
    ) -> Result<()>;
    /// Per-host states of one rule, or of every rule.
    async fn ip_rule_hosts(&self, rule_id: Option<i64>) -> Result<Vec<IpRuleHostRecord>>;

    // --- vulnerabilities ---
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

    // --- attack analysis ---
    /// Adds failed-login counts (summed into existing rows).
    async fn add_login_failures(&self, host_id: &str, rows: &[LoginFailureRow]) -> Result<()>;
    /// Per host and day since `since` (a day start), oldest first; one host or all.
    async fn attack_days(&self, host_id: Option<&str>, since: Timestamp) -> Result<Vec<AttackDay>>;
    /// The sources that failed most on a host (or all) since `since`: (source, failures).
    async fn top_attack_sources(
        &self,
        host_id: Option<&str>,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, i64)>>;
}

/// Opens the store a URL names: `sqlite://PATH` (created if missing) or `postgres://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::BadUrl(url.to_string()))
    }
}

/// The rule both backends apply to an install code at enrollment.
pub(crate) fn check_code(code: &InstallCodeRecord, now: Timestamp) -> Result<(), EnrollRefusal> {
    if let Some(at) = code.revoked_at {
        return Err(EnrollRefusal::Revoked { at });
    }
    if now >= code.expires_at {
        return Err(EnrollRefusal::Expired {
            at: code.expires_at,
        });
    }
    Ok(())
}
