//! Vigil's storage: one [`Store`], composed of a trait per domain, over SQLite or PostgreSQL.
//!
//! Every query is written once (`sql/` says in which dialect and how each backend reads it), as
//! an `async fn` over a transaction ([`sql::Tx`]), each record is mapped from its row once, and
//! each operation is one transaction. The backends keep only what differs: connections,
//! migrations, how a transaction runs, and bulk inserts. Each owns its migrations under
//! `migrations/<backend>/`, and one conformance suite (`tests/conformance/`) runs every domain
//! against both.

mod access;
mod alerts;
mod baseline;
mod commands;
mod db;
mod hosts;
mod ingest;
mod ip_rules;
mod logins;
mod notify;
mod records;
mod settings;
pub mod sql;
pub mod testing;
mod vulns;

pub use access::AccessStore;
pub use alerts::AlertStore;
pub use baseline::BaselineStore;
pub use commands::CommandStore;
pub use db::SqlStore;
pub use hosts::{check_code, HostStore};
pub use ingest::{IngestPlan, IngestStore, Ingested, TxWrite, Txn};
pub use ip_rules::IpRuleStore;
pub use logins::LoginStore;
pub use notify::NotifyStore;
pub use records::*;
pub use settings::SettingStore;
pub use vulns::VulnStore;

use std::sync::Arc;
use vigil_model::Timestamp;

/// Every domain trait, for `use vigil_store::prelude::*` where a `dyn Store` is called.
pub mod prelude {
    pub use crate::{
        AccessStore, AlertStore, BaselineStore, CommandStore, HostStore, IngestStore, IpRuleStore,
        LoginStore, NotifyStore, SettingStore, Store, VulnStore,
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("stored JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("stored row is not what the schema says: {0}")]
    Decode(String),
    #[error("database URL {0:?} is not understood (use sqlite://PATH or postgres://…)")]
    BadUrl(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("database task failed: {0}")]
    Task(String),
    /// A test asked for this statement to fail ([`testing::Faults`]).
    #[error("injected failure")]
    Injected,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why an install code did not enroll a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollRefusal {
    #[error("the install code is not known to this server")]
    Unknown,
    #[error("the install code expired at {at}")]
    Expired { at: Timestamp },
    #[error("the install code was revoked at {at}")]
    Revoked { at: Timestamp },
    #[error("the install code has enrolled its {max} hosts")]
    UsedUp { max: i64 },
}

/// Everything the server persists: one trait per domain. Implementations must be safe to share
/// between tasks and, for PostgreSQL, between several server processes.
pub trait Store:
    AccessStore
    + HostStore
    + AlertStore
    + IngestStore
    + CommandStore
    + SettingStore
    + NotifyStore
    + IpRuleStore
    + VulnStore
    + LoginStore
    + BaselineStore
    + Send
    + Sync
    + 'static
{
    /// Short backend name for logs (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;
}

/// Opens the store a URL names: `sqlite://PATH` (created if missing) or `postgres://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::open(url).await?))
}
