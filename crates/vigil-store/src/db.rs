//! [`SqlStore`]: the one implementation of every domain trait, over whichever backend the URL
//! names. Reads and writes are [`TxWork`] run by the backend as one transaction each.

use crate::sql::postgres::Postgres;
use crate::sql::sqlite::Sqlite;
use crate::sql::{FaultCounter, TxWork};
use crate::{Result, Store, StoreError};
use std::sync::Arc;

pub struct SqlStore {
    backend: Backend,
    faults: Arc<FaultCounter>,
}

enum Backend {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqlStore({})", self.backend())
    }
}

impl SqlStore {
    /// `sqlite://PATH` (created if missing, migrated) or `postgres://…` (migrated under a lock).
    pub async fn open(url: &str) -> Result<SqlStore> {
        let backend = if let Some(path) = url.strip_prefix("sqlite://") {
            Backend::Sqlite(Sqlite::open(std::path::Path::new(path)).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(Postgres::connect(url).await?)
        } else {
            return Err(StoreError::BadUrl(url.to_string()));
        };
        Ok(SqlStore {
            backend,
            faults: Arc::new(FaultCounter::disarmed()),
        })
    }

    /// The switch tests use to make the Nth statement from now fail.
    pub fn faults(&self) -> Arc<FaultCounter> {
        self.faults.clone()
    }

    pub(crate) async fn read<T: Send + 'static>(&self, work: TxWork<T>) -> Result<T> {
        self.run(false, work).await
    }

    pub(crate) async fn write<T: Send + 'static>(&self, work: TxWork<T>) -> Result<T> {
        self.run(true, work).await
    }

    async fn run<T: Send + 'static>(&self, write: bool, work: TxWork<T>) -> Result<T> {
        match &self.backend {
            Backend::Sqlite(b) => b.run(write, self.faults.clone(), work).await,
            Backend::Postgres(b) => b.run(write, self.faults.clone(), work).await,
        }
    }
}

impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// `read_tx!(self, |tx| body)` / `write!(…)`: runs `body` (which may `.await` queries on `tx`) as
/// one read or write transaction. Arguments are moved in, so callers clone borrowed ones first.
macro_rules! read_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        $store
            .read($crate::sql::work(move |$tx| Box::pin(async move { $body })))
            .await
    };
}
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        $store
            .write($crate::sql::work(move |$tx| Box::pin(async move { $body })))
            .await
    };
}
pub(crate) use {read_tx, write_tx};
