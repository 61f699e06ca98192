//! Abnormal logins: learned locations, odd hours, malicious sources.

use super::*;

pub(super) fn login_at(time: i64, source: &str) -> Event {
    Event {
        time,
        body: EventBody::Login {
            login: vigil_model::LoginEvent {
                time,
                service: "sshd".into(),
                user: "root".into(),
                source: Some(source.into()),
                port: Some(22),
                method: Some(vigil_model::LoginMethod::Password),
                outcome: vigil_model::LoginOutcome::Success,
                reason: None,
            },
        },
    }
}

/// The host's abnormal-login alerts by `anomaly place-or-source`.
pub(super) async fn login_alerts(
    h: &Harness,
    host: &str,
) -> std::collections::BTreeMap<String, Value> {
    let (s, v) = h
        .api(
            "GET",
            &format!("/api/v1/alerts?host={host}&kind=abnormal_login&limit=100"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let field = |a: &Value, name: &str| -> String {
        a["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let anomaly = field(a, "anomaly");
            let what = if anomaly == "unusual_location" {
                field(a, "location")
            } else {
                field(a, "source_ip")
            };
            (format!("{anomaly} {what}"), a.clone())
        })
        .collect()
}

/// Outbox items of `channel` for `alert`.
pub(super) async fn notices(h: &Harness, channel: i64, alert: &Value) -> usize {
    let (_, v) = h.api("GET", "/api/v1/notify/outbox", None).await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["channel_id"] == channel && i["alert_id"] == alert["id"])
        .count()
}

/// The abnormal-login model on the server with the real DB-IP country database (8.8.8.8 and
/// 208.67.222.222 are US, 1.1.1.1 AU, 77.88.8.8 RU, 114.114.114.114 CN): learning, a new country,
/// repeats that count without notifying, approved locations, approved hours, a malicious IP,
/// private sources, a login after a brute force. Log times are days in the past: the model
/// learns by log time, and agent signatures carry the real time.
pub(super) async fn abnormal_logins(h: &Harness) {
    const HOUR: i64 = 3_600;
    let (s, v) = h
        .api(
            "PUT",
            "/api/v1/login-policy",
            Some(json!({"locations": ["Narnia"]})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("two-letter"), "{v}");
    let policy = async |p: Value| {
        let (s, v) = h.api("PUT", "/api/v1/login-policy", Some(p)).await;
        assert_eq!(s, 200, "{v}");
        v
    };
    let v = policy(json!({})).await;
    assert_eq!(v["locations"], Value::Null, "nothing configured: learned");
    let (s, v) = h
        .api(
            "POST",
            "/api/v1/notify/channels",
            Some(
                json!({"name": "logins", "config": {"id": 0, "kind": {"type": "inbox"},
                "levels": ["urgent", "suspicious", "reminder"], "kinds": ["abnormal_login"],
                "max_per_day": 0, "max_per_host_per_day": 0}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let channel = v["id"].as_i64().unwrap();

    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let send = async |seq: u64, events: Vec<Event>| -> bool {
        let body = h
            .post(
                PATH_EVENTS,
                &host,
                &key,
                codec::encode(&EventBatch { seq, events }),
            )
            .await
            .unwrap();
        serde_json::from_slice::<BatchAck>(&body).unwrap().stored
    };
    let t0 = real_now() - 3 * 86_400;

    // Learning: a private login does not start it, the first public one does; nothing alerts
    // for 24 hours and what is seen is approved.
    send(
        1,
        vec![
            login_at(t0 - HOUR, "10.1.2.3"),
            login_at(t0, "8.8.8.8"),
            login_at(t0 + 2 * HOUR, "208.67.222.222"),
        ],
    )
    .await;
    assert!(login_alerts(h, &host).await.is_empty());

    // After learning, a new country: an unusual location (and a new IP), notified once.
    let new_country = vec![login_at(t0 + 25 * HOUR, "1.1.1.1")];
    assert!(send(2, new_country.clone()).await);
    let alerts = login_alerts(h, &host).await;
    assert_eq!(
        alerts.keys().collect::<Vec<_>>(),
        ["unusual_ip 1.1.1.1", "unusual_location AU"],
        "1.1.1.1 must be AU in target/geoip/dbip-country.mmdb"
    );
    let au = &alerts["unusual_location AU"];
    assert_eq!(au["level"], "suspicious");
    assert_eq!(au["count"], 1);
    assert!(
        au["name"].as_str().unwrap().contains("unusual location AU"),
        "{au}"
    );
    assert_eq!(notices(h, channel, au).await, 1);
    // A resent batch is neither counted nor learned from.
    assert!(!send(2, new_country).await);
    assert_eq!(
        login_alerts(h, &host).await["unusual_location AU"]["count"],
        1
    );

    // The same place again: the same alert counts up, and no second notification.
    send(3, vec![login_at(t0 + 26 * HOUR, "1.1.1.1")]).await;
    let alerts = login_alerts(h, &host).await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let au = &alerts["unusual_location AU"];
    assert_eq!(au["count"], 2);
    assert_eq!(alerts["unusual_ip 1.1.1.1"]["count"], 2);
    assert_eq!(notices(h, channel, au).await, 1);
    assert_eq!(notices(h, channel, &alerts["unusual_ip 1.1.1.1"]).await, 1);

    // Approved locations configured: AU is fine now (its IP is still new), RU is not.
    let v = policy(json!({"locations": ["au", "US"]})).await;
    assert_eq!(v["locations"], json!(["AU", "US"]));
    let (_, v) = h.api("GET", "/api/v1/login-policy", None).await;
    assert_eq!(v["locations"], json!(["AU", "US"]));
    send(
        4,
        vec![
            login_at(t0 + 27 * HOUR, "1.1.1.1"),
            login_at(t0 + 27 * HOUR + 60, "77.88.8.8"),
        ],
    )
    .await;
    let alerts = login_alerts(h, &host).await;
    assert_eq!(alerts["unusual_location AU"]["count"], 2, "suppressed");
    assert_eq!(alerts["unusual_ip 1.1.1.1"]["count"], 3);
    let ru = &alerts["unusual_location RU"];
    assert_eq!(ru["count"], 1, "{alerts:?}");
    assert_eq!(notices(h, channel, ru).await, 1);

    // Approved hours: a login at 03:00 UTC from a learned place and IP is outside 08:00-18:00;
    // one at 09:00 is not.
    policy(json!({"locations": ["AU", "US"],
        "times": {"utc_offset_mins": 0, "ranges": ["08:00-18:00"]}}))
    .await;
    let day = t0 + 2 * 86_400;
    let midnight = day - day.rem_euclid(86_400);
    send(
        5,
        vec![
            login_at(midnight + 3 * HOUR, "8.8.8.8"),
            login_at(midnight + 9 * HOUR, "8.8.8.8"),
        ],
    )
    .await;
    let alerts = login_alerts(h, &host).await;
    let night = &alerts["outside_time 8.8.8.8"];
    assert_eq!(night["count"], 1, "{alerts:?}");
    assert!(night["evidence"].to_string().contains("03:00"), "{night}");
    assert!(!alerts.contains_key("unusual_ip 8.8.8.8"));
    assert!(!alerts.contains_key("unusual_location US"));

    // A malicious IP is urgent, and notifies.
    policy(json!({"locations": ["AU", "US"], "malicious_ips": ["114.114.114.0/24"]})).await;
    send(6, vec![login_at(t0 + 30 * HOUR, "114.114.114.114")]).await;
    let alerts = login_alerts(h, &host).await;
    let bad = &alerts["malicious_ip 114.114.114.114"];
    assert_eq!(bad["level"], "urgent");
    assert_eq!(notices(h, channel, bad).await, 1);
    assert!(alerts.contains_key("unusual_location CN"), "{alerts:?}");

    // Private sources never alert on location or IP, even with locations configured.
    let before = login_alerts(h, &host).await;
    send(
        7,
        vec![
            login_at(t0 + 31 * HOUR, "10.1.2.3"),
            login_at(t0 + 31 * HOUR, "192.168.7.7"),
            login_at(t0 + 31 * HOUR, "fd00::7"),
        ],
    )
    .await;
    assert_eq!(login_alerts(h, &host).await, before);

    // A login from a source the agent reported brute-forcing this host: urgent, whether the
    // brute-force alert comes in the same batch or was stored before.
    let brute = Event {
        time: t0 + 32 * HOUR,
        body: EventBody::AgentAlert {
            alert: vigil_model::NewAlert {
                kind: vigil_model::AlertKind::BruteForce,
                level: vigil_model::Level::Urgent,
                name: "Brute force from 77.88.8.8".into(),
                key: "brute_force:77.88.8.8".into(),
                evidence: vec![("source_ip".into(), "77.88.8.8".into())],
                time: t0 + 32 * HOUR,
            },
            response: None,
        },
    };
    send(8, vec![brute, login_at(t0 + 32 * HOUR + 10, "77.88.8.8")]).await;
    let after = &login_alerts(h, &host).await["after_bruteforce 77.88.8.8"];
    assert_eq!(after["level"], "urgent");
    assert_eq!(after["count"], 1);
    send(9, vec![login_at(t0 + 33 * HOUR, "77.88.8.8")]).await;
    let alerts = login_alerts(h, &host).await;
    assert_eq!(alerts["after_bruteforce 77.88.8.8"]["count"], 2);
    assert!(!alerts.contains_key("after_bruteforce 1.1.1.1"));
    // A day after the brute force, a login from there is no longer its success.
    send(10, vec![login_at(t0 + 57 * HOUR, "77.88.8.8")]).await;
    let alerts = login_alerts(h, &host).await;
    assert_eq!(alerts["after_bruteforce 77.88.8.8"]["count"], 2);
    assert_eq!(alerts["unusual_location RU"]["count"], 4, "{alerts:?}");

    policy(json!({})).await;
    let (s, _) = h
        .api(
            "DELETE",
            &format!("/api/v1/notify/channels/{channel}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
}
