//! Agent identity: Ed25519 key pairs and the signature every agent request carries.
//!
//! The signed string binds the method, the path (with query), the host id, the time and the
//! SHA-256 of the body, so a relay that changes any of them is detected. Replays are bounded by
//! the time window here and made harmless by sequence numbers on event batches.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};

pub const HEADER_HOST: &str = "x-vigil-host";
pub const HEADER_TIME: &str = "x-vigil-time";
pub const HEADER_SIGNATURE: &str = "x-vigil-signature";
/// A random value per request, covered by the signature (see [`AgentKey::sign_nonce`]).
pub const HEADER_NONCE: &str = "x-vigil-nonce";
/// On an enrollment: SHA-256 (hex) of the install code, checked before the body is read.
pub const HEADER_INSTALL_CODE: &str = "x-vigil-install-code";

/// How far an agent's clock may be from the server's, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing header {0}")]
    Missing(&'static str),
    #[error("header {0} is malformed")]
    Malformed(&'static str),
    #[error("request time is {skew} s away from the server's clock (limit {MAX_SKEW_SECS} s)")]
    Skew { skew: i64 },
    #[error("signature does not verify")]
    BadSignature,
    #[error("key material is invalid")]
    BadKey,
}

/// An agent's private key, kept as PKCS#8 bytes.
pub struct AgentKey {
    pkcs8: Vec<u8>,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentKey")
            .field("public", &self.public_base64())
            .finish()
    }
}

impl AgentKey {
    pub fn generate() -> AgentKey {
        let rng = SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).expect("system randomness is available");
        AgentKey::from_pkcs8(doc.as_ref()).expect("freshly generated key is valid")
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<AgentKey, AuthError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| AuthError::BadKey)?;
        Ok(AgentKey {
            pkcs8: pkcs8.to_vec(),
            pair,
        })
    }

    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    pub fn public_base64(&self) -> String {
        B64.encode(self.public_key())
    }

    /// Signature header value for one request.
    pub fn sign(&self, method: &str, path: &str, host: &str, time: i64, body: &[u8]) -> String {
        let msg = signed_string(method, path, host, time, None, body);
        B64.encode(self.pair.sign(msg.as_bytes()).as_ref())
    }

    /// [`AgentKey::sign`] covering a per-request nonce too (sent in [`HEADER_NONCE`]), so two
    /// requests are never byte-identical and the server can refuse any replay.
    pub fn sign_nonce(
        &self,
        method: &str,
        path: &str,
        host: &str,
        time: i64,
        nonce: &str,
        body: &[u8],
    ) -> String {
        let msg = signed_string(method, path, host, time, Some(nonce), body);
        B64.encode(self.pair.sign(msg.as_bytes()).as_ref())
    }
}

fn signed_string(
    method: &str,
    path: &str,
    host: &str,
    time: i64,
    nonce: Option<&str>,
    body: &[u8],
) -> String {
    let digest = hex::encode(Sha256::digest(body));
    match nonce {
        None => format!("VIGIL1\n{method}\n{path}\n{host}\n{time}\n{digest}"),
        Some(n) => format!("VIGIL2\n{method}\n{path}\n{host}\n{time}\n{n}\n{digest}"),
    }
}

/// Checks a request's time and signature against the host's recorded public key.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    public_key: &[u8],
    method: &str,
    path: &str,
    host: &str,
    time: i64,
    nonce: Option<&str>,
    signature_b64: &str,
    body: &[u8],
    now: i64,
) -> Result<(), AuthError> {
    let skew = time - now;
    if skew.abs() > MAX_SKEW_SECS {
        return Err(AuthError::Skew { skew });
    }
    let sig = B64
        .decode(signature_b64)
        .map_err(|_| AuthError::Malformed(HEADER_SIGNATURE))?;
    let msg = signed_string(method, path, host, time, nonce, body);
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(msg.as_bytes(), &sig)
        .map_err(|_| AuthError::BadSignature)
}

/// Signs a command payload with the server's command key (an [`AgentKey`]-shaped Ed25519 pair).
/// The prefix keeps a command signature from ever verifying as a request signature.
pub fn sign_command(key: &AgentKey, payload: &str) -> String {
    B64.encode(
        key.pair
            .sign(format!("VIGIL-CMD1\n{payload}").as_bytes())
            .as_ref(),
    )
}

/// Checks a command payload against the pinned command key.
pub fn verify_command(
    public_key: &[u8],
    payload: &str,
    signature_b64: &str,
) -> Result<(), AuthError> {
    let sig = B64
        .decode(signature_b64)
        .map_err(|_| AuthError::Malformed("signature"))?;
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(format!("VIGIL-CMD1\n{payload}").as_bytes(), &sig)
        .map_err(|_| AuthError::BadSignature)
}

/// Decodes a base64 public key sent at enrollment; Ed25519 keys are 32 bytes.
pub fn decode_public_key(b64: &str) -> Result<Vec<u8>, AuthError> {
    let key = B64.decode(b64).map_err(|_| AuthError::BadKey)?;
    if key.len() != 32 {
        return Err(AuthError::BadKey);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_every_field() {
        let key = AgentKey::generate();
        let pk = key.public_key().to_vec();
        let sig = key.sign("POST", "/agent/v1/events", "h-1", 1000, b"body");
        assert_eq!(
            verify(
                &pk,
                "POST",
                "/agent/v1/events",
                "h-1",
                1000,
                None,
                &sig,
                b"body",
                1000
            ),
            Ok(())
        );
        let bad = |m, p, h, t, b: &[u8]| verify(&pk, m, p, h, t, None, &sig, b, 1000);
        assert_eq!(
            bad("GET", "/agent/v1/events", "h-1", 1000, b"body"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            bad("POST", "/agent/v1/heartbeat", "h-1", 1000, b"body"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            bad("POST", "/agent/v1/events", "h-2", 1000, b"body"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            bad("POST", "/agent/v1/events", "h-1", 1001, b"body"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            bad("POST", "/agent/v1/events", "h-1", 1000, b"bodY"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(
                &pk,
                "POST",
                "/agent/v1/events",
                "h-1",
                1000,
                None,
                &sig,
                b"body",
                1400
            ),
            Err(AuthError::Skew { skew: -400 })
        );
        let other = AgentKey::generate();
        assert_eq!(
            verify(
                other.public_key(),
                "POST",
                "/agent/v1/events",
                "h-1",
                1000,
                None,
                &sig,
                b"body",
                1000
            ),
            Err(AuthError::BadSignature)
        );
        // A nonce is bound too, and a signature without one does not pass with one.
        let n = key.sign_nonce("POST", "/agent/v1/events", "h-1", 1000, "n1", b"body");
        let with = |nonce| {
            verify(
                &pk,
                "POST",
                "/agent/v1/events",
                "h-1",
                1000,
                nonce,
                &n,
                b"body",
                1000,
            )
        };
        assert_eq!(with(Some("n1")), Ok(()));
        assert_eq!(with(Some("n2")), Err(AuthError::BadSignature));
        assert_eq!(with(None), Err(AuthError::BadSignature));
        assert_eq!(
            verify(
                &pk,
                "POST",
                "/agent/v1/events",
                "h-1",
                1000,
                Some("n1"),
                &sig,
                b"body",
                1000
            ),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn command_signatures_are_their_own_domain() {
        let key = AgentKey::generate();
        let sig = sign_command(&key, r#"{"id":1}"#);
        assert_eq!(
            verify_command(key.public_key(), r#"{"id":1}"#, &sig),
            Ok(())
        );
        assert_eq!(
            verify_command(key.public_key(), r#"{"id":2}"#, &sig),
            Err(AuthError::BadSignature)
        );
        let other = AgentKey::generate();
        assert_eq!(
            verify_command(other.public_key(), r#"{"id":1}"#, &sig),
            Err(AuthError::BadSignature)
        );
        // A request signature over the same bytes is not a command signature.
        let req = key.sign("POST", "/", "h", 0, b"x");
        assert!(verify_command(key.public_key(), "x", &req).is_err());
    }

    #[test]
    fn keys_persist_as_pkcs8() {
        let key = AgentKey::generate();
        let again = AgentKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        assert_eq!(
            decode_public_key(&key.public_base64()).unwrap(),
            key.public_key()
        );
        assert_eq!(decode_public_key("AAAA"), Err(AuthError::BadKey));
        assert!(AgentKey::from_pkcs8(b"junk").is_err());
    }
}
