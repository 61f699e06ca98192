//! The `vigil` binary as an operator uses it: `vigil up`, the one-line install command run
//! through curl and sh, the CLI, uninstall, refused codes, and a `kill -9` restart.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;
use support::*;

fn create_code(u: &Up, expires: &str) -> Value {
    let (ok, out, err) = cli(
        u,
        &[
            "install-code",
            "create",
            "--group",
            "web",
            "--label",
            "env=prod",
            "--expires",
            expires,
            "--json",
        ],
    );
    assert!(ok, "{err}");
    serde_json::from_str(out.trim()).unwrap()
}

/// Runs an install command the way an operator pastes it, into a private prefix.
fn run_install(command: &str, prefix: &Path) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("VIGIL_BIN_DIR", prefix.join("bin"))
        .env("VIGIL_AGENT_DIR", prefix.join("agent"))
        .env("VIGIL_NO_SERVICE", "1")
        .output()
        .unwrap()
}

fn host_by_group(u: &Up, group: &str) -> Value {
    let (ok, out, err) = cli(u, &["hosts", "list", "--json"]);
    assert!(ok, "{err}");
    json_lines(&out)
        .into_iter()
        .find(|h| h["group"] == group)
        .unwrap_or_else(|| panic!("no {group} host in {out}"))
}

#[test]
fn install_command_enrolls_a_host_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let u = up(&data);
    assert!(
        u.lines.iter().any(|l| l.starts_with("admin password: ")),
        "{:?}",
        u.lines
    );
    let token_file = std::fs::read_to_string(data.join("admin.token")).unwrap();
    assert_eq!(token_file.trim(), u.token);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(data.join("admin.token"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(data.join("agent/identity.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    // The local agent protects this host and reports its fingerprints.
    let local = host_by_group(&u, "default");
    assert_eq!(local["state"], "online");
    let local_id = local["id"].as_str().unwrap().to_string();
    wait_until("local fingerprints", 30, || {
        cli(&u, &["hosts", "show", &local_id, "--section", "packages"]).0
    });

    // The one-liner: curl with a pinned key, checksum check, install, enroll.
    let code = create_code(&u, "1h");
    let command = code["command"].as_str().unwrap();
    assert!(
        command.starts_with("curl -fsSk --pinnedpubkey 'sha256//"),
        "{command}"
    );
    let prefix = dir.path().join("host2");
    let out = run_install(command, &prefix);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "install failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("enrolled: host "), "{stdout}");
    let installed = std::fs::read(prefix.join("bin/vigil")).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&installed)),
        hex::encode(Sha256::digest(std::fs::read(VIGIL).unwrap()))
    );

    let web = host_by_group(&u, "web");
    assert_eq!(web["labels"]["env"], "prod");
    let web_id = web["id"].as_str().unwrap().to_string();

    // The installed binary runs the agent; the host reports in.
    let agent = Guard(
        Command::new(prefix.join("bin/vigil"))
            .args(["agent", "run", "--collect-secs", "1", "--data"])
            .arg(prefix.join("agent"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the installed agent's fingerprints", 30, || {
        let (ok, out, _) = cli(&u, &["hosts", "show", &web_id, "--json"]);
        ok && serde_json::from_str::<Value>(&out)
            .map(|v| v["fingerprints"]["accounts"].is_array())
            .unwrap_or(false)
    });
    drop(agent);

    // Uninstall: the agent's data goes, the server keeps the host as uninstalled.
    let out = Command::new(prefix.join("bin/vigil"))
        .args(["agent", "uninstall", "--data"])
        .arg(prefix.join("agent"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!prefix.join("agent").exists());
    assert_eq!(host_by_group(&u, "web")["state"], "uninstalled");

    // Refused codes say why, and install nothing.
    let (ok, _, err) = cli(
        &u,
        &["install-code", "revoke", code["id"].as_str().unwrap()],
    );
    assert!(ok, "{err}");
    let other = dir.path().join("host3");
    let out = run_install(command, &other);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("revoked"),
        "{:?}",
        out
    );
    assert!(!other.join("bin/vigil").exists());
    let short = create_code(&u, "1s");
    std::thread::sleep(Duration::from_millis(2100));
    let out = run_install(short["command"].as_str().unwrap(), &other);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("expired"),
        "{:?}",
        out
    );
    let bogus = command.replace(code["code"].as_str().unwrap(), "not-a-real-code");
    let out = run_install(&bogus, &other);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not known"),
        "{:?}",
        out
    );
    let (ok, out, _) = cli(&u, &["install-code", "list"]);
    assert!(
        ok && out.contains("revoked") && out.contains("expired"),
        "{out}"
    );

    // The agent's own refusal, when it is handed a dead code directly.
    let out = Command::new(VIGIL)
        .args([
            "agent",
            "install",
            "--no-service",
            "--code",
            short["code"].as_str().unwrap(),
            "--data",
        ])
        .arg(other.join("agent"))
        .args([
            "--server",
            &format!("https://127.0.0.1:{}", port_of(command)),
        ])
        .args(["--ca-fingerprint", &ca_fingerprint(&u)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expired at") && err.contains("install_code_expired"),
        "{err}"
    );

    // kill -9 and restart on the same data: nothing is lost, nothing is re-created.
    let mut guard = u.guard;
    let pid = guard.0.id();
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let _ = guard.0.wait();
    let u2 = up(&data);
    assert_eq!(u2.token, u.token);
    assert!(
        u2.lines.iter().any(|l| l.starts_with("api token: in "))
            && !u2.lines.iter().any(|l| l.contains(&u.token)),
        "a restart must not print the API token again: {:?}",
        u2.lines
    );
    let data_mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&data).unwrap().permissions());
    assert_eq!(data_mode & 0o777, 0o700, "the data directory is private");
    for f in ["vigil.db", "admin.token"] {
        let m = std::fs::metadata(data.join(f)).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&m) & 0o077,
            0,
            "{f} is readable by others"
        );
    }
    assert!(
        u2.lines.iter().any(|l| l.contains("not shown again")),
        "{:?}",
        u2.lines
    );
    let (ok, out, err) = cli(&u2, &["hosts", "list", "--json"]);
    assert!(ok, "{err}");
    let hosts = json_lines(&out);
    assert_eq!(
        hosts.len(),
        2,
        "restart must not enroll this host again: {out}"
    );
    wait_until("the local agent back online", 20, || {
        host_by_group(&u2, "default")["state"] == "online"
    });
    assert_eq!(host_by_group(&u2, "default")["id"], local_id.as_str());
}

fn port_of(command: &str) -> String {
    let after = command.split("https://127.0.0.1:").nth(1).unwrap();
    after.split('/').next().unwrap().to_string()
}

fn ca_fingerprint(u: &Up) -> String {
    u.lines
        .iter()
        .find_map(|l| l.split("(CA fingerprint ").nth(1))
        .map(|s| s.trim_end_matches(')').to_string())
        .unwrap()
}

#[test]
fn cli_reports_errors_clearly() {
    let out = Command::new(VIGIL)
        .args([
            "hosts",
            "list",
            "--server",
            "http://127.0.0.1:1",
            "--token",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
    let out = Command::new(VIGIL)
        .args(["install-code", "create", "--label", "oops", "--token", "x"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEY=VALUE"));
    let out = Command::new(VIGIL).args(["--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("vigil up"));
}
