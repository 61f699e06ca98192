//! Host actions (queued, delivered, finished by the agent, timed out) and the quarantine box
//! the agents report.

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Row};
use crate::{CommandRecord, NewCommand, QuarantineRecord, Result};
use async_trait::async_trait;
use vigil_model::{CommandState, QuarantineState, Timestamp};

#[async_trait]
pub trait CommandStore {
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
    /// Unfinished commands past their expiry become `timed_out`; returns them as they are now.
    async fn expire_commands(&self, now: Timestamp) -> Result<Vec<CommandRecord>>;
    async fn commands(&self, host_id: Option<&str>, limit: i64) -> Result<Vec<CommandRecord>>;
    async fn put_quarantined(&self, rec: &QuarantineRecord) -> Result<()>;
    async fn quarantined(&self, host_id: Option<&str>) -> Result<Vec<QuarantineRecord>>;
    async fn mark_restored(&self, host_id: &str, qid: &str, now: Timestamp) -> Result<bool>;
}

const COMMAND_COLUMNS: &str = "id, host_id, alert_id, action, params, state, created_at, \
     created_by, expires_at, sent_at, finished_at, message, result";

fn command_of(mut r: Row) -> Result<CommandRecord> {
    Ok(CommandRecord {
        id: r.int()?,
        host_id: r.text()?,
        alert_id: r.opt_int()?,
        action: r.text()?,
        params: r.text()?,
        // A state written by a newer version counts as finished, so it is never re-sent.
        state: CommandState::parse(&r.text()?).unwrap_or(CommandState::Failed),
        created_at: r.int()?,
        created_by: r.text()?,
        expires_at: r.int()?,
        sent_at: r.opt_int()?,
        finished_at: r.opt_int()?,
        message: r.text()?,
        result: r.text()?,
    })
}

const QUARANTINE_COLUMNS: &str =
    "host_id, qid, path, sha256, md5, size, quarantined_at, state, restored_at, record";

fn quarantine_of(mut r: Row) -> Result<QuarantineRecord> {
    Ok(QuarantineRecord {
        host_id: r.text()?,
        qid: r.text()?,
        path: r.text()?,
        sha256: r.text()?,
        md5: r.text()?,
        size: r.int()?,
        quarantined_at: r.int()?,
        state: QuarantineState::parse(&r.text()?).unwrap_or(QuarantineState::Quarantined),
        restored_at: r.opt_int()?,
        record: r.text()?,
    })
}

/// Queued or sent.
const OPEN: &str = "('queued', 'sent')";

#[async_trait]
impl CommandStore for SqlStore {
    async fn queue_command(&self, c: &NewCommand) -> Result<i64> {
        let c = c.clone();
        write_tx!(self, |tx| tx
            .query_one(
                "INSERT INTO commands (host_id, alert_id, action, params, state, created_at, \
                   created_by, expires_at) \
                 VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7) RETURNING id",
                args![
                    &c.host_id,
                    c.alert_id,
                    &c.action,
                    &c.params,
                    c.created_at,
                    &c.created_by,
                    c.expires_at
                ],
            )
            .await?
            .int())
    }

    async fn pending_commands(&self, host_id: &str, now: Timestamp) -> Result<Vec<CommandRecord>> {
        let h = host_id.to_owned();
        read_tx!(self, |tx| tx
            .query(
                &format!(
                    "SELECT {COMMAND_COLUMNS} FROM commands WHERE host_id = $1 \
                     AND state IN {OPEN} AND expires_at > $2 ORDER BY id"
                ),
                args![&h, now],
            )
            .await?
            .into_iter()
            .map(command_of)
            .collect())
    }

    async fn mark_commands_sent(&self, ids: &[i64], now: Timestamp) -> Result<()> {
        let ids = ids.to_vec();
        write_tx!(self, |tx| {
            for id in ids {
                tx.execute(
                    &format!(
                        "UPDATE commands SET state = 'sent', sent_at = COALESCE(sent_at, $2) \
                         WHERE id = $1 AND state IN {OPEN}"
                    ),
                    args![id, now],
                )
                .await?;
            }
            Ok(())
        })
    }

    async fn finish_command(
        &self,
        host_id: &str,
        id: i64,
        ok: bool,
        message: &str,
        result: &str,
        now: Timestamp,
    ) -> Result<Option<CommandRecord>> {
        let (h, m, r) = (host_id.to_owned(), message.to_owned(), result.to_owned());
        let state = if ok {
            CommandState::Succeeded
        } else {
            CommandState::Failed
        };
        write_tx!(self, |tx| tx
            .query_opt(
                &format!(
                    "UPDATE commands SET state = $3, finished_at = $4, message = $5, result = $6 \
                     WHERE id = $1 AND host_id = $2 AND state IN {OPEN} RETURNING {COMMAND_COLUMNS}"
                ),
                args![id, &h, state.as_str(), now, &m, &r],
            )
            .await?
            .map(command_of)
            .transpose())
    }

    async fn expire_commands(&self, now: Timestamp) -> Result<Vec<CommandRecord>> {
        write_tx!(self, |tx| {
            let mut out = tx
                .query(
                    &format!(
                        "UPDATE commands SET state = 'timed_out', finished_at = $1, \
                         message = 'the host did not run the command before it expired' \
                         WHERE state IN {OPEN} AND expires_at <= $1 RETURNING {COMMAND_COLUMNS}"
                    ),
                    args![now],
                )
                .await?
                .into_iter()
                .map(command_of)
                .collect::<Result<Vec<_>>>()?;
            out.sort_by_key(|c| c.id);
            Ok(out)
        })
    }

    async fn commands(&self, host_id: Option<&str>, limit: i64) -> Result<Vec<CommandRecord>> {
        let h = host_id.map(str::to_owned);
        read_tx!(self, |tx| tx
            .query(
                &format!(
                    "SELECT {COMMAND_COLUMNS} FROM commands \
                     WHERE CAST($1 AS TEXT) IS NULL OR host_id = $1 ORDER BY id DESC LIMIT $2"
                ),
                args![&h, limit.clamp(1, 1000)],
            )
            .await?
            .into_iter()
            .map(command_of)
            .collect())
    }

    async fn put_quarantined(&self, q: &QuarantineRecord) -> Result<()> {
        let q = q.clone();
        write_tx!(self, |tx| {
            tx.execute(
                &format!(
                    "INSERT INTO quarantine ({QUARANTINE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (host_id, qid) DO UPDATE SET state = excluded.state, \
                     restored_at = excluded.restored_at, record = excluded.record"
                ),
                args![
                    &q.host_id,
                    &q.qid,
                    &q.path,
                    &q.sha256,
                    &q.md5,
                    q.size,
                    q.quarantined_at,
                    q.state.as_str(),
                    q.restored_at,
                    &q.record
                ],
            )
            .await?;
            Ok(())
        })
    }

    async fn quarantined(&self, host_id: Option<&str>) -> Result<Vec<QuarantineRecord>> {
        let h = host_id.map(str::to_owned);
        read_tx!(self, |tx| {
            tx
            .query(
                &format!(
                    "SELECT {QUARANTINE_COLUMNS} FROM quarantine \
                     WHERE CAST($1 AS TEXT) IS NULL OR host_id = $1 ORDER BY quarantined_at DESC, qid"
                ),
                args![&h],
            )
            .await?
            .into_iter()
            .map(quarantine_of)
            .collect()
        })
    }

    async fn mark_restored(&self, host_id: &str, qid: &str, now: Timestamp) -> Result<bool> {
        let (h, q) = (host_id.to_owned(), qid.to_owned());
        write_tx!(self, |tx| Ok(tx
            .execute(
                "UPDATE quarantine SET state = 'restored', restored_at = $3 \
                 WHERE host_id = $1 AND qid = $2 AND state = 'quarantined'",
                args![&h, &q, now],
            )
            .await?
            == 1))
    }
}
