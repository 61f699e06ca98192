//! The attack analysis: failed logins per host, day, source and service.

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Tx};
use crate::{AttackDay, LoginFailureRow, Result};
use async_trait::async_trait;
use vigil_model::Timestamp;

#[async_trait]
pub trait LoginStore {
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

pub(crate) async fn add_failures(
    tx: &mut dyn Tx,
    host_id: &str,
    rows: &[LoginFailureRow],
) -> Result<()> {
    for r in rows {
        tx.execute(
            "INSERT INTO login_sources (host_id, day, source, service, failures) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (host_id, day, source, service) \
             DO UPDATE SET failures = login_sources.failures + excluded.failures",
            args![host_id, r.day, &r.source, &r.service, r.failures],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl LoginStore for SqlStore {
    async fn add_login_failures(&self, host_id: &str, rows: &[LoginFailureRow]) -> Result<()> {
        let (h, rows) = (host_id.to_owned(), rows.to_vec());
        write_tx!(self, |tx| add_failures(tx, &h, &rows).await)
    }

    async fn attack_days(&self, host_id: Option<&str>, since: Timestamp) -> Result<Vec<AttackDay>> {
        let h = host_id.map(str::to_owned);
        read_tx!(self, |tx| tx
            .query(
                "SELECT host_id, day, CAST(SUM(failures) AS BIGINT), COUNT(DISTINCT source) \
                 FROM login_sources WHERE day >= $1 AND (CAST($2 AS TEXT) IS NULL OR host_id = $2) \
                 GROUP BY host_id, day ORDER BY day, host_id",
                args![since, &h],
            )
            .await?
            .into_iter()
            .map(|mut r| Ok(AttackDay {
                host_id: r.text()?,
                day: r.int()?,
                failures: r.int()?,
                sources: r.int()?,
            }))
            .collect())
    }

    async fn top_attack_sources(
        &self,
        host_id: Option<&str>,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, i64)>> {
        let h = host_id.map(str::to_owned);
        read_tx!(self, |tx| tx
            .query(
                "SELECT source, CAST(SUM(failures) AS BIGINT) AS n FROM login_sources \
                 WHERE day >= $1 AND (CAST($2 AS TEXT) IS NULL OR host_id = $2) \
                 GROUP BY source ORDER BY n DESC, source LIMIT $3",
                args![since, &h, limit],
            )
            .await?
            .into_iter()
            .map(|mut r| Ok((r.text()?, r.int()?)))
            .collect())
    }
}
