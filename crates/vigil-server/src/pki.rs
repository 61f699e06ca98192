//! The server's own private CA and TLS certificate, created on first start under the data dir.
//!
//! Agents pin the CA by its SHA-256 fingerprint (carried in the install command) and verify the
//! server certificate against it under the fixed name [`vigil_proto::SERVER_NAME`], so the
//! address they dial (IP, DNS name, proxy) does not matter. `curl` in the install one-liner pins
//! the server key instead (`--pinnedpubkey`), since it cannot pin a CA by fingerprint.

use anyhow::{Context, Result};
use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// The loaded TLS identity.
pub struct Pki {
    pub server_config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the CA certificate (DER), hex: what agents pin.
    pub ca_fingerprint: String,
    /// `sha256//BASE64` of the server key's SubjectPublicKeyInfo: what curl pins.
    pub curl_pin: String,
    pub ca_pem: String,
    /// Signs the commands sent to agents (kill, quarantine, restore); agents pin its public key
    /// at enrollment, so a proxy cannot forge a command.
    pub command_key: vigil_proto::auth::AgentKey,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("ca_fingerprint", &self.ca_fingerprint)
            .finish()
    }
}

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server.key";
const COMMAND_KEY: &str = "command.key";

/// Loads the CA and server certificate from `dir`, creating them on first use.
/// `extra_names` (host names or IPs the server is reached by) are added to the certificate for
/// clients other than agents, such as a browser or `curl --cacert`.
pub fn load_or_create(dir: &Path, extra_names: &[String]) -> Result<Pki> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if !dir.join(SERVER_KEY).exists() {
        create(dir, extra_names)?;
    }
    if !dir.join(COMMAND_KEY).exists() {
        let key = vigil_proto::auth::AgentKey::generate();
        crate::admin::write_secret_file(
            &dir.join(COMMAND_KEY),
            &base64::engine::general_purpose::STANDARD.encode(key.pkcs8()),
        )?;
    }
    load(dir)
}

fn create(dir: &Path, extra_names: &[String]) -> Result<()> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Vigil private CA");
    ca.distinguished_name = dn;
    ca.not_before = rcgen::date_time_ymd(2025, 1, 1);
    ca.not_after = rcgen::date_time_ymd(2055, 1, 1);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, &ca_key);

    let server_key = KeyPair::generate()?;
    let mut names = vec![
        vigil_proto::SERVER_NAME.to_string(),
        "localhost".to_string(),
    ];
    names.extend(extra_names.iter().filter(|n| !n.is_empty()).cloned());
    names.sort();
    names.dedup();
    let mut leaf = CertificateParams::default();
    for n in &names {
        leaf.subject_alt_names
            .push(match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(n.as_str().try_into()?),
            });
    }
    leaf.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse()?));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, vigil_proto::SERVER_NAME);
    leaf.distinguished_name = dn;
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = rcgen::date_time_ymd(2025, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(2055, 1, 1);
    let leaf_cert = leaf.signed_by(&server_key, &issuer)?;

    crate::admin::write_secret_file(&dir.join(CA_KEY), &ca_key.serialize_pem())?;
    crate::admin::write_secret_file(&dir.join(SERVER_KEY), &server_key.serialize_pem())?;
    std::fs::write(dir.join(CA_CERT), ca_cert.pem())?;
    // The chain carries the CA so agents can check it against their pinned fingerprint.
    std::fs::write(
        dir.join(SERVER_CERT),
        format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
    )?;
    tracing::info!(dir = %dir.display(), "created the server's private CA and certificate");
    Ok(())
}

fn load(dir: &Path) -> Result<Pki> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .with_context(|| format!("reading {}", dir.join(name).display()))
    };
    let chain: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut read(SERVER_CERT)?.as_bytes())
            .collect::<Result<_, _>>()
            .context("parsing server.pem")?;
    let ca_pem = read(CA_CERT)?;
    let ca_der = rustls_pemfile::certs(&mut ca_pem.as_bytes())
        .next()
        .context("ca.pem holds no certificate")??;
    let key_pem = read(SERVER_KEY)?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .context("parsing server.key")?
        .context("server.key holds no key")?;
    let spki = KeyPair::from_pem(&key_pem)?.subject_public_key_info();
    let server_config = server_config(chain, key)?;
    let command_key = base64::engine::general_purpose::STANDARD
        .decode(read(COMMAND_KEY)?.trim())
        .context("command.key is not base64")?;
    let command_key = vigil_proto::auth::AgentKey::from_pkcs8(&command_key)
        .map_err(|e| anyhow::anyhow!("command.key: {e}"))?;
    Ok(Pki {
        server_config,
        ca_fingerprint: hex::encode(Sha256::digest(ca_der.as_ref())),
        curl_pin: format!(
            "sha256//{}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&spki))
        ),
        ca_pem,
        command_key,
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path(), &["10.0.0.5".into(), "vigil.example".into()]).unwrap();
        let b = load_or_create(dir.path(), &[]).unwrap();
        assert_eq!(a.ca_fingerprint, b.ca_fingerprint);
        assert_eq!(a.curl_pin, b.curl_pin);
        assert_eq!(a.ca_fingerprint.len(), 64);
        assert!(a.curl_pin.starts_with("sha256//"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(SERVER_KEY))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
