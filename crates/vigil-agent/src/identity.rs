//! The agent's identity file: which server, which host id, the pinned CA and the private key.

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::path::Path;
use vigil_proto::auth::AgentKey;

pub const FILE: &str = "identity.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub server: String,
    pub host_id: String,
    pub group: String,
    /// SHA-256 (hex) of the server's CA certificate.
    pub ca_fingerprint: String,
    /// PKCS#8 of the Ed25519 key, base64.
    pub key: String,
    /// The server's command-signing public key (base64), pinned at enrollment.
    #[serde(default)]
    pub command_key: String,
}

impl Identity {
    pub fn key(&self) -> Result<AgentKey> {
        let der = B64
            .decode(&self.key)
            .context("identity key is not base64")?;
        AgentKey::from_pkcs8(&der).context("identity key is not a valid Ed25519 key")
    }

    pub fn encode_key(key: &AgentKey) -> String {
        B64.encode(key.pkcs8())
    }

    pub fn load(data_dir: &Path) -> Result<Option<Identity>> {
        let path = data_dir.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                    format!("{} is corrupt", path.display())
                })?))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file with mode 0600, atomically.
    pub fn save(&self, data_dir: &Path) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let tmp = data_dir.join(format!("{FILE}.tmp"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(&serde_json::to_vec_pretty(self)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, data_dir.join(FILE))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saved_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Identity::load(dir.path()).unwrap().is_none());
        let key = AgentKey::generate();
        let id = Identity {
            server: "https://s:1".into(),
            host_id: "h-1".into(),
            group: "default".into(),
            ca_fingerprint: "ab".into(),
            key: Identity::encode_key(&key),
            command_key: String::new(),
        };
        id.save(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = Identity::load(dir.path()).unwrap().unwrap();
        assert_eq!(back.key().unwrap().public_key(), key.public_key());
        std::fs::write(dir.path().join(FILE), b"{oops").unwrap();
        assert!(Identity::load(dir.path()).is_err());
    }
}
