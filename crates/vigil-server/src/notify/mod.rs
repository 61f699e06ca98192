//! Notifications: each raised alert is weighed against every channel's policy and queued in the
//! persisted outbox, in the transaction of the batch that raised it; a dispatcher delivers due items (inbox, email, webhooks) and retries with
//! backoff, recording every attempt. A restart loses nothing: the outbox is the store.

pub(crate) mod routes;

use crate::secrets::Secrets;
use crate::state::SharedState;
use std::collections::{BTreeMap, HashMap, HashSet};
use vigil_model::{AlertKind, AlertStatus, HostId, NewAlert, Timestamp};
use vigil_notify::{
    decide, local_day, render, AlertNotice, AttemptOutcome, ChannelConfig, ChannelKind, Decision,
    OutboxItem, OutboxState, Payload, RenderOptions, SendError, SendHistory, SmtpConfig,
    Transports,
};
use vigil_store::{ChannelRow, InboxRow, OutboxRow, StoreError, TxWrite, Txn};

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

/// What a channel's sealed settings are bound to (see `secrets`).
const CHANNEL_PURPOSE: &str = "notify.channel";
/// What the sealed SMTP settings are bound to.
const SMTP_PURPOSE: &str = SETTING_SMTP;

/// Channels whose stored settings open, parse and validate; others are skipped with a log line.
pub async fn channels(st: &SharedState) -> Result<Vec<(i64, String, ChannelConfig)>, StoreError> {
    Ok(parse_channels(
        &st.secrets,
        st.store.notify_channels().await?,
    ))
}

/// Stores a new channel, its settings sealed.
pub async fn add_channel(
    st: &SharedState,
    name: &str,
    config: &ChannelConfig,
) -> Result<i64, StoreError> {
    let json = serde_json::to_string(config).expect("channel settings serialize");
    st.store
        .add_notify_channel(name, &st.secrets.seal(CHANNEL_PURPOSE, &json), st.now())
        .await
}

/// The SMTP settings, if set (an unreadable value is logged and read as unset).
pub async fn smtp(st: &SharedState) -> Result<Option<SmtpConfig>, StoreError> {
    let Some(stored) = st.store.setting(SETTING_SMTP).await? else {
        return Ok(None);
    };
    match st.secrets.open(SMTP_PURPOSE, &stored) {
        Ok(json) => Ok(serde_json::from_str(&json).ok()),
        Err(e) => {
            tracing::error!(error = %e, "SMTP settings unreadable; mail is not sent");
            Ok(None)
        }
    }
}

pub async fn save_smtp(st: &SharedState, smtp: &SmtpConfig) -> Result<(), StoreError> {
    let json = serde_json::to_string(smtp).expect("SMTP settings serialize");
    st.store
        .put_setting(SETTING_SMTP, &st.secrets.seal(SMTP_PURPOSE, &json))
        .await
}

/// Seals notification settings stored before they were sealed; returns how many.
pub async fn seal_existing(st: &SharedState) -> Result<usize, StoreError> {
    let mut n = 0;
    for row in st.store.notify_channels().await? {
        if !Secrets::is_sealed(&row.config) {
            let sealed = st.secrets.seal(CHANNEL_PURPOSE, &row.config);
            n += usize::from(st.store.update_notify_channel(row.id, &sealed).await?);
        }
    }
    if let Some(stored) = st.store.setting(SETTING_SMTP).await? {
        if !Secrets::is_sealed(&stored) {
            st.store
                .put_setting(SETTING_SMTP, &st.secrets.seal(SMTP_PURPOSE, &stored))
                .await?;
            n += 1;
        }
    }
    Ok(n)
}

fn parse_channels(secrets: &Secrets, rows: Vec<ChannelRow>) -> Vec<(i64, String, ChannelConfig)> {
    let mut out = Vec::new();
    for row in rows {
        let json = match secrets.open(CHANNEL_PURPOSE, &row.config) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(channel = row.id, error = %e, "notification channel unreadable; skipped");
                continue;
            }
        };
        match serde_json::from_str::<ChannelConfig>(&json) {
            Ok(mut cfg) => {
                cfg.id = row.id;
                out.push((row.id, row.name, cfg));
            }
            Err(e) => {
                tracing::error!(channel = row.id, error = %e, "notification channel unreadable; skipped")
            }
        }
    }
    out
}

/// Notifications for the alerts a batch raised, queued in the outbox in the batch's own
/// transaction (so a batch commits with its notifications or not at all). Whitelisted alerts
/// never notify, nor quiet ones (login alerts the abnormal-login model already notified about,
/// SPEC R-LG3). An alert raised several times in the batch is weighed once, as a first
/// occurrence when the batch raised every one of its occurrences.
pub struct QueueNotifications {
    host: String,
    /// Kind, key, and how many times the batch raised it.
    raised: Vec<(AlertKind, String, i64)>,
    now: Timestamp,
    secrets: std::sync::Arc<Secrets>,
}

impl QueueNotifications {
    pub fn new(
        st: &SharedState,
        host: &str,
        alerts: &[(NewAlert, Option<i64>)],
        notifying: &HashSet<(AlertKind, String)>,
        now: Timestamp,
    ) -> QueueNotifications {
        let mut in_batch: HashMap<(AlertKind, &str), i64> = HashMap::new();
        for (a, _) in alerts {
            *in_batch.entry((a.kind, a.key.as_str())).or_default() += 1;
        }
        let mut seen = HashSet::new();
        let raised = alerts
            .iter()
            .filter(|(a, rule)| {
                rule.is_none()
                    && notifying.contains(&(a.kind, a.key.clone()))
                    && seen.insert((a.kind, a.key.as_str()))
            })
            .map(|(a, _)| (a.kind, a.key.clone(), in_batch[&(a.kind, a.key.as_str())]))
            .collect();
        QueueNotifications {
            host: host.to_string(),
            raised,
            now,
            secrets: st.secrets.clone(),
        }
    }
}

#[async_trait::async_trait]
impl TxWrite for QueueNotifications {
    async fn apply(self: Box<Self>, tx: &mut Txn<'_>) -> Result<(), StoreError> {
        if self.raised.is_empty() {
            return Ok(());
        }
        let channels = parse_channels(&self.secrets, tx.notify_channels().await?);
        if channels.is_empty() {
            return Ok(());
        }
        let (host_id, now) = (self.host.as_str(), self.now);
        let hostname = tx
            .host(host_id)
            .await?
            .map(|h| h.hostname)
            .unwrap_or_default();
        let offset = tx
            .setting(SETTING_UTC_OFFSET)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let opts = RenderOptions {
            utc_offset_minutes: offset,
            console_url: None,
        };
        for (kind, key, times) in &self.raised {
            let Some(rec) = tx.alert_by_key(host_id, *kind, key).await? else {
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
                first_occurrence: rec.count <= (*times).max(1),
            };
            for (id, _, cfg) in &channels {
                let (day_start, _) = local_day(now, offset);
                let (today, host_today) = tx.notify_counts(*id, day_start, host_id).await?;
                let mut history = SendHistory {
                    sent_today: today as u32,
                    ..SendHistory::default()
                };
                history
                    .sent_today_by_host
                    .insert(notice.host_id.clone(), host_today as u32);
                if tx.was_notified(*id, rec.id).await? {
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
                tx.enqueue_notification(&OutboxRow {
                    id: 0,
                    channel_id: *id,
                    host_id: host_id.into(),
                    alert_id: Some(rec.id),
                    state: OutboxState::Pending,
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
    let smtp = smtp(st).await?;
    let transports = Transports {
        smtp,
        http: http.clone(),
    };
    for row in &due {
        let Ok(mut item) = serde_json::from_str::<OutboxItem>(&row.item) else {
            tracing::error!(id = row.id, "outbox item unreadable; marked failed");
            let outcome = serde_json::to_string(&AttemptOutcome::Failed {
                code: "unreadable".into(),
                message: "unreadable outbox item".into(),
                retry_at: None,
            })
            .expect("outcomes serialize");
            st.store
                .record_outbox_attempt(
                    row.id,
                    OutboxState::Failed,
                    row.next_at,
                    &row.item,
                    1,
                    now,
                    &outcome,
                )
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
        let outcome = serde_json::to_string(&attempt.outcome).expect("outcomes serialize");
        st.store
            .record_outbox_attempt(
                row.id,
                item.state,
                item.next_at,
                &serde_json::to_string(&item).expect("outbox items serialize"),
                attempt.number as i64,
                attempt.at,
                &outcome,
            )
            .await?;
    }
    Ok(due.len())
}
