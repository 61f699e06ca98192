//! Hosts and how they join: groups, install codes, enrollment, heartbeats and the fingerprint
//! snapshot.

use crate::db::{read_tx, write_tx, SqlStore};
use crate::sql::{args, Row, Tx};
use crate::{EnrollRefusal, GroupRecord, HostRecord, InstallCodeRecord, NewHost, Result};
use async_trait::async_trait;
use std::collections::BTreeMap;
use vigil_model::Timestamp;

#[async_trait]
pub trait HostStore {
    /// Creates the group; `Ok(false)` when it already existed.
    async fn create_group(&self, name: &str, now: Timestamp) -> Result<bool>;
    async fn groups(&self) -> Result<Vec<GroupRecord>>;

    async fn create_install_code(&self, code: &InstallCodeRecord) -> Result<()>;
    async fn install_codes(&self) -> Result<Vec<InstallCodeRecord>>;
    async fn install_code(&self, code_hash: &str) -> Result<Option<InstallCodeRecord>>;
    /// Marks the code revoked; `Ok(false)` when no such code exists.
    async fn revoke_install_code(&self, id: &str, now: Timestamp) -> Result<bool>;

    /// Checks the code (known, not revoked, not expired), counts its use, joins its group and
    /// records the host, all in one transaction.
    async fn enroll_host(
        &self,
        code_hash: &str,
        host: &NewHost,
        now: Timestamp,
    ) -> Result<std::result::Result<HostRecord, EnrollRefusal>>;
    async fn host(&self, id: &str) -> Result<Option<HostRecord>>;
    async fn hosts(&self) -> Result<Vec<HostRecord>>;
    /// Marks the host seen at `now` (never moving backwards).
    async fn touch_host(&self, id: &str, now: Timestamp) -> Result<()>;
    /// Records a heartbeat: seen at `now`, the agent's version and its own health as JSON.
    async fn record_heartbeat(
        &self,
        id: &str,
        now: Timestamp,
        agent_version: &str,
        agent_stats: &str,
    ) -> Result<()>;
    /// Records a heartbeat as [`HostStore::record_heartbeat`] does and, in the same
    /// transaction, the agent's monitor health (a JSON array) in place of the stored one.
    async fn record_heartbeat_health(
        &self,
        id: &str,
        now: Timestamp,
        agent_version: &str,
        agent_stats: &str,
        monitors: &str,
    ) -> Result<()>;
    async fn mark_uninstalled(&self, id: &str, now: Timestamp) -> Result<()>;
    /// Replaces the host's fingerprint snapshot (and its OS facts) unless a newer one is stored.
    async fn put_inventory(
        &self,
        id: &str,
        collected_at: Timestamp,
        os_json: &str,
        json: &str,
    ) -> Result<()>;
    async fn inventory(&self, id: &str) -> Result<Option<String>>;
}

pub(crate) fn labels_to_json(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).expect("string maps serialize")
}

pub(crate) fn labels_of(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str(json).unwrap_or_default()
}

const HOST_COLUMNS: &str =
    "id, hostname, group_name, provider, labels, public_key, agent_version, \
     os, enrolled_at, last_seen, uninstalled_at, inventory_at, last_seq, agent_stats, monitors";

fn host_of(mut r: Row) -> Result<HostRecord> {
    Ok(HostRecord {
        id: r.text()?,
        hostname: r.text()?,
        group: r.text()?,
        provider: r.text()?,
        labels: labels_of(&r.text()?),
        public_key: r.bytes()?,
        agent_version: r.text()?,
        os_json: r.text()?,
        enrolled_at: r.int()?,
        last_seen: r.opt_int()?,
        uninstalled_at: r.opt_int()?,
        inventory_at: r.opt_int()?,
        last_seq: r.int()?,
        agent_stats: r.text()?,
        monitors: r.text()?,
    })
}

const CODE_COLUMNS: &str = "id, code_hash, hint, group_name, os, provider, labels, proxy_cluster, \
     created_at, expires_at, revoked_at, uses, max_uses";

fn code_of(mut r: Row) -> Result<InstallCodeRecord> {
    Ok(InstallCodeRecord {
        id: r.text()?,
        code_hash: r.text()?,
        hint: r.text()?,
        group: r.text()?,
        os: r.text()?,
        provider: r.text()?,
        labels: labels_of(&r.text()?),
        proxy_cluster: r.opt_text()?,
        created_at: r.int()?,
        expires_at: r.int()?,
        revoked_at: r.opt_int()?,
        uses: r.int()?,
        max_uses: r.opt_int()?,
    })
}

/// The rule an install code must pass at enrollment.
pub fn check_code(code: &InstallCodeRecord, now: Timestamp) -> Result<(), EnrollRefusal> {
    if let Some(at) = code.revoked_at {
        return Err(EnrollRefusal::Revoked { at });
    }
    if let Some(max) = code.max_uses.filter(|m| code.uses >= *m) {
        return Err(EnrollRefusal::UsedUp { max });
    }
    if now >= code.expires_at {
        return Err(EnrollRefusal::Expired {
            at: code.expires_at,
        });
    }
    Ok(())
}

async fn ensure_group(tx: &mut dyn Tx, name: &str, now: Timestamp) -> Result<bool> {
    Ok(tx
        .execute(
            "INSERT INTO host_groups VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![name, now],
        )
        .await?
        == 1)
}

pub(crate) async fn host(tx: &mut dyn Tx, id: &str) -> Result<Option<HostRecord>> {
    tx.query_opt(
        &format!("SELECT {HOST_COLUMNS} FROM hosts WHERE id = $1"),
        args![id],
    )
    .await?
    .map(host_of)
    .transpose()
}

async fn enroll(
    tx: &mut dyn Tx,
    code_hash: &str,
    h: &NewHost,
    now: Timestamp,
) -> Result<std::result::Result<HostRecord, EnrollRefusal>> {
    // The row lock keeps two enrollments from counting one use.
    let code = tx
        .query_opt(
            &format!("SELECT {CODE_COLUMNS} FROM install_codes WHERE code_hash = $1 FOR UPDATE"),
            args![code_hash],
        )
        .await?
        .map(code_of)
        .transpose()?;
    let Some(code) = code else {
        return Ok(Err(EnrollRefusal::Unknown));
    };
    let checked = check_code(&code, now);
    if let Err(refusal) = &checked {
        if !matches!(refusal, EnrollRefusal::UsedUp { .. }) {
            return Ok(Err(refusal.clone()));
        }
    }
    // The same key enrolling again with the same code (a replayed or retried request) gets
    // its host back: one host, one use.
    let same = tx
        .query_opt(
            &format!(
                "SELECT {HOST_COLUMNS} FROM hosts WHERE public_key = $1 AND install_code_id = $2"
            ),
            args![&h.public_key, &code.id],
        )
        .await?;
    if let Some(row) = same {
        return Ok(Ok(host_of(row)?));
    }
    if let Err(refusal) = checked {
        return Ok(Err(refusal));
    }
    tx.execute(
        "UPDATE install_codes SET uses = uses + 1 WHERE id = $1",
        args![&code.id],
    )
    .await?;
    ensure_group(tx, &code.group, now).await?;
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO hosts (id, hostname, group_name, provider, labels, public_key, \
                   agent_version, os, install_code_id, enrolled_at, last_seen) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {HOST_COLUMNS}"
            ),
            args![
                &h.id,
                &h.hostname,
                &code.group,
                &code.provider,
                &labels_to_json(&code.labels),
                &h.public_key,
                &h.agent_version,
                &h.os_json,
                &code.id,
                now
            ],
        )
        .await?;
    Ok(Ok(host_of(row)?))
}

/// Seen at `now` (never moving backwards), the agent's version and health, and its monitors
/// when given.
async fn heartbeat(
    tx: &mut dyn Tx,
    id: &str,
    now: Timestamp,
    agent_version: &str,
    agent_stats: &str,
    monitors: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE hosts SET last_seen = GREATEST(COALESCE(last_seen, 0), $2), \
         agent_version = $3, agent_stats = $4 WHERE id = $1",
        args![id, now, agent_version, agent_stats],
    )
    .await?;
    if let Some(m) = monitors {
        tx.execute("UPDATE hosts SET monitors = $2 WHERE id = $1", args![id, m])
            .await?;
    }
    Ok(())
}

#[async_trait]
impl HostStore for SqlStore {
    async fn create_group(&self, name: &str, now: Timestamp) -> Result<bool> {
        let n = name.to_owned();
        write_tx!(self, |tx| ensure_group(tx, &n, now).await)
    }

    async fn groups(&self) -> Result<Vec<GroupRecord>> {
        read_tx!(self, |tx| {
            tx
            .query(
                "SELECT g.name, g.created_at, \
                   (SELECT COUNT(*) FROM hosts h WHERE h.group_name = g.name AND h.uninstalled_at IS NULL) \
                 FROM host_groups g ORDER BY g.name",
                &[],
            )
            .await?
            .into_iter()
            .map(|mut r| Ok(GroupRecord {
                name: r.text()?,
                created_at: r.int()?,
                hosts: r.int()?,
            }))
            .collect()
        })
    }

    async fn create_install_code(&self, code: &InstallCodeRecord) -> Result<()> {
        let k = code.clone();
        write_tx!(self, |tx| {
            ensure_group(tx, &k.group, k.created_at).await?;
            tx.execute(
                &format!(
                    "INSERT INTO install_codes ({CODE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ),
                args![
                    &k.id,
                    &k.code_hash,
                    &k.hint,
                    &k.group,
                    &k.os,
                    &k.provider,
                    &labels_to_json(&k.labels),
                    &k.proxy_cluster,
                    k.created_at,
                    k.expires_at,
                    k.revoked_at,
                    k.uses,
                    k.max_uses
                ],
            )
            .await?;
            Ok(())
        })
    }

    async fn install_codes(&self) -> Result<Vec<InstallCodeRecord>> {
        read_tx!(self, |tx| tx
            .query(
                &format!("SELECT {CODE_COLUMNS} FROM install_codes ORDER BY created_at DESC, id"),
                &[],
            )
            .await?
            .into_iter()
            .map(code_of)
            .collect())
    }

    async fn install_code(&self, code_hash: &str) -> Result<Option<InstallCodeRecord>> {
        let h = code_hash.to_owned();
        read_tx!(self, |tx| tx
            .query_opt(
                &format!("SELECT {CODE_COLUMNS} FROM install_codes WHERE code_hash = $1"),
                args![&h],
            )
            .await?
            .map(code_of)
            .transpose())
    }

    async fn revoke_install_code(&self, id: &str, now: Timestamp) -> Result<bool> {
        let id = id.to_owned();
        write_tx!(self, |tx| Ok(tx
            .execute(
                "UPDATE install_codes SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                args![&id, now],
            )
            .await?
            == 1))
    }

    async fn enroll_host(
        &self,
        code_hash: &str,
        host: &NewHost,
        now: Timestamp,
    ) -> Result<std::result::Result<HostRecord, EnrollRefusal>> {
        let (code_hash, h) = (code_hash.to_owned(), host.clone());
        write_tx!(self, |tx| enroll(tx, &code_hash, &h, now).await)
    }

    async fn host(&self, id: &str) -> Result<Option<HostRecord>> {
        let id = id.to_owned();
        read_tx!(self, |tx| host(tx, &id).await)
    }

    async fn hosts(&self) -> Result<Vec<HostRecord>> {
        read_tx!(self, |tx| tx
            .query(
                &format!("SELECT {HOST_COLUMNS} FROM hosts ORDER BY hostname, id"),
                &[],
            )
            .await?
            .into_iter()
            .map(host_of)
            .collect())
    }

    async fn touch_host(&self, id: &str, now: Timestamp) -> Result<()> {
        let id = id.to_owned();
        write_tx!(self, |tx| {
            tx.execute(
                "UPDATE hosts SET last_seen = GREATEST(COALESCE(last_seen, 0), $2) WHERE id = $1",
                args![&id, now],
            )
            .await?;
            Ok(())
        })
    }

    async fn record_heartbeat(
        &self,
        id: &str,
        now: Timestamp,
        agent_version: &str,
        agent_stats: &str,
    ) -> Result<()> {
        let (id, v, stats) = (
            id.to_owned(),
            agent_version.to_owned(),
            agent_stats.to_owned(),
        );
        write_tx!(self, |tx| heartbeat(tx, &id, now, &v, &stats, None).await)
    }

    async fn record_heartbeat_health(
        &self,
        id: &str,
        now: Timestamp,
        agent_version: &str,
        agent_stats: &str,
        monitors: &str,
    ) -> Result<()> {
        let (id, v, stats, monitors) = (
            id.to_owned(),
            agent_version.to_owned(),
            agent_stats.to_owned(),
            monitors.to_owned(),
        );
        write_tx!(self, |tx| heartbeat(
            tx,
            &id,
            now,
            &v,
            &stats,
            Some(&monitors)
        )
        .await)
    }

    async fn mark_uninstalled(&self, id: &str, now: Timestamp) -> Result<()> {
        let id = id.to_owned();
        write_tx!(self, |tx| {
            tx.execute(
                "UPDATE hosts SET uninstalled_at = COALESCE(uninstalled_at, $2) WHERE id = $1",
                args![&id, now],
            )
            .await?;
            Ok(())
        })
    }

    async fn put_inventory(
        &self,
        id: &str,
        collected_at: Timestamp,
        os_json: &str,
        json: &str,
    ) -> Result<()> {
        let (id, os, json) = (id.to_owned(), os_json.to_owned(), json.to_owned());
        write_tx!(self, |tx| {
            let n = tx
                .execute(
                    "INSERT INTO inventories VALUES ($1, $2, $3) ON CONFLICT (host_id) DO UPDATE \
                     SET collected_at = excluded.collected_at, body = excluded.body \
                     WHERE excluded.collected_at >= inventories.collected_at",
                    args![&id, collected_at, &json],
                )
                .await?;
            if n == 1 {
                tx.execute(
                    "UPDATE hosts SET inventory_at = $2, os = $3 WHERE id = $1",
                    args![&id, collected_at, &os],
                )
                .await?;
            }
            Ok(())
        })
    }

    async fn inventory(&self, id: &str) -> Result<Option<String>> {
        let id = id.to_owned();
        read_tx!(self, |tx| tx
            .query_opt(
                "SELECT body FROM inventories WHERE host_id = $1",
                args![&id]
            )
            .await?
            .map(|mut r| r.text())
            .transpose())
    }
}
