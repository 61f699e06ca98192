//! PostgreSQL backend: for fleets, and for several stateless servers sharing one database.

use super::{Arg, Column, Dialect, FaultCounter, Row, SqlType, Tx, TxWork, Value};
use crate::{Result, StoreError};
use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::NoTls;

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/postgres/001_foundation.sql"),
    ),
    (
        2,
        include_str!("../../migrations/postgres/002_agent_stats.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/003_alert_lifecycle.sql"),
    ),
    (
        4,
        include_str!("../../migrations/postgres/004_commands.sql"),
    ),
    (
        5,
        include_str!("../../migrations/postgres/005_notifications.sql"),
    ),
    (
        6,
        include_str!("../../migrations/postgres/006_alert_links.sql"),
    ),
    (
        7,
        include_str!("../../migrations/postgres/007_alert_kind_index.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/008_ip_rules.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/009_login_sources.sql"),
    ),
    (10, include_str!("../../migrations/postgres/010_vulns.sql")),
    (
        11,
        include_str!("../../migrations/postgres/011_install_limits.sql"),
    ),
    (
        12,
        include_str!("../../migrations/postgres/012_batch_digest.sql"),
    ),
    (
        13,
        include_str!("../../migrations/postgres/013_monitor_health.sql"),
    ),
    (
        14,
        include_str!("../../migrations/postgres/014_baseline.sql"),
    ),
    (
        15,
        include_str!("../../migrations/postgres/015_baseline_verify.sql"),
    ),
];

/// Any fixed number works; it only has to be the same for every Vigil server.
const MIGRATION_LOCK: i64 = 0x5649_4749_4c00;

pub(crate) struct Postgres {
    pool: Pool,
}

impl Postgres {
    /// Connects, checks the server answers, and applies pending migrations under an advisory
    /// lock so that servers starting together migrate once.
    pub(crate) async fn connect(url: &str) -> Result<Postgres> {
        let cfg = tokio_postgres::Config::from_str(url)?;
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(16)
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let pg = Postgres { pool };
        pg.migrate().await?;
        Ok(pg)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
            other => StoreError::Pool(other.to_string()),
        })
    }

    async fn migrate(&self) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
                &[version],
            )
            .await?;
            tracing::info!(version, "postgres migration applied");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs `work` in one transaction (`write`) or on one pooled connection without one (reads
    /// need no snapshot across statements here, and skip two round trips).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        write: bool,
        faults: Arc<FaultCounter>,
        work: TxWork<T>,
    ) -> Result<T> {
        let mut client = self.client().await?;
        if !write {
            let mut tx = PgTx {
                conn: Conn::Client(&client),
                faults: &faults,
            };
            return work(&mut tx).await;
        }
        let t = client.transaction().await?;
        let mut tx = PgTx {
            conn: Conn::Tx(t),
            faults: &faults,
        };
        let out = work(&mut tx).await;
        let Conn::Tx(t) = tx.conn else {
            unreachable!("a write runs in a transaction")
        };
        match out {
            Ok(v) => {
                t.commit().await?;
                Ok(v)
            }
            Err(e) => {
                // Dropping the transaction would roll back too, but only on the connection's
                // next use; saying so now frees its locks at once.
                let _ = t.rollback().await;
                Err(e)
            }
        }
    }
}

enum Conn<'c> {
    Client(&'c deadpool_postgres::Object),
    Tx(deadpool_postgres::Transaction<'c>),
}

struct PgTx<'c> {
    conn: Conn<'c>,
    faults: &'c FaultCounter,
}

impl PgTx<'_> {
    async fn statement(&self, sql: &str) -> Result<tokio_postgres::Statement> {
        // Statements are prepared once per connection, not parsed per call.
        Ok(match &self.conn {
            Conn::Client(c) => c.prepare_cached(sql).await?,
            Conn::Tx(t) => t.prepare_cached(sql).await?,
        })
    }

    fn client(&self) -> &tokio_postgres::Client {
        match &self.conn {
            Conn::Client(c) => c,
            Conn::Tx(t) => t.client(),
        }
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Arg::Null => Ok(IsNull::Yes),
            Arg::Int(i) => match *ty {
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Arg::Text(t) => t.to_sql(ty, out),
            Arg::Bytes(b) => b.to_sql(ty, out),
            Arg::Bool(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, which fails with the type it was given.
        true
    }

    to_sql_checked!();
}

fn values_of(row: &tokio_postgres::Row) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Bytes),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                row.try_get::<_, Option<String>>(i)?.map(Value::Text)
            }
            ref other => {
                return Err(StoreError::Decode(format!(
                    "column {} has type {other}; CAST it to BIGINT or TEXT",
                    col.name()
                )))
            }
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(out)
}

fn as_params<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

#[async_trait]
impl Tx for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        self.faults.check()?;
        let st = self.statement(sql).await?;
        Ok(self.client().execute(&st, &as_params(args)).await?)
    }

    async fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>> {
        self.faults.check()?;
        let st = self.statement(sql).await?;
        let rows = self.client().query(&st, &as_params(args)).await?;
        rows.iter().map(|r| values_of(r).map(Row::new)).collect()
    }

    async fn lock(&mut self, key: &str) -> Result<()> {
        self.faults.check()?;
        let st = self
            .statement("SELECT pg_advisory_xact_lock(hashtext($1))")
            .await?;
        self.client().execute(&st, &[&key]).await?;
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
        // One statement whatever the row count: each column travels as one array, UNNESTed.
        enum Array<'a> {
            Int(Vec<Option<i64>>),
            Text(Vec<Option<&'a str>>),
        }
        let mut arrays: Vec<Array<'_>> = columns
            .iter()
            .map(|c| match c.ty {
                SqlType::Int => Array::Int(Vec::with_capacity(rows.len())),
                SqlType::Text => Array::Text(Vec::with_capacity(rows.len())),
            })
            .collect();
        for row in rows {
            for (array, arg) in arrays.iter_mut().zip(row) {
                match (array, *arg) {
                    (Array::Int(v), Arg::Int(i)) => v.push(Some(i)),
                    (Array::Int(v), Arg::Null) => v.push(None),
                    (Array::Text(v), Arg::Text(t)) => v.push(Some(t)),
                    (Array::Text(v), Arg::Null) => v.push(None),
                    (_, other) => {
                        return Err(StoreError::Decode(format!(
                            "insert into {table}: {other:?} does not fit its column's type"
                        )))
                    }
                }
            }
        }
        let n_fixed = fixed.len();
        let names: Vec<&str> = fixed
            .iter()
            .map(|(n, _)| *n)
            .chain(columns.iter().map(|c| c.name))
            .collect();
        let fixed_marks = (1..=n_fixed).map(|i| format!("${i}"));
        let unnested: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ty = match c.ty {
                    SqlType::Int => "BIGINT",
                    SqlType::Text => "TEXT",
                };
                format!("${}::{ty}[]", n_fixed + i + 1)
            })
            .collect();
        let cols: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) SELECT {} FROM UNNEST({}) AS u({})",
            names.join(", "),
            fixed_marks
                .chain(cols.iter().cloned())
                .collect::<Vec<_>>()
                .join(", "),
            unnested.join(", "),
            cols.join(", ")
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = fixed
            .iter()
            .map(|(_, a)| a as &(dyn ToSql + Sync))
            .collect();
        for a in &arrays {
            params.push(match a {
                Array::Int(v) => v as &(dyn ToSql + Sync),
                Array::Text(v) => v as &(dyn ToSql + Sync),
            });
        }
        let st = self.statement(&sql).await?;
        Ok(self.client().execute(&st, &params).await?)
    }
}
