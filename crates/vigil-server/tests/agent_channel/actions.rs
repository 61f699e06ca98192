//! Host actions (kill, quarantine, restore) and the IP policy: commands signed, delivered, settled.

use super::*;

/// Host actions: signed by the pinned command key, reported once, timed out when not run.
pub(super) async fn host_actions(h: &Harness) {
    use base64::Engine;
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let command_key = base64::engine::general_purpose::STANDARD
        .decode(h.command_key.lock().unwrap().as_str())
        .unwrap();
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&port_batch(1, 7001)),
    )
    .await
    .unwrap();
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&pid_batch(2, 7002, 4242)),
    )
    .await
    .unwrap();
    let (_, v) = h
        .api("GET", &format!("/api/v1/alerts?host={host}"), None)
        .await;
    let id_of = |port: &str| {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"].as_str().unwrap().contains(port))
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (no_pid, with_pid) = (id_of("7001"), id_of("7002"));

    let (_, r) = handle(h, json!({"ids": [no_pid], "action": "kill_process"})).await;
    assert_eq!(r["results"][0]["outcome"], "refused", "{r}");
    assert!(r["results"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no pid"));
    let (_, r) = handle(h, json!({"ids": [with_pid], "action": "kill_process"})).await;
    assert_eq!(r["results"][0]["status"], "in_progress", "{r}");
    let (_, r) = handle(h, json!({"ids": [with_pid], "action": "kill_process"})).await;
    assert_eq!(
        r["results"][0]["outcome"], "unchanged",
        "no double handling: {r}"
    );

    // The heartbeat carries the command, signed by the key pinned at enrollment.
    let body = h
        .post(
            PATH_HEARTBEAT,
            &host,
            &key,
            codec::encode(&Heartbeat::default()),
        )
        .await
        .unwrap();
    let resp: HeartbeatResponse = serde_json::from_slice(&body).unwrap();
    assert_eq!(resp.commands.len(), 1);
    let signed = &resp.commands[0];
    vigil_proto::auth::verify_command(&command_key, &signed.payload, &signed.signature).unwrap();
    let forged = signed.payload.replace("4242", "1");
    assert!(vigil_proto::auth::verify_command(&command_key, &forged, &signed.signature).is_err());
    let cmd: Command = serde_json::from_str(&signed.payload).unwrap();
    assert_eq!(
        (cmd.host_id.as_str(), &cmd.action),
        (
            host.as_str(),
            &CommandAction::KillProcess {
                pid: 4242,
                exe: None,
                start_ticks: None,
            }
        )
    );

    // Another host cannot finish it; the host's own report does, once.
    let (other, other_key) = h.enroll(&code).await.unwrap();
    let report = CommandResult {
        id: cmd.id,
        ok: true,
        message: "process 4242: killed".into(),
        data: Value::Null,
    };
    h.post(
        PATH_COMMAND_RESULT,
        &other,
        &other_key,
        codec::encode(&report),
    )
    .await
    .unwrap();
    let (_, a) = h
        .api("GET", &format!("/api/v1/alerts/{with_pid}"), None)
        .await;
    assert_eq!(a["status"], "in_progress");
    h.post(PATH_COMMAND_RESULT, &host, &key, codec::encode(&report))
        .await
        .unwrap();
    let (_, a) = h
        .api("GET", &format!("/api/v1/alerts/{with_pid}"), None)
        .await;
    assert_eq!(a["status"], "handled");
    let again = CommandResult {
        ok: false,
        message: "late".into(),
        ..report
    };
    h.post(PATH_COMMAND_RESULT, &host, &key, codec::encode(&again))
        .await
        .unwrap();
    let (_, a) = h
        .api("GET", &format!("/api/v1/alerts/{with_pid}"), None)
        .await;
    assert_eq!(a["status"], "handled", "a second report changes nothing");

    // An offline host: the action times out after an hour and the alert comes back.
    h.post(
        PATH_EVENTS,
        &host,
        &key,
        codec::encode(&pid_batch(3, 7003, 4343)),
    )
    .await
    .unwrap();
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={host}&status=unhandled"),
            None,
        )
        .await;
    let third = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"].as_str().unwrap().contains("7003"))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    handle(h, json!({"ids": [third], "action": "kill_process"})).await;
    h.clock.0.fetch_add(3601, Ordering::SeqCst);
    let start = std::time::Instant::now();
    loop {
        let (_, a) = h.api("GET", &format!("/api/v1/alerts/{third}"), None).await;
        if a["status"] == "unhandled" {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 10,
            "the action never timed out: {a}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (_, cmds) = h
        .api("GET", &format!("/api/v1/commands?host={host}"), None)
        .await;
    assert_eq!(cmds["commands"][0]["state"], "timed_out", "{cmds}");
    h.clock.0.fetch_sub(3601, Ordering::SeqCst);

    // One restore at a time per quarantined file.
    h.store
        .put_quarantined(&vigil_store::QuarantineRecord {
            host_id: host.clone(),
            qid: "00112233aabbccdd".into(),
            path: "/srv/app/x.php".into(),
            sha256: "aa".into(),
            md5: "bb".into(),
            size: 3,
            quarantined_at: h.clock.now(),
            state: vigil_model::QuarantineState::Quarantined,
            restored_at: None,
            record: "{}".into(),
        })
        .await
        .unwrap();
    let restore = json!({"host_id": host, "qid": "00112233aabbccdd"});
    let (s, v) = h
        .api("POST", "/api/v1/quarantine/restore", Some(restore.clone()))
        .await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = h
        .api("POST", "/api/v1/quarantine/restore", Some(restore))
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("already waiting"),
        "{v}"
    );
}

/// Heartbeats once and returns the commands it carried, parsed (signatures are checked in
/// `host_actions`).
pub(super) async fn delivered(h: &Harness, host: &str, key: &AgentKey) -> Vec<Command> {
    let body = h
        .post(
            PATH_HEARTBEAT,
            host,
            key,
            codec::encode(&Heartbeat::default()),
        )
        .await
        .unwrap();
    let resp: HeartbeatResponse = serde_json::from_slice(&body).unwrap();
    resp.commands
        .iter()
        .map(|c| serde_json::from_str(&c.payload).unwrap())
        .collect()
}

pub(super) async fn rule_view(h: &Harness, id: i64) -> Value {
    let (_, v) = h.api("GET", "/api/v1/ip-rules", None).await;
    v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The IP policy library and the block_ip alert action, with the agent's side played by hand.
pub(super) async fn ip_rules(h: &Harness) {
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    delivered(h, &host, &key).await; // rules made by earlier tests for all hosts, if any
    let now = h.clock.now();

    // Bad requests say what is wrong; nothing is created.
    let before = h.api("GET", "/api/v1/ip-rules", None).await.1["rules"]
        .as_array()
        .unwrap()
        .len();
    for (body, status, fragment) in [
        (
            json!({"target": "nope", "duration": "1h"}),
            400,
            "not an IP address",
        ),
        (
            json!({"target": "127.0.0.1", "duration": "1h"}),
            400,
            "loopback",
        ),
        (
            json!({"target": "0.0.0.0/0", "duration": "1h"}),
            400,
            "whole-internet",
        ),
        (
            json!({"target": "192.0.2.1", "duration": "3 fortnights"}),
            400,
            "not a duration",
        ),
        (
            json!({"target": "192.0.2.1", "duration": "1h", "direction": "sideways"}),
            400,
            "in or out",
        ),
        (
            json!({"target": "192.0.2.1", "duration": "1h", "hosts": ["h-none"]}),
            404,
            "h-none",
        ),
        (json!({"target": "192.0.2.1"}), 400, "duration"),
    ] {
        let (s, v) = h.api("POST", "/api/v1/ip-rules", Some(body.clone())).await;
        assert_eq!(s, status, "{body}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(fragment),
            "{body}: {v}"
        );
    }
    let (s, _) = h.api("GET", "/api/v1/ip-rules?status=bogus", None).await;
    assert_eq!(s, 400);
    assert_eq!(
        h.api("GET", "/api/v1/ip-rules", None).await.1["rules"]
            .as_array()
            .unwrap()
            .len(),
        before
    );

    // A custom rule for this host: a signed block_ip with the absolute end time.
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/ip-rules",
            Some(json!({"target": "198.51.100.9", "hosts": [host], "duration": "2h", "reason": "scanner"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let rule = v["id"].as_i64().unwrap();
    assert_eq!(rule_view(h, rule).await["on_hosts"][0]["state"], "pending");
    let cmds = delivered(h, &host, &key).await;
    assert_eq!(cmds.len(), 1);
    assert_eq!(
        cmds[0].action,
        CommandAction::BlockIp {
            rule_id: rule,
            target: "198.51.100.9/32".into(),
            direction: Direction::In,
            until: Some(now + 7200),
        }
    );
    assert!(
        cmds[0].expires_at <= now + 7200,
        "never waits past the rule's end"
    );
    let report = |id, ok, message: &str| CommandResult {
        id,
        ok,
        message: message.into(),
        data: Value::Null,
    };
    h.post(
        PATH_COMMAND_RESULT,
        &host,
        &key,
        codec::encode(&report(
            cmds[0].id,
            true,
            "198.51.100.9/32 blocked (in) for 2h",
        )),
    )
    .await
    .unwrap();
    let v = rule_view(h, rule).await;
    assert_eq!(
        (v["status"].as_str(), v["on_hosts"][0]["state"].as_str()),
        (Some("active"), Some("applied")),
        "{v}"
    );

    // Disable: an unblock goes out at once; the host's report marks it removed.
    let (s, _) = h
        .api("POST", &format!("/api/v1/ip-rules/{rule}/disable"), None)
        .await;
    assert_eq!(s, 200);
    let cmds = delivered(h, &host, &key).await;
    assert!(matches!(cmds[0].action, CommandAction::UnblockIp { rule_id, .. } if rule_id == rule));
    assert_eq!(rule_view(h, rule).await["on_hosts"][0]["state"], "removing");
    h.post(
        PATH_COMMAND_RESULT,
        &host,
        &key,
        codec::encode(&report(cmds[0].id, true, "unblocked")),
    )
    .await
    .unwrap();
    assert_eq!(rule_view(h, rule).await["on_hosts"][0]["state"], "removed");
    let (s, v) = h
        .api("POST", &format!("/api/v1/ip-rules/{rule}/disable"), None)
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = h.api("POST", "/api/v1/ip-rules/99999/disable", None).await;
    assert_eq!(s, 404);

    // An all-hosts rule reaches a host that enrolls afterwards; it expires on time.
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/ip-rules",
            Some(json!({"target": "203.0.113.0/24", "duration": "1h"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let fleet = v["id"].as_i64().unwrap();
    let (late, late_key) = h.enroll(&code).await.unwrap();
    let cmds = delivered(h, &late, &late_key).await;
    assert!(
        cmds.iter().any(
            |c| matches!(&c.action, CommandAction::BlockIp { rule_id, .. } if *rule_id == fleet)
        ),
        "{cmds:?}"
    );
    h.clock.0.fetch_add(3601, Ordering::SeqCst);
    let start = std::time::Instant::now();
    while rule_view(h, fleet).await["status"] != "expired" {
        assert!(start.elapsed().as_secs() < 10, "the rule never expired");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    h.clock.0.fetch_sub(3601, Ordering::SeqCst);

    // block_ip on an alert: needs a duration and a source address; the agent's failure comes
    // back on the alert and on the rule with its exact words.
    let now = h.clock.now();
    let brute = vigil_model::NewAlert {
        kind: vigil_model::AlertKind::BruteForce,
        level: vigil_model::Level::Suspicious,
        name: "SSH brute force from 192.0.2.50".into(),
        key: "brute_force:192.0.2.50".into(),
        evidence: vec![
            ("source_ip".into(), "192.0.2.50".into()),
            ("failures".into(), "120".into()),
        ],
        time: now,
    };
    let mut no_source = brute.clone();
    no_source.key = "x".into();
    no_source.evidence.remove(0);
    h.store
        .ingest(vigil_store::IngestPlan::new(
            &host,
            900,
            Vec::new(),
            vec![(brute, None), (no_source, None)],
            now,
        ))
        .await
        .unwrap();
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={host}&kind=brute_force"),
            None,
        )
        .await;
    let id_with = |with: bool| {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["name"] == "source_ip")
                    == with
            })
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (alert, sourceless) = (id_with(true), id_with(false));
    let (s, v) = handle(h, json!({"ids": [alert], "action": "block_ip"})).await;
    assert_eq!(s, 400, "{v}");
    let (_, v) = handle(
        h,
        json!({"ids": [sourceless], "action": "block_ip", "duration": "12h"}),
    )
    .await;
    assert_eq!(v["results"][0]["outcome"], "refused", "{v}");
    let (_, v) = handle(
        h,
        json!({"ids": [alert], "action": "block_ip", "duration": "12h", "note": "seen on 3 hosts"}),
    )
    .await;
    assert_eq!(v["results"][0]["status"], "in_progress", "{v}");
    let cmds = delivered(h, &host, &key).await;
    let CommandAction::BlockIp {
        rule_id,
        target,
        until,
        ..
    } = &cmds[0].action
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        (target.as_str(), *until),
        ("192.0.2.50/32", Some(now + 43_200))
    );
    let r = rule_view(h, *rule_id).await;
    assert_eq!(r["alert_id"], alert);
    assert!(
        r["reason"].as_str().unwrap().contains("seen on 3 hosts"),
        "{r}"
    );
    h.post(
        PATH_COMMAND_RESULT,
        &host,
        &key,
        codec::encode(&report(
            cmds[0].id,
            false,
            "nft failed: Error: Could not process rule",
        )),
    )
    .await
    .unwrap();
    let (_, a) = h.api("GET", &format!("/api/v1/alerts/{alert}"), None).await;
    assert_eq!(a["status"], "unhandled", "{a}");
    assert!(a["note"].as_str().unwrap().contains("nft failed"), "{a}");
    assert_eq!(
        rule_view(h, *rule_id).await["on_hosts"][0]["state"],
        "failed"
    );
    // Retried, it succeeds: the alert is handled.
    handle(
        h,
        json!({"ids": [alert], "action": "block_ip", "duration": "permanent"}),
    )
    .await;
    let cmds = delivered(h, &host, &key).await;
    assert!(matches!(
        cmds[0].action,
        CommandAction::BlockIp { until: None, .. }
    ));
    h.post(
        PATH_COMMAND_RESULT,
        &host,
        &key,
        codec::encode(&report(
            cmds[0].id,
            true,
            "192.0.2.50/32 blocked (in) until unblocked",
        )),
    )
    .await
    .unwrap();
    let (_, a) = h.api("GET", &format!("/api/v1/alerts/{alert}"), None).await;
    assert_eq!(a["status"], "handled", "{a}");
}
