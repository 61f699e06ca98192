//! PostgreSQL backend: for fleets, and for several stateless servers sharing one database.

use crate::records::*;
use crate::{check_code, EnrollRefusal, Ingested, Result, Store, StoreError};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};
use vigil_model::{AlertKind, AlertStatus, NewAlert, Timestamp};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/001_foundation.sql")),
    (
        2,
        include_str!("../migrations/postgres/002_agent_stats.sql"),
    ),
    (
        3,
        include_str!("../migrations/postgres/003_alert_lifecycle.sql"),
    ),
    (4, include_str!("../migrations/postgres/004_commands.sql")),
    (
        5,
        include_str!("../migrations/postgres/005_notifications.sql"),
    ),
    (
        6,
        include_str!("../migrations/postgres/006_alert_links.sql"),
    ),
    (
        7,
        include_str!("../migrations/postgres/007_alert_kind_index.sql"),
    ),
    (8, include_str!("../migrations/postgres/008_ip_rules.sql")),
    (
        9,
        include_str!("../migrations/postgres/009_login_sources.sql"),
    ),
    (10, include_str!("../migrations/postgres/010_vulns.sql")),
];

/// Any fixed number works; it only has to be the same for every Vigil server.
const MIGRATION_LOCK: i64 = 0x5649_4749_4c00;

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresStore")
    }
}

impl PostgresStore {
    /// Connects, checks the server answers, and applies pending migrations under an advisory
    /// lock so that servers starting together migrate once.
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        let cfg = tokio_postgres::Config::from_str(url)?;
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(16)
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
            other => StoreError::Pool(other.to_string()),
        })
    }

    async fn migrate(&self) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
                &[version],
            )
            .await?;
            tracing::info!(version, "postgres migration applied");
        }
        tx.commit().await?;
        Ok(())
    }
}

const HOST_COLUMNS: &str =
    "id, hostname, group_name, provider, labels, public_key, agent_version, \
     os, enrolled_at, last_seen, uninstalled_at, inventory_at, last_seq, agent_stats";

fn host_from_row(r: &Row) -> HostRecord {
    let labels: String = r.get(4);
    HostRecord {
        id: r.get(0),
        hostname: r.get(1),
        group: r.get(2),
        provider: r.get(3),
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        public_key: r.get(5),
        agent_version: r.get(6),
        os_json: r.get(7),
        enrolled_at: r.get(8),
        last_seen: r.get(9),
        uninstalled_at: r.get(10),
        inventory_at: r.get(11),
        last_seq: r.get(12),
        agent_stats: r.get(13),
    }
}

const CODE_COLUMNS: &str = "id, code_hash, hint, group_name, os, provider, labels, proxy_cluster, \
     created_at, expires_at, revoked_at, uses";

fn code_from_row(r: &Row) -> InstallCodeRecord {
    let labels: String = r.get(6);
    InstallCodeRecord {
        id: r.get(0),
        code_hash: r.get(1),
        hint: r.get(2),
        group: r.get(3),
        os: r.get(4),
        provider: r.get(5),
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        proxy_cluster: r.get(7),
        created_at: r.get(8),
        expires_at: r.get(9),
        revoked_at: r.get(10),
        uses: r.get(11),
    }
}

const COMMAND_COLUMNS: &str = "id, host_id, alert_id, action, params, state, created_at, \
     created_by, expires_at, sent_at, finished_at, message, result";

fn command_from_row(r: &Row) -> CommandRecord {
    CommandRecord {
        id: r.get(0),
        host_id: r.get(1),
        alert_id: r.get(2),
        action: r.get(3),
        params: r.get(4),
        state: r.get(5),
        created_at: r.get(6),
        created_by: r.get(7),
        expires_at: r.get(8),
        sent_at: r.get(9),
        finished_at: r.get(10),
        message: r.get(11),
        result: r.get(12),
    }
}

const QUARANTINE_COLUMNS: &str =
    "host_id, qid, path, sha256, md5, size, quarantined_at, state, restored_at, record";

fn quarantine_from_row(r: &Row) -> QuarantineRecord {
    QuarantineRecord {
        host_id: r.get(0),
        qid: r.get(1),
        path: r.get(2),
        sha256: r.get(3),
        md5: r.get(4),
        size: r.get(5),
        quarantined_at: r.get(6),
        state: r.get(7),
        restored_at: r.get(8),
        record: r.get(9),
    }
}

const OUTBOX_COLUMNS: &str =
    "id, channel_id, host_id, alert_id, state, next_at, created_at, day_start, item";

fn outbox_from_row(r: &Row) -> OutboxRow {
    OutboxRow {
        id: r.get(0),
        channel_id: r.get(1),
        host_id: r.get(2),
        alert_id: r.get(3),
        state: r.get(4),
        next_at: r.get(5),
        created_at: r.get(6),
        day_start: r.get(7),
        item: r.get(8),
    }
}

fn inbox_from_row(r: &Row) -> InboxRow {
    InboxRow {
        id: r.get(0),
        alert_id: r.get(1),
        host_id: r.get(2),
        title: r.get(3),
        body: r.get(4),
        created_at: r.get(5),
        read_at: r.get(6),
    }
}

const ALERT_COLUMNS: &str =
    "id, host_id, kind, level, status, name, dedup_key, evidence, first_seen, \
     last_seen, count, handled_at, handled_by, note, whitelist_rule_id";

fn alert_from_row(r: &Row) -> AlertRecord {
    let evidence: String = r.get(7);
    AlertRecord {
        id: r.get(0),
        host_id: r.get(1),
        kind: parse_kind(r.get(2)),
        level: parse_level(r.get(3)),
        status: parse_status(r.get(4)),
        name: r.get(5),
        key: r.get(6),
        evidence: serde_json::from_str(&evidence).unwrap_or_default(),
        first_seen: r.get(8),
        last_seen: r.get(9),
        count: r.get(10),
        handled_at: r.get(11),
        handled_by: r.get(12),
        note: r.get(13),
        whitelist_rule_id: r.get(14),
    }
}

fn as_params(args: &[SqlArg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| match a {
            SqlArg::Text(t) => t as &(dyn ToSql + Sync),
            SqlArg::Int(i) => i as &(dyn ToSql + Sync),
        })
        .collect()
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn create_user(&self, username: &str, password_hash: &str, now: Timestamp) -> Result<()> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO users VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&username, &password_hash, &now],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Conflict(format!("user {username}")));
        }
        Ok(())
    }

    async fn user(&self, username: &str) -> Result<Option<UserRecord>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT username, password_hash, created_at FROM users WHERE username = $1",
                &[&username],
            )
            .await?;
        Ok(row.map(|r| UserRecord {
            username: r.get(0),
            password_hash: r.get(1),
            created_at: r.get(2),
        }))
    }

    async fn user_count(&self) -> Result<i64> {
        let c = self.client().await?;
        Ok(c.query_one("SELECT COUNT(*) FROM users", &[]).await?.get(0))
    }

    async fn add_token(&self, t: &TokenRecord) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO tokens VALUES ($1, $2, $3, $4, $5)",
            &[
                &t.token_hash,
                &t.username,
                &t.kind,
                &t.created_at,
                &t.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT token_hash, username, kind, created_at, expires_at FROM tokens WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?;
        Ok(row.map(|r| TokenRecord {
            token_hash: r.get(0),
            username: r.get(1),
            kind: r.get(2),
            created_at: r.get(3),
            expires_at: r.get(4),
        }))
    }

    async fn delete_token(&self, token_hash: &str) -> Result<bool> {
        let c = self.client().await?;
        Ok(
            c.execute("DELETE FROM tokens WHERE token_hash = $1", &[&token_hash])
                .await?
                == 1,
        )
    }

    async fn create_group(&self, name: &str, now: Timestamp) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "INSERT INTO host_groups VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&name, &now],
        )
        .await?
            == 1)
    }

    async fn groups(&self) -> Result<Vec<GroupRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT g.name, g.created_at, \
                   (SELECT COUNT(*) FROM hosts h WHERE h.group_name = g.name AND h.uninstalled_at IS NULL) \
                 FROM host_groups g ORDER BY g.name",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| GroupRecord {
                name: r.get(0),
                created_at: r.get(1),
                hosts: r.get(2),
            })
            .collect())
    }

    async fn create_install_code(&self, k: &InstallCodeRecord) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO host_groups VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&k.group, &k.created_at],
        )
        .await?;
        tx.execute(
            &format!("INSERT INTO install_codes ({CODE_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"),
            &[
                &k.id, &k.code_hash, &k.hint, &k.group, &k.os, &k.provider, &labels_to_json(&k.labels),
                &k.proxy_cluster, &k.created_at, &k.expires_at, &k.revoked_at, &k.uses,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn install_codes(&self) -> Result<Vec<InstallCodeRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {CODE_COLUMNS} FROM install_codes ORDER BY created_at DESC, id"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(code_from_row).collect())
    }

    async fn install_code(&self, code_hash: &str) -> Result<Option<InstallCodeRecord>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {CODE_COLUMNS} FROM install_codes WHERE code_hash = $1"),
                &[&code_hash],
            )
            .await?;
        Ok(row.as_ref().map(code_from_row))
    }

    async fn revoke_install_code(&self, id: &str, now: Timestamp) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE install_codes SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            &[&id, &now],
        )
        .await?
            == 1)
    }

    async fn enroll_host(
        &self,
        code_hash: &str,
        h: &NewHost,
        now: Timestamp,
    ) -> Result<std::result::Result<HostRecord, EnrollRefusal>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {CODE_COLUMNS} FROM install_codes WHERE code_hash = $1 FOR UPDATE"
                ),
                &[&code_hash],
            )
            .await?;
        let Some(code) = row.as_ref().map(code_from_row) else {
            return Ok(Err(EnrollRefusal::Unknown));
        };
        if let Err(refusal) = check_code(&code, now) {
            return Ok(Err(refusal));
        }
        tx.execute(
            "UPDATE install_codes SET uses = uses + 1 WHERE id = $1",
            &[&code.id],
        )
        .await?;
        tx.execute(
            "INSERT INTO host_groups VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&code.group, &now],
        )
        .await?;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO hosts (id, hostname, group_name, provider, labels, public_key, agent_version, \
                       os, install_code_id, enrolled_at, last_seen) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10) \
                     RETURNING {HOST_COLUMNS}"
                ),
                &[
                    &h.id, &h.hostname, &code.group, &code.provider, &labels_to_json(&code.labels),
                    &h.public_key, &h.agent_version, &h.os_json, &code.id, &now,
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(Ok(host_from_row(&row)))
    }

    async fn host(&self, id: &str) -> Result<Option<HostRecord>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {HOST_COLUMNS} FROM hosts WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(host_from_row))
    }

    async fn hosts(&self) -> Result<Vec<HostRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {HOST_COLUMNS} FROM hosts ORDER BY hostname, id"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(host_from_row).collect())
    }

    async fn touch_host(&self, id: &str, now: Timestamp) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE hosts SET last_seen = GREATEST(COALESCE(last_seen, 0), $2) WHERE id = $1",
            &[&id, &now],
        )
        .await?;
        Ok(())
    }

    async fn record_heartbeat(
        &self,
        id: &str,
        now: Timestamp,
        agent_version: &str,
        agent_stats: &str,
    ) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE hosts SET last_seen = GREATEST(COALESCE(last_seen, 0), $2), agent_version = $3, \
             agent_stats = $4 WHERE id = $1",
            &[&id, &now, &agent_version, &agent_stats],
        )
        .await?;
        Ok(())
    }

    async fn mark_uninstalled(&self, id: &str, now: Timestamp) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE hosts SET uninstalled_at = COALESCE(uninstalled_at, $2) WHERE id = $1",
            &[&id, &now],
        )
        .await?;
        Ok(())
    }

    async fn put_inventory(
        &self,
        id: &str,
        collected_at: Timestamp,
        os_json: &str,
        json: &str,
    ) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "INSERT INTO inventories VALUES ($1, $2, $3) ON CONFLICT (host_id) DO UPDATE \
                 SET collected_at = excluded.collected_at, body = excluded.body \
                 WHERE excluded.collected_at >= inventories.collected_at",
                &[&id, &collected_at, &json],
            )
            .await?;
        if n == 1 {
            tx.execute(
                "UPDATE hosts SET inventory_at = $2, os = $3 WHERE id = $1",
                &[&id, &collected_at, &os_json],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn inventory(&self, id: &str) -> Result<Option<String>> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT body FROM inventories WHERE host_id = $1", &[&id])
                .await?
                .map(|r| r.get(0)),
        )
    }

    async fn ingest(
        &self,
        host_id: &str,
        seq: i64,
        events: &[EventRow],
        alerts: &[(NewAlert, Option<i64>)],
        now: Timestamp,
    ) -> Result<Ingested> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Statements on this hot path are prepared once per connection, not parsed per batch.
        // The row lock taken by this UPDATE serialises batches of one host across servers.
        let claim = tx
            .prepare_cached(
                "UPDATE hosts SET last_seq = $2, last_seen = GREATEST(COALESCE(last_seen, 0), $3) \
                 WHERE id = $1 AND last_seq < $2",
            )
            .await?;
        let claimed = tx.execute(&claim, &[&host_id, &seq, &now]).await?;
        if claimed == 0 {
            let exists = tx
                .query_opt("SELECT 1 FROM hosts WHERE id = $1", &[&host_id])
                .await?
                .is_some();
            return if exists {
                Ok(Ingested::Duplicate)
            } else {
                Err(StoreError::NotFound(format!("host {host_id}")))
            };
        }
        if !events.is_empty() {
            let times: Vec<i64> = events.iter().map(|e| e.time).collect();
            let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
            let bodies: Vec<&str> = events.iter().map(|e| e.body.as_str()).collect();
            let insert = tx
                .prepare_cached(
                    "INSERT INTO events (host_id, seq, time, kind, body) \
                     SELECT $1, $2, t, k, b FROM UNNEST($3::BIGINT[], $4::TEXT[], $5::TEXT[]) AS u(t, k, b)",
                )
                .await?;
            tx.execute(&insert, &[&host_id, &seq, &times, &kinds, &bodies])
                .await?;
        }
        if !alerts.is_empty() {
            // A recurring alert is live again unless an operator ignored or whitelisted it.
            let st = tx
                .prepare_cached(
                    "INSERT INTO alerts (host_id, kind, level, status, name, dedup_key, evidence, \
                       first_seen, last_seen, whitelist_rule_id) \
                     VALUES ($1, $2, $3, CASE WHEN $8::BIGINT IS NULL THEN 'unhandled' ELSE 'whitelisted' END, \
                       $4, $5, $6, $7, $7, $8) \
                     ON CONFLICT (host_id, kind, dedup_key) DO UPDATE SET \
                       last_seen = GREATEST(alerts.last_seen, excluded.last_seen), count = alerts.count + 1, \
                       level = excluded.level, name = excluded.name, evidence = excluded.evidence, \
                       whitelist_rule_id = COALESCE(excluded.whitelist_rule_id, alerts.whitelist_rule_id), \
                       status = CASE WHEN excluded.whitelist_rule_id IS NOT NULL THEN 'whitelisted' \
                         WHEN alerts.status IN ('expired', 'handled') THEN 'unhandled' \
                         ELSE alerts.status END",
                )
                .await?;
            for (a, rule) in alerts {
                tx.execute(
                    &st,
                    &[
                        &host_id,
                        &a.kind.as_str(),
                        &a.level.as_str(),
                        &a.name,
                        &a.key,
                        &evidence_to_json(&a.evidence),
                        &a.time,
                        rule,
                    ],
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Ingested::Stored)
    }

    async fn event_count(&self, host_id: Option<&str>) -> Result<i64> {
        let c = self.client().await?;
        let row = match host_id {
            Some(h) => {
                c.query_one("SELECT COUNT(*) FROM events WHERE host_id = $1", &[&h])
                    .await?
            }
            None => c.query_one("SELECT COUNT(*) FROM events", &[]).await?,
        };
        Ok(row.get(0))
    }

    async fn events(&self, host_id: &str, limit: i64) -> Result<Vec<StoredEvent>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, host_id, seq, time, kind, body FROM events WHERE host_id = $1 ORDER BY id DESC LIMIT $2",
                &[&host_id, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoredEvent {
                id: r.get(0),
                host_id: r.get(1),
                seq: r.get(2),
                time: r.get(3),
                kind: r.get(4),
                body: r.get(5),
            })
            .collect())
    }

    async fn alerts(&self, f: &AlertFilter) -> Result<(Vec<AlertRecord>, i64)> {
        let c = self.client().await?;
        let (wh, args) = alert_where(f, '$');
        let params = as_params(&args);
        let total: i64 = c
            .query_one(
                &format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM alerts {wh} LIMIT {}) capped",
                    alert_count_cap(f) + 1
                ),
                &params,
            )
            .await?
            .get(0);
        let rows = c
            .query(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts {wh} ORDER BY {} LIMIT {} OFFSET {}",
                    f.sort.order_by(),
                    f.limit.clamp(0, 1000),
                    f.offset.max(0)
                ),
                &params,
            )
            .await?;
        Ok((rows.iter().map(alert_from_row).collect(), total))
    }

    async fn alert(&self, id: i64) -> Result<Option<AlertRecord>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(alert_from_row))
    }

    async fn transition_alerts(
        &self,
        ids: &[i64],
        from: &[AlertStatus],
        to: AlertStatus,
        by: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<Vec<Transition>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let update = tx
            .prepare(&format!(
                "UPDATE alerts SET status = $2, handled_at = $3, handled_by = $4, note = $5 \
                 WHERE id = $1 AND status IN ({})",
                status_list(from)
            ))
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if tx
                .execute(&update, &[&id, &to.as_str(), &now, &by, &note])
                .await?
                == 1
            {
                out.push(Transition::Changed(id));
                continue;
            }
            let row = tx
                .query_opt("SELECT status FROM alerts WHERE id = $1", &[&id])
                .await?;
            out.push(match row {
                Some(r) => Transition::Unchanged {
                    id,
                    status: parse_status(r.get(0)),
                },
                None => Transition::Missing(id),
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn expire_alerts(&self, before: Timestamp) -> Result<u64> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE alerts SET status = 'expired' WHERE status = 'unhandled' AND last_seen < $1",
            &[&before],
        )
        .await?)
    }

    async fn alerts_of_kind(
        &self,
        kind: AlertKind,
        statuses: &[AlertStatus],
    ) -> Result<Vec<AlertRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE kind = $1 AND status IN ({})",
                    status_list(statuses)
                ),
                &[&kind.as_str()],
            )
            .await?;
        Ok(rows.iter().map(alert_from_row).collect())
    }

    async fn add_whitelist_rule(&self, r: &WhitelistRuleRecord) -> Result<i64> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "INSERT INTO whitelist_rules (kind, scope, scope_value, fields, note, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &r.kind.as_str(),
                    &r.scope,
                    &r.scope_value,
                    &labels_to_json(&r.fields),
                    &r.note,
                    &r.created_at,
                    &r.created_by,
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn whitelist_rules(&self) -> Result<Vec<WhitelistRuleRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, kind, scope, scope_value, fields, note, created_at, created_by \
                 FROM whitelist_rules ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let fields: String = r.get(4);
                WhitelistRuleRecord {
                    id: r.get(0),
                    kind: parse_kind(r.get(1)),
                    scope: r.get(2),
                    scope_value: r.get(3),
                    fields: serde_json::from_str(&fields).unwrap_or_default(),
                    note: r.get(5),
                    created_at: r.get(6),
                    created_by: r.get(7),
                }
            })
            .collect())
    }

    async fn whitelist_alerts(
        &self,
        ids: &[i64],
        rule_id: i64,
        by: &str,
        now: Timestamp,
    ) -> Result<u64> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE alerts SET status = 'whitelisted', whitelist_rule_id = $2, handled_at = $3, \
             handled_by = $4 WHERE id = ANY($1) AND status <> 'whitelisted'",
            &[&ids, &rule_id, &now, &by],
        )
        .await?)
    }

    async fn delete_whitelist_rule(&self, id: i64) -> Result<Option<u64>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if tx
            .execute("DELETE FROM whitelist_rules WHERE id = $1", &[&id])
            .await?
            == 0
        {
            return Ok(None);
        }
        let n = tx
            .execute(
                "UPDATE alerts SET status = CASE WHEN status = 'whitelisted' THEN 'unhandled' ELSE status END, \
                 whitelist_rule_id = NULL WHERE whitelist_rule_id = $1",
                &[&id],
            )
            .await?;
        tx.commit().await?;
        Ok(Some(n))
    }

    async fn queue_command(&self, c: &NewCommand) -> Result<i64> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO commands (host_id, alert_id, action, params, state, created_at, created_by, expires_at) \
                 VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7) RETURNING id",
                &[&c.host_id, &c.alert_id, &c.action, &c.params, &c.created_at, &c.created_by, &c.expires_at],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn pending_commands(&self, host_id: &str, now: Timestamp) -> Result<Vec<CommandRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {COMMAND_COLUMNS} FROM commands WHERE host_id = $1 \
                     AND state IN ('queued', 'sent') AND expires_at > $2 ORDER BY id"
                ),
                &[&host_id, &now],
            )
            .await?;
        Ok(rows.iter().map(command_from_row).collect())
    }

    async fn mark_commands_sent(&self, ids: &[i64], now: Timestamp) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE commands SET state = 'sent', sent_at = COALESCE(sent_at, $2) \
             WHERE id = ANY($1) AND state IN ('queued', 'sent')",
            &[&ids, &now],
        )
        .await?;
        Ok(())
    }

    async fn finish_command(
        &self,
        host_id: &str,
        id: i64,
        ok: bool,
        message: &str,
        result: &str,
        now: Timestamp,
    ) -> Result<Option<CommandRecord>> {
        let c = self.client().await?;
        let state = if ok { "succeeded" } else { "failed" };
        let row = c
            .query_opt(
                &format!(
                    "UPDATE commands SET state = $3, finished_at = $4, message = $5, result = $6 \
                     WHERE id = $1 AND host_id = $2 AND state IN ('queued', 'sent') RETURNING {COMMAND_COLUMNS}"
                ),
                &[&id, &host_id, &state, &now, &message, &result],
            )
            .await?;
        Ok(row.as_ref().map(command_from_row))
    }

    async fn expire_commands(&self, now: Timestamp) -> Result<Vec<CommandRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "UPDATE commands SET state = 'timed_out', finished_at = $1, \
                     message = 'the host did not run the command before it expired' \
                     WHERE state IN ('queued', 'sent') AND expires_at <= $1 RETURNING {COMMAND_COLUMNS}"
                ),
                &[&now],
            )
            .await?;
        Ok(rows.iter().map(command_from_row).collect())
    }

    async fn commands(&self, host_id: Option<&str>, limit: i64) -> Result<Vec<CommandRecord>> {
        let c = self.client().await?;
        let limit = limit.clamp(1, 1000);
        let rows = match host_id {
            Some(h) => {
                c.query(
                    &format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE host_id = $1 ORDER BY id DESC LIMIT {limit}"),
                    &[&h],
                )
                .await?
            }
            None => {
                c.query(&format!("SELECT {COMMAND_COLUMNS} FROM commands ORDER BY id DESC LIMIT {limit}"), &[])
                    .await?
            }
        };
        Ok(rows.iter().map(command_from_row).collect())
    }

    async fn put_quarantined(&self, q: &QuarantineRecord) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            &format!(
                "INSERT INTO quarantine ({QUARANTINE_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) \
                 ON CONFLICT (host_id, qid) DO UPDATE SET state = excluded.state, \
                 restored_at = excluded.restored_at, record = excluded.record"
            ),
            &[
                &q.host_id, &q.qid, &q.path, &q.sha256, &q.md5, &q.size, &q.quarantined_at, &q.state,
                &q.restored_at, &q.record,
            ],
        )
        .await?;
        Ok(())
    }

    async fn quarantined(&self, host_id: Option<&str>) -> Result<Vec<QuarantineRecord>> {
        let c = self.client().await?;
        let rows = match host_id {
            Some(h) => {
                c.query(
                    &format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE host_id = $1 ORDER BY quarantined_at DESC, qid"),
                    &[&h],
                )
                .await?
            }
            None => {
                c.query(&format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine ORDER BY quarantined_at DESC, qid"), &[])
                    .await?
            }
        };
        Ok(rows.iter().map(quarantine_from_row).collect())
    }

    async fn mark_restored(&self, host_id: &str, qid: &str, now: Timestamp) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE quarantine SET state = 'restored', restored_at = $3 \
             WHERE host_id = $1 AND qid = $2 AND state = 'quarantined'",
            &[&host_id, &qid, &now],
        )
        .await?
            == 1)
    }

    async fn link_alerts(&self, a: i64, b: i64) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO alert_links VALUES ($1, $2), ($2, $1) ON CONFLICT DO NOTHING",
            &[&a, &b],
        )
        .await?;
        Ok(())
    }

    async fn related_alerts(&self, id: i64) -> Result<Vec<i64>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT related_id FROM alert_links WHERE alert_id = $1 ORDER BY related_id",
                &[&id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn alert_by_key(
        &self,
        host_id: &str,
        kind: AlertKind,
        key: &str,
    ) -> Result<Option<AlertRecord>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE host_id = $1 AND kind = $2 AND dedup_key = $3"),
                &[&host_id, &kind.as_str(), &key],
            )
            .await?;
        Ok(row.as_ref().map(alert_from_row))
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT value FROM settings WHERE key = $1", &[&key])
                .await?
                .map(|r| r.get(0)),
        )
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO settings VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await?;
        Ok(())
    }

    async fn notify_channels(&self) -> Result<Vec<ChannelRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, name, config, created_at FROM notify_channels ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ChannelRow {
                id: r.get(0),
                name: r.get(1),
                config: r.get(2),
                created_at: r.get(3),
            })
            .collect())
    }

    async fn add_notify_channel(&self, name: &str, config: &str, now: Timestamp) -> Result<i64> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "INSERT INTO notify_channels (name, config, created_at) VALUES ($1, $2, $3) RETURNING id",
                &[&name, &config, &now],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn delete_notify_channel(&self, id: i64) -> Result<bool> {
        let c = self.client().await?;
        Ok(
            c.execute("DELETE FROM notify_channels WHERE id = $1", &[&id])
                .await?
                == 1,
        )
    }

    async fn notify_counts(
        &self,
        channel_id: i64,
        day_start: Timestamp,
        host_id: &str,
    ) -> Result<(i64, i64)> {
        let c = self.client().await?;
        let r = c
            .query_one(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN host_id = $3 THEN 1 ELSE 0 END), 0)::BIGINT \
                 FROM outbox WHERE channel_id = $1 AND day_start = $2 AND alert_id IS NOT NULL",
                &[&channel_id, &day_start, &host_id],
            )
            .await?;
        Ok((r.get(0), r.get(1)))
    }

    async fn was_notified(&self, channel_id: i64, alert_id: i64) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT 1 FROM notified WHERE channel_id = $1 AND alert_id = $2",
            &[&channel_id, &alert_id],
        )
        .await?
        .is_some())
    }

    async fn enqueue_notification(&self, r: &OutboxRow) -> Result<i64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_one(
                "INSERT INTO outbox (channel_id, host_id, alert_id, state, next_at, created_at, day_start, item) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[&r.channel_id, &r.host_id, &r.alert_id, &r.state, &r.next_at, &r.created_at, &r.day_start, &r.item],
            )
            .await?;
        if let Some(alert) = r.alert_id {
            tx.execute(
                "INSERT INTO notified VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&r.channel_id, &alert],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(row.get(0))
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        let c = self.client().await?;
        // SKIP LOCKED lets several servers claim disjoint rows without waiting on each other.
        let rows = c
            .query(
                &format!(
                    "UPDATE outbox SET next_at = $2 WHERE id IN (\
                       SELECT id FROM outbox WHERE state = 'pending' AND next_at <= $1 \
                       ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                     RETURNING {OUTBOX_COLUMNS}"
                ),
                &[&now, &lease_until, &limit],
            )
            .await?;
        let mut out: Vec<OutboxRow> = rows.iter().map(outbox_from_row).collect();
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    async fn record_outbox_attempt(
        &self,
        id: i64,
        state: &str,
        next_at: Timestamp,
        item: &str,
        number: i64,
        at: Timestamp,
        outcome: &str,
    ) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "UPDATE outbox SET state = $2, next_at = $3, item = $4 WHERE id = $1",
            &[&id, &state, &next_at, &item],
        )
        .await?;
        tx.execute(
            "INSERT INTO outbox_attempts VALUES ($1, $2, $3, $4) \
             ON CONFLICT (outbox_id, number) DO UPDATE SET at = excluded.at, outcome = excluded.outcome",
            &[&id, &number, &at, &outcome],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox(&self, limit: i64) -> Result<Vec<OutboxRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id DESC LIMIT $1"),
                &[&limit.clamp(1, 1000)],
            )
            .await?;
        Ok(rows.iter().map(outbox_from_row).collect())
    }

    async fn outbox_attempts(&self, id: i64) -> Result<Vec<(i64, Timestamp, String)>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT number, at, outcome FROM outbox_attempts WHERE outbox_id = $1 ORDER BY number",
                &[&id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    async fn add_inbox(&self, r: &InboxRow) -> Result<i64> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "INSERT INTO inbox (alert_id, host_id, title, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&r.alert_id, &r.host_id, &r.title, &r.body, &r.created_at],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn inbox(&self, limit: i64) -> Result<Vec<InboxRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, alert_id, host_id, title, body, created_at, read_at FROM inbox ORDER BY id DESC LIMIT $1",
                &[&limit.clamp(1, 1000)],
            )
            .await?;
        Ok(rows.iter().map(inbox_from_row).collect())
    }

    async fn mark_inbox_read(&self, id: i64, now: Timestamp) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE inbox SET read_at = COALESCE(read_at, $2) WHERE id = $1",
            &[&id, &now],
        )
        .await?
            == 1)
    }

    async fn sync_host_vulns(
        &self,
        host_id: &str,
        findings: &[VulnFinding],
        now: Timestamp,
    ) -> Result<VulnSync> {
        let findings = dedup_findings(findings);
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Scans of one host are serialised, so two servers cannot interleave their updates.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('vulns:' || $1))",
            &[&host_id],
        )
        .await?;
        let mut before: std::collections::HashMap<(String, String), String> = tx
            .query(
                "SELECT package, advisory_id, status FROM vulns WHERE host_id = $1",
                &[&host_id],
            )
            .await?
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect();
        let mut sync = VulnSync::default();
        let upsert = tx
            .prepare_cached(
                "INSERT INTO vulns (host_id, package, advisory_id, ids, ecosystem, installed, fixed, \
                 level, rce, summary, fix_command, needs_restart, status, first_seen, last_seen) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'unfixed', $13, $13) \
                 ON CONFLICT (host_id, package, advisory_id) DO UPDATE SET ids = excluded.ids, \
                 ecosystem = excluded.ecosystem, installed = excluded.installed, fixed = excluded.fixed, \
                 level = excluded.level, rce = excluded.rce, summary = excluded.summary, \
                 fix_command = excluded.fix_command, needs_restart = excluded.needs_restart, \
                 last_seen = excluded.last_seen, \
                 status = CASE WHEN vulns.status = 'fixed' THEN 'unfixed' ELSE vulns.status END, \
                 fixed_at = CASE WHEN vulns.status = 'fixed' THEN NULL ELSE vulns.fixed_at END",
            )
            .await?;
        for f in &findings {
            tx.execute(
                &upsert,
                &[
                    &host_id,
                    &f.package,
                    &f.advisory_id,
                    &ids_json(&f.ids),
                    &f.ecosystem,
                    &f.installed,
                    &f.fixed,
                    &f.level,
                    &f.rce,
                    &f.summary,
                    &f.fix_command,
                    &f.needs_restart,
                    &now,
                ],
            )
            .await?;
            match before.remove(&(f.package.clone(), f.advisory_id.clone())) {
                None => sync.new += 1,
                Some(s) if s == "fixed" => sync.reopened += 1,
                Some(_) => {}
            }
        }
        let gone = tx
            .prepare_cached(
                "UPDATE vulns SET status = 'fixed', fixed_at = $4 \
                 WHERE host_id = $1 AND package = $2 AND advisory_id = $3 AND status = 'unfixed'",
            )
            .await?;
        for ((package, advisory), status) in &before {
            if status == "unfixed" {
                sync.fixed += tx
                    .execute(&gone, &[&host_id, package, advisory, &now])
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(sync)
    }

    async fn vulns(&self, f: &VulnFilter) -> Result<(Vec<VulnRecord>, i64)> {
        let c = self.client().await?;
        let (wh, args) = vuln_where(f, '$');
        let params = as_params(&args);
        let total: i64 = c
            .query_one(&format!("SELECT COUNT(*) FROM vulns {wh}"), &params)
            .await?
            .get(0);
        let rows = c
            .query(
                &format!(
                    "SELECT {VULN_COLUMNS} FROM vulns {wh} ORDER BY {VULN_ORDER} LIMIT {} OFFSET {}",
                    f.limit.clamp(0, MAX_VULN_PAGE),
                    f.offset.max(0)
                ),
                &params,
            )
            .await?;
        Ok((rows.iter().map(vuln_from_row).collect(), total))
    }

    async fn set_vuln_status(
        &self,
        keys: &[VulnKey],
        to: VulnStatus,
        reason: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<Vec<VulnTransition>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let changed = match vuln_change_from(to) {
                Some(from) => {
                    tx.execute(
                        "UPDATE vulns SET status = $4, reason = $5, handled_by = $6, handled_at = $7 \
                         WHERE host_id = $1 AND package = $2 AND advisory_id = $3 AND status = $8",
                        &[
                            &k.host_id,
                            &k.package,
                            &k.advisory_id,
                            &to.as_str(),
                            &reason,
                            &by,
                            &now,
                            &from.as_str(),
                        ],
                    )
                    .await?
                }
                None => 0,
            };
            if changed == 1 {
                out.push(VulnTransition::Changed);
                continue;
            }
            let status = tx
                .query_opt(
                    "SELECT status FROM vulns WHERE host_id = $1 AND package = $2 AND advisory_id = $3",
                    &[&k.host_id, &k.package, &k.advisory_id],
                )
                .await?
                .map(|r| r.get::<_, String>(0));
            out.push(match status {
                Some(s) => VulnTransition::Unchanged(parse_vuln_status(&s)),
                None => VulnTransition::Missing,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn unfixed_vuln_counts(&self) -> Result<Vec<(String, String, i64)>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT host_id, level, COUNT(*) FROM vulns WHERE status = 'unfixed' GROUP BY host_id, level",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    async fn unhandled_alert_counts(&self) -> Result<Vec<(String, String, i64)>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT host_id, level, COUNT(*) FROM alerts WHERE status = 'unhandled' GROUP BY host_id, level",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    async fn add_ip_rule(&self, r: &NewIpRule) -> Result<i64> {
        let c = self.client().await?;
        let hosts = serde_json::to_string(&r.hosts).unwrap_or_else(|_| "[]".into());
        let row = c
            .query_one(
                "INSERT INTO ip_rules (target, direction, hosts, origin, reason, alert_id, created_at, created_by, expires_at, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active') RETURNING id",
                &[
                    &r.target,
                    &r.direction,
                    &hosts,
                    &r.origin,
                    &r.reason,
                    &r.alert_id,
                    &r.created_at,
                    &r.created_by,
                    &r.expires_at,
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn ip_rules(&self, status: Option<&str>) -> Result<Vec<IpRuleRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {IP_RULE_COLUMNS} FROM ip_rules WHERE ($1::TEXT IS NULL OR status = $1) ORDER BY id DESC"
                ),
                &[&status],
            )
            .await?;
        Ok(rows.iter().map(ip_rule_from_row).collect())
    }

    async fn ip_rule(&self, id: i64) -> Result<Option<IpRuleRecord>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {IP_RULE_COLUMNS} FROM ip_rules WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(ip_rule_from_row))
    }

    async fn end_ip_rule(
        &self,
        id: i64,
        status: &str,
        now: Timestamp,
        by: &str,
    ) -> Result<Option<IpRuleRecord>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!(
                    "UPDATE ip_rules SET status = $2, ended_at = $3, ended_by = $4 \
                     WHERE id = $1 AND status = 'active' RETURNING {IP_RULE_COLUMNS}"
                ),
                &[&id, &status, &now, &by],
            )
            .await?;
        Ok(row.as_ref().map(ip_rule_from_row))
    }

    async fn expire_ip_rules(&self, now: Timestamp) -> Result<Vec<IpRuleRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "UPDATE ip_rules SET status = 'expired', ended_at = expires_at, ended_by = 'expiry' \
                     WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= $1 \
                     RETURNING {IP_RULE_COLUMNS}"
                ),
                &[&now],
            )
            .await?;
        Ok(rows.iter().map(ip_rule_from_row).collect())
    }

    async fn set_ip_rule_host(
        &self,
        rule_id: i64,
        host_id: &str,
        state: &str,
        message: &str,
        now: Timestamp,
    ) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO ip_rule_hosts (rule_id, host_id, state, message, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (rule_id, host_id) DO UPDATE SET state = excluded.state, message = excluded.message, \
             updated_at = excluded.updated_at",
            &[&rule_id, &host_id, &state, &message, &now],
        )
        .await?;
        Ok(())
    }

    async fn ip_rule_hosts(&self, rule_id: Option<i64>) -> Result<Vec<IpRuleHostRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT rule_id, host_id, state, message, updated_at FROM ip_rule_hosts \
                 WHERE ($1::BIGINT IS NULL OR rule_id = $1) ORDER BY rule_id DESC, host_id",
                &[&rule_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| IpRuleHostRecord {
                rule_id: r.get(0),
                host_id: r.get(1),
                state: r.get(2),
                message: r.get(3),
                updated_at: r.get(4),
            })
            .collect())
    }

    async fn add_login_failures(&self, host_id: &str, rows: &[LoginFailureRow]) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let st = tx
            .prepare_cached(
                "INSERT INTO login_sources (host_id, day, source, service, failures) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (host_id, day, source, service) DO UPDATE SET failures = login_sources.failures + excluded.failures",
            )
            .await?;
        for r in rows {
            tx.execute(&st, &[&host_id, &r.day, &r.source, &r.service, &r.failures])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn attack_days(&self, host_id: Option<&str>, since: Timestamp) -> Result<Vec<AttackDay>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT host_id, day, SUM(failures)::BIGINT, COUNT(DISTINCT source) FROM login_sources \
                 WHERE day >= $1 AND ($2::TEXT IS NULL OR host_id = $2) GROUP BY host_id, day ORDER BY day, host_id",
                &[&since, &host_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AttackDay {
                host_id: r.get(0),
                day: r.get(1),
                failures: r.get(2),
                sources: r.get(3),
            })
            .collect())
    }

    async fn top_attack_sources(
        &self,
        host_id: Option<&str>,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, i64)>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT source, SUM(failures)::BIGINT AS n FROM login_sources \
                 WHERE day >= $1 AND ($2::TEXT IS NULL OR host_id = $2) GROUP BY source ORDER BY n DESC, source LIMIT $3",
                &[&since, &host_id, &limit],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

const IP_RULE_COLUMNS: &str =
    "id, target, direction, hosts, origin, reason, alert_id, created_at, \
     created_by, expires_at, status, ended_at, ended_by";

fn ip_rule_from_row(r: &tokio_postgres::Row) -> IpRuleRecord {
    let hosts: String = r.get(3);
    IpRuleRecord {
        id: r.get(0),
        rule: NewIpRule {
            target: r.get(1),
            direction: r.get(2),
            hosts: serde_json::from_str(&hosts).unwrap_or_default(),
            origin: r.get(4),
            reason: r.get(5),
            alert_id: r.get(6),
            created_at: r.get(7),
            created_by: r.get(8),
            expires_at: r.get(9),
        },
        status: r.get(10),
        ended_at: r.get(11),
        ended_by: r.get(12),
    }
}

fn vuln_from_row(r: &Row) -> VulnRecord {
    let ids: String = r.get(3);
    let status: String = r.get(12);
    VulnRecord {
        host_id: r.get(0),
        finding: VulnFinding {
            package: r.get(1),
            advisory_id: r.get(2),
            ids: serde_json::from_str(&ids).unwrap_or_default(),
            ecosystem: r.get(4),
            installed: r.get(5),
            fixed: r.get(6),
            level: r.get(7),
            rce: r.get(8),
            summary: r.get(9),
            fix_command: r.get(10),
            needs_restart: r.get(11),
        },
        status: parse_vuln_status(&status),
        reason: r.get(13),
        handled_by: r.get(14),
        handled_at: r.get(15),
        first_seen: r.get(16),
        last_seen: r.get(17),
        fixed_at: r.get(18),
    }
}
