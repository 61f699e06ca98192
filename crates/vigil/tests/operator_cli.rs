//! Every operator command of the `vigil` binary against a real `vigil up` (server and local
//! agent on SQLite): alerts listed, shown and handled on a real process, notification
//! channels and settings, the IP policy, the whitelist, the score and the content status,
//! each in `--json` (decoded here) and as a table or sentence.

use serde_json::Value;
use std::os::unix::process::ExitStatusExt;

mod support;
use support::*;

fn ok(u: &Up, args: &[&str]) -> String {
    let (ok, out, err) = cli(u, args);
    assert!(ok, "vigil {}: {err}{out}", args.join(" "));
    out
}

fn one_json(u: &Up, args: &[&str]) -> Value {
    let out = ok(u, args);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn operator_commands_work_against_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let u = up_with(&dir.path().join("data"), &["--collect-secs", "1"]);

    let hosts = json_lines(&ok(&u, &["hosts", "list", "--json"]));
    let host = hosts[0]["id"].as_str().unwrap().to_string();
    wait_until("the first fingerprints", 30, || {
        cli(&u, &["hosts", "show", &host, "--section", "ports"]).0
    });
    let shown = one_json(&u, &["hosts", "show", &host, "--json"]);
    assert_eq!(shown["id"], host.as_str());
    // A host by its hostname or the start of its id; an unknown name says so.
    let hostname = hosts[0]["hostname"].as_str().unwrap().to_string();
    let by_name = one_json(&u, &["hosts", "show", &hostname, "--json"]);
    assert_eq!(by_name["id"], host.as_str());
    let by_prefix = one_json(&u, &["hosts", "show", &host[..8], "--json"]);
    assert_eq!(by_prefix["id"], host.as_str());
    let (done, _, err) = cli(&u, &["hosts", "show", "no-such-host"]);
    assert!(
        !done && err.contains("no host is named \"no-such-host\""),
        "{err}"
    );
    assert!(shown["fingerprints"]["os"]["kernel"].is_string(), "{shown}");
    let table = ok(&u, &["hosts", "show", &host]);
    assert!(
        table.contains("inventory") && table.contains("monitor"),
        "{table}"
    );

    // A program listening on every interface, started after the first snapshot: an alert.
    let bin = tempfile::tempdir().unwrap();
    let exe = bin.path().join("cli-test-svc");
    std::fs::copy("/usr/bin/python3", &exe).unwrap();
    let mut child = std::process::Command::new(&exe)
        .args([
            "-c",
            "import socket,time; s=socket.socket(); s.bind(('0.0.0.0',0)); s.listen(); time.sleep(300)",
        ])
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut alert = Value::Null;
    wait_until("the port alert", 60, || {
        let out = ok(
            &u,
            &["alerts", "list", "--kind", "suspicious_port", "--json"],
        );
        alert = json_lines(&out)
            .into_iter()
            .find(|a| {
                a["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["name"] == "pid" && e["value"] == pid.as_str())
            })
            .unwrap_or(Value::Null);
        !alert.is_null()
    });
    let id = alert["id"].as_i64().unwrap().to_string();
    let by_name = ok(
        &u,
        &[
            "alerts",
            "list",
            "--kind",
            "suspicious_port",
            "--host",
            &hostname,
        ],
    );
    assert!(by_name.contains(&id), "{by_name}");
    let listed = ok(&u, &["alerts", "list", "--kind", "suspicious_port"]);
    assert!(
        listed.contains(&id) && listed.contains("alerts"),
        "{listed}"
    );
    let detail = one_json(&u, &["alerts", "show", &id, "--json"]);
    assert!(
        detail["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "start_ticks"),
        "{detail}"
    );
    assert!(ok(&u, &["alerts", "show", &id]).contains("evidence:"));

    // A wrong action is refused before anything is sent, naming the option.
    let (done, _, err) = cli(&u, &["alerts", "handle", &id, "--action", "nuke"]);
    assert!(!done);
    assert!(err.contains("--action") && err.contains("nuke"), "{err}");

    // Kill it through the agent.
    let handled = ok(&u, &["alerts", "handle", &id, "--action", "kill_process"]);
    assert!(handled.contains("changed"), "{handled}");
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
    wait_until("the alert handled", 30, || {
        one_json(&u, &["alerts", "show", &id, "--json"])["status"] == "handled"
    });

    // Notifications.
    let added = ok(
        &u,
        &[
            "notify",
            "add",
            "--name",
            "ops inbox",
            "--inbox",
            "--levels",
            "urgent,suspicious",
            "--window",
            "08:00-22:00",
        ],
    );
    let channel = added
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("{added}"))
        .to_string();
    let channels = json_lines(&ok(&u, &["notify", "list", "--json"]));
    let c = channels
        .iter()
        .find(|c| c["id"].as_i64().map(|i| i.to_string()) == Some(channel.clone()))
        .unwrap_or_else(|| panic!("{channels:?}"));
    assert_eq!(
        c["config"]["levels"],
        serde_json::json!(["urgent", "suspicious"])
    );
    assert!(ok(&u, &["notify", "list"]).contains("08:00-22:00"));
    let (done, _, err) = cli(
        &u,
        &[
            "notify", "add", "--name", "x", "--inbox", "--levels", "loud",
        ],
    );
    assert!(!done && err.contains("--levels"), "{err}");
    let settings = one_json(
        &u,
        &[
            "notify",
            "settings",
            "--utc-offset-minutes",
            "480",
            "--json",
        ],
    );
    assert_eq!(settings["utc_offset_minutes"], 480);
    assert!(ok(&u, &["notify", "settings", "--utc-offset-minutes", "480"]).contains("UTC+480"));
    ok(&u, &["notify", "outbox", "--json"]);
    assert!(ok(&u, &["notify", "inbox"]).contains("unread"));
    let removed = one_json(&u, &["notify", "remove", &channel, "--json"]);
    assert_eq!(removed["removed"].to_string(), channel);

    // The IP policy library.
    let blocked = one_json(
        &u,
        &[
            "ip-policy",
            "block",
            "203.0.113.9",
            "--for",
            "1h",
            "--reason",
            "cli test",
            "--json",
        ],
    );
    let rule = blocked["id"].as_i64().unwrap().to_string();
    assert_eq!(blocked["target"], "203.0.113.9/32", "stored as a network");
    let rules = json_lines(&ok(&u, &["ip-policy", "list", "--json"]));
    assert!(
        rules
            .iter()
            .any(|r| r["id"].as_i64().map(|i| i.to_string()) == Some(rule.clone())),
        "{rules:?}"
    );
    assert!(ok(&u, &["ip-policy", "list"]).contains("203.0.113.9"));
    let disabled = ok(&u, &["ip-policy", "disable", &rule]);
    assert!(disabled.contains("disabled"), "{disabled}");

    // The baseline the local agent ran at start: failed checks listed; one ignored with a
    // reason (refused without), listed under ignored, and undone.
    let mut failed = Vec::new();
    wait_until("the local agent's baseline", 30, || {
        failed = json_lines(&ok(&u, &["baseline", "list", "--json"]));
        !failed.is_empty()
    });
    let check = failed[0]["check_id"].as_str().unwrap().to_string();
    assert_eq!(failed[0]["status"], "failed");
    assert!(ok(&u, &["baseline", "list", "--host", &host]).contains("failed,"));
    let (done, _, err) = cli(&u, &["baseline", "ignore", &host, &check, "--reason", " "]);
    assert!(!done && err.contains("reason"), "{err}");
    assert!(ok(
        &u,
        &[
            "baseline",
            "ignore",
            &host,
            &check,
            "--reason",
            "accepted here"
        ]
    )
    .contains("ignored"));
    let ignored = json_lines(&ok(
        &u,
        &["baseline", "list", "--status", "ignored", "--json"],
    ));
    assert!(ignored
        .iter()
        .any(|r| r["check_id"] == check.as_str() && r["ignored"]["reason"] == "accepted here"));
    assert!(ok(&u, &["baseline", "unignore", &host, &check]).contains("no longer ignored"));

    // Verify: the check shows as verifying until the agent's run (asked with its next
    // heartbeat) replaces it.
    let v = one_json(&u, &["baseline", "verify", &host, &check, "--json"]);
    assert_eq!(v["verifying"], 1, "{v}");
    let (done, _, err) = cli(&u, &["baseline", "verify", &host, "no.such-check"]);
    assert!(!done && err.contains("no baseline check"), "{err}");
    let listed = json_lines(&ok(&u, &["baseline", "list", "--check", &check, "--json"]));
    assert!(listed[0]["verifying"].is_i64(), "{listed:?}");
    wait_until("the verify run", 90, || {
        let l = json_lines(&ok(&u, &["baseline", "list", "--check", &check, "--json"]));
        l.first().is_some_and(|r| r.get("verifying").is_none())
    });

    // The schedule: the fleet's default, a host's own (checked), and back to the fleet's.
    assert!(ok(&u, &["baseline", "schedule"]).contains("every 2 day(s), between 00:00 and 06:00"));
    let (done, _, err) = cli(&u, &["baseline", "schedule", "--every-days", "5"]);
    assert!(!done && err.contains("1, 2, 3, 7 or 30"), "{err}");
    let (done, _, err) = cli(&u, &["baseline", "schedule", "--window", "7-3"]);
    assert!(!done && err.contains("window"), "{err}");
    let set = ok(
        &u,
        &[
            "baseline",
            "schedule",
            "--host",
            &host,
            "--every-days",
            "7",
            "--window",
            "1-5",
        ],
    );
    assert!(
        set.contains("every 7 day(s), between 01:00 and 05:00"),
        "{set}"
    );
    let own = one_json(&u, &["baseline", "schedule", "--host", &host, "--json"]);
    assert_eq!(
        (own["every_days"].as_u64(), own["to_hour"].as_u64()),
        (Some(7), Some(5))
    );
    assert!(ok(&u, &["baseline", "schedule", "--host", &host, "--inherit"]).contains("again"));
    let (done, _, err) = cli(&u, &["baseline", "schedule", "--host", &host]);
    assert!(
        !done && err.contains("no baseline schedule of its own"),
        "{err}"
    );

    // The rest of the read commands.
    ok(&u, &["whitelist", "list", "--json"]);
    let score = one_json(&u, &["score", "--json"]);
    assert!(score["fleet"]["score"].is_u64(), "{score}");
    assert!(ok(&u, &["score"]).contains("fleet score"));
    let content = one_json(&u, &["content", "status", "--json"]);
    assert!(content["version"].is_string(), "{content}");
    ok(&u, &["install-code", "list", "--json"]);
}
