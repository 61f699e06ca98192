//! Baseline runs through the agent channel: a run's results stored with the batch, joined with
//! the checks in force, failed and most severe first; a later run replacing them; ignoring with
//! a reason and undoing it; bad requests refused.

use super::*;
use vigil_client::Client;
use vigil_model::{BaselineOutcome, CheckStatus};
use vigil_proto::agent::{BaselineSchedule, Command, CommandAction, Heartbeat, HeartbeatResponse};
use vigil_proto::api::{BaselineQuery, IgnoreBaseline, ScopeQuery, VerifyBaseline};

fn outcome(id: &str, status: CheckStatus, evidence: &str) -> BaselineOutcome {
    BaselineOutcome {
        id: id.into(),
        status,
        evidence: evidence.into(),
        file: if evidence.is_empty() {
            String::new()
        } else {
            "/etc/ssh/sshd_config:7".into()
        },
    }
}

pub(super) async fn baseline_runs(h: &Harness) {
    let c = Client::new(reqwest::Client::new(), &h.api, &h.token);
    let (_, code) = h.code("1h").await;
    let (host, key) = h.enroll(&code).await.unwrap();
    let send = async |seq: u64, results: Vec<BaselineOutcome>| {
        let events = vec![Event {
            time: real_now(),
            body: EventBody::BaselineRun { results },
        }];
        let body = h
            .post(
                PATH_EVENTS,
                &host,
                &key,
                codec::encode(&EventBatch { seq, events }),
            )
            .await
            .unwrap();
        assert!(serde_json::from_slice::<BatchAck>(&body).unwrap().stored);
    };
    send(
        1,
        vec![
            outcome("misc.aide", CheckStatus::Failed, "aide is not installed"),
            outcome(
                "ssh.permit-root-login",
                CheckStatus::Failed,
                "PermitRootLogin yes",
            ),
            outcome("ssh.x11-forwarding", CheckStatus::Passed, ""),
            outcome("../../etc/passwd", CheckStatus::Failed, "not a check id"),
        ],
    )
    .await;
    let mine = BaselineQuery {
        host: Some(host.clone()),
        ..BaselineQuery::default()
    };
    let list = c.baseline(&mine).await.unwrap();
    let ids: Vec<&str> = list.results.iter().map(|r| r.check_id.as_str()).collect();
    // Failed first, high before low; a malformed id is dropped at the edge.
    assert_eq!(
        ids,
        ["ssh.permit-root-login", "misc.aide", "ssh.x11-forwarding"]
    );
    let root = &list.results[0];
    assert_eq!(root.title, "SSH does not let root log in");
    assert_eq!(
        (root.level.as_str(), root.category.as_str()),
        ("high", "identity_authentication")
    );
    assert_eq!(root.file, "/etc/ssh/sshd_config:7");
    assert!(root.remediation.contains("PermitRootLogin no"));
    assert!(root.refs.iter().any(|r| r == "ssg:sshd_disable_root_login"));
    assert!(root.first_failed_at.is_some());
    assert_eq!((list.summary.failed, list.summary.passed), (2, 1));
    // The host report lists the failed checks with their evidence and fix.
    let report = c.host_report(&host).await.unwrap();
    assert!(report.contains("<h2>Baseline (2 failed)</h2>"), "{report}");
    assert!(
        report.contains("SSH does not let root log in") && report.contains("PermitRootLogin yes")
    );
    // Failed checks cost points (high 3, low 1) and cap the host's score at 90.
    let score_of = async || {
        let fleet = c.score().await.unwrap();
        let s = fleet.hosts.into_iter().find(|s| s.host_id == host).unwrap();
        let baseline = s
            .score
            .deductions
            .iter()
            .find(|(m, _)| m == "baseline")
            .map_or(0.0, |(_, d)| *d);
        (s.score.score, baseline)
    };
    assert_eq!(score_of().await, (90, 4.0));

    // Ignore with a reason; without one it is refused; an unknown check is 404.
    let req = |check: &str, reason: &str| IgnoreBaseline {
        host_id: host.clone(),
        check_id: check.into(),
        reason: reason.into(),
    };
    let e = c.ignore_baseline(&req("misc.aide", " ")).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    let e = c.ignore_baseline(&req("no.such", "x")).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    assert!(
        c.ignore_baseline(&req("misc.aide", "file integrity is Vigil's job here"))
            .await
            .unwrap()
            .ignored
    );
    assert_eq!(
        score_of().await,
        (90, 3.0),
        "an ignored check costs nothing"
    );
    let ignored = c
        .baseline(&BaselineQuery {
            status: Some("ignored".into()),
            ..mine.clone()
        })
        .await
        .unwrap();
    assert_eq!(ignored.results.len(), 1);
    let i = ignored.results[0].ignored.as_ref().unwrap();
    assert_eq!(
        (i.reason.as_str(), i.by.as_str()),
        ("file integrity is Vigil's job here", "admin")
    );
    let failed = c
        .baseline(&BaselineQuery {
            status: Some("failed".into()),
            ..mine.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        failed.results.len(),
        1,
        "an ignored failure is not listed as failed"
    );
    let e = c
        .baseline(&BaselineQuery {
            status: Some("sort-of".into()),
            ..mine.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");

    // The next run replaces the results; the fixed check passes and the ignore stays.
    send(
        2,
        vec![
            outcome("misc.aide", CheckStatus::Failed, "aide is not installed"),
            outcome("ssh.permit-root-login", CheckStatus::Passed, ""),
        ],
    )
    .await;
    let list = c.baseline(&mine).await.unwrap();
    assert_eq!(list.results.len(), 2);
    assert_eq!(
        (
            list.summary.ignored,
            list.summary.passed,
            list.summary.failed
        ),
        (1, 1, 0)
    );
    let family = c
        .baseline(&BaselineQuery {
            check: Some("ssh.".into()),
            ..mine.clone()
        })
        .await
        .unwrap();
    assert_eq!(family.results.len(), 1);
    assert!(
        !c.unignore_baseline(&req("misc.aide", ""))
            .await
            .unwrap()
            .ignored
    );
    assert_eq!(c.baseline(&mine).await.unwrap().summary.failed, 1);
    assert_eq!(score_of().await, (90, 1.0));

    // Verify: the host is asked for a fresh run with its next heartbeat; the check shows as
    // verifying until the run arrives.
    let v = c
        .verify_baseline(&VerifyBaseline {
            host_id: host.clone(),
            check_id: "misc.aide".into(),
        })
        .await
        .unwrap();
    assert_eq!(v.verifying, 1);
    let e = c
        .verify_baseline(&VerifyBaseline {
            host_id: host.clone(),
            check_id: "no.such".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    let list = c.baseline(&mine).await.unwrap();
    assert_eq!(list.summary.verifying, 1);
    let heartbeat = async || -> HeartbeatResponse {
        let body = h
            .post(
                PATH_HEARTBEAT,
                &host,
                &key,
                codec::encode(&Heartbeat::default()),
            )
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    };
    let hb = heartbeat().await;
    let asked: Vec<Command> = hb
        .commands
        .iter()
        .map(|s| serde_json::from_str(&s.payload).unwrap())
        .collect();
    assert!(asked
        .iter()
        .any(|cmd| cmd.action == CommandAction::ReportInventory));
    assert_eq!(hb.baseline, Some(BaselineSchedule::default()));
    send(
        3,
        vec![
            outcome("misc.aide", CheckStatus::Passed, ""),
            outcome("ssh.permit-root-login", CheckStatus::Passed, ""),
        ],
    )
    .await;
    let list = c.baseline(&mine).await.unwrap();
    assert_eq!((list.summary.verifying, list.summary.failed), (0, 0));

    // The schedule: a host's own reaches it with the heartbeat; a bad one is refused.
    let scope = ScopeQuery {
        host: Some(host.clone()),
        group: None,
    };
    let weekly = BaselineSchedule {
        every_days: 7,
        from_hour: 1,
        to_hour: 4,
    };
    c.put_baseline_schedule(&scope, &weekly).await.unwrap();
    assert_eq!(heartbeat().await.baseline, Some(weekly));
    for bad in [
        BaselineSchedule {
            every_days: 5,
            ..weekly
        },
        BaselineSchedule {
            from_hour: 6,
            to_hour: 6,
            ..weekly
        },
    ] {
        let e = c.put_baseline_schedule(&scope, &bad).await.unwrap_err();
        assert_eq!(e.status(), Some(400), "{e}");
    }
    let e = c
        .delete_baseline_schedule(&ScopeQuery::default())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "the fleet's cannot be removed: {e}");
    c.delete_baseline_schedule(&scope).await.unwrap();
    assert_eq!(
        heartbeat().await.baseline,
        Some(BaselineSchedule::default())
    );
}
