//! SQLite backend: the embedded default. WAL mode, one writer and one reader connection, every
//! transaction run whole on tokio's blocking pool.

use super::{Arg, Column, Dialect, FaultCounter, Row, Tx, TxWork, Value};
use crate::{Result, StoreError};
use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/sqlite/001_foundation.sql"),
    ),
    (
        2,
        include_str!("../../migrations/sqlite/002_agent_stats.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/003_alert_lifecycle.sql"),
    ),
    (4, include_str!("../../migrations/sqlite/004_commands.sql")),
    (
        5,
        include_str!("../../migrations/sqlite/005_notifications.sql"),
    ),
    (
        6,
        include_str!("../../migrations/sqlite/006_alert_links.sql"),
    ),
    (
        7,
        include_str!("../../migrations/sqlite/007_alert_kind_index.sql"),
    ),
    (8, include_str!("../../migrations/sqlite/008_ip_rules.sql")),
    (
        9,
        include_str!("../../migrations/sqlite/009_login_sources.sql"),
    ),
    (10, include_str!("../../migrations/sqlite/010_vulns.sql")),
    (
        11,
        include_str!("../../migrations/sqlite/011_install_limits.sql"),
    ),
    (
        12,
        include_str!("../../migrations/sqlite/012_batch_digest.sql"),
    ),
    (
        13,
        include_str!("../../migrations/sqlite/013_monitor_health.sql"),
    ),
    (14, include_str!("../../migrations/sqlite/014_baseline.sql")),
    (
        15,
        include_str!("../../migrations/sqlite/015_baseline_verify.sql"),
    ),
];

pub(crate) struct Sqlite {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
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

fn migrate(conn: &mut Connection, now: i64) -> Result<()> {
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

/// The database holds password hashes and notification settings: owner only, whatever the umask.
fn restrict(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| StoreError::Task(format!("restricting the mode of {}: {e}", path.display())))
}

/// Only migrations read the clock here, to stamp when they ran.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Sqlite {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub(crate) async fn open(path: &Path) -> Result<Sqlite> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut writer = Connection::open(&path)?;
            restrict(&path)?;
            configure(&writer)?;
            migrate(&mut writer, unix_now())?;
            // SQLite gives its -wal and -shm files the database file's mode, but ones made
            // before the database was restricted keep theirs.
            for suffix in ["-wal", "-shm"] {
                let mut side = path.clone().into_os_string();
                side.push(suffix);
                if std::path::Path::new(&side).exists() {
                    restrict(std::path::Path::new(&side))?;
                }
            }
            let reader = Connection::open(&path)?;
            configure(&reader)?;
            Ok(Sqlite {
                writer: Arc::new(Mutex::new(writer)),
                reader: Arc::new(Mutex::new(reader)),
            })
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `work` in one transaction on the writer (`write`) or the reader connection. The
    /// transaction commits when the work succeeds and rolls back otherwise.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        write: bool,
        faults: Arc<FaultCounter>,
        work: TxWork<T>,
    ) -> Result<T> {
        let conn = if write { &self.writer } else { &self.reader }.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            // IMMEDIATE takes the write lock at once, so a writer never fails half-way on a
            // lock upgrade; readers see one snapshot across their statements.
            guard.execute_batch(if write {
                "BEGIN IMMEDIATE"
            } else {
                "BEGIN DEFERRED"
            })?;
            let mut tx = SqliteTx {
                conn: &mut guard,
                faults: &faults,
            };
            let out = poll_once(work(&mut tx));
            let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
            match guard.execute_batch(end) {
                Ok(()) => out,
                Err(e) => {
                    // A failed COMMIT leaves the transaction open; end it so the connection is
                    // usable again.
                    let _ = guard.execute_batch("ROLLBACK");
                    out.and(Err(e.into()))
                }
            }
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// Polls a transaction's future once. Every [`SqliteTx`] method completes synchronously, so a
/// transaction that awaits only them is ready at once; one that awaits anything else is a
/// programming error, refused rather than blocking a thread.
fn poll_once<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StoreError::Task(
            "a SQLite transaction awaited something other than the database".into(),
        )),
    }
}

struct SqliteTx<'c> {
    conn: &'c mut Connection,
    faults: &'c FaultCounter,
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Arg::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Arg::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(i)),
            Arg::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Arg::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Arg::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(b))),
        })
    }
}

fn value_of(v: ValueRef<'_>) -> Result<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| StoreError::Decode(e.to_string()))?
                .to_string(),
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        ValueRef::Real(r) => {
            return Err(StoreError::Decode(format!(
                "a real number ({r}) where the schema has none"
            )))
        }
    })
}

#[async_trait]
impl Tx for SqliteTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        self.faults.check()?;
        let sql = Dialect::Sqlite.rewrite(sql);
        let mut st = self.conn.prepare_cached(&sql)?;
        Ok(st.execute(rusqlite::params_from_iter(args.iter()))? as u64)
    }

    async fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>> {
        self.faults.check()?;
        let sql = Dialect::Sqlite.rewrite(sql);
        let mut st = self.conn.prepare_cached(&sql)?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(args.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(value_of(r.get_ref(i)?)?);
            }
            out.push(Row::new(values));
        }
        Ok(out)
    }

    async fn lock(&mut self, _key: &str) -> Result<()> {
        Ok(())
    }

    async fn insert_many(
        &mut self,
        table: &str,
        fixed: &[(&str, Arg<'_>)],
        columns: &[Column],
        rows: &[Vec<Arg<'_>>],
    ) -> Result<u64> {
        self.faults.check()?;
        if rows.is_empty() {
            return Ok(0);
        }
        // A cached statement per row costs SQLite less than one statement of many VALUES.
        let names: Vec<&str> = fixed
            .iter()
            .map(|(n, _)| *n)
            .chain(columns.iter().map(|c| c.name))
            .collect();
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            marks.join(", ")
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut n = 0;
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(names.len());
        for row in rows {
            args.clear();
            args.extend(fixed.iter().map(|(_, a)| *a));
            args.extend(row.iter().copied());
            n += st.execute(rusqlite::params_from_iter(args.iter()))? as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn database_files_are_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vigil.db");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let db = Sqlite::open(&path).await.unwrap();
        db.run(
            true,
            Arc::new(FaultCounter::disarmed()),
            crate::sql::work(|tx| {
                Box::pin(async move {
                    tx.execute("INSERT INTO settings VALUES ('k', 'v')", &[])
                        .await
                        .map(|_| ())
                })
            }),
        )
        .await
        .unwrap();
        for name in ["vigil.db", "vigil.db-wal", "vigil.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
}
