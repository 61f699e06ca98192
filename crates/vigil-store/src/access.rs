//! Operators and their bearer tokens.

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Row, Tx};
use crate::{Result, StoreError, TokenRecord, UserRecord};
use async_trait::async_trait;
use vigil_model::{Timestamp, TokenKind};

#[async_trait]
pub trait AccessStore {
    /// Fails with [`StoreError::Conflict`] when the user exists.
    async fn create_user(&self, username: &str, password_hash: &str, now: Timestamp) -> Result<()>;
    async fn user(&self, username: &str) -> Result<Option<UserRecord>>;
    async fn user_count(&self) -> Result<i64>;
    async fn add_token(&self, token: &TokenRecord) -> Result<()>;
    async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>>;
    /// Deletes a token; `Ok(false)` when it did not exist.
    async fn delete_token(&self, token_hash: &str) -> Result<bool>;
}

fn user_of(mut r: Row) -> Result<UserRecord> {
    Ok(UserRecord {
        username: r.text()?,
        password_hash: r.text()?,
        created_at: r.int()?,
    })
}

const TOKEN_COLUMNS: &str = "token_hash, username, kind, created_at, expires_at";

fn token_of(mut r: Row) -> Result<TokenRecord> {
    Ok(TokenRecord {
        token_hash: r.text()?,
        username: r.text()?,
        // An unknown kind is a session: the shorter-lived, less trusted of the two.
        kind: TokenKind::parse(&r.text()?).unwrap_or(TokenKind::Session),
        created_at: r.int()?,
        expires_at: r.opt_int()?,
    })
}

async fn create_user(tx: &mut dyn Tx, username: &str, hash: &str, now: Timestamp) -> Result<()> {
    let n = tx
        .execute(
            "INSERT INTO users VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            args![username, hash, now],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict(format!("user {username}")));
    }
    Ok(())
}

#[async_trait]
impl AccessStore for SqlStore {
    async fn create_user(&self, username: &str, password_hash: &str, now: Timestamp) -> Result<()> {
        let (u, h) = (username.to_owned(), password_hash.to_owned());
        write_tx!(self, |tx| create_user(tx, &u, &h, now).await)
    }

    async fn user(&self, username: &str) -> Result<Option<UserRecord>> {
        let u = username.to_owned();
        read_tx!(self, |tx| tx
            .query_opt(
                "SELECT username, password_hash, created_at FROM users WHERE username = $1",
                args![&u],
            )
            .await?
            .map(user_of)
            .transpose())
    }

    async fn user_count(&self) -> Result<i64> {
        read_tx!(self, |tx| tx
            .query_one("SELECT COUNT(*) FROM users", &[])
            .await?
            .int())
    }

    async fn add_token(&self, t: &TokenRecord) -> Result<()> {
        let t = t.clone();
        write_tx!(self, |tx| {
            tx.execute(
                &format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
                args![
                    &t.token_hash,
                    &t.username,
                    t.kind.as_str(),
                    t.created_at,
                    t.expires_at
                ],
            )
            .await?;
            Ok(())
        })
    }

    async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let h = token_hash.to_owned();
        read_tx!(self, |tx| tx
            .query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1"),
                args![&h],
            )
            .await?
            .map(token_of)
            .transpose())
    }

    async fn delete_token(&self, token_hash: &str) -> Result<bool> {
        let h = token_hash.to_owned();
        write_tx!(self, |tx| Ok(tx
            .execute("DELETE FROM tokens WHERE token_hash = $1", args![&h])
            .await?
            == 1))
    }
}
