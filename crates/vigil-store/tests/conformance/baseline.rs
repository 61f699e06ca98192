//! Baseline results: a run replaces a host's rows in the ingest transaction, keeps when a check
//! began failing and an operator's ignore, and drops checks a later run no longer reports.

use super::*;
use vigil_model::{BaselineOutcome, CheckStatus};

fn outcome(id: &str, status: CheckStatus, evidence: &str) -> BaselineOutcome {
    BaselineOutcome {
        id: id.into(),
        status,
        evidence: evidence.into(),
        file: if evidence.is_empty() {
            String::new()
        } else {
            "/etc/ssh/sshd_config:3".into()
        },
    }
}

struct PutRun {
    host: String,
    results: Vec<BaselineOutcome>,
    now: i64,
}

#[async_trait::async_trait]
impl TxWrite for PutRun {
    async fn apply(self: Box<Self>, tx: &mut Txn<'_>) -> Result<()> {
        tx.put_baseline_run(&self.host, &self.results, self.now)
            .await
    }
}

async fn run(store: &dyn Store, seq: i64, results: Vec<BaselineOutcome>, now: i64) {
    let mut plan = IngestPlan::new("h-1", seq, vec![ev(now, "baseline_run")], vec![], now);
    plan.writes.push(Box::new(PutRun {
        host: "h-1".into(),
        results,
        now,
    }));
    assert_eq!(store.ingest(plan).await.unwrap(), Ingested::Stored);
}

pub(super) async fn baseline(store: &dyn Store) {
    assert!(store.baseline_results(None).await.unwrap().is_empty());
    run(
        store,
        500,
        vec![
            outcome(
                "ssh.permit-root-login",
                CheckStatus::Failed,
                "PermitRootLogin yes",
            ),
            outcome("ssh.x11-forwarding", CheckStatus::Passed, ""),
            outcome("misc.aide", CheckStatus::Failed, "aide is not installed"),
        ],
        T0 + 1_000,
    )
    .await;
    let rows = store.baseline_results(Some("h-1")).await.unwrap();
    assert_eq!(rows.len(), 3);
    let root = rows
        .iter()
        .find(|r| r.check_id == "ssh.permit-root-login")
        .unwrap();
    assert_eq!(root.status, CheckStatus::Failed);
    assert_eq!(root.first_failed_at, Some(T0 + 1_000));
    assert_eq!(root.file, "/etc/ssh/sshd_config:3");
    assert!(store
        .set_baseline_ignored(
            "h-1",
            "misc.aide",
            "integrity by Vigil",
            "admin",
            T0 + 1_100
        )
        .await
        .unwrap());
    assert!(!store
        .set_baseline_ignored("h-1", "no.such-check", "x", "admin", T0 + 1_100)
        .await
        .unwrap());

    // The next run: still failing keeps its start; fixed loses it; the ignore stays; a check
    // no longer reported goes.
    run(
        store,
        501,
        vec![
            outcome(
                "ssh.permit-root-login",
                CheckStatus::Failed,
                "PermitRootLogin yes",
            ),
            outcome("misc.aide", CheckStatus::Failed, "aide is not installed"),
            outcome("ssh.banner", CheckStatus::NotApplicable, ""),
        ],
        T0 + 2_000,
    )
    .await;
    let rows = store.baseline_results(Some("h-1")).await.unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.check_id.as_str()).collect();
    assert_eq!(ids, ["misc.aide", "ssh.banner", "ssh.permit-root-login"]);
    let root = &rows[2];
    assert_eq!(
        (root.first_failed_at, root.last_run_at),
        (Some(T0 + 1_000), T0 + 2_000)
    );
    let aide = &rows[0];
    assert_eq!(
        (
            aide.ignored_reason.as_str(),
            aide.ignored_by.as_str(),
            aide.ignored_at
        ),
        ("integrity by Vigil", "admin", Some(T0 + 1_100))
    );
    run(
        store,
        502,
        vec![outcome("ssh.permit-root-login", CheckStatus::Passed, "")],
        T0 + 3_000,
    )
    .await;
    let rows = store.baseline_results(None).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].status, rows[0].first_failed_at),
        (CheckStatus::Passed, None)
    );
    // Undoing an ignore clears who and when.
    run(
        store,
        503,
        vec![outcome(
            "misc.aide",
            CheckStatus::Failed,
            "aide is not installed",
        )],
        T0 + 4_000,
    )
    .await;
    assert!(store
        .set_baseline_ignored("h-1", "misc.aide", "x", "admin", T0 + 4_100)
        .await
        .unwrap());
    assert!(store
        .set_baseline_ignored("h-1", "misc.aide", "", "admin", T0 + 4_200)
        .await
        .unwrap());
    let aide = &store.baseline_results(Some("h-1")).await.unwrap()[0];
    assert_eq!((aide.ignored_reason.as_str(), aide.ignored_at), ("", None));

    // "Verify": one check or all of a host, until the host's next run replaces the rows.
    assert_eq!(
        store
            .request_baseline_verify("h-1", Some("misc.aide"), T0 + 4_300)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .request_baseline_verify("h-1", Some("no.such-check"), T0 + 4_300)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.baseline_results(Some("h-1")).await.unwrap()[0].verify_requested_at,
        Some(T0 + 4_300)
    );
    run(
        store,
        504,
        vec![
            outcome("misc.aide", CheckStatus::Passed, ""),
            outcome("ssh.banner", CheckStatus::Passed, ""),
        ],
        T0 + 5_000,
    )
    .await;
    assert_eq!(
        store
            .request_baseline_verify("h-2", None, T0 + 5_100)
            .await
            .unwrap(),
        0
    );
    let rows = store.baseline_results(Some("h-1")).await.unwrap();
    assert!(rows.iter().all(|r| r.verify_requested_at.is_none()));
    assert_eq!(
        store
            .request_baseline_verify("h-1", None, T0 + 5_200)
            .await
            .unwrap(),
        2
    );
}
