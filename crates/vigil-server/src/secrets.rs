//! Secrets at rest: notification settings (SMTP passwords, webhook URLs with their tokens) are
//! stored sealed with a key kept outside the database (`<data>/secrets.key`, mode 0600), so a
//! copied database alone reveals none of them. Sealing is ChaCha20-Poly1305 (ring) with a random
//! nonce, and what the value is for is bound in as associated data, so a sealed value moved to
//! another record does not open.
//!
//! A stored value that is not sealed (written before this existed) still reads, and is sealed
//! again at the next start.

use anyhow::{bail, Context, Result};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::path::Path;

/// The key's file name in the data directory.
pub const KEY_FILE: &str = "secrets.key";
const PREFIX: &str = "vigil-sealed:v1:";

pub struct Secrets {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

/// Why a stored value did not open.
#[derive(Debug, thiserror::Error)]
#[error("a sealed setting does not open with {KEY_FILE} (another server's key, or damaged)")]
pub struct OpenError;

impl Secrets {
    /// Loads the data directory's key, making it (32 random bytes, hex, mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<Secrets> {
        let path = data_dir.join(KEY_FILE);
        let rng = SystemRandom::new();
        let bytes = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let b = hex::decode(text.trim())
                    .with_context(|| format!("{} is not a hex key", path.display()))?;
                if b.len() != 32 {
                    bail!("{} holds {} bytes, 32 expected", path.display(), b.len());
                }
                b
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut b = vec![0u8; 32];
                rng.fill(&mut b)
                    .map_err(|_| anyhow::anyhow!("no randomness for {KEY_FILE}"))?;
                crate::admin::write_secret_file(&path, &hex::encode(&b))?;
                tracing::info!(path = %path.display(), "secrets key created");
                b
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| anyhow::anyhow!("{} is not a usable key", path.display()))?;
        Ok(Secrets {
            key: LessSafeKey::new(key),
            rng,
        })
    }

    /// `plain` sealed for `purpose` (e.g. `notify.smtp`).
    pub fn seal(&self, purpose: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .expect("the system random generator works");
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut data,
            )
            .expect("sealing a setting cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// The plain text of a stored value: opened when sealed, as it is otherwise.
    pub fn open(&self, purpose: &str, stored: &str) -> Result<String, OpenError> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| OpenError)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut data = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut data)
            .map_err(|_| OpenError)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError)
    }

    /// True when a stored value is sealed.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_only_with_their_key_and_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secrets::load_or_create(dir.path()).unwrap();
        let sealed = s.seal("notify.smtp", r#"{"password":"hunter2"}"#);
        assert!(Secrets::is_sealed(&sealed) && !sealed.contains("hunter2"));
        assert_eq!(
            s.open("notify.smtp", &sealed).unwrap(),
            r#"{"password":"hunter2"}"#
        );
        assert_ne!(sealed, s.seal("notify.smtp", r#"{"password":"hunter2"}"#));
        assert!(
            s.open("notify.channel", &sealed).is_err(),
            "bound to its purpose"
        );
        // The same directory gives the same key; another directory does not open it.
        let again = Secrets::load_or_create(dir.path()).unwrap();
        assert!(again.open("notify.smtp", &sealed).is_ok());
        let other = tempfile::tempdir().unwrap();
        let stranger = Secrets::load_or_create(other.path()).unwrap();
        assert!(stranger.open("notify.smtp", &sealed).is_err());
        // Values from before sealing read as they are; damage is refused, not a panic.
        assert_eq!(s.open("notify.smtp", "{}").unwrap(), "{}");
        let mut broken = sealed.clone();
        broken.truncate(PREFIX.len() + 8);
        assert!(s.open("notify.smtp", &broken).is_err());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
}
