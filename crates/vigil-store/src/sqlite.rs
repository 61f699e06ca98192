//! SQLite backend: the embedded default. WAL mode, one writer and one reader connection, every
//! call on tokio's blocking pool.

use crate::records::*;
use crate::{check_code, EnrollRefusal, Ingested, Result, Store, StoreError};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::path::Path;
use std::sync::{Arc, Mutex};
use vigil_model::{AlertKind, AlertStatus, NewAlert, Timestamp};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/001_foundation.sql")),
    (2, include_str!("../migrations/sqlite/002_agent_stats.sql")),
    (
        3,
        include_str!("../migrations/sqlite/003_alert_lifecycle.sql"),
    ),
    (4, include_str!("../migrations/sqlite/004_commands.sql")),
    (
        5,
        include_str!("../migrations/sqlite/005_notifications.sql"),
    ),
    (6, include_str!("../migrations/sqlite/006_alert_links.sql")),
    (
        7,
        include_str!("../migrations/sqlite/007_alert_kind_index.sql"),
    ),
    (8, include_str!("../migrations/sqlite/008_ip_rules.sql")),
    (
        9,
        include_str!("../migrations/sqlite/009_login_sources.sql"),
    ),
    (10, include_str!("../migrations/sqlite/010_vulns.sql")),
];

#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode keeps every commit across a process crash (kill -9); only a power loss
    // can roll back the last transactions. See ARCHITECTURE.md, "Durability".
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn migrate(conn: &mut Connection, now: Timestamp) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations VALUES (?1, ?2)",
            params![version, now],
        )?;
        tx.commit()?;
        tracing::info!(version, "sqlite migration applied");
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut writer = Connection::open(&path)?;
            configure(&writer)?;
            migrate(&mut writer, unix_now())?;
            let reader = Connection::open(&path)?;
            configure(&reader)?;
            Ok(SqliteStore {
                writer: Arc::new(Mutex::new(writer)),
                reader: Arc::new(Mutex::new(reader)),
            })
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let conn = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// Only migrations read the clock here, to stamp when they ran.
fn unix_now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

const HOST_COLUMNS: &str =
    "id, hostname, group_name, provider, labels, public_key, agent_version, \
     os, enrolled_at, last_seen, uninstalled_at, inventory_at, last_seq, agent_stats";

fn host_from_row(r: &Row<'_>) -> rusqlite::Result<HostRecord> {
    let labels: String = r.get(4)?;
    Ok(HostRecord {
        id: r.get(0)?,
        hostname: r.get(1)?,
        group: r.get(2)?,
        provider: r.get(3)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        public_key: r.get(5)?,
        agent_version: r.get(6)?,
        os_json: r.get(7)?,
        enrolled_at: r.get(8)?,
        last_seen: r.get(9)?,
        uninstalled_at: r.get(10)?,
        inventory_at: r.get(11)?,
        last_seq: r.get(12)?,
        agent_stats: r.get(13)?,
    })
}

const CODE_COLUMNS: &str = "id, code_hash, hint, group_name, os, provider, labels, proxy_cluster, \
     created_at, expires_at, revoked_at, uses";

fn code_from_row(r: &Row<'_>) -> rusqlite::Result<InstallCodeRecord> {
    let labels: String = r.get(6)?;
    Ok(InstallCodeRecord {
        id: r.get(0)?,
        code_hash: r.get(1)?,
        hint: r.get(2)?,
        group: r.get(3)?,
        os: r.get(4)?,
        provider: r.get(5)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        proxy_cluster: r.get(7)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        revoked_at: r.get(10)?,
        uses: r.get(11)?,
    })
}

impl rusqlite::ToSql for SqlArg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            SqlArg::Text(t) => t.to_sql(),
            SqlArg::Int(i) => i.to_sql(),
        }
    }
}

const COMMAND_COLUMNS: &str = "id, host_id, alert_id, action, params, state, created_at, \
     created_by, expires_at, sent_at, finished_at, message, result";

fn command_from_row(r: &Row<'_>) -> rusqlite::Result<CommandRecord> {
    Ok(CommandRecord {
        id: r.get(0)?,
        host_id: r.get(1)?,
        alert_id: r.get(2)?,
        action: r.get(3)?,
        params: r.get(4)?,
        state: r.get(5)?,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
        expires_at: r.get(8)?,
        sent_at: r.get(9)?,
        finished_at: r.get(10)?,
        message: r.get(11)?,
        result: r.get(12)?,
    })
}

const QUARANTINE_COLUMNS: &str =
    "host_id, qid, path, sha256, md5, size, quarantined_at, state, restored_at, record";

fn quarantine_from_row(r: &Row<'_>) -> rusqlite::Result<QuarantineRecord> {
    Ok(QuarantineRecord {
        host_id: r.get(0)?,
        qid: r.get(1)?,
        path: r.get(2)?,
        sha256: r.get(3)?,
        md5: r.get(4)?,
        size: r.get(5)?,
        quarantined_at: r.get(6)?,
        state: r.get(7)?,
        restored_at: r.get(8)?,
        record: r.get(9)?,
    })
}

const OUTBOX_COLUMNS: &str =
    "id, channel_id, host_id, alert_id, state, next_at, created_at, day_start, item";

fn outbox_from_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        channel_id: r.get(1)?,
        host_id: r.get(2)?,
        alert_id: r.get(3)?,
        state: r.get(4)?,
        next_at: r.get(5)?,
        created_at: r.get(6)?,
        day_start: r.get(7)?,
        item: r.get(8)?,
    })
}

fn inbox_from_row(r: &Row<'_>) -> rusqlite::Result<InboxRow> {
    Ok(InboxRow {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        host_id: r.get(2)?,
        title: r.get(3)?,
        body: r.get(4)?,
        created_at: r.get(5)?,
        read_at: r.get(6)?,
    })
}

const ALERT_COLUMNS: &str =
    "id, host_id, kind, level, status, name, dedup_key, evidence, first_seen, \
     last_seen, count, handled_at, handled_by, note, whitelist_rule_id";

fn alert_from_row(r: &Row<'_>) -> rusqlite::Result<AlertRecord> {
    let kind: String = r.get(2)?;
    let level: String = r.get(3)?;
    let status: String = r.get(4)?;
    let evidence: String = r.get(7)?;
    Ok(AlertRecord {
        id: r.get(0)?,
        host_id: r.get(1)?,
        kind: parse_kind(&kind),
        level: parse_level(&level),
        status: parse_status(&status),
        name: r.get(5)?,
        key: r.get(6)?,
        evidence: serde_json::from_str(&evidence).unwrap_or_default(),
        first_seen: r.get(8)?,
        last_seen: r.get(9)?,
        count: r.get(10)?,
        handled_at: r.get(11)?,
        handled_by: r.get(12)?,
        note: r.get(13)?,
        whitelist_rule_id: r.get(14)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn create_user(&self, username: &str, password_hash: &str, now: Timestamp) -> Result<()> {
        let (u, h) = (username.to_string(), password_hash.to_string());
        self.write(move |c| {
            match c.execute("INSERT INTO users VALUES (?1, ?2, ?3)", params![u, h, now]) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Err(StoreError::Conflict(format!("user {u}")))
                }
                r => r.map(|_| ()).map_err(Into::into),
            }
        })
        .await
    }

    async fn user(&self, username: &str) -> Result<Option<UserRecord>> {
        let u = username.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT username, password_hash, created_at FROM users WHERE username = ?1",
                [u],
                |r| {
                    Ok(UserRecord {
                        username: r.get(0)?,
                        password_hash: r.get(1)?,
                        created_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn user_count(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?))
            .await
    }

    async fn add_token(&self, t: &TokenRecord) -> Result<()> {
        let t = t.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO tokens VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.token_hash, t.username, t.kind, t.created_at, t.expires_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let h = token_hash.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT token_hash, username, kind, created_at, expires_at FROM tokens WHERE token_hash = ?1",
                [h],
                |r| {
                    Ok(TokenRecord {
                        token_hash: r.get(0)?,
                        username: r.get(1)?,
                        kind: r.get(2)?,
                        created_at: r.get(3)?,
                        expires_at: r.get(4)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn delete_token(&self, token_hash: &str) -> Result<bool> {
        let h = token_hash.to_string();
        self.write(move |c| Ok(c.execute("DELETE FROM tokens WHERE token_hash = ?1", [h])? == 1))
            .await
    }

    async fn create_group(&self, name: &str, now: Timestamp) -> Result<bool> {
        let n = name.to_string();
        self.write(move |c| {
            Ok(c.execute(
                "INSERT OR IGNORE INTO host_groups VALUES (?1, ?2)",
                params![n, now],
            )? == 1)
        })
        .await
    }

    async fn groups(&self) -> Result<Vec<GroupRecord>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT g.name, g.created_at, \
                   (SELECT COUNT(*) FROM hosts h WHERE h.group_name = g.name AND h.uninstalled_at IS NULL) \
                 FROM host_groups g ORDER BY g.name",
            )?;
            let rows = st.query_map([], |r| {
                Ok(GroupRecord { name: r.get(0)?, created_at: r.get(1)?, hosts: r.get(2)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn create_install_code(&self, code: &InstallCodeRecord) -> Result<()> {
        let k = code.clone();
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute("INSERT OR IGNORE INTO host_groups VALUES (?1, ?2)", params![k.group, k.created_at])?;
            tx.execute(
                &format!("INSERT INTO install_codes ({CODE_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"),
                params![
                    k.id, k.code_hash, k.hint, k.group, k.os, k.provider, labels_to_json(&k.labels),
                    k.proxy_cluster, k.created_at, k.expires_at, k.revoked_at, k.uses
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn install_codes(&self) -> Result<Vec<InstallCodeRecord>> {
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {CODE_COLUMNS} FROM install_codes ORDER BY created_at DESC, id"
            ))?;
            let rows = st.query_map([], code_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn install_code(&self, code_hash: &str) -> Result<Option<InstallCodeRecord>> {
        let h = code_hash.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {CODE_COLUMNS} FROM install_codes WHERE code_hash = ?1"),
                [h],
                code_from_row,
            )
            .optional()?)
        })
        .await
    }

    async fn revoke_install_code(&self, id: &str, now: Timestamp) -> Result<bool> {
        let id = id.to_string();
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE install_codes SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, now],
            )? == 1)
        })
        .await
    }

    async fn enroll_host(
        &self,
        code_hash: &str,
        host: &NewHost,
        now: Timestamp,
    ) -> Result<std::result::Result<HostRecord, EnrollRefusal>> {
        let (code_hash, h) = (code_hash.to_string(), host.clone());
        self.write(move |c| {
            let tx = c.transaction()?;
            let code = tx
                .query_row(
                    &format!("SELECT {CODE_COLUMNS} FROM install_codes WHERE code_hash = ?1"),
                    [&code_hash],
                    code_from_row,
                )
                .optional()?;
            let Some(code) = code else { return Ok(Err(EnrollRefusal::Unknown)) };
            if let Err(refusal) = check_code(&code, now) {
                return Ok(Err(refusal));
            }
            tx.execute("UPDATE install_codes SET uses = uses + 1 WHERE id = ?1", [&code.id])?;
            tx.execute("INSERT OR IGNORE INTO host_groups VALUES (?1, ?2)", params![code.group, now])?;
            tx.execute(
                "INSERT INTO hosts (id, hostname, group_name, provider, labels, public_key, agent_version, \
                   os, install_code_id, enrolled_at, last_seen) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10)",
                params![
                    h.id, h.hostname, code.group, code.provider, labels_to_json(&code.labels),
                    h.public_key, h.agent_version, h.os_json, code.id, now
                ],
            )?;
            let rec = tx.query_row(
                &format!("SELECT {HOST_COLUMNS} FROM hosts WHERE id = ?1"),
                [&h.id],
                host_from_row,
            )?;
            tx.commit()?;
            Ok(Ok(rec))
        })
        .await
    }

    async fn host(&self, id: &str) -> Result<Option<HostRecord>> {
        let id = id.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {HOST_COLUMNS} FROM hosts WHERE id = ?1"),
                [id],
                host_from_row,
            )
            .optional()?)
        })
        .await
    }

    async fn hosts(&self) -> Result<Vec<HostRecord>> {
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {HOST_COLUMNS} FROM hosts ORDER BY hostname, id"
            ))?;
            let rows = st.query_map([], host_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn touch_host(&self, id: &str, now: Timestamp) -> Result<()> {
        let id = id.to_string();
        self.write(move |c| {
            c.execute(
                "UPDATE hosts SET last_seen = MAX(COALESCE(last_seen, 0), ?2) WHERE id = ?1",
                params![id, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn record_heartbeat(
        &self,
        id: &str,
        now: Timestamp,
        agent_version: &str,
        agent_stats: &str,
    ) -> Result<()> {
        let (id, v, st) = (
            id.to_string(),
            agent_version.to_string(),
            agent_stats.to_string(),
        );
        self.write(move |c| {
            c.execute(
                "UPDATE hosts SET last_seen = MAX(COALESCE(last_seen, 0), ?2), agent_version = ?3, \
                 agent_stats = ?4 WHERE id = ?1",
                params![id, now, v, st],
            )?;
            Ok(())
        })
        .await
    }

    async fn mark_uninstalled(&self, id: &str, now: Timestamp) -> Result<()> {
        let id = id.to_string();
        self.write(move |c| {
            c.execute(
                "UPDATE hosts SET uninstalled_at = COALESCE(uninstalled_at, ?2) WHERE id = ?1",
                params![id, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn put_inventory(
        &self,
        id: &str,
        collected_at: Timestamp,
        os_json: &str,
        json: &str,
    ) -> Result<()> {
        let (id, os, json) = (id.to_string(), os_json.to_string(), json.to_string());
        self.write(move |c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "INSERT INTO inventories VALUES (?1, ?2, ?3) ON CONFLICT (host_id) DO UPDATE \
                 SET collected_at = excluded.collected_at, body = excluded.body \
                 WHERE excluded.collected_at >= inventories.collected_at",
                params![id, collected_at, json],
            )?;
            if n == 1 {
                tx.execute(
                    "UPDATE hosts SET inventory_at = ?2, os = ?3 WHERE id = ?1",
                    params![id, collected_at, os],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn inventory(&self, id: &str) -> Result<Option<String>> {
        let id = id.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT body FROM inventories WHERE host_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    async fn ingest(
        &self,
        host_id: &str,
        seq: i64,
        events: &[EventRow],
        alerts: &[(NewAlert, Option<i64>)],
        now: Timestamp,
    ) -> Result<Ingested> {
        let (host_id, events, alerts) = (host_id.to_string(), events.to_vec(), alerts.to_vec());
        self.write(move |c| {
            let tx = c.transaction()?;
            // Claiming the sequence number first makes a replayed batch a no-op.
            let claimed = tx.execute(
                "UPDATE hosts SET last_seq = ?2 WHERE id = ?1 AND last_seq < ?2",
                params![host_id, seq],
            )?;
            if claimed == 0 {
                let exists: bool =
                    tx.query_row("SELECT COUNT(*) FROM hosts WHERE id = ?1", [&host_id], |r| r.get(0))?;
                return if exists { Ok(Ingested::Duplicate) } else { Err(StoreError::NotFound(format!("host {host_id}"))) };
            }
            {
                let mut ins = tx.prepare_cached(
                    "INSERT INTO events (host_id, seq, time, kind, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for e in &events {
                    ins.execute(params![host_id, seq, e.time, e.kind, e.body])?;
                }
                // A recurring alert is live again unless an operator ignored or whitelisted it.
                let mut up = tx.prepare_cached(
                    "INSERT INTO alerts (host_id, kind, level, status, name, dedup_key, evidence, \
                       first_seen, last_seen, whitelist_rule_id) \
                     VALUES (?1, ?2, ?3, CASE WHEN ?8 IS NULL THEN 'unhandled' ELSE 'whitelisted' END, \
                       ?4, ?5, ?6, ?7, ?7, ?8) \
                     ON CONFLICT (host_id, kind, dedup_key) DO UPDATE SET \
                       last_seen = MAX(alerts.last_seen, excluded.last_seen), count = alerts.count + 1, \
                       level = excluded.level, name = excluded.name, evidence = excluded.evidence, \
                       whitelist_rule_id = COALESCE(excluded.whitelist_rule_id, alerts.whitelist_rule_id), \
                       status = CASE WHEN excluded.whitelist_rule_id IS NOT NULL THEN 'whitelisted' \
                         WHEN alerts.status IN ('expired', 'handled') THEN 'unhandled' \
                         ELSE alerts.status END",
                )?;
                for (a, rule) in &alerts {
                    up.execute(params![
                        host_id,
                        a.kind.as_str(),
                        a.level.as_str(),
                        a.name,
                        a.key,
                        evidence_to_json(&a.evidence),
                        a.time,
                        rule
                    ])?;
                }
            }
            tx.execute("UPDATE hosts SET last_seen = MAX(COALESCE(last_seen, 0), ?2) WHERE id = ?1", params![host_id, now])?;
            tx.commit()?;
            Ok(Ingested::Stored)
        })
        .await
    }

    async fn event_count(&self, host_id: Option<&str>) -> Result<i64> {
        let h = host_id.map(str::to_string);
        self.read(move |c| {
            Ok(match h {
                Some(h) => {
                    c.query_row("SELECT COUNT(*) FROM events WHERE host_id = ?1", [h], |r| {
                        r.get(0)
                    })?
                }
                None => c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?,
            })
        })
        .await
    }

    async fn events(&self, host_id: &str, limit: i64) -> Result<Vec<StoredEvent>> {
        let h = host_id.to_string();
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT id, host_id, seq, time, kind, body FROM events WHERE host_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = st.query_map(params![h, limit], |r| {
                Ok(StoredEvent {
                    id: r.get(0)?,
                    host_id: r.get(1)?,
                    seq: r.get(2)?,
                    time: r.get(3)?,
                    kind: r.get(4)?,
                    body: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn alerts(&self, filter: &AlertFilter) -> Result<(Vec<AlertRecord>, i64)> {
        let f = filter.clone();
        self.read(move |c| {
            let (wh, args) = alert_where(&f, '?');
            let total: i64 = c.query_row(
                &format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM alerts {wh} LIMIT {}) capped",
                    alert_count_cap(&f) + 1
                ),
                rusqlite::params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            let mut st = c.prepare(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts {wh} ORDER BY {} LIMIT {} OFFSET {}",
                f.sort.order_by(),
                f.limit.clamp(0, 1000),
                f.offset.max(0)
            ))?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), alert_from_row)?;
            Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total))
        })
        .await
    }

    async fn alert(&self, id: i64) -> Result<Option<AlertRecord>> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
                [id],
                alert_from_row,
            )
            .optional()?)
        })
        .await
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
        let (ids, by, note) = (ids.to_vec(), by.to_string(), note.to_string());
        let from = status_list(from);
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let n = tx.execute(
                    &format!(
                        "UPDATE alerts SET status = ?2, handled_at = ?3, handled_by = ?4, note = ?5 \
                         WHERE id = ?1 AND status IN ({from})"
                    ),
                    params![id, to.as_str(), now, by, note],
                )?;
                if n == 1 {
                    out.push(Transition::Changed(id));
                    continue;
                }
                let status: Option<String> = tx
                    .query_row("SELECT status FROM alerts WHERE id = ?1", [id], |r| r.get(0))
                    .optional()?;
                out.push(match status {
                    Some(s) => Transition::Unchanged { id, status: parse_status(&s) },
                    None => Transition::Missing(id),
                });
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn expire_alerts(&self, before: Timestamp) -> Result<u64> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE alerts SET status = 'expired' WHERE status = 'unhandled' AND last_seen < ?1",
                [before],
            )? as u64)
        })
        .await
    }

    async fn alerts_of_kind(
        &self,
        kind: AlertKind,
        statuses: &[AlertStatus],
    ) -> Result<Vec<AlertRecord>> {
        let statuses = status_list(statuses);
        self.read(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE kind = ?1 AND status IN ({statuses})"
            ))?;
            let rows = st.query_map([kind.as_str()], alert_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn add_whitelist_rule(&self, r: &WhitelistRuleRecord) -> Result<i64> {
        let r = r.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO whitelist_rules (kind, scope, scope_value, fields, note, created_at, created_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    r.kind.as_str(),
                    r.scope,
                    r.scope_value,
                    labels_to_json(&r.fields),
                    r.note,
                    r.created_at,
                    r.created_by
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    async fn whitelist_rules(&self) -> Result<Vec<WhitelistRuleRecord>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, kind, scope, scope_value, fields, note, created_at, created_by \
                 FROM whitelist_rules ORDER BY id",
            )?;
            let rows = st.query_map([], |r| {
                let kind: String = r.get(1)?;
                let fields: String = r.get(4)?;
                Ok(WhitelistRuleRecord {
                    id: r.get(0)?,
                    kind: parse_kind(&kind),
                    scope: r.get(2)?,
                    scope_value: r.get(3)?,
                    fields: serde_json::from_str(&fields).unwrap_or_default(),
                    note: r.get(5)?,
                    created_at: r.get(6)?,
                    created_by: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn whitelist_alerts(
        &self,
        ids: &[i64],
        rule_id: i64,
        by: &str,
        now: Timestamp,
    ) -> Result<u64> {
        let (ids, by) = (ids.to_vec(), by.to_string());
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut n = 0;
            for id in ids {
                n += tx.execute(
                    "UPDATE alerts SET status = 'whitelisted', whitelist_rule_id = ?2, handled_at = ?3, \
                     handled_by = ?4 WHERE id = ?1 AND status <> 'whitelisted'",
                    params![id, rule_id, now, by],
                )? as u64;
            }
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    async fn delete_whitelist_rule(&self, id: i64) -> Result<Option<u64>> {
        self.write(move |c| {
            let tx = c.transaction()?;
            if tx.execute("DELETE FROM whitelist_rules WHERE id = ?1", [id])? == 0 {
                return Ok(None);
            }
            let n = tx.execute(
                "UPDATE alerts SET status = CASE WHEN status = 'whitelisted' THEN 'unhandled' ELSE status END, \
                 whitelist_rule_id = NULL WHERE whitelist_rule_id = ?1",
                [id],
            )?;
            tx.commit()?;
            Ok(Some(n as u64))
        })
        .await
    }

    async fn queue_command(&self, c: &NewCommand) -> Result<i64> {
        let c = c.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO commands (host_id, alert_id, action, params, state, created_at, created_by, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)",
                params![c.host_id, c.alert_id, c.action, c.params, c.created_at, c.created_by, c.expires_at],
            )?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    async fn pending_commands(&self, host_id: &str, now: Timestamp) -> Result<Vec<CommandRecord>> {
        let h = host_id.to_string();
        self.read(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {COMMAND_COLUMNS} FROM commands WHERE host_id = ?1 \
                 AND state IN ('queued', 'sent') AND expires_at > ?2 ORDER BY id"
            ))?;
            let rows = st.query_map(params![h, now], command_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn mark_commands_sent(&self, ids: &[i64], now: Timestamp) -> Result<()> {
        let ids = ids.to_vec();
        self.write(move |c| {
            let tx = c.transaction()?;
            for id in ids {
                tx.execute(
                    "UPDATE commands SET state = 'sent', sent_at = COALESCE(sent_at, ?2) \
                     WHERE id = ?1 AND state IN ('queued', 'sent')",
                    params![id, now],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
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
        let (h, m, r) = (host_id.to_string(), message.to_string(), result.to_string());
        self.write(move |c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE commands SET state = ?3, finished_at = ?4, message = ?5, result = ?6 \
                 WHERE id = ?1 AND host_id = ?2 AND state IN ('queued', 'sent')",
                params![id, h, if ok { "succeeded" } else { "failed" }, now, m, r],
            )?;
            let rec = if n == 1 {
                Some(tx.query_row(
                    &format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE id = ?1"),
                    [id],
                    command_from_row,
                )?)
            } else {
                None
            };
            tx.commit()?;
            Ok(rec)
        })
        .await
    }

    async fn expire_commands(&self, now: Timestamp) -> Result<Vec<CommandRecord>> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let expired = {
                let mut st = tx.prepare(&format!(
                    "SELECT {COMMAND_COLUMNS} FROM commands WHERE state IN ('queued', 'sent') AND expires_at <= ?1"
                ))?;
                let rows = st.query_map([now], command_from_row)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            for cmd in &expired {
                tx.execute(
                    "UPDATE commands SET state = 'timed_out', finished_at = ?2, \
                     message = 'the host did not run the command before it expired' WHERE id = ?1",
                    params![cmd.id, now],
                )?;
            }
            tx.commit()?;
            Ok(expired)
        })
        .await
    }

    async fn commands(&self, host_id: Option<&str>, limit: i64) -> Result<Vec<CommandRecord>> {
        let h = host_id.map(str::to_string);
        self.read(move |c| {
            let (wh, args): (&str, Vec<String>) = match &h {
                Some(h) => ("WHERE host_id = ?1", vec![h.clone()]),
                None => ("", vec![]),
            };
            let mut st = c.prepare(&format!(
                "SELECT {COMMAND_COLUMNS} FROM commands {wh} ORDER BY id DESC LIMIT {}",
                limit.clamp(1, 1000)
            ))?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), command_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn put_quarantined(&self, q: &QuarantineRecord) -> Result<()> {
        let q = q.clone();
        self.write(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO quarantine ({QUARANTINE_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) \
                     ON CONFLICT (host_id, qid) DO UPDATE SET state = excluded.state, \
                     restored_at = excluded.restored_at, record = excluded.record"
                ),
                params![
                    q.host_id, q.qid, q.path, q.sha256, q.md5, q.size, q.quarantined_at, q.state,
                    q.restored_at, q.record
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn quarantined(&self, host_id: Option<&str>) -> Result<Vec<QuarantineRecord>> {
        let h = host_id.map(str::to_string);
        self.read(move |c| {
            let (wh, args): (&str, Vec<String>) = match &h {
                Some(h) => ("WHERE host_id = ?1", vec![h.clone()]),
                None => ("", vec![]),
            };
            let mut st = c.prepare(&format!(
                "SELECT {QUARANTINE_COLUMNS} FROM quarantine {wh} ORDER BY quarantined_at DESC, qid"
            ))?;
            let rows =
                st.query_map(rusqlite::params_from_iter(args.iter()), quarantine_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn mark_restored(&self, host_id: &str, qid: &str, now: Timestamp) -> Result<bool> {
        let (h, q) = (host_id.to_string(), qid.to_string());
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE quarantine SET state = 'restored', restored_at = ?3 \
                 WHERE host_id = ?1 AND qid = ?2 AND state = 'quarantined'",
                params![h, q, now],
            )? == 1)
        })
        .await
    }

    async fn link_alerts(&self, a: i64, b: i64) -> Result<()> {
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT OR IGNORE INTO alert_links VALUES (?1, ?2)",
                params![a, b],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO alert_links VALUES (?1, ?2)",
                params![b, a],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn related_alerts(&self, id: i64) -> Result<Vec<i64>> {
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT related_id FROM alert_links WHERE alert_id = ?1 ORDER BY related_id",
            )?;
            let rows = st.query_map([id], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
        })
        .await
    }

    async fn alert_by_key(
        &self,
        host_id: &str,
        kind: AlertKind,
        key: &str,
    ) -> Result<Option<AlertRecord>> {
        let (h, k) = (host_id.to_string(), key.to_string());
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE host_id = ?1 AND kind = ?2 AND dedup_key = ?3"),
                params![h, kind.as_str(), k],
                alert_from_row,
            )
            .optional()?)
        })
        .await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let k = key.to_string();
        self.read(move |c| {
            Ok(
                c.query_row("SELECT value FROM settings WHERE key = ?1", [k], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
        .await
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let (k, v) = (key.to_string(), value.to_string());
        self.write(move |c| {
            c.execute(
                "INSERT INTO settings VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
            Ok(())
        })
        .await
    }

    async fn notify_channels(&self) -> Result<Vec<ChannelRow>> {
        self.read(|c| {
            let mut st =
                c.prepare("SELECT id, name, config, created_at FROM notify_channels ORDER BY id")?;
            let rows = st.query_map([], |r| {
                Ok(ChannelRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    config: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn add_notify_channel(&self, name: &str, config: &str, now: Timestamp) -> Result<i64> {
        let (n, cfg) = (name.to_string(), config.to_string());
        self.write(move |c| {
            c.execute(
                "INSERT INTO notify_channels (name, config, created_at) VALUES (?1, ?2, ?3)",
                params![n, cfg, now],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    async fn delete_notify_channel(&self, id: i64) -> Result<bool> {
        self.write(move |c| Ok(c.execute("DELETE FROM notify_channels WHERE id = ?1", [id])? == 1))
            .await
    }

    async fn notify_counts(
        &self,
        channel_id: i64,
        day_start: Timestamp,
        host_id: &str,
    ) -> Result<(i64, i64)> {
        let h = host_id.to_string();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN host_id = ?3 THEN 1 ELSE 0 END), 0) \
                 FROM outbox WHERE channel_id = ?1 AND day_start = ?2 AND alert_id IS NOT NULL",
                params![channel_id, day_start, h],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
    }

    async fn was_notified(&self, channel_id: i64, alert_id: i64) -> Result<bool> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM notified WHERE channel_id = ?1 AND alert_id = ?2",
                params![channel_id, alert_id],
                |r| r.get::<_, i64>(0),
            )? > 0)
        })
        .await
    }

    async fn enqueue_notification(&self, row: &OutboxRow) -> Result<i64> {
        let r = row.clone();
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO outbox (channel_id, host_id, alert_id, state, next_at, created_at, day_start, item) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![r.channel_id, r.host_id, r.alert_id, r.state, r.next_at, r.created_at, r.day_start, r.item],
            )?;
            let id = tx.last_insert_rowid();
            if let Some(alert) = r.alert_id {
                tx.execute("INSERT OR IGNORE INTO notified VALUES (?1, ?2)", params![r.channel_id, alert])?;
            }
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let due = {
                let mut st = tx.prepare(&format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2"
                ))?;
                let rows = st.query_map(params![now, limit], outbox_from_row)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            for r in &due {
                tx.execute("UPDATE outbox SET next_at = ?2 WHERE id = ?1", params![r.id, lease_until])?;
            }
            tx.commit()?;
            Ok(due)
        })
        .await
    }

    async fn record_outbox_attempt(
        &self,
        id: i64,
        state: &str,
        next_at: Timestamp,
        item: &str,
        number: i64,
        at: Timestamp,
        outcome: &str,
    ) -> Result<()> {
        let (state, item, outcome) = (state.to_string(), item.to_string(), outcome.to_string());
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE outbox SET state = ?2, next_at = ?3, item = ?4 WHERE id = ?1",
                params![id, state, next_at, item],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO outbox_attempts VALUES (?1, ?2, ?3, ?4)",
                params![id, number, at, outcome],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn outbox(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        self.read(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?1"
            ))?;
            let rows = st.query_map([limit.clamp(1, 1000)], outbox_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn outbox_attempts(&self, id: i64) -> Result<Vec<(i64, Timestamp, String)>> {
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT number, at, outcome FROM outbox_attempts WHERE outbox_id = ?1 ORDER BY number",
            )?;
            let rows = st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn add_inbox(&self, row: &InboxRow) -> Result<i64> {
        let r = row.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO inbox (alert_id, host_id, title, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.alert_id, r.host_id, r.title, r.body, r.created_at],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    async fn inbox(&self, limit: i64) -> Result<Vec<InboxRow>> {
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT id, alert_id, host_id, title, body, created_at, read_at FROM inbox ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = st.query_map([limit.clamp(1, 1000)], inbox_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn mark_inbox_read(&self, id: i64, now: Timestamp) -> Result<bool> {
        self.write(move |c| {
            Ok(c.execute(
                "UPDATE inbox SET read_at = COALESCE(read_at, ?2) WHERE id = ?1",
                params![id, now],
            )? == 1)
        })
        .await
    }

    async fn unhandled_alert_counts(&self) -> Result<Vec<(String, String, i64)>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT host_id, level, COUNT(*) FROM alerts WHERE status = 'unhandled' GROUP BY host_id, level",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn sync_host_vulns(
        &self,
        host_id: &str,
        findings: &[VulnFinding],
        now: Timestamp,
    ) -> Result<VulnSync> {
        let (h, findings) = (host_id.to_string(), dedup_findings(findings));
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut sync = VulnSync::default();
            let mut before: std::collections::HashMap<(String, String), String> = {
                let mut st =
                    tx.prepare("SELECT package, advisory_id, status FROM vulns WHERE host_id = ?1")?;
                let rows = st.query_map([&h], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO vulns (host_id, package, advisory_id, ids, ecosystem, installed, fixed, \
                     level, rce, summary, fix_command, needs_restart, status, first_seen, last_seen) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'unfixed', ?13, ?13) \
                     ON CONFLICT (host_id, package, advisory_id) DO UPDATE SET ids = excluded.ids, \
                     ecosystem = excluded.ecosystem, installed = excluded.installed, fixed = excluded.fixed, \
                     level = excluded.level, rce = excluded.rce, summary = excluded.summary, \
                     fix_command = excluded.fix_command, needs_restart = excluded.needs_restart, \
                     last_seen = excluded.last_seen, \
                     status = CASE WHEN vulns.status = 'fixed' THEN 'unfixed' ELSE vulns.status END, \
                     fixed_at = CASE WHEN vulns.status = 'fixed' THEN NULL ELSE vulns.fixed_at END",
                )?;
                for f in &findings {
                    upsert.execute(params![
                        h,
                        f.package,
                        f.advisory_id,
                        ids_json(&f.ids),
                        f.ecosystem,
                        f.installed,
                        f.fixed,
                        f.level,
                        f.rce,
                        f.summary,
                        f.fix_command,
                        f.needs_restart,
                        now
                    ])?;
                    match before.remove(&(f.package.clone(), f.advisory_id.clone())) {
                        None => sync.new += 1,
                        Some(s) if s == "fixed" => sync.reopened += 1,
                        Some(_) => {}
                    }
                }
                let mut gone = tx.prepare_cached(
                    "UPDATE vulns SET status = 'fixed', fixed_at = ?4 \
                     WHERE host_id = ?1 AND package = ?2 AND advisory_id = ?3 AND status = 'unfixed'",
                )?;
                for ((package, advisory), status) in &before {
                    if status == "unfixed" {
                        sync.fixed += gone.execute(params![h, package, advisory, now])? as u64;
                    }
                }
            }
            tx.commit()?;
            Ok(sync)
        })
        .await
    }

    async fn vulns(&self, filter: &VulnFilter) -> Result<(Vec<VulnRecord>, i64)> {
        let f = filter.clone();
        self.read(move |c| {
            let (wh, args) = vuln_where(&f, '?');
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM vulns {wh}"),
                rusqlite::params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            let mut st = c.prepare(&format!(
                "SELECT {VULN_COLUMNS} FROM vulns {wh} ORDER BY {VULN_ORDER} LIMIT {} OFFSET {}",
                f.limit.clamp(0, MAX_VULN_PAGE),
                f.offset.max(0)
            ))?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), vuln_from_row)?;
            Ok((rows.collect::<rusqlite::Result<Vec<_>>>()?, total))
        })
        .await
    }

    async fn set_vuln_status(
        &self,
        keys: &[VulnKey],
        to: VulnStatus,
        reason: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<Vec<VulnTransition>> {
        let (keys, reason, by) = (keys.to_vec(), reason.to_string(), by.to_string());
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut out = Vec::with_capacity(keys.len());
            for k in &keys {
                let changed = match vuln_change_from(to) {
                    Some(from) => tx.execute(
                        "UPDATE vulns SET status = ?4, reason = ?5, handled_by = ?6, handled_at = ?7 \
                         WHERE host_id = ?1 AND package = ?2 AND advisory_id = ?3 AND status = ?8",
                        params![
                            k.host_id,
                            k.package,
                            k.advisory_id,
                            to.as_str(),
                            reason,
                            by,
                            now,
                            from.as_str()
                        ],
                    )?,
                    None => 0,
                };
                if changed == 1 {
                    out.push(VulnTransition::Changed);
                    continue;
                }
                let status: Option<String> = tx
                    .query_row(
                        "SELECT status FROM vulns WHERE host_id = ?1 AND package = ?2 AND advisory_id = ?3",
                        params![k.host_id, k.package, k.advisory_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                out.push(match status {
                    Some(s) => VulnTransition::Unchanged(parse_vuln_status(&s)),
                    None => VulnTransition::Missing,
                });
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn unfixed_vuln_counts(&self) -> Result<Vec<(String, String, i64)>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT host_id, level, COUNT(*) FROM vulns WHERE status = 'unfixed' GROUP BY host_id, level",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn add_ip_rule(&self, r: &NewIpRule) -> Result<i64> {
        let r = r.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO ip_rules (target, direction, hosts, origin, reason, alert_id, created_at, created_by, expires_at, status) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'active')",
                params![
                    r.target,
                    r.direction,
                    serde_json::to_string(&r.hosts).unwrap_or_else(|_| "[]".into()),
                    r.origin,
                    r.reason,
                    r.alert_id,
                    r.created_at,
                    r.created_by,
                    r.expires_at
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    async fn ip_rules(&self, status: Option<&str>) -> Result<Vec<IpRuleRecord>> {
        let status = status.map(str::to_string);
        self.read(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {IP_RULE_COLUMNS} FROM ip_rules WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC"
            ))?;
            let rows = st.query_map(params![status], ip_rule_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn ip_rule(&self, id: i64) -> Result<Option<IpRuleRecord>> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {IP_RULE_COLUMNS} FROM ip_rules WHERE id = ?1"),
                params![id],
                ip_rule_from_row,
            )
            .optional()?)
        })
        .await
    }

    async fn end_ip_rule(
        &self,
        id: i64,
        status: &str,
        now: Timestamp,
        by: &str,
    ) -> Result<Option<IpRuleRecord>> {
        let (status, by) = (status.to_string(), by.to_string());
        self.write(move |c| {
            Ok(c.query_row(
                &format!(
                    "UPDATE ip_rules SET status = ?2, ended_at = ?3, ended_by = ?4 \
                     WHERE id = ?1 AND status = 'active' RETURNING {IP_RULE_COLUMNS}"
                ),
                params![id, status, now, by],
                ip_rule_from_row,
            )
            .optional()?)
        })
        .await
    }

    async fn expire_ip_rules(&self, now: Timestamp) -> Result<Vec<IpRuleRecord>> {
        self.write(move |c| {
            let mut st = c.prepare(&format!(
                "UPDATE ip_rules SET status = 'expired', ended_at = expires_at, ended_by = 'expiry' \
                 WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= ?1 \
                 RETURNING {IP_RULE_COLUMNS}"
            ))?;
            let rows = st.query_map(params![now], ip_rule_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn set_ip_rule_host(
        &self,
        rule_id: i64,
        host_id: &str,
        state: &str,
        message: &str,
        now: Timestamp,
    ) -> Result<()> {
        let (h, s, m) = (host_id.to_string(), state.to_string(), message.to_string());
        self.write(move |c| {
            c.execute(
                "INSERT INTO ip_rule_hosts (rule_id, host_id, state, message, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (rule_id, host_id) DO UPDATE SET state = excluded.state, message = excluded.message, \
                 updated_at = excluded.updated_at",
                params![rule_id, h, s, m, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn ip_rule_hosts(&self, rule_id: Option<i64>) -> Result<Vec<IpRuleHostRecord>> {
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT rule_id, host_id, state, message, updated_at FROM ip_rule_hosts \
                 WHERE (?1 IS NULL OR rule_id = ?1) ORDER BY rule_id DESC, host_id",
            )?;
            let rows = st.query_map(params![rule_id], |r| {
                Ok(IpRuleHostRecord {
                    rule_id: r.get(0)?,
                    host_id: r.get(1)?,
                    state: r.get(2)?,
                    message: r.get(3)?,
                    updated_at: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn add_login_failures(&self, host_id: &str, rows: &[LoginFailureRow]) -> Result<()> {
        let (h, rows) = (host_id.to_string(), rows.to_vec());
        self.write(move |c| {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO login_sources (host_id, day, source, service, failures) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (host_id, day, source, service) DO UPDATE SET failures = failures + excluded.failures",
                )?;
                for r in &rows {
                    st.execute(params![h, r.day, r.source, r.service, r.failures])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn attack_days(&self, host_id: Option<&str>, since: Timestamp) -> Result<Vec<AttackDay>> {
        let h = host_id.map(str::to_string);
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT host_id, day, SUM(failures), COUNT(DISTINCT source) FROM login_sources \
                 WHERE day >= ?1 AND (?2 IS NULL OR host_id = ?2) GROUP BY host_id, day ORDER BY day, host_id",
            )?;
            let rows = st.query_map(params![since, h], |r| {
                Ok(AttackDay {
                    host_id: r.get(0)?,
                    day: r.get(1)?,
                    failures: r.get(2)?,
                    sources: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn top_attack_sources(
        &self,
        host_id: Option<&str>,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, i64)>> {
        let h = host_id.map(str::to_string);
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT source, SUM(failures) AS n FROM login_sources \
                 WHERE day >= ?1 AND (?2 IS NULL OR host_id = ?2) GROUP BY source ORDER BY n DESC, source LIMIT ?3",
            )?;
            let rows = st.query_map(params![since, h, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}

const IP_RULE_COLUMNS: &str =
    "id, target, direction, hosts, origin, reason, alert_id, created_at, \
     created_by, expires_at, status, ended_at, ended_by";

fn ip_rule_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IpRuleRecord> {
    let hosts: String = r.get(3)?;
    Ok(IpRuleRecord {
        id: r.get(0)?,
        rule: NewIpRule {
            target: r.get(1)?,
            direction: r.get(2)?,
            hosts: serde_json::from_str(&hosts).unwrap_or_default(),
            origin: r.get(4)?,
            reason: r.get(5)?,
            alert_id: r.get(6)?,
            created_at: r.get(7)?,
            created_by: r.get(8)?,
            expires_at: r.get(9)?,
        },
        status: r.get(10)?,
        ended_at: r.get(11)?,
        ended_by: r.get(12)?,
    })
}

fn vuln_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VulnRecord> {
    let ids: String = r.get(3)?;
    let status: String = r.get(12)?;
    Ok(VulnRecord {
        host_id: r.get(0)?,
        finding: VulnFinding {
            package: r.get(1)?,
            advisory_id: r.get(2)?,
            ids: serde_json::from_str(&ids).unwrap_or_default(),
            ecosystem: r.get(4)?,
            installed: r.get(5)?,
            fixed: r.get(6)?,
            level: r.get(7)?,
            rce: r.get(8)?,
            summary: r.get(9)?,
            fix_command: r.get(10)?,
            needs_restart: r.get(11)?,
        },
        status: parse_vuln_status(&status),
        reason: r.get(13)?,
        handled_by: r.get(14)?,
        handled_at: r.get(15)?,
        first_seen: r.get(16)?,
        last_seen: r.get(17)?,
        fixed_at: r.get(18)?,
    })
}
