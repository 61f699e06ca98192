//! Vulnerability findings per host: found, fixed, ignored, grouped.

use super::*;

pub(super) fn finding(package: &str, advisory: &str, installed: &str, level: &str) -> VulnFinding {
    VulnFinding {
        package: package.into(),
        advisory_id: advisory.into(),
        ids: vec![advisory.into(), format!("CVE-{advisory}")],
        ecosystem: "Debian:12".into(),
        installed: installed.into(),
        fixed: Some("9.9".into()),
        level: level.into(),
        rce: false,
        summary: format!("{package} flaw"),
        fix_command: Some(format!("apt-get install --only-upgrade {package}")),
        needs_restart: package == "libc6",
    }
}

pub(super) fn vkey(host: &str, package: &str, advisory: &str) -> VulnKey {
    VulnKey {
        host_id: host.into(),
        package: package.into(),
        advisory_id: advisory.into(),
    }
}

pub(super) async fn vuln_of(
    store: &dyn Store,
    host: &str,
    package: &str,
    advisory: &str,
) -> VulnRecord {
    let (rows, _) = store
        .vulns(&VulnFilter {
            host_id: Some(host.into()),
            package: Some(package.into()),
            limit: 1000,
            ..VulnFilter::default()
        })
        .await
        .unwrap();
    rows.into_iter()
        .find(|r| r.finding.advisory_id == advisory)
        .unwrap_or_else(|| panic!("{host} {package} {advisory} not stored"))
}

/// The vulnerability lifecycle: scans insert, update, fix and reopen; operators ignore and undo.
pub(super) async fn vulns(store: &dyn Store) {
    let t = T0 + 50_000;
    let scan1 = vec![
        finding("openssl", "DSA-1", "1.0", "high"),
        finding("libc6", "DSA-2", "2.0", "medium"),
        finding("curl", "DSA-3", "3.0", "low"),
        // A second architecture of the same package: one row.
        finding("curl", "DSA-3", "3.0", "low"),
    ];
    let s = store.sync_host_vulns("v-1", &scan1, t).await.unwrap();
    assert_eq!(
        s,
        VulnSync {
            new: 3,
            reopened: 0,
            fixed: 0
        }
    );
    store.sync_host_vulns("v-2", &scan1[..1], t).await.unwrap();
    let (all, total) = store.vulns(&VulnFilter::default()).await.unwrap();
    assert_eq!(total, 4);
    // Highest level first.
    assert_eq!(all[0].finding.level, "high");
    assert_eq!(all[3].finding.level, "low");
    let ssl = vuln_of(store, "v-1", "openssl", "DSA-1").await;
    assert_eq!(ssl.status, VulnStatus::Unfixed);
    assert_eq!(ssl.finding, scan1[0]);
    assert_eq!((ssl.first_seen, ssl.last_seen, ssl.fixed_at), (t, t, None));
    assert!(
        vuln_of(store, "v-1", "libc6", "DSA-2")
            .await
            .finding
            .needs_restart
    );

    // Filters: status, level, package, id text (case-insensitive), paging.
    let count = |f: VulnFilter| async move { store.vulns(&f).await.unwrap().1 };
    assert_eq!(
        count(VulnFilter {
            level: Some("high".into()),
            ..VulnFilter::default()
        })
        .await,
        2
    );
    assert_eq!(
        count(VulnFilter {
            search: Some("cve-dsa-2".into()),
            ..VulnFilter::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(VulnFilter {
            search: Some("%".into()),
            ..VulnFilter::default()
        })
        .await,
        0
    );
    let (page, total) = store
        .vulns(&VulnFilter {
            host_id: Some("v-1".into()),
            limit: 1,
            offset: 1,
            ..VulnFilter::default()
        })
        .await
        .unwrap();
    assert_eq!((page.len(), total), (1, 3));
    assert_eq!(page[0].finding.package, "libc6");

    // Operators: ignore (from unfixed only), undo (from ignored only); fixed is not theirs.
    let r = store
        .set_vuln_status(
            &[
                vkey("v-1", "curl", "DSA-3"),
                vkey("v-1", "curl", "DSA-404"),
                vkey("v-1", "libc6", "DSA-2"),
            ],
            VulnStatus::Ignored,
            "not reachable",
            "alice",
            t + 1,
        )
        .await
        .unwrap();
    assert_eq!(
        r,
        vec![
            VulnTransition::Changed,
            VulnTransition::Missing,
            VulnTransition::Changed
        ]
    );
    let curl = vuln_of(store, "v-1", "curl", "DSA-3").await;
    assert_eq!(
        (curl.status, curl.reason.as_str(), curl.handled_by.as_str()),
        (VulnStatus::Ignored, "not reachable", "alice")
    );
    assert_eq!(curl.handled_at, Some(t + 1));
    let again = store
        .set_vuln_status(
            &[vkey("v-1", "curl", "DSA-3")],
            VulnStatus::Ignored,
            "x",
            "bob",
            t + 2,
        )
        .await
        .unwrap();
    assert_eq!(again, vec![VulnTransition::Unchanged(VulnStatus::Ignored)]);
    let fixed = store
        .set_vuln_status(
            &[vkey("v-1", "openssl", "DSA-1")],
            VulnStatus::Fixed,
            "",
            "bob",
            t + 2,
        )
        .await
        .unwrap();
    assert_eq!(fixed, vec![VulnTransition::Unchanged(VulnStatus::Unfixed)]);
    let undo = store
        .set_vuln_status(
            &[
                vkey("v-1", "libc6", "DSA-2"),
                vkey("v-1", "openssl", "DSA-1"),
            ],
            VulnStatus::Unfixed,
            "",
            "bob",
            t + 2,
        )
        .await
        .unwrap();
    assert_eq!(
        undo,
        vec![
            VulnTransition::Changed,
            VulnTransition::Unchanged(VulnStatus::Unfixed)
        ]
    );
    let mut counts = store.unfixed_vuln_counts().await.unwrap();
    counts.sort();
    assert_eq!(
        counts,
        vec![
            ("v-1".to_string(), "high".to_string(), 1),
            ("v-1".to_string(), "medium".to_string(), 1),
            ("v-2".to_string(), "high".to_string(), 1),
        ]
    );

    // A rescan without openssl and curl: openssl is fixed, ignored curl stays ignored, libc6's
    // new version is recorded; the other host is untouched.
    let mut libc = finding("libc6", "DSA-2", "2.1", "medium");
    libc.fixed = Some("2.2".into());
    let s = store
        .sync_host_vulns("v-1", std::slice::from_ref(&libc), t + 10)
        .await
        .unwrap();
    assert_eq!(
        s,
        VulnSync {
            new: 0,
            reopened: 0,
            fixed: 1
        }
    );
    let ssl = vuln_of(store, "v-1", "openssl", "DSA-1").await;
    assert_eq!(
        (ssl.status, ssl.fixed_at),
        (VulnStatus::Fixed, Some(t + 10))
    );
    assert_eq!(ssl.last_seen, t);
    assert_eq!(
        vuln_of(store, "v-1", "curl", "DSA-3").await.status,
        VulnStatus::Ignored
    );
    let l = vuln_of(store, "v-1", "libc6", "DSA-2").await;
    assert_eq!(
        (
            l.finding.installed.as_str(),
            l.finding.fixed.as_deref(),
            l.last_seen,
            l.first_seen
        ),
        ("2.1", Some("2.2"), t + 10, t)
    );
    assert_eq!(
        vuln_of(store, "v-2", "openssl", "DSA-1").await.status,
        VulnStatus::Unfixed
    );
    // An operator cannot undo a fix.
    let r = store
        .set_vuln_status(
            &[vkey("v-1", "openssl", "DSA-1")],
            VulnStatus::Ignored,
            "why",
            "bob",
            t + 11,
        )
        .await
        .unwrap();
    assert_eq!(r, vec![VulnTransition::Unchanged(VulnStatus::Fixed)]);

    // It comes back: unfixed again, fix time cleared, first sighting kept; ignored stays ignored.
    let s = store.sync_host_vulns("v-1", &scan1, t + 20).await.unwrap();
    assert_eq!(
        s,
        VulnSync {
            new: 0,
            reopened: 1,
            fixed: 0
        }
    );
    let ssl = vuln_of(store, "v-1", "openssl", "DSA-1").await;
    assert_eq!(
        (ssl.status, ssl.fixed_at, ssl.first_seen, ssl.last_seen),
        (VulnStatus::Unfixed, None, t, t + 20)
    );
    assert_eq!(
        vuln_of(store, "v-1", "curl", "DSA-3").await.status,
        VulnStatus::Ignored
    );
    let (fixed_rows, _) = store
        .vulns(&VulnFilter {
            status: Some(VulnStatus::Fixed),
            ..VulnFilter::default()
        })
        .await
        .unwrap();
    assert!(fixed_rows.is_empty());
}
