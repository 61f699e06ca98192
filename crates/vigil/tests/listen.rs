//! `vigil up` refuses to serve the console over plain HTTP to the network unless told to.

use std::process::Command;

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

#[test]
fn plain_http_on_the_network_needs_insecure_http() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(VIGIL)
        .args(["up", "--no-agent", "--listen", "0.0.0.0:0"])
        .args(["--agent-listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started: {stderr}");
    assert!(
        stderr.contains("plain HTTP") && stderr.contains("--insecure-http"),
        "{stderr}"
    );
    // Refused before anything was made: no admin password was created that nobody saw.
    assert!(!data.path().join("admin.token").exists());
}
