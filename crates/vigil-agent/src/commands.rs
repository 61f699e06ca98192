//! Runs the server's commands (kill, quarantine, restore) after checking that the server's
//! pinned command key signed them, that they are for this host, not expired, and not run before.

use crate::firewall::{Firewall, Protected};
use crate::quarantine::{Expected, QuarantineBox, QuarantinedFile, RETENTION_SECS};
use crate::respond;
use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use vigil_proto::agent::{Command, CommandAction, CommandResult, SignedCommand};

/// How many command ids are remembered to refuse replays (commands expire long before).
const REMEMBERED: usize = 1000;

#[derive(Debug)]
pub struct Executor {
    host_id: String,
    command_key: Option<Vec<u8>>,
    qbox: QuarantineBox,
    done_file: PathBuf,
    done: VecDeque<i64>,
    last_purge: i64,
    firewall: Firewall,
    /// A `report_inventory` command ran since the run loop last asked.
    inventory_requested: bool,
}

impl Executor {
    pub fn open(data_dir: &Path, host_id: &str, command_key_b64: &str) -> Result<Executor> {
        let qbox = QuarantineBox::open(&data_dir.join("quarantine"))
            .with_context(|| "opening the quarantine box".to_string())?;
        let done_file = data_dir.join("commands.done");
        let done = std::fs::read(&done_file)
            .ok()
            .and_then(|b| serde_json::from_slice::<VecDeque<i64>>(&b).ok())
            .unwrap_or_default();
        let command_key = B64
            .decode(command_key_b64.trim())
            .ok()
            .filter(|k| k.len() == 32);
        Ok(Executor {
            host_id: host_id.into(),
            command_key,
            qbox,
            done_file,
            done,
            last_purge: 0,
            firewall: Firewall::system(),
            inventory_requested: false,
        })
    }

    /// Uses another `nft` (tests run it inside a network namespace).
    pub fn with_firewall(mut self, firewall: Firewall) -> Executor {
        self.firewall = firewall;
        self
    }

    /// Addresses block commands must never cover: the server, the proxy, the access whitelist.
    pub fn set_protected(&mut self, protected: Vec<Protected>) {
        self.firewall.set_protected(protected);
    }

    pub fn firewall(&self) -> &Firewall {
        &self.firewall
    }

    fn remember(&mut self, id: i64) {
        self.done.push_back(id);
        while self.done.len() > REMEMBERED {
            self.done.pop_front();
        }
        // Saved before the action runs: a crash mid-action must not run it twice.
        let tmp = self.done_file.with_extension("tmp");
        let saved = serde_json::to_vec(&self.done)
            .ok()
            .and_then(|b| std::fs::write(&tmp, b).ok())
            .and_then(|_| std::fs::rename(&tmp, &self.done_file).ok());
        if saved.is_none() {
            tracing::warn!("could not save executed command ids");
        }
    }

    /// Checks and runs one command. `None` when it must not be answered (a replay of a command
    /// already run, or a payload this host cannot attribute).
    pub fn run(&mut self, signed: &SignedCommand, now: i64) -> Option<CommandResult> {
        let cmd: Command = match serde_json::from_str(&signed.payload) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "unreadable command refused");
                return None;
            }
        };
        let fail = |message: String| {
            Some(CommandResult {
                id: cmd.id,
                ok: false,
                message,
                data: serde_json::Value::Null,
            })
        };
        let Some(key) = &self.command_key else {
            return fail("this agent has no pinned command key (enrolled by an older version): re-enroll it to allow host actions".into());
        };
        if let Err(e) = vigil_proto::auth::verify_command(key, &signed.payload, &signed.signature) {
            tracing::error!(id = cmd.id, error = %e, "command signature invalid; refused");
            return fail(format!("command signature invalid ({e}); refused"));
        }
        if cmd.host_id != self.host_id {
            return fail(format!(
                "command is for host {}, this is {}",
                cmd.host_id, self.host_id
            ));
        }
        if self.done.contains(&cmd.id) {
            return None;
        }
        if now >= cmd.expires_at {
            self.remember(cmd.id);
            return fail("command expired before it reached this host".into());
        }
        self.remember(cmd.id);
        if cmd.action == CommandAction::ReportInventory {
            self.inventory_requested = true;
        }
        let (ok, message, data) = self.execute(&cmd.action, now);
        tracing::info!(id = cmd.id, action = cmd.action.name(), ok, %message, "command run");
        Some(CommandResult {
            id: cmd.id,
            ok,
            message,
            data,
        })
    }

    fn execute(&self, action: &CommandAction, now: i64) -> (bool, String, serde_json::Value) {
        let json = |f: &QuarantinedFile| serde_json::to_value(f).unwrap_or_default();
        match action {
            CommandAction::KillProcess {
                pid,
                exe,
                start_ticks,
            } => match respond::kill_process(*pid, *start_ticks, exe.as_deref()) {
                Ok(outcome) => (
                    true,
                    format!("process {pid}: {outcome}"),
                    serde_json::json!({ "outcome": outcome.to_string() }),
                ),
                Err(e) => (false, e.to_string(), serde_json::Value::Null),
            },
            CommandAction::QuarantineFile { path, expect } => {
                let expect = Expected {
                    inode: expect.device.zip(expect.inode),
                    size: expect.size,
                    sha256: expect.sha256.clone(),
                };
                match self
                    .qbox
                    .quarantine_expecting(Path::new(path), now, &expect)
                {
                    Ok(f) => (
                        true,
                        format!("{path} quarantined as {}", f.id),
                        serde_json::json!({ "file": json(&f) }),
                    ),
                    Err(e) => (false, e.to_string(), serde_json::Value::Null),
                }
            }
            CommandAction::KillAndQuarantine {
                pid,
                exe,
                start_ticks,
            } => {
                match respond::kill_and_quarantine(
                    *pid,
                    *start_ticks,
                    exe.as_deref(),
                    &self.qbox,
                    now,
                ) {
                    Ok((outcome, f)) => (
                        true,
                        format!(
                            "process {pid}: {outcome}; {} quarantined as {}",
                            f.original_path, f.id
                        ),
                        serde_json::json!({ "outcome": outcome.to_string(), "file": json(&f) }),
                    ),
                    Err(e) => (false, e.to_string(), serde_json::Value::Null),
                }
            }
            CommandAction::RestoreFile {
                quarantine_id,
                overwrite,
            } => match self.qbox.restore(quarantine_id, *overwrite, now) {
                Ok(r) => (
                    true,
                    format!("{} restored", r.file.original_path),
                    serde_json::json!({ "file": json(&r.file) }),
                ),
                Err(e) => (false, e.to_string(), serde_json::Value::Null),
            },
            CommandAction::BlockIp {
                rule_id,
                target,
                direction,
                until,
            } => {
                let secs = match until {
                    Some(u) if *u <= now => {
                        return (
                            false,
                            format!("the block of {target} ended before it reached this host"),
                            serde_json::Value::Null,
                        )
                    }
                    Some(u) => Some((*u - now) as u64),
                    None => None,
                };
                let done = self
                    .firewall
                    .ensure()
                    .and_then(|()| self.firewall.block(target, *direction, secs));
                match done {
                    Ok(net) => (
                        true,
                        match until {
                            Some(u) => format!(
                                "{net} blocked ({}) until {}",
                                direction.as_str(),
                                chrono::DateTime::from_timestamp(*u, 0)
                                    .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                                    .unwrap_or_else(|| u.to_string())
                            ),
                            None => {
                                format!("{net} blocked ({}) until unblocked", direction.as_str())
                            }
                        },
                        serde_json::json!({ "rule_id": rule_id, "target": net.to_string() }),
                    ),
                    Err(e) => (false, e.to_string(), serde_json::Value::Null),
                }
            }
            CommandAction::UnblockIp {
                rule_id,
                target,
                direction,
            } => match self.firewall.unblock(target, *direction) {
                Ok(was) => (
                    true,
                    if was {
                        format!("{target} unblocked ({})", direction.as_str())
                    } else {
                        format!("{target} was not blocked ({}) any more", direction.as_str())
                    },
                    serde_json::json!({ "rule_id": rule_id, "was_blocked": was }),
                ),
                Err(e) => (false, e.to_string(), serde_json::Value::Null),
            },
            // The run loop does the work (it owns the collector and the channel).
            CommandAction::ReportInventory => (
                true,
                "a fresh inventory is being collected and sent".into(),
                serde_json::Value::Null,
            ),
        }
    }

    /// Whether a `report_inventory` command ran since the last call: the run loop then collects
    /// and sends a full inventory at once.
    pub fn take_inventory_request(&mut self) -> bool {
        std::mem::take(&mut self.inventory_requested)
    }

    /// Purges quarantined files older than 30 days, at most once an hour.
    pub fn purge(&mut self, now: i64) {
        if now - self.last_purge < 3600 {
            return;
        }
        self.last_purge = now;
        match self.qbox.purge_expired(now, RETENTION_SECS) {
            Ok(ids) if !ids.is_empty() => {
                tracing::info!(purged = ids.len(), "quarantined files past 30 days purged")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purging the quarantine box failed"),
        }
    }
}
