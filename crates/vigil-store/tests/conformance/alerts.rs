//! Alert queries (filters, pages, totals) and capped counts.

use super::*;

/// Time range, text search (wildcards literal) and sort orders of the alert list.
pub(super) async fn alert_queries(store: &dyn Store) {
    let mut reminder = alert("port 100% open", T0 + 500).0;
    reminder.level = Level::Reminder;
    reminder.name = "Port 100% open_now".into();
    store
        .ingest_rows("h-1", 40, &[], &[(reminder, None)], T0 + 500)
        .await
        .unwrap();
    let q = |f: AlertFilter| async move { store.alerts(&f).await.unwrap() };
    let names =
        |v: &(Vec<AlertRecord>, i64)| v.0.iter().map(|a| a.name.clone()).collect::<Vec<_>>();

    let found = q(AlertFilter {
        search: Some("PORT 100%".into()),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(
        (found.1, names(&found)),
        (1, vec!["Port 100% open_now".to_string()])
    );
    let none = q(AlertFilter {
        search: Some("port 1000%".into()),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(none.1, 0);
    let literal = q(AlertFilter {
        search: Some("%".into()),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(
        literal.1, 1,
        "a % in the search is a percent sign, not a wildcard"
    );
    let underscore = q(AlertFilter {
        search: Some("open_".into()),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(underscore.1, 1);

    let recent = q(AlertFilter {
        since: Some(T0 + 500),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(recent.1, 1);
    let (all, total) = q(AlertFilter::default()).await;
    let older = q(AlertFilter {
        until: Some(T0 + 500),
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(older.1, total - 1);

    let by_level = q(AlertFilter {
        sort: AlertSort::Level,
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(by_level.0.first().unwrap().level, Level::Urgent);
    assert_eq!(by_level.0.last().unwrap().level, Level::Reminder);
    assert_eq!(alert_count_cap(&AlertFilter::default()), 10_000);
    assert_eq!(
        alert_count_cap(&AlertFilter {
            offset: 20_000,
            limit: 50,
            ..AlertFilter::default()
        }),
        20_050
    );
    let oldest = q(AlertFilter {
        sort: AlertSort::Oldest,
        limit: 1,
        ..AlertFilter::default()
    })
    .await;
    assert_eq!(
        oldest.0[0].last_seen,
        all.iter().map(|a| a.last_seen).min().unwrap()
    );
}

/// Past the cap, the total says "at least"; a page beyond the cap counts to its end.
pub(super) async fn capped_counts(store: &dyn Store) {
    let many: Vec<_> = (0..10_050)
        .map(|i| alert(&format!("bulk-{i}"), T0 + 600))
        .collect();
    store
        .ingest_rows("h-5", 50, &[], &many, T0 + 600)
        .await
        .unwrap();
    let host = |offset| AlertFilter {
        host_id: Some("h-5".into()),
        offset,
        ..AlertFilter::default()
    };
    let (page, total) = store.alerts(&host(0)).await.unwrap();
    assert_eq!((page.len(), total), (50, 10_001));
    assert!(total > alert_count_cap(&host(0)));
    let (page, total) = store.alerts(&host(10_000)).await.unwrap();
    assert_eq!((page.len(), total), (50, 10_050));
}
