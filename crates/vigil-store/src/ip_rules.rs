//! The IP policy library: block rules on some or all hosts, and each host's state of each rule.

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Row, Tx};
use crate::{IpRuleHostRecord, IpRuleRecord, NewIpRule, Result};
use async_trait::async_trait;
use vigil_model::{Direction, IpRuleHostState, IpRuleStatus, RuleOrigin, Timestamp};

#[async_trait]
pub trait IpRuleStore {
    async fn add_ip_rule(&self, rule: &NewIpRule) -> Result<i64>;
    /// Rules, newest first; `status` filters when given.
    async fn ip_rules(&self, status: Option<IpRuleStatus>) -> Result<Vec<IpRuleRecord>>;
    async fn ip_rule(&self, id: i64) -> Result<Option<IpRuleRecord>>;
    /// Ends an active rule (`disabled` or `expired`); `None` when it was not active.
    async fn end_ip_rule(
        &self,
        id: i64,
        status: IpRuleStatus,
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
        state: IpRuleHostState,
        message: &str,
        now: Timestamp,
    ) -> Result<()>;
    /// Per-host states of one rule, or of every rule.
    async fn ip_rule_hosts(&self, rule_id: Option<i64>) -> Result<Vec<IpRuleHostRecord>>;
}

const IP_RULE_COLUMNS: &str =
    "id, target, direction, hosts, origin, reason, alert_id, created_at, \
     created_by, expires_at, status, ended_at, ended_by";

fn rule_of(mut r: Row) -> Result<IpRuleRecord> {
    Ok(IpRuleRecord {
        id: r.int()?,
        rule: NewIpRule {
            target: r.text()?,
            direction: Direction::parse(&r.text()?).unwrap_or(Direction::In),
            hosts: serde_json::from_str(&r.text()?).unwrap_or_default(),
            origin: RuleOrigin::parse(&r.text()?).unwrap_or(RuleOrigin::Custom),
            reason: r.text()?,
            alert_id: r.opt_int()?,
            created_at: r.int()?,
            created_by: r.text()?,
            expires_at: r.opt_int()?,
        },
        // A status written by a newer version is not applied again.
        status: IpRuleStatus::parse(&r.text()?).unwrap_or(IpRuleStatus::Disabled),
        ended_at: r.opt_int()?,
        ended_by: r.text()?,
    })
}

fn rules_of(rows: Vec<Row>) -> Result<Vec<IpRuleRecord>> {
    let mut out = rows.into_iter().map(rule_of).collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|r| std::cmp::Reverse(r.id));
    Ok(out)
}

pub(crate) async fn add(tx: &mut dyn Tx, r: &NewIpRule) -> Result<i64> {
    let hosts = serde_json::to_string(&r.hosts).expect("string lists serialize");
    tx.query_one(
        "INSERT INTO ip_rules (target, direction, hosts, origin, reason, alert_id, created_at, \
           created_by, expires_at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active') RETURNING id",
        args![
            &r.target,
            r.direction.as_str(),
            &hosts,
            r.origin.as_str(),
            &r.reason,
            r.alert_id,
            r.created_at,
            &r.created_by,
            r.expires_at
        ],
    )
    .await?
    .int()
}

pub(crate) async fn list(
    tx: &mut dyn Tx,
    status: Option<IpRuleStatus>,
) -> Result<Vec<IpRuleRecord>> {
    rules_of(
        tx.query(
            &format!(
                "SELECT {IP_RULE_COLUMNS} FROM ip_rules \
                 WHERE CAST($1 AS TEXT) IS NULL OR status = $1 ORDER BY id DESC"
            ),
            args![status.map(IpRuleStatus::as_str)],
        )
        .await?,
    )
}

pub(crate) async fn set_host(
    tx: &mut dyn Tx,
    rule_id: i64,
    host_id: &str,
    state: IpRuleHostState,
    message: &str,
    now: Timestamp,
) -> Result<()> {
    tx.execute(
        "INSERT INTO ip_rule_hosts (rule_id, host_id, state, message, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (rule_id, host_id) DO UPDATE SET state = excluded.state, \
         message = excluded.message, updated_at = excluded.updated_at",
        args![rule_id, host_id, state.as_str(), message, now],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl IpRuleStore for SqlStore {
    async fn add_ip_rule(&self, r: &NewIpRule) -> Result<i64> {
        let r = r.clone();
        write_tx!(self, |tx| add(tx, &r).await)
    }

    async fn ip_rules(&self, status: Option<IpRuleStatus>) -> Result<Vec<IpRuleRecord>> {
        read_tx!(self, |tx| list(tx, status).await)
    }

    async fn ip_rule(&self, id: i64) -> Result<Option<IpRuleRecord>> {
        read_tx!(self, |tx| tx
            .query_opt(
                &format!("SELECT {IP_RULE_COLUMNS} FROM ip_rules WHERE id = $1"),
                args![id],
            )
            .await?
            .map(rule_of)
            .transpose())
    }

    async fn end_ip_rule(
        &self,
        id: i64,
        status: IpRuleStatus,
        now: Timestamp,
        by: &str,
    ) -> Result<Option<IpRuleRecord>> {
        let by = by.to_owned();
        write_tx!(self, |tx| tx
            .query_opt(
                &format!(
                    "UPDATE ip_rules SET status = $2, ended_at = $3, ended_by = $4 \
                     WHERE id = $1 AND status = 'active' RETURNING {IP_RULE_COLUMNS}"
                ),
                args![id, status.as_str(), now, &by],
            )
            .await?
            .map(rule_of)
            .transpose())
    }

    async fn expire_ip_rules(&self, now: Timestamp) -> Result<Vec<IpRuleRecord>> {
        write_tx!(self, |tx| rules_of(
            tx.query(
                &format!(
                    "UPDATE ip_rules SET status = 'expired', ended_at = expires_at, \
                     ended_by = 'expiry' \
                     WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= $1 \
                     RETURNING {IP_RULE_COLUMNS}"
                ),
                args![now],
            )
            .await?
        ))
    }

    async fn set_ip_rule_host(
        &self,
        rule_id: i64,
        host_id: &str,
        state: IpRuleHostState,
        message: &str,
        now: Timestamp,
    ) -> Result<()> {
        let (h, m) = (host_id.to_owned(), message.to_owned());
        write_tx!(self, |tx| set_host(tx, rule_id, &h, state, &m, now).await)
    }

    async fn ip_rule_hosts(&self, rule_id: Option<i64>) -> Result<Vec<IpRuleHostRecord>> {
        read_tx!(self, |tx| tx
            .query(
                "SELECT rule_id, host_id, state, message, updated_at FROM ip_rule_hosts \
                 WHERE CAST($1 AS BIGINT) IS NULL OR rule_id = $1 ORDER BY rule_id DESC, host_id",
                args![rule_id],
            )
            .await?
            .into_iter()
            .map(|mut r| Ok(IpRuleHostRecord {
                rule_id: r.int()?,
                host_id: r.text()?,
                // A state written by a newer version shows as failed, so nobody trusts it.
                state: IpRuleHostState::parse(&r.text()?).unwrap_or(IpRuleHostState::Failed),
                message: r.text()?,
                updated_at: r.int()?,
            }))
            .collect())
    }
}
