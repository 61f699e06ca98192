//! Named settings: small JSON documents (SMTP, login defense, policies, learned login state).

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Tx};
use crate::Result;
use async_trait::async_trait;

#[async_trait]
pub trait SettingStore {
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;
}

pub(crate) async fn get(tx: &mut dyn Tx, key: &str) -> Result<Option<String>> {
    tx.query_opt("SELECT value FROM settings WHERE key = $1", args![key])
        .await?
        .map(|mut r| r.text())
        .transpose()
}

pub(crate) async fn put(tx: &mut dyn Tx, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO settings VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        args![key, value],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl SettingStore for SqlStore {
    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let k = key.to_owned();
        read_tx!(self, |tx| get(tx, &k).await)
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let (k, v) = (key.to_owned(), value.to_owned());
        write_tx!(self, |tx| put(tx, &k, &v).await)
    }
}
