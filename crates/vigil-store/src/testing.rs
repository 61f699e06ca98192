//! Test support shared by every crate's tests: a throw-away PostgreSQL schema per test.
//!
//! PostgreSQL is required, never optional: when it is unreachable these helpers panic with the
//! URL they tried, so a test run without it fails instead of quietly covering one backend.

use std::sync::atomic::{AtomicU64, Ordering};

/// The server tests use: `VIGIL_TEST_PG_URL`, else the local `test` database.
pub fn postgres_base_url() -> String {
    std::env::var("VIGIL_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A schema that exists for one test; dropping it is left to [`drop_schema`] or to the next
/// run's clean-up of schemas older than an hour.
#[derive(Debug)]
pub struct PgSchema {
    pub name: String,
    /// Connection URL whose `search_path` is the schema.
    pub url: String,
}

/// Creates a fresh schema and returns a URL that uses it.
pub async fn fresh_postgres_schema() -> PgSchema {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = postgres_base_url();
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for the tests: {e}"));
    tokio::spawn(conn);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let name = format!(
        "vigil_t_{}_{}_{}",
        stamp.as_secs(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    // Schemas left by killed runs are removed once they are an hour old.
    let old = client
        .query(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'vigil\\_t\\_%'",
            &[],
        )
        .await
        .expect("list schemas");
    for row in old {
        let n: String = row.get(0);
        let secs: i64 = n
            .split('_')
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if secs + 3600 < stamp.as_secs() as i64 {
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {n} CASCADE"))
                .await;
        }
    }
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .await
        .expect("create test schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{name}");
    PgSchema { name, url }
}

/// Drops a schema made by [`fresh_postgres_schema`].
pub async fn drop_schema(schema: &PgSchema) {
    if let Ok((client, conn)) =
        tokio_postgres::connect(&postgres_base_url(), tokio_postgres::NoTls).await
    {
        tokio::spawn(conn);
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", schema.name))
            .await;
    }
}
