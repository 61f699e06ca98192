//! `vigil scan baseline` on a system tree: JSON records with evidence and file, the human
//! summary, check selection, and bad input refused clearly.

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Command;

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(VIGIL).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn a_tree_is_judged_check_by_check() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\n",
    );
    write(root, "etc/group", "root:x:0:\n");
    write(
        root,
        "etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
    );
    write(
        root,
        "etc/ssh/sshd_config.d/50-cloud-init.conf",
        "PermitRootLogin yes\nPasswordAuthentication no\n",
    );
    write(
        root,
        "etc/sysctl.d/60-hardening.conf",
        "kernel.kptr_restrict = 2\nnet.ipv4.ip_forward = 1\n",
    );
    let root_s = root.to_str().unwrap();
    let (ok, out, err) = run(&["scan", "baseline", "--root", root_s, "--json"]);
    assert!(ok, "{err}");
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_id = |id: &str| {
        records
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"))
            .clone()
    };
    let root_login = by_id("ssh.permit-root-login");
    assert_eq!(root_login["status"], "failed");
    assert_eq!(root_login["level"], "high");
    assert_eq!(root_login["category"], "identity_authentication");
    assert_eq!(
        root_login["file"],
        "/etc/ssh/sshd_config.d/50-cloud-init.conf:1"
    );
    assert!(root_login["remediation"]
        .as_str()
        .unwrap()
        .contains("PermitRootLogin no"));
    assert!(root_login["refs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "ssg:sshd_disable_root_login"));
    assert_eq!(by_id("ssh.password-authentication")["status"], "passed");
    assert_eq!(by_id("accounts.only-root-uid0")["status"], "failed");
    assert!(by_id("accounts.only-root-uid0")["evidence"]
        .as_str()
        .unwrap()
        .contains("toor"));
    assert_eq!(by_id("sysctl.kernel.kptr_restrict")["status"], "passed");
    assert_eq!(by_id("sysctl.net.ipv4.ip_forward")["status"], "failed");
    // A tree has no running kernel or sockets: those checks do not apply.
    assert_eq!(by_id("services.exposed.redis")["status"], "not_applicable");
    let summary = records.last().unwrap();
    assert_eq!(summary["record"], "summary");
    assert_eq!(
        summary["checks"].as_u64().unwrap() as usize,
        records.len() - 1
    );
    assert!(records.len() > 150);

    // Selection by id and by family; the human summary.
    let (ok, out, _) = run(&[
        "scan",
        "baseline",
        "--root",
        root_s,
        "--check",
        "ssh.",
        "--check",
        "accounts.only-root-uid0",
    ]);
    assert!(ok);
    assert!(out.contains("FAIL high   ssh.permit-root-login"), "{out}");
    assert!(out.contains("fix: Set `PermitRootLogin no`"), "{out}");
    assert!(!out.contains("sysctl."), "{out}");
    assert!(out.contains("failed"), "{out}");

    // Bad input.
    let (ok, _, err) = run(&[
        "scan",
        "baseline",
        "--root",
        root_s,
        "--check",
        "ssh.telepathy",
    ]);
    assert!(!ok && err.contains("ssh.telepathy"), "{err}");
    let (ok, _, err) = run(&["scan", "baseline", "--root", "/nonexistent/tree"]);
    assert!(!ok && err.contains("/nonexistent/tree"), "{err}");
}

/// A program copied out of its package and listening on this host is found; the packaged one
/// it was copied from is not.
#[test]
fn a_listening_program_no_package_owns_is_found_on_this_host() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("listener");
    fs::copy("/usr/bin/python3", &copy).unwrap();
    let mut child = Command::new(&copy)
        .args([
            "-c",
            "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\n\
             print(s.getsockname()[1],flush=True)\nsys.stdin.read()",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let (ok, out, err) = run(&[
        "scan",
        "baseline",
        "--check",
        "services.unpackaged-listener",
        "--json",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "{err}");
    let rec: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(rec["status"], "failed", "{rec}");
    let evidence = rec["evidence"].as_str().unwrap();
    let copy = copy.display().to_string();
    assert!(
        evidence.contains(&format!("127.0.0.1:{} {copy}", port.trim())),
        "{evidence}"
    );
    assert!(!evidence.contains("/usr/bin/python3"), "{evidence}");
}
