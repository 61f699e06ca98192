//! Baseline results: one row per host and check, replaced by each run the agent sends (inside
//! the run's ingest transaction), with when the check began failing and an operator's ignore.

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Row, Tx};
use crate::{BaselineRecord, Result, StoreError};
use async_trait::async_trait;
use vigil_model::{BaselineOutcome, CheckStatus, Timestamp};

#[async_trait]
pub trait BaselineStore {
    /// Every host's results (or one host's), by host then check id.
    async fn baseline_results(&self, host_id: Option<&str>) -> Result<Vec<BaselineRecord>>;
    /// Sets (a non-empty `reason`) or clears (empty) an operator's ignore of one check on one
    /// host; `false` when the host has no result for that check.
    async fn set_baseline_ignored(
        &self,
        host_id: &str,
        check_id: &str,
        reason: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<bool>;
    /// Marks one check (or, with `None`, every check) of a host as being verified: it shows as
    /// verifying until the host's next run. Returns how many results it marked.
    async fn request_baseline_verify(
        &self,
        host_id: &str,
        check_id: Option<&str>,
        now: Timestamp,
    ) -> Result<u64>;
}

/// Records one run: each check's row is inserted or replaced; a check that starts failing gets
/// `first_failed_at = now`, one that keeps failing keeps it, one that passes loses it; an
/// ignore stays. Checks the run did not report (dropped from the pack) are deleted.
pub(crate) async fn put_run(
    tx: &mut dyn Tx,
    host_id: &str,
    results: &[BaselineOutcome],
    now: Timestamp,
) -> Result<()> {
    for r in results {
        let failing = r.status == CheckStatus::Failed;
        tx.execute(
            "INSERT INTO baseline_results (host_id, check_id, status, evidence, file, \
             first_failed_at, last_run_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (host_id, check_id) DO UPDATE SET status = excluded.status, \
             evidence = excluded.evidence, file = excluded.file, last_run_at = excluded.last_run_at, \
             verify_requested_at = NULL, \
             first_failed_at = CASE WHEN excluded.status <> 'failed' THEN NULL \
             WHEN baseline_results.status = 'failed' THEN baseline_results.first_failed_at \
             ELSE excluded.first_failed_at END",
            args![
                host_id,
                &r.id,
                r.status.as_str(),
                &r.evidence,
                &r.file,
                failing.then_some(now),
                now
            ],
        )
        .await?;
    }
    let reported: std::collections::BTreeSet<&str> =
        results.iter().map(|r| r.id.as_str()).collect();
    let stored = tx
        .query(
            "SELECT check_id FROM baseline_results WHERE host_id = $1",
            args![host_id],
        )
        .await?;
    for mut row in stored {
        let id = row.text()?;
        if !reported.contains(id.as_str()) {
            tx.execute(
                "DELETE FROM baseline_results WHERE host_id = $1 AND check_id = $2",
                args![host_id, &id],
            )
            .await?;
        }
    }
    Ok(())
}

fn record(mut r: Row) -> Result<BaselineRecord> {
    let host_id = r.text()?;
    let check_id = r.text()?;
    let status = r.text()?;
    Ok(BaselineRecord {
        host_id,
        check_id,
        status: CheckStatus::parse(&status)
            .ok_or_else(|| StoreError::Decode(format!("baseline status {status:?}")))?,
        evidence: r.text()?,
        file: r.text()?,
        first_failed_at: r.opt_int()?,
        last_run_at: r.int()?,
        ignored_reason: r.text()?,
        ignored_by: r.text()?,
        ignored_at: r.opt_int()?,
        verify_requested_at: r.opt_int()?,
    })
}

#[async_trait]
impl BaselineStore for SqlStore {
    async fn baseline_results(&self, host_id: Option<&str>) -> Result<Vec<BaselineRecord>> {
        let h = host_id.map(str::to_owned);
        read_tx!(self, |tx| tx
            .query(
                "SELECT host_id, check_id, status, evidence, file, first_failed_at, last_run_at, \
                 ignored_reason, ignored_by, ignored_at, verify_requested_at FROM baseline_results \
                 WHERE CAST($1 AS TEXT) IS NULL OR host_id = $1 ORDER BY host_id, check_id",
                args![&h],
            )
            .await?
            .into_iter()
            .map(record)
            .collect())
    }

    async fn set_baseline_ignored(
        &self,
        host_id: &str,
        check_id: &str,
        reason: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let (h, c, reason, by) = (
            host_id.to_owned(),
            check_id.to_owned(),
            reason.to_owned(),
            by.to_owned(),
        );
        write_tx!(self, |tx| {
            let (by, at) = if reason.is_empty() {
                (String::new(), None)
            } else {
                (by.clone(), Some(now))
            };
            let n = tx
                .execute(
                    "UPDATE baseline_results SET ignored_reason = $3, ignored_by = $4, \
                     ignored_at = $5 WHERE host_id = $1 AND check_id = $2",
                    args![&h, &c, &reason, &by, at],
                )
                .await?;
            Ok(n > 0)
        })
    }

    async fn request_baseline_verify(
        &self,
        host_id: &str,
        check_id: Option<&str>,
        now: Timestamp,
    ) -> Result<u64> {
        let (h, c) = (host_id.to_owned(), check_id.map(str::to_owned));
        write_tx!(self, |tx| {
            let n = tx
                .execute(
                    "UPDATE baseline_results SET verify_requested_at = $3 \
                     WHERE host_id = $1 AND (CAST($2 AS TEXT) IS NULL OR check_id = $2)",
                    args![&h, &c, now],
                )
                .await?;
            Ok(n)
        })
    }
}
