//! The agent's HTTPS client: trusts exactly the server CA whose fingerprint it was given, and
//! signs every request with the host key.

use anyhow::{anyhow, Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use vigil_proto::agent::{codes, AgentError};
use vigil_proto::auth::{self, AgentKey};

/// Accepts a server whose chain carries the pinned CA and whose certificate that CA issued to
/// [`vigil_proto::SERVER_NAME`], whatever address was dialled.
#[derive(Debug)]
struct PinnedCa {
    fingerprint: String,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ca = intermediates
            .iter()
            .find(|c| hex::encode(Sha256::digest(c.as_ref())) == self.fingerprint)
            .ok_or_else(|| {
                rustls::Error::General(format!(
                    "the server's CA does not match the pinned fingerprint {}",
                    self.fingerprint
                ))
            })?;
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        let name = ServerName::try_from(vigil_proto::SERVER_NAME).expect("valid DNS name");
        verifier.verify_server_cert(end_entity, &[], &name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

impl PinnedCa {
    fn algorithms(&self) -> WebPkiSupportedAlgorithms {
        self.provider.signature_verification_algorithms
    }
}

/// Builds an HTTP client for `https://` URLs that trusts only the pinned CA.
pub fn pinned_client(ca_fingerprint: &str) -> Result<reqwest::Client> {
    let fingerprint = ca_fingerprint.trim().to_ascii_lowercase();
    if fingerprint.len() != 64 || !fingerprint.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(anyhow!(
            "CA fingerprint must be 64 hex digits (SHA-256), got {ca_fingerprint:?}"
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedCa {
            fingerprint,
            provider,
        }))
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .context("building the HTTPS client")
}

/// Why a call to the server failed, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Network trouble or a server-side failure: keep the data and retry later.
    #[error("server unreachable or busy: {0}")]
    Retry(String),
    /// The server refused this request for good (bad request, too large).
    #[error("server refused the request ({}): {}", .0.code, .0.message)]
    Refused(AgentError),
    /// This host is not (or no longer) enrolled: the agent must stop.
    #[error("{}", .0.message)]
    Identity(AgentError),
}

/// A signed connection to the server for one enrolled host.
#[derive(Debug, Clone)]
pub struct Channel {
    pub http: reqwest::Client,
    pub server: String,
    pub host_id: String,
    key: Arc<AgentKey>,
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Channel {
    pub fn new(http: reqwest::Client, server: &str, host_id: &str, key: AgentKey) -> Channel {
        Channel {
            http,
            server: server.trim_end_matches('/').to_string(),
            host_id: host_id.to_string(),
            key: Arc::new(key),
        }
    }

    /// POSTs a signed body and returns the response body on success.
    pub async fn post(&self, path: &str, body: Vec<u8>) -> Result<Vec<u8>, CallError> {
        signed_post(
            &self.http,
            &self.server,
            path,
            &self.host_id,
            &self.key,
            body,
        )
        .await
    }
}

/// POSTs `body` to `server + path`, signed as `host`.
/// 16 random bytes from the system's generator (through ring, already a dependency).
fn rand_bytes() -> [u8; 16] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b
}

pub async fn signed_post(
    http: &reqwest::Client,
    server: &str,
    path: &str,
    host: &str,
    key: &AgentKey,
    body: Vec<u8>,
) -> Result<Vec<u8>, CallError> {
    signed_post_with(http, server, path, host, key, body, &[]).await
}

/// [`signed_post`] with extra headers (the install code's hash on an enrollment).
pub async fn signed_post_with(
    http: &reqwest::Client,
    server: &str,
    path: &str,
    host: &str,
    key: &AgentKey,
    body: Vec<u8>,
    extra: &[(&'static str, String)],
) -> Result<Vec<u8>, CallError> {
    let time = unix_now();
    let nonce = hex::encode(rand_bytes());
    let sig = key.sign_nonce("POST", path, host, time, &nonce, &body);
    let mut req = http
        .post(format!("{server}{path}"))
        .header(auth::HEADER_NONCE, &nonce);
    for (name, value) in extra {
        req = req.header(*name, value);
    }
    let resp = req
        .header(auth::HEADER_HOST, host)
        .header(auth::HEADER_TIME, time.to_string())
        .header(auth::HEADER_SIGNATURE, sig)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .await
        .map_err(|e| CallError::Retry(error_chain(&e)))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| CallError::Retry(error_chain(&e)))?;
    if status.is_success() {
        return Ok(bytes.to_vec());
    }
    let err: AgentError = serde_json::from_slice(&bytes).unwrap_or_else(|_| AgentError {
        code: format!("http_{}", status.as_u16()),
        message: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
    });
    Err(match err.code.as_str() {
        codes::UNKNOWN_HOST
        | codes::UNINSTALLED_HOST
        | codes::UNKNOWN_CODE
        | codes::EXPIRED_CODE
        | codes::REVOKED_CODE => CallError::Identity(err),
        // A clock far off is fixable on the host; keep the data until it is.
        codes::BAD_SIGNATURE if err.message.contains("clock") => CallError::Retry(err.message),
        codes::BAD_SIGNATURE => CallError::Identity(err),
        codes::BAD_REQUEST | codes::TOO_LARGE => CallError::Refused(err),
        _ => CallError::Retry(format!("{} {}", status, err.message)),
    })
}

/// The error and its causes on one line: reqwest hides the useful part (TLS, refused) inside.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
