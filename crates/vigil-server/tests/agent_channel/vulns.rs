//! Vulnerabilities found from reported packages, and the host security score.

use super::*;

pub(super) fn debian_inventory(collected_at: i64, openssl: &str) -> Vec<u8> {
    let pkg = |name: &str, version: &str| vigil_model::Package {
        name: name.into(),
        version: version.into(),
        arch: "amd64".into(),
        source: "openssl".into(),
        source_version: version.into(),
        ..Default::default()
    };
    codec::encode(&InventoryReport {
        inventory: vigil_model::Inventory {
            collected_at,
            os: vigil_model::OsInfo {
                id: "debian".into(),
                version_id: "12".into(),
                ..Default::default()
            },
            packages: vec![pkg("openssl", openssl), pkg("libssl3", openssl)],
            ..Default::default()
        },
    })
}

pub(super) async fn host_vulns(h: &Harness, host: &str) -> Vec<Value> {
    let (status, v) = h
        .api("GET", &format!("/api/v1/vulns?host={host}"), None)
        .await;
    assert_eq!(status, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

pub(super) async fn host_score(h: &Harness, host: &str) -> Value {
    let (status, v) = h.api("GET", "/api/v1/score", None).await;
    assert_eq!(status, 200, "{v}");
    v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["host_id"] == host)
        .unwrap()
        .clone()
}

/// The vulnerability lifecycle: the advisory database appears and is loaded, inventories are
/// matched, operators ignore and undo, a fixed version fixes, a downgrade reopens, and "verify"
/// asks the agent for a fresh inventory.
pub(super) async fn vulnerabilities(h: &Harness) {
    let (status, v) = h.api("GET", "/api/v1/vulns", None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["database"]["loaded"], false);
    assert!(v["database"]["hint"]
        .as_str()
        .unwrap()
        .contains("vigil vulndb update --source apt"));
    for bad in ["status=open", "level=urgent", "group_by=host", "limit=0"] {
        let (status, v) = h.api("GET", &format!("/api/v1/vulns?{bad}"), None).await;
        assert_eq!(status, 400, "{bad}: {v}");
    }

    // The database appears while the server runs; maintenance loads it.
    let mut b = vigil_vuln::DbBuilder::new();
    b.add_source(
        "debian-security",
        real_now(),
        vec![vigil_vuln::Advisory {
            ids: vec!["DSA-5678-1".into(), "CVE-2024-0001".into()],
            summary: "openssl: remote code execution in the TLS parser".into(),
            level: vigil_vuln::Level::High,
            rce: true,
            ranges: vec![vigil_vuln::AffectedRange {
                ecosystem: vigil_vuln::Ecosystem::new(vigil_vuln::Family::Debian, Some("12")),
                package: "openssl".into(),
                introduced: "0".into(),
                fixed: Some("3.0.13-1~deb12u1".into()),
                last_affected: None,
                limit: None,
            }],
        }],
    );
    b.build()
        .unwrap()
        .save(&h._dir.path().join("vulndb.bin"))
        .unwrap();
    eventually("the advisory database to load", async || {
        let (_, v) = h.api("GET", "/api/v1/vulns", None).await;
        (v["database"]["loaded"] == true).then_some(())
    })
    .await;
    let (_, v) = h.api("GET", "/api/v1/vulns", None).await;
    assert_eq!(v["database"]["advisories"], 1);
    assert_eq!(v["database"]["sources"][0]["name"], "debian-security");

    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    assert_eq!(host_score(h, &host).await["score"], 100);
    let t = real_now();
    h.post(
        PATH_INVENTORY,
        &host,
        &key,
        debian_inventory(t, "3.0.11-1~deb12u2"),
    )
    .await
    .unwrap();
    let rows = host_vulns(h, &host).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let ssl = rows.iter().find(|r| r["package"] == "openssl").unwrap();
    assert_eq!(ssl["advisory"], "DSA-5678-1");
    assert_eq!(ssl["ids"], json!(["DSA-5678-1", "CVE-2024-0001"]));
    assert_eq!(ssl["status"], "unfixed");
    assert_eq!(ssl["level"], "high");
    assert_eq!(ssl["rce"], true);
    assert_eq!(ssl["ecosystem"], "Debian:12");
    assert_eq!(ssl["installed"], "3.0.11-1~deb12u2");
    assert_eq!(ssl["fixed"], "3.0.13-1~deb12u1");
    assert_eq!(ssl["fix_command"], "apt-get install --only-upgrade openssl");
    assert_eq!(ssl["hostname"], "test-host");
    assert_eq!(ssl["fixed_at"], Value::Null);
    let first_seen = ssl["first_seen"].clone();

    // Unfixed vulnerabilities lower the score and cap it at 80.
    let score = host_score(h, &host).await;
    assert!(score["score"].as_u64().unwrap() <= 80, "{score}");
    assert_eq!(score["capped_at"], 80);
    assert!(
        score["deductions"].to_string().contains("vulnerabilities"),
        "{score}"
    );

    // Fleet views: one advisory on two packages of one host; one group per package.
    let (_, v) = h
        .api(
            "GET",
            "/api/v1/vulns?group_by=advisory&status=unfixed",
            None,
        )
        .await;
    assert_eq!(v["total"], 1, "{v}");
    let g = &v["items"][0];
    assert_eq!(g["key"], "DSA-5678-1");
    assert_eq!(g["packages"], json!(["libssl3", "openssl"]));
    assert_eq!(
        (g["hosts"].clone(), g["host_ids"].clone()),
        (json!(1), json!([host]))
    );
    assert_eq!(g["unfixed"], 2);
    assert_eq!(
        g["fix_commands"],
        json!([
            "apt-get install --only-upgrade libssl3",
            "apt-get install --only-upgrade openssl"
        ])
    );
    let (_, v) = h
        .api("GET", "/api/v1/vulns?group_by=package&q=cve-2024", None)
        .await;
    assert_eq!(v["total"], 2, "{v}");
    assert_eq!(v["items"][0]["ids"], json!(["DSA-5678-1"]));
    let (_, v) = h
        .api("GET", "/api/v1/vulns?package=openssl&q=CVE-2099", None)
        .await;
    assert_eq!(v["total"], 0, "{v}");

    // Ignore needs a reason; then it is ignored and no longer counts; undo brings it back.
    let keys = json!([
        {"host_id": host, "package": "openssl", "advisory": "DSA-5678-1"},
        {"host_id": host, "package": "libssl3", "advisory": "DSA-5678-1"},
        {"host_id": host, "package": "zlib", "advisory": "DSA-5678-1"},
    ]);
    let (status, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": keys, "action": "ignore", "reason": "  "})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("reason"), "{v}");
    let (status, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": keys, "action": "fix"})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": keys, "action": "ignore", "reason": "TLS is not exposed here"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let outcomes: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["changed", "changed", "missing"], "{v}");
    assert_eq!(v["results"][0]["status"], "ignored");
    let rows = host_vulns(h, &host).await;
    assert!(rows.iter().all(|r| r["status"] == "ignored"), "{rows:?}");
    assert_eq!(rows[0]["reason"], "TLS is not exposed here");
    assert!(!rows[0]["handled_by"].as_str().unwrap().is_empty());
    assert_eq!(host_score(h, &host).await["score"], 100);
    let (_, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": [keys[0]], "action": "ignore", "reason": "again"})),
        )
        .await;
    assert_eq!(v["results"][0]["outcome"], "unchanged", "{v}");
    // An ignored vulnerability stays ignored across scans.
    h.post(
        PATH_INVENTORY,
        &host,
        &key,
        debian_inventory(t + 1, "3.0.11-1~deb12u2"),
    )
    .await
    .unwrap();
    assert!(host_vulns(h, &host)
        .await
        .iter()
        .all(|r| r["status"] == "ignored"));
    let (_, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": keys, "action": "unignore"})),
        )
        .await;
    assert_eq!(v["results"][0]["outcome"], "changed", "{v}");
    assert_eq!(v["results"][0]["status"], "unfixed");
    assert!(host_score(h, &host).await["score"].as_u64().unwrap() <= 80);

    // The fixed version arrives: a scan marks both fixed.
    h.clock.0.store(real_now() + 100, Ordering::SeqCst);
    h.post(
        PATH_INVENTORY,
        &host,
        &key,
        debian_inventory(t + 2, "3.0.13-1~deb12u1"),
    )
    .await
    .unwrap();
    let rows = host_vulns(h, &host).await;
    for r in &rows {
        assert_eq!(r["status"], "fixed", "{r}");
        assert!(r["fixed_at"].as_i64().unwrap() >= real_now() + 90, "{r}");
    }
    assert_eq!(host_score(h, &host).await["score"], 100);
    let (_, v) = h
        .api(
            "POST",
            "/api/v1/vulns/handle",
            Some(json!({"keys": [keys[0]], "action": "ignore", "reason": "x"})),
        )
        .await;
    assert_eq!(v["results"][0]["outcome"], "unchanged", "{v}");
    assert_eq!(v["results"][0]["status"], "fixed");
    let (_, v) = h
        .api(
            "GET",
            &format!("/api/v1/vulns?host={host}&status=fixed"),
            None,
        )
        .await;
    assert_eq!(v["total"], 2, "{v}");

    // A downgrade brings it back: unfixed, fix time cleared, first sighting kept.
    h.post(
        PATH_INVENTORY,
        &host,
        &key,
        debian_inventory(t + 3, "3.0.11-1~deb12u2"),
    )
    .await
    .unwrap();
    let rows = host_vulns(h, &host).await;
    let ssl = rows.iter().find(|r| r["package"] == "openssl").unwrap();
    assert_eq!(ssl["status"], "unfixed", "{ssl}");
    assert_eq!(ssl["fixed_at"], Value::Null);
    assert_eq!(ssl["first_seen"], first_seen);

    // Verify = rescan now: a signed report_inventory command, delivered with the heartbeat.
    let (status, v) = h
        .api("POST", &format!("/api/v1/hosts/{host}/vulns/verify"), None)
        .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["action"], "report_inventory");
    assert_eq!(v["database_loaded"], true);
    let cmds = delivered(h, &host, &key).await;
    assert!(
        cmds.iter()
            .any(|c| c.id == v["command_id"].as_i64().unwrap()
                && c.action == CommandAction::ReportInventory),
        "{cmds:?}"
    );
    let (status, _) = h
        .api("POST", "/api/v1/hosts/no-such-host/vulns/verify", None)
        .await;
    assert_eq!(status, 404);
    h.clock.0.store(real_now(), Ordering::SeqCst);
}
