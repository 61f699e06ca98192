//! Operator credentials: argon2 password hashes, bearer tokens (stored as SHA-256), and the
//! first admin created on an empty database.

use anyhow::{Context, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use vigil_store::{Store, TokenRecord};

pub const ADMIN_USER: &str = "admin";

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> String {
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random secret of `len` characters from an alphabet without look-alikes.
pub fn random_secret(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What the first start prints once.
#[derive(Debug, Clone)]
pub struct AdminCredentials {
    pub username: String,
    pub password: String,
    pub api_token: String,
    pub token_file: PathBuf,
}

/// Creates the `admin` operator, its password and an API token when the store has no operator
/// yet, writing the token to `data_dir/admin.token` (mode 0600). Returns `None` on later starts.
pub async fn bootstrap_admin(
    store: &dyn Store,
    data_dir: &Path,
    now: i64,
) -> Result<Option<AdminCredentials>> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let password = random_secret(20);
    let api_token = format!("vgl_{}", random_secret(40));
    let hash = tokio::task::spawn_blocking({
        let p = password.clone();
        move || hash_password(&p)
    })
    .await?;
    store.create_user(ADMIN_USER, &hash, now).await?;
    store
        .add_token(&TokenRecord {
            token_hash: token_hash(&api_token),
            username: ADMIN_USER.into(),
            kind: vigil_model::TokenKind::Api,
            created_at: now,
            expires_at: None,
        })
        .await?;
    let token_file = data_dir.join("admin.token");
    write_secret_file(&token_file, &format!("{api_token}\n"))?;
    Ok(Some(AdminCredentials {
        username: ADMIN_USER.into(),
        password,
        api_token,
        token_file,
    }))
}

/// Writes a file readable by its owner only.
pub fn write_secret_file(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn secrets_are_random_and_sized() {
        let (a, b) = (random_secret(24), random_secret(24));
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
    }
}
