//! Notifications: each raised alert is weighed against every channel's policy and queued in the
//! persisted outbox; a dispatcher delivers due items (inbox, email, webhooks) and retries with
//! backoff, recording every attempt. A restart loses nothing: the outbox is the store.

use crate::state::SharedState;
use std::collections::{BTreeMap, HashMap, HashSet};
use vigil_model::{AlertKind, AlertStatus, HostId, NewAlert};
use vigil_notify::{
    decide, local_day, render, AlertNotice, AttemptOutcome, ChannelConfig, ChannelKind, Decision,
    OutboxItem, OutboxState, Payload, RenderOptions, SendError, SendHistory, SmtpConfig,
    Transports,
};
use vigil_store::{InboxRow, OutboxRow, StoreError};

pub const SETTING_SMTP: &str = "notify.smtp";
pub const SETTING_UTC_OFFSET: &str = "notify.utc_offset_minutes";

/// A claimed item stays hidden from other dispatchers this long.
const LEASE_SECS: i64 = 120;

pub async fn utc_offset(st: &SharedState) -> Result<i32, StoreError> {
    Ok(st
        .store
        .setting(SETTING_UTC_OFFSET)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Channels whose stored settings parse and validate; others are skipped with a log line.
pub async fn channels(st: &SharedState) -> Result<Vec<(i64, String, ChannelConfig)>, StoreError> {
    let mut out = Vec::new();
    for row in st.store.notify_channels().await? {
        match serde_json::from_str::<ChannelConfig>(&row.config) {
            Ok(mut cfg) => {
                cfg.id = row.id;
                out.push((row.id, row.name, cfg));
            }
            Err(e) => {
                tracing::error!(channel = row.id, error = %e, "notification channel unreadable; skipped")
            }
        }
    }
    Ok(out)
}

/// Queues notifications for alerts a batch raised. Whitelisted ones never notify, nor those in
/// `quiet` (login alerts the abnormal-login model already notified about, SPEC R-LG3). An alert
/// raised several times in the batch is weighed once, as a first occurrence when the batch
/// raised every one of its occurrences.
pub async fn on_alerts(
    st: &SharedState,
    host_id: &str,
    alerts: &[(NewAlert, Option<i64>)],
    quiet: &HashSet<(AlertKind, String)>,
) -> Result<(), StoreError> {
    let mut in_batch: HashMap<(AlertKind, &str), i64> = HashMap::new();
    for (a, _) in alerts {
        *in_batch.entry((a.kind, a.key.as_str())).or_default() += 1;
    }
    let mut seen = HashSet::new();
    let raised: Vec<&NewAlert> = alerts
        .iter()
        .filter(|(a, rule)| {
            rule.is_none()
                && !quiet.contains(&(a.kind, a.key.clone()))
                && seen.insert((a.kind, a.key.as_str()))
        })
        .map(|(a, _)| a)
        .collect();
    if raised.is_empty() {
        return Ok(());
    }
    let channels = channels(st).await?;
    if channels.is_empty() {
        return Ok(());
    }
    let hostname = st
        .store
        .host(host_id)
        .await?
        .map(|h| h.hostname)
        .unwrap_or_default();
    let offset = utc_offset(st).await?;
    let opts = RenderOptions {
        utc_offset_minutes: offset,
        console_url: None,
    };
    let now = st.now();
    for a in raised {
        let Some(rec) = st.store.alert_by_key(host_id, a.kind, &a.key).await? else {
            continue;
        };
        if rec.status != AlertStatus::Unhandled {
            continue;
        }
        let notice = AlertNotice {
            alert_id: rec.id,
            host_id: HostId(host_id.to_string()),
            hostname: hostname.clone(),
            kind: rec.kind,
            level: rec.level,
            name: rec.name.clone(),
            evidence: rec.evidence.clone(),
            first_seen: rec.first_seen,
            last_seen: rec.last_seen,
            count: rec.count.max(0) as u64,
            first_occurrence: rec.count <= in_batch[&(a.kind, a.key.as_str())].max(1),
        };
        for (id, _, cfg) in &channels {
            let (day_start, _) = local_day(now, offset);
            let (today, host_today) = st.store.notify_counts(*id, day_start, host_id).await?;
            let mut history = SendHistory {
                sent_today: today as u32,
                ..SendHistory::default()
            };
            history
                .sent_today_by_host
                .insert(notice.host_id.clone(), host_today as u32);
            if st.store.was_notified(*id, rec.id).await? {
                history.notified_alerts.insert(rec.id);
            }
            let due = match decide(cfg, &notice, &history, now, offset) {
                Decision::Send => now,
                Decision::Hold { until } => until,
                Decision::Suppress { reason } => {
                    tracing::debug!(channel = id, alert = rec.id, %reason, "notification suppressed");
                    continue;
                }
            };
            let payload = render::payload(&cfg.kind, &notice, &opts);
            let item = OutboxItem::new(*id, Some(rec.id), &payload, due, now);
            st.store
                .enqueue_notification(&OutboxRow {
                    id: 0,
                    channel_id: *id,
                    host_id: host_id.into(),
                    alert_id: Some(rec.id),
                    state: "pending".into(),
                    next_at: due,
                    created_at: now,
                    day_start: local_day(due, offset).0,
                    item: serde_json::to_string(&item).expect("outbox items serialize"),
                })
                .await?;
        }
    }
    Ok(())
}

fn state_name(s: OutboxState) -> &'static str {
    match s {
        OutboxState::Pending => "pending",
        OutboxState::Sent => "sent",
        OutboxState::Failed => "failed",
    }
}

/// Notifications claimed per dispatcher round.
pub const DISPATCH_BATCH: usize = 50;

/// Delivers what is due. Returns how many items were attempted.
pub async fn dispatch(st: &SharedState, http: &reqwest::Client) -> Result<usize, StoreError> {
    let now = st.now();
    let due = st
        .store
        .claim_outbox(now, now + LEASE_SECS, DISPATCH_BATCH as i64)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let channels: BTreeMap<i64, ChannelConfig> = channels(st)
        .await?
        .into_iter()
        .map(|(id, _, c)| (id, c))
        .collect();
    let smtp: Option<SmtpConfig> = st
        .store
        .setting(SETTING_SMTP)
        .await?
        .and_then(|v| serde_json::from_str(&v).ok());
    let transports = Transports {
        smtp,
        http: http.clone(),
    };
    for row in &due {
        let Ok(mut item) = serde_json::from_str::<OutboxItem>(&row.item) else {
            tracing::error!(id = row.id, "outbox item unreadable; marked failed");
            let outcome = serde_json::json!({"failed": "unreadable outbox item"}).to_string();
            st.store
                .record_outbox_attempt(row.id, "failed", row.next_at, &row.item, 1, now, &outcome)
                .await?;
            continue;
        };
        item.id = row.id;
        let result = match (channels.get(&row.channel_id), item.payload()) {
            (None, _) => Err(SendError::Refused("the channel was deleted".into())),
            (_, Err(e)) => Err(SendError::Refused(format!("payload unreadable: {e}"))),
            (Some(cfg), Ok(Payload::Inbox { title, body }))
                if matches!(cfg.kind, ChannelKind::Inbox) =>
            {
                st.store
                    .add_inbox(&InboxRow {
                        id: 0,
                        alert_id: row.alert_id,
                        host_id: row.host_id.clone(),
                        title,
                        body,
                        created_at: now,
                        read_at: None,
                    })
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError::Unavailable(e.to_string()))
            }
            (Some(cfg), Ok(payload)) => {
                vigil_notify::deliver(&transports, &cfg.kind, &payload).await
            }
        };
        let attempt = match &result {
            Ok(()) => item.record_success(now),
            Err(e) => {
                tracing::warn!(id = row.id, channel = row.channel_id, error = %e, "notification not delivered");
                item.record_failure(e, now)
            }
        };
        let outcome = match &attempt.outcome {
            AttemptOutcome::Sent => serde_json::json!({ "outcome": "sent" }),
            AttemptOutcome::Failed {
                code,
                message,
                retry_at,
            } => {
                serde_json::json!({ "outcome": "failed", "code": code, "message": message, "retry_at": retry_at })
            }
        };
        st.store
            .record_outbox_attempt(
                row.id,
                state_name(item.state),
                item.next_at,
                &serde_json::to_string(&item).expect("outbox items serialize"),
                attempt.number as i64,
                attempt.at,
                &outcome.to_string(),
            )
            .await?;
    }
    Ok(due.len())
}
