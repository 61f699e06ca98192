//! The outbox as stored: each notification's attempts read straight from the database.

use super::*;

/// One outbox row and its attempts: (number, at, outcome JSON).
pub(super) struct OutboxInfo {
    pub(super) channel_id: i64,
    pub(super) state: String,
    pub(super) created_at: i64,
    pub(super) attempts: Vec<(i64, i64, String)>,
}

impl OutboxInfo {
    pub(super) fn outcome(json: &str) -> serde_json::Value {
        serde_json::from_str(json).unwrap_or_default()
    }

    pub(super) fn sent_attempts(&self) -> usize {
        self.attempts
            .iter()
            .filter(|(_, _, o)| Self::outcome(o)["outcome"] == "sent")
            .count()
    }

    /// When the `sent` attempt was recorded.
    pub(super) fn sent_at(&self) -> Option<i64> {
        self.attempts
            .iter()
            .find(|(_, _, o)| Self::outcome(o)["outcome"] == "sent")
            .map(|(_, at, _)| *at)
    }
}

pub(super) const OUTBOX_SQL_SQLITE: &str = "SELECT o.id, o.channel_id, o.state, o.created_at, a.number, a.at, a.outcome \
     FROM outbox o LEFT JOIN outbox_attempts a ON a.outbox_id = o.id WHERE o.id > ?1 ORDER BY o.id, a.number";
pub(super) const OUTBOX_SQL_PG: &str = "SELECT o.id, o.channel_id, o.state, o.created_at, a.number, a.at, a.outcome \
     FROM outbox o LEFT JOIN outbox_attempts a ON a.outbox_id = o.id WHERE o.id > $1 ORDER BY o.id, a.number";

pub(super) type Joined = (
    i64,
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// Outbox rows with an id above `floor`, by id, read with SQL beside the server (the store's
/// `outbox` lists 1,000 rows at most).
pub(super) async fn read_outbox(
    target: &DbTarget,
    floor: i64,
) -> Result<BTreeMap<i64, OutboxInfo>> {
    let joined: Vec<Joined> = match target {
        DbTarget::Sqlite(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> Result<Vec<Joined>> {
                let c = rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )?;
                c.busy_timeout(Duration::from_secs(10))?;
                let mut st = c.prepare(OUTBOX_SQL_SQLITE)?;
                let rows = st.query_map([floor], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
            .map_err(|e| anyhow!("reading the outbox: {e}"))??
        }
        DbTarget::Postgres(url) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .context("connecting to PostgreSQL")?;
            let conn = tokio::spawn(conn);
            let rows = client.query(OUTBOX_SQL_PG, &[&floor]).await;
            drop(client);
            let _ = conn.await;
            rows?
                .iter()
                .map(|r| {
                    (
                        r.get(0),
                        r.get(1),
                        r.get(2),
                        r.get(3),
                        r.get(4),
                        r.get(5),
                        r.get(6),
                    )
                })
                .collect()
        }
    };
    let mut out: BTreeMap<i64, OutboxInfo> = BTreeMap::new();
    for (id, channel_id, state, created_at, number, at, outcome) in joined {
        let row = out.entry(id).or_insert_with(|| OutboxInfo {
            channel_id,
            state,
            created_at,
            attempts: Vec::new(),
        });
        if let (Some(n), Some(at), Some(o)) = (number, at, outcome) {
            row.attempts.push((n, at, o));
        }
    }
    Ok(out)
}
