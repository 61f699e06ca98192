//! `vigil scan files` as an operator runs it: a tree with a planted leak among ordinary files,
//! a link out of the tree, a FIFO and an oversized file; JSON records, masked values, skips
//! counted by reason, exit codes, and a rules override that does not compile.

use std::process::Command;

mod support;
use support::{cli, json_lines, up_with_env, wait_until};

fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

#[test]
fn finds_a_planted_leak_masked_and_counts_what_it_skipped() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("www");
    std::fs::create_dir_all(root.join("app/config")).unwrap();
    // Assembled here so that this file is not a leak itself.
    let id = format!("{}{}", "AK", "IAQ7ZK2M4XWB9PLR3T");
    let secret = "h7Kq2Zr9xLm4Tb8Nw3Yc6Vd1Fp5Gs0Jk2Ue7Ri9O";
    std::fs::write(
        root.join("app/config/.env"),
        format!("APP=shop\nAWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
    )
    .unwrap();
    std::fs::write(root.join("app/index.php"), "<?php echo 'hello'; ?>\n").unwrap();
    std::fs::write(root.join("app/big.log"), vec![b'x'; 2 * 1024 * 1024]).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(root.join("pipe"))
        .status()
        .unwrap()
        .success());

    let out = vigil()
        .args(["scan", "files", "--json", "--max-size-mib", "1"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains(secret) && !stdout.contains(&id),
        "{stdout}"
    );
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let finding = &records[0];
    assert_eq!(finding["record"], "finding");
    assert_eq!(finding["kind"], "secret");
    assert_eq!(finding["rule"], "aws-accesskey");
    assert_eq!(finding["level"], "urgent");
    assert_eq!(finding["line"], 2);
    assert!(finding["path"]
        .as_str()
        .unwrap()
        .ends_with("app/config/.env"));
    assert_eq!(finding["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(finding["md5"].as_str().unwrap().len(), 32);
    assert!(finding["detail"]
        .as_str()
        .unwrap()
        .starts_with("line 2: AKIA"));
    let summary = records.last().unwrap();
    assert_eq!(summary["record"], "summary");
    assert_eq!(summary["files"], 2);
    assert_eq!(summary["findings"], 1);
    assert_eq!(summary["skipped"]["symbolic link (not followed)"], 1);
    assert_eq!(
        summary["skipped"]["not a regular file (FIFO, socket or device)"],
        1
    );
    assert_eq!(summary["skipped"]["over the size limit"], 1);

    // Nothing found: exit 0 and a readable summary.
    let clean = vigil()
        .args(["scan", "files"])
        .arg(root.join("app/index.php"))
        .output()
        .unwrap();
    assert_eq!(clean.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("1 files"));
}

#[test]
fn the_eicar_test_file_is_a_known_bad_file_by_hash() {
    // The 68-byte test string, split so that no source file holds it whole.
    let eicar = [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat();
    assert_eq!(eicar.len(), 68);
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("eicar.com"), &eicar).unwrap();
    std::fs::write(d.path().join("near-miss.com"), &eicar[..67]).unwrap();
    let out = vigil()
        .args(["scan", "files", "--json"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let records: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{records:?}");
    let f = &records[0];
    assert_eq!(f["kind"], "malware");
    assert_eq!(f["rule"], "hash:eicar-test-file");
    assert_eq!(f["md5"], "44d88612fea8a8f36de82e1278abb02f");
    assert_eq!(
        f["sha256"],
        "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
    );
    assert!(f["path"].as_str().unwrap().ends_with("eicar.com"));
    assert_eq!(records[1]["files"], 2);
}

#[test]
fn a_broken_rules_override_is_an_error_naming_the_rule() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("secrets.toml"),
        "[[rule]]\nid = \"mine\"\nname = \"x\"\nlevel = \"urgent\"\nkeywords = [\"k\"]\npattern = \"[\"\n",
    )
    .unwrap();
    let out = vigil()
        .args(["scan", "files", "--rules"])
        .arg(d.path())
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rules/secrets.toml") && err.contains("rule mine"),
        "{err}"
    );
}

#[test]
fn the_agent_scan_raises_a_masked_leak_alert_on_the_server() {
    let d = tempfile::tempdir().unwrap();
    let tree = d.path().join("srv");
    std::fs::create_dir_all(&tree).unwrap();
    let token = ["gh", "p_", "Zq8Xr2Lm4Tb7Kp9Nw3Yc6Vd1Fp5Gs0Jk2Uex"].concat();
    std::fs::write(
        tree.join("deploy.sh"),
        format!("#!/bin/sh\ngit clone https://{token}@github.com/acme/app\n"),
    )
    .unwrap();
    let scan = tree.to_str().unwrap();
    let u = up_with_env(&d.path().join("data"), &[], &[("VIGIL_SCAN_PATHS", scan)]);
    let mut found = Vec::new();
    wait_until("the leak alert", 60, || {
        let (done, out, _) = cli(&u, &["alerts", "list", "--kind", "data_leak", "--json"]);
        found = if done { json_lines(&out) } else { Vec::new() };
        !found.is_empty()
    });
    let text = found[0].to_string();
    assert!(
        text.contains("deploy.sh") && text.contains("github-token"),
        "{text}"
    );
    assert!(
        !text.contains(&token),
        "the token never reaches the server: {text}"
    );
}
