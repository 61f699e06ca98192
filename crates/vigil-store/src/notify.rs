//! Notification channels, the outbox (queued, leased, attempted, sent or failed) and the inbox.

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Row, Tx};
use crate::{ChannelRow, InboxRow, OutboxRow, Result};
use async_trait::async_trait;
use vigil_model::{OutboxState, Timestamp};

#[async_trait]
pub trait NotifyStore {
    async fn notify_channels(&self) -> Result<Vec<ChannelRow>>;
    async fn add_notify_channel(&self, name: &str, config: &str, now: Timestamp) -> Result<i64>;
    async fn delete_notify_channel(&self, id: i64) -> Result<bool>;
    /// Replaces a channel's stored settings; `Ok(false)` when no such channel exists.
    async fn update_notify_channel(&self, id: i64, config: &str) -> Result<bool>;
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
        state: OutboxState,
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
}

const OUTBOX_COLUMNS: &str =
    "id, channel_id, host_id, alert_id, state, next_at, created_at, day_start, item";

fn outbox_of(mut r: Row) -> Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.int()?,
        channel_id: r.int()?,
        host_id: r.text()?,
        alert_id: r.opt_int()?,
        // A state written by a newer version is not sent again.
        state: OutboxState::parse(&r.text()?).unwrap_or(OutboxState::Failed),
        next_at: r.int()?,
        created_at: r.int()?,
        day_start: r.int()?,
        item: r.text()?,
    })
}

fn channel_of(mut r: Row) -> Result<ChannelRow> {
    Ok(ChannelRow {
        id: r.int()?,
        name: r.text()?,
        config: r.text()?,
        created_at: r.int()?,
    })
}

fn inbox_of(mut r: Row) -> Result<InboxRow> {
    Ok(InboxRow {
        id: r.int()?,
        alert_id: r.opt_int()?,
        host_id: r.text()?,
        title: r.text()?,
        body: r.text()?,
        created_at: r.int()?,
        read_at: r.opt_int()?,
    })
}

pub(crate) async fn channels(tx: &mut dyn Tx) -> Result<Vec<ChannelRow>> {
    tx.query(
        "SELECT id, name, config, created_at FROM notify_channels ORDER BY id",
        &[],
    )
    .await?
    .into_iter()
    .map(channel_of)
    .collect()
}

pub(crate) async fn counts(
    tx: &mut dyn Tx,
    channel_id: i64,
    day_start: Timestamp,
    host_id: &str,
) -> Result<(i64, i64)> {
    let mut r = tx
        .query_one(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN host_id = $3 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM outbox WHERE channel_id = $1 AND day_start = $2 AND alert_id IS NOT NULL",
            args![channel_id, day_start, host_id],
        )
        .await?;
    Ok((r.int()?, r.int()?))
}

pub(crate) async fn was_notified(tx: &mut dyn Tx, channel_id: i64, alert_id: i64) -> Result<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM notified WHERE channel_id = $1 AND alert_id = $2",
            args![channel_id, alert_id],
        )
        .await?
        .is_some())
}

pub(crate) async fn enqueue(tx: &mut dyn Tx, r: &OutboxRow) -> Result<i64> {
    let id = tx
        .query_one(
            "INSERT INTO outbox (channel_id, host_id, alert_id, state, next_at, created_at, \
               day_start, item) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            args![
                r.channel_id,
                &r.host_id,
                r.alert_id,
                r.state.as_str(),
                r.next_at,
                r.created_at,
                r.day_start,
                &r.item
            ],
        )
        .await?
        .int()?;
    if let Some(alert) = r.alert_id {
        tx.execute(
            "INSERT INTO notified VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![r.channel_id, alert],
        )
        .await?;
    }
    Ok(id)
}

#[async_trait]
impl NotifyStore for SqlStore {
    async fn notify_channels(&self) -> Result<Vec<ChannelRow>> {
        read_tx!(self, |tx| channels(tx).await)
    }

    async fn add_notify_channel(&self, name: &str, config: &str, now: Timestamp) -> Result<i64> {
        let (n, cfg) = (name.to_owned(), config.to_owned());
        write_tx!(self, |tx| tx
            .query_one(
                "INSERT INTO notify_channels (name, config, created_at) VALUES ($1, $2, $3) \
                 RETURNING id",
                args![&n, &cfg, now],
            )
            .await?
            .int())
    }

    async fn delete_notify_channel(&self, id: i64) -> Result<bool> {
        write_tx!(self, |tx| Ok(tx
            .execute("DELETE FROM notify_channels WHERE id = $1", args![id])
            .await?
            == 1))
    }

    async fn update_notify_channel(&self, id: i64, config: &str) -> Result<bool> {
        let cfg = config.to_owned();
        write_tx!(self, |tx| Ok(tx
            .execute(
                "UPDATE notify_channels SET config = $2 WHERE id = $1",
                args![id, &cfg],
            )
            .await?
            == 1))
    }

    async fn notify_counts(
        &self,
        channel_id: i64,
        day_start: Timestamp,
        host_id: &str,
    ) -> Result<(i64, i64)> {
        let h = host_id.to_owned();
        read_tx!(self, |tx| counts(tx, channel_id, day_start, &h).await)
    }

    async fn was_notified(&self, channel_id: i64, alert_id: i64) -> Result<bool> {
        read_tx!(self, |tx| was_notified(tx, channel_id, alert_id).await)
    }

    async fn enqueue_notification(&self, row: &OutboxRow) -> Result<i64> {
        let r = row.clone();
        write_tx!(self, |tx| enqueue(tx, &r).await)
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        write_tx!(self, |tx| {
            // SKIP LOCKED lets several servers claim disjoint rows without waiting on each other.
            let mut out = tx
                .query(
                    &format!(
                        "UPDATE outbox SET next_at = $2 WHERE id IN (\
                           SELECT id FROM outbox WHERE state = 'pending' AND next_at <= $1 \
                           ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                         RETURNING {OUTBOX_COLUMNS}"
                    ),
                    args![now, lease_until, limit],
                )
                .await?
                .into_iter()
                .map(outbox_of)
                .collect::<Result<Vec<_>>>()?;
            out.sort_by_key(|r| r.id);
            Ok(out)
        })
    }

    async fn record_outbox_attempt(
        &self,
        id: i64,
        state: OutboxState,
        next_at: Timestamp,
        item: &str,
        number: i64,
        at: Timestamp,
        outcome: &str,
    ) -> Result<()> {
        let (item, outcome) = (item.to_owned(), outcome.to_owned());
        write_tx!(self, |tx| {
            tx.execute(
                "UPDATE outbox SET state = $2, next_at = $3, item = $4 WHERE id = $1",
                args![id, state.as_str(), next_at, &item],
            )
            .await?;
            tx.execute(
                "INSERT INTO outbox_attempts VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (outbox_id, number) DO UPDATE SET at = excluded.at, \
                 outcome = excluded.outcome",
                args![id, number, at, &outcome],
            )
            .await?;
            Ok(())
        })
    }

    async fn outbox(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        read_tx!(self, |tx| tx
            .query(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id DESC LIMIT $1"),
                args![limit.clamp(1, 1000)],
            )
            .await?
            .into_iter()
            .map(outbox_of)
            .collect())
    }

    async fn outbox_attempts(&self, id: i64) -> Result<Vec<(i64, Timestamp, String)>> {
        read_tx!(self, |tx| {
            tx
            .query(
                "SELECT number, at, outcome FROM outbox_attempts WHERE outbox_id = $1 ORDER BY number",
                args![id],
            )
            .await?
            .into_iter()
            .map(|mut r| Ok((r.int()?, r.int()?, r.text()?)))
            .collect()
        })
    }

    async fn add_inbox(&self, row: &InboxRow) -> Result<i64> {
        let r = row.clone();
        write_tx!(self, |tx| tx
            .query_one(
                "INSERT INTO inbox (alert_id, host_id, title, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                args![r.alert_id, &r.host_id, &r.title, &r.body, r.created_at],
            )
            .await?
            .int())
    }

    async fn inbox(&self, limit: i64) -> Result<Vec<InboxRow>> {
        read_tx!(self, |tx| tx
            .query(
                "SELECT id, alert_id, host_id, title, body, created_at, read_at FROM inbox \
                 ORDER BY id DESC LIMIT $1",
                args![limit.clamp(1, 1000)],
            )
            .await?
            .into_iter()
            .map(inbox_of)
            .collect())
    }

    async fn mark_inbox_read(&self, id: i64, now: Timestamp) -> Result<bool> {
        write_tx!(self, |tx| Ok(tx
            .execute(
                "UPDATE inbox SET read_at = COALESCE(read_at, $2) WHERE id = $1",
                args![id, now],
            )
            .await?
            == 1))
    }
}
