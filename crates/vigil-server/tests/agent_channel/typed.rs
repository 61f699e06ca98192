//! Every GET endpoint the API documents, read through the typed client (`vigil-client`) once the
//! other steps filled the server: each body decodes into its `vigil-proto` type, and encoding the
//! typed value again gives the server's JSON back exactly, so no field is lost, renamed or
//! untyped on either side. A documented GET the walk does not cover fails it.

use super::*;
use std::collections::BTreeSet;
use vigil_client::Client;
use vigil_proto::api::{AlertQuery, AttackQuery, HostFilter, HostQuery, IpRuleFilter, LimitQuery};
use vigil_proto::api::{ScopeQuery, VulnQuery};

fn typed<T: serde::Serialize>(r: vigil_client::Result<T>, what: &str) -> Value {
    match r {
        Ok(t) => serde_json::to_value(t).unwrap(),
        Err(e) => panic!("{what}: {e}"),
    }
}

pub(super) async fn typed_api(h: &Harness) {
    let c = Client::new(reqwest::Client::new(), &h.api, &h.token);
    let hosts = c.hosts(&HostQuery::default()).await.unwrap();
    let host = hosts.hosts.first().expect("a host enrolled").id.clone();
    let alerts = c.alerts(&AlertQuery::default()).await.unwrap();
    let alert = alerts.alerts.first().expect("an alert raised").id;
    let group = hosts.hosts[0].group.clone();

    let scope_host = ScopeQuery {
        host: Some(host.clone()),
        group: None,
    };
    let mut walked: Vec<(String, String, Value)> = vec![
        (
            "/healthz".into(),
            "/healthz".into(),
            typed(c.health().await, "health"),
        ),
        (
            "/api/v1/me".into(),
            "/api/v1/me".into(),
            typed(c.me().await, "me"),
        ),
        (
            "/api/v1/meta".into(),
            "/api/v1/meta".into(),
            typed(c.meta().await, "meta"),
        ),
        (
            "/api/v1/overview".into(),
            "/api/v1/overview".into(),
            typed(c.overview().await, "overview"),
        ),
        (
            "/api/v1/score".into(),
            "/api/v1/score".into(),
            typed(c.score().await, "score"),
        ),
        (
            "/api/v1/content".into(),
            "/api/v1/content".into(),
            typed(c.content().await, "content"),
        ),
        (
            "/api/v1/hosts".into(),
            "/api/v1/hosts".into(),
            typed(c.hosts(&HostQuery::default()).await, "hosts"),
        ),
        (
            "/api/v1/hosts".into(),
            format!("/api/v1/hosts?group={}", vigil_client::encode(&group)),
            typed(
                c.hosts(&HostQuery {
                    state: None,
                    group: Some(group.clone()),
                })
                .await,
                "hosts of a group",
            ),
        ),
        (
            "/api/v1/hosts/{id}".into(),
            format!("/api/v1/hosts/{host}"),
            typed(c.host(&host).await, "host"),
        ),
        (
            "/api/v1/hosts/{id}/events".into(),
            format!("/api/v1/hosts/{host}/events?limit=50"),
            typed(
                c.host_events(&host, &LimitQuery { limit: Some(50) }).await,
                "events",
            ),
        ),
        (
            "/api/v1/groups".into(),
            "/api/v1/groups".into(),
            typed(c.groups().await, "groups"),
        ),
        (
            "/api/v1/install-codes".into(),
            "/api/v1/install-codes".into(),
            typed(c.install_codes().await, "install codes"),
        ),
        (
            "/api/v1/alerts".into(),
            "/api/v1/alerts?limit=500&sort=level".into(),
            typed(
                c.alerts(&AlertQuery {
                    limit: Some(500),
                    sort: Some("level".into()),
                    ..AlertQuery::default()
                })
                .await,
                "alerts",
            ),
        ),
        (
            "/api/v1/alerts/{id}".into(),
            format!("/api/v1/alerts/{alert}"),
            typed(c.alert(alert).await, "alert"),
        ),
        (
            "/api/v1/whitelist".into(),
            "/api/v1/whitelist".into(),
            typed(c.whitelist().await, "whitelist"),
        ),
        (
            "/api/v1/ip-rules".into(),
            "/api/v1/ip-rules".into(),
            typed(c.ip_rules(&IpRuleFilter::default()).await, "ip rules"),
        ),
        (
            "/api/v1/attacks".into(),
            "/api/v1/attacks?days=366".into(),
            typed(
                c.attacks(&AttackQuery {
                    host: None,
                    days: Some(366),
                })
                .await,
                "attacks",
            ),
        ),
        (
            "/api/v1/login-settings".into(),
            "/api/v1/login-settings".into(),
            typed(
                c.login_settings(&ScopeQuery::default()).await,
                "login settings",
            ),
        ),
        (
            "/api/v1/login-policy".into(),
            "/api/v1/login-policy".into(),
            typed(c.login_policy(&ScopeQuery::default()).await, "login policy"),
        ),
        (
            "/api/v1/commands".into(),
            "/api/v1/commands".into(),
            typed(c.commands(&HostFilter::default()).await, "commands"),
        ),
        (
            "/api/v1/quarantine".into(),
            "/api/v1/quarantine".into(),
            typed(c.quarantine(&HostFilter::default()).await, "quarantine"),
        ),
        (
            "/api/v1/vulns".into(),
            "/api/v1/vulns".into(),
            typed(c.vulns(&VulnQuery::default()).await, "vulns"),
        ),
        (
            "/api/v1/vulns".into(),
            "/api/v1/vulns?group_by=package".into(),
            typed(
                c.vulns(&VulnQuery {
                    group_by: Some("package".into()),
                    ..VulnQuery::default()
                })
                .await,
                "vulns by package",
            ),
        ),
        (
            "/api/v1/notify/channels".into(),
            "/api/v1/notify/channels".into(),
            typed(c.channels().await, "channels"),
        ),
        (
            "/api/v1/notify/settings".into(),
            "/api/v1/notify/settings".into(),
            typed(c.notify_settings().await, "notify settings"),
        ),
        (
            "/api/v1/notify/outbox".into(),
            "/api/v1/notify/outbox".into(),
            typed(c.outbox().await, "outbox"),
        ),
        (
            "/api/v1/inbox".into(),
            "/api/v1/inbox".into(),
            typed(c.inbox().await, "inbox"),
        ),
        (
            "/api/v1/baseline".into(),
            "/api/v1/baseline".into(),
            typed(c.baseline(&Default::default()).await, "baseline"),
        ),
        (
            "/api/v1/baseline/schedule".into(),
            "/api/v1/baseline/schedule".into(),
            typed(
                c.baseline_schedule(&ScopeQuery::default()).await,
                "baseline schedule",
            ),
        ),
    ];
    // A host's own login settings, when the earlier steps gave it some (404 otherwise).
    if let Ok(own) = c.login_settings(&scope_host).await {
        walked.push((
            "/api/v1/login-settings".into(),
            format!("/api/v1/login-settings?host={host}"),
            serde_json::to_value(own).unwrap(),
        ));
    }
    for (_, path, value) in &walked {
        let raw = c.raw("GET", path, None).await.unwrap();
        assert_eq!(raw.status, 200, "GET {path}: {}", raw.body);
        assert_eq!(
            &raw.body, value,
            "GET {path}: the typed body does not encode back to the server's JSON"
        );
    }
    // Bodies that are not re-encoded exactly: the inventory (stored as the agent sent it, so
    // defaults may be missing) and the HTML report.
    let inventory = c.fingerprints(&host).await;
    match inventory {
        Ok(inv) => {
            let raw = c
                .raw("GET", &format!("/api/v1/hosts/{host}/fingerprints"), None)
                .await
                .unwrap();
            let back: vigil_model::Inventory = serde_json::from_value(raw.body).unwrap();
            assert_eq!(back, inv);
        }
        Err(e) => assert_eq!(e.status(), Some(404), "{e}"),
    }
    let report = c.host_report(&host).await.unwrap();
    assert!(
        report.contains("<html") || report.contains("<!DOCTYPE"),
        "{report:.200}"
    );

    // Every documented GET is walked.
    let doc = c
        .raw("GET", "/api/v1/openapi.json", None)
        .await
        .unwrap()
        .body;
    let mut covered: BTreeSet<String> = walked.iter().map(|(p, _, _)| p.clone()).collect();
    covered.extend(
        [
            "/api/v1/hosts/{id}/fingerprints",
            "/api/v1/hosts/{id}/report",
            "/api/v1/openapi.json",
        ]
        .map(String::from),
    );
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if ops.get("get").is_some() {
            assert!(
                covered.contains(path),
                "GET {path} is documented but the typed walk does not read it"
            );
        }
    }

    // Errors carry the server's status, code and message.
    let e = c.alert(i64::MAX).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    match e {
        vigil_client::Error::Api { code, message, .. } => {
            assert_eq!(code, "not_found");
            assert!(message.contains("not found"), "{message}");
        }
        other => panic!("{other}"),
    }
}
