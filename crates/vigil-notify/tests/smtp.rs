//! Email against a real SMTP server: aiosmtpd (Python) started on a loopback port per test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vigil_notify::{send_email, SendError, SmtpConfig, SmtpTls};

/// A running `tests/smtp_server.py`, stopped when dropped.
struct Server {
    port: u16,
    inbox: tempfile::TempDir,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Plain,
    Auth,
    StartTls,
    Tls,
}

fn require_aiosmtpd() {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the SMTP tests need python3 with aiosmtpd: run `pip install aiosmtpd`"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(mode: Mode, certs: Option<&Certs>) -> Server {
    require_aiosmtpd();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
    let inbox = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .args(["--port", &port.to_string()])
        .arg("--dir")
        .arg(inbox.path());
    let tls_args = |flag: &str, cmd: &mut Command| {
        let c = certs.expect("TLS modes need certificates");
        cmd.arg(flag).arg(&c.cert).arg(&c.key);
    };
    match mode {
        Mode::Plain => {}
        Mode::Auth => {
            cmd.arg("--auth");
        }
        Mode::StartTls => tls_args("--starttls", &mut cmd),
        Mode::Tls => tls_args("--tls", &mut cmd),
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "READY", "smtp_server.py did not start");
    Server { port, inbox, child }
}

impl Server {
    fn config(&self, tls: SmtpTls) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            tls,
            username: None,
            password: None,
            from: "Vigil <vigil@example.com>".into(),
            ca_cert_pem: None,
        }
    }

    /// The messages received so far, in order.
    fn received(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.inbox.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// The server writes a message before answering 250, so it is there once `send` returns;
    /// the short wait only covers the file system.
    fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A private CA and a certificate for 127.0.0.1 signed by it, as PEM files.
struct Certs {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    ca_pem: String,
}

fn certs() -> Certs {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "vigil-notify test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, &ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let leaf_cert = leaf.signed_by(&key, &issuer).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, leaf_cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Certs {
        _dir: dir,
        cert: cert_path,
        key: key_path,
        ca_pem: ca_cert.pem(),
    }
}

fn to(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn a_message_arrives_with_subject_body_and_recipients() {
    let server = start(Mode::Plain, None);
    let subject = "[Vigil] Urgent: New account with uid 0: toor on web-1 — 告警";
    let body = format!(
        "Urgent alert on web-1\n\nEvidence:\n  user: toor\n  note: {}\n.\nlast line\n",
        "x".repeat(1200)
    );
    send_email(
        &server.config(SmtpTls::None),
        &to(&["ops@example.com", "Security Team <sec@example.org>"]),
        subject,
        &body,
    )
    .await
    .unwrap();
    let got = server.wait_for(1);
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m["mail_from"], "vigil@example.com");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["ops@example.com", "sec@example.org"])
    );
    assert_eq!(m["from"], "Vigil <vigil@example.com>");
    assert_eq!(m["to"], "ops@example.com, Security Team <sec@example.org>");
    assert_eq!(m["subject"], subject);
    assert_eq!(m["content_type"], "text/plain");
    assert_eq!(m["charset"], "utf-8");
    // A long line and a lone "." survive transfer encoding and SMTP dot-stuffing (MIME may add
    // a final line break).
    let received = m["body"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(received.trim_end(), body.trim_end());
    assert_eq!(m["authenticated"], false);
}

#[tokio::test]
async fn good_credentials_authenticate() {
    let server = start(Mode::Auth, None);
    let smtp = SmtpConfig {
        username: Some("vigil".into()),
        password: Some("secret".into()),
        ..server.config(SmtpTls::None)
    };
    send_email(&smtp, &to(&["ops@example.com"]), "s", "b\n")
        .await
        .unwrap();
    let got = server.wait_for(1);
    assert_eq!(got[0]["authenticated"], true);
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error() {
    let server = start(Mode::Auth, None);
    let smtp = SmtpConfig {
        username: Some("vigil".into()),
        password: Some("wrong".into()),
        ..server.config(SmtpTls::None)
    };
    let err = send_email(&smtp, &to(&["ops@example.com"]), "s", "b")
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Auth(_)), "{err:?}");
    assert!(err.to_string().contains("535"), "{err}");
    assert!(!err.is_retryable());
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn missing_credentials_where_required_is_an_auth_error() {
    let server = start(Mode::Auth, None);
    let err = send_email(
        &server.config(SmtpTls::None),
        &to(&["ops@example.com"]),
        "s",
        "b",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SendError::Auth(_)), "{err:?}");
    assert!(err.to_string().contains("530"), "{err}");
}

#[tokio::test]
async fn no_server_is_unavailable() {
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: free_port(),
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "vigil@example.com".into(),
        ca_cert_pem: None,
    };
    let err = send_email(&smtp, &to(&["ops@example.com"]), "s", "b")
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("refused"), "{err}");
}

#[tokio::test]
async fn starttls_with_a_private_ca() {
    let certs = certs();
    let server = start(Mode::StartTls, Some(&certs));
    let smtp = SmtpConfig {
        ca_cert_pem: Some(certs.ca_pem.clone()),
        ..server.config(SmtpTls::StartTls)
    };
    send_email(&smtp, &to(&["ops@example.com"]), "over STARTTLS", "b\n")
        .await
        .unwrap();
    let got = server.wait_for(1);
    assert_eq!(got[0]["subject"], "over STARTTLS");
    assert_eq!(got[0]["tls"], true);
}

#[tokio::test]
async fn implicit_tls_with_a_private_ca() {
    let certs = certs();
    let server = start(Mode::Tls, Some(&certs));
    let smtp = SmtpConfig {
        ca_cert_pem: Some(certs.ca_pem.clone()),
        ..server.config(SmtpTls::Tls)
    };
    send_email(&smtp, &to(&["ops@example.com"]), "over TLS", "b\n")
        .await
        .unwrap();
    assert_eq!(server.wait_for(1)[0]["subject"], "over TLS");
}

#[tokio::test]
async fn an_untrusted_certificate_is_not_sent_to() {
    let certs = certs();
    let server = start(Mode::StartTls, Some(&certs));
    let err = send_email(
        &server.config(SmtpTls::StartTls),
        &to(&["ops@example.com"]),
        "s",
        "b",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SendError::Unavailable(_)), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn bad_addresses_are_config_errors() {
    // No server needed: the message is refused before any connection.
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: 1,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "vigil@example.com".into(),
        ca_cert_pem: None,
    };
    for (from, rcpt) in [
        ("vigil@example.com", vec!["not an address"]),
        ("not an address", vec!["ops@example.com"]),
        ("vigil@example.com", vec![]),
    ] {
        let smtp = SmtpConfig {
            from: from.into(),
            ..smtp.clone()
        };
        let err = send_email(&smtp, &to(&rcpt), "s", "b").await.unwrap_err();
        assert!(
            matches!(err, SendError::Config(_)),
            "{from} {rcpt:?}: {err:?}"
        );
    }
}
