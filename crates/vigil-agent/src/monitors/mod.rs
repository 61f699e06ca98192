//! The agent's monitors and their scheduler: each monitor is one file behind [`Monitor`], polled
//! on its own interval on the blocking pool; its events go to the spool, its report (if any) is
//! posted as it is, and its health rides on every heartbeat.
//!
//! Adding a monitor: a file here implementing [`Monitor`] and one line in [`all`].

pub mod baseline;
pub mod files;
pub mod firewall;
pub mod inventory;
pub mod logins;

use crate::client::{unix_now, CallError};
use crate::run::AgentConfig;
use crate::spool::Spool;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use vigil_model::{Event, Timestamp};
use vigil_proto::agent::{AgentSettings, BaselineSchedule};
pub use vigil_proto::agent::{MonitorHealth, MonitorState};

/// What the server's heartbeat answer asks of the monitors.
#[derive(Debug, Clone)]
pub struct Policy {
    pub settings: AgentSettings,
    /// The login defense, checked; `None` until the server sent settings valid here.
    pub login: Option<LoginPolicy>,
    /// When the baseline runs (checked).
    pub baseline: BaselineSchedule,
}

/// The brute-force rule to enforce and what its blocks must never cover.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    pub config: vigil_detect::bruteforce::BruteForceConfig,
    /// The management server, the proxy and the access whitelist.
    pub protected: Vec<crate::firewall::Protected>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            settings: AgentSettings {
                heartbeat_secs: 10,
                inventory_secs: 600,
            },
            login: None,
            baseline: BaselineSchedule::default(),
        }
    }
}

/// A body posted to the server as it is, not spooled (the full inventory).
#[derive(Debug, Clone)]
pub struct Report {
    pub path: &'static str,
    pub body: Vec<u8>,
}

/// What one run of a monitor produced.
#[derive(Debug, Default)]
pub struct Poll {
    /// Appended to the spool, in order.
    pub events: Vec<Event>,
    /// Posted after the events are spooled; the outcome goes to [`Monitor::reported`].
    pub report: Option<Report>,
}

impl From<Vec<Event>> for Poll {
    fn from(events: Vec<Event>) -> Poll {
        Poll {
            events,
            report: None,
        }
    }
}

/// The health of a monitor that last ran at `last_run`: degraded while `last_error` says what
/// it misses, running otherwise.
pub fn health_of(
    name: &str,
    last_run: Option<Timestamp>,
    last_error: &Option<String>,
    unreadable: Vec<String>,
) -> MonitorHealth {
    MonitorHealth {
        name: name.into(),
        state: if last_error.is_some() {
            MonitorState::Degraded
        } else {
            MonitorState::Running
        },
        last_run,
        last_error: last_error.clone(),
        unreadable,
    }
}

/// One thing the agent watches. `poll` runs on a blocking thread and may read files or run
/// commands; the other methods are cheap.
pub trait Monitor: Send + 'static {
    fn name(&self) -> &'static str;
    /// Pause between the end of one run and the start of the next (read after every run).
    fn interval(&self) -> Duration;
    /// Takes what it needs from the server's policy; called at start and on every change.
    fn apply_policy(&mut self, _policy: &Policy) {}
    fn poll(&mut self, now: Timestamp) -> Poll;
    /// Whether the report of the run at `now` was delivered (`Err`: why not).
    fn reported(&mut self, _now: Timestamp, _outcome: Result<(), String>) {}
    /// The server asked for a full report now; `true` when this monitor has one, so it runs at
    /// once.
    fn rescan(&mut self) -> bool {
        false
    }
    fn health(&self) -> MonitorHealth;
}

/// The monitors this agent runs, in the order their health is reported.
pub fn all(
    cfg: &AgentConfig,
    firewall: &crate::firewall::Firewall,
    now: Timestamp,
) -> Vec<Box<dyn Monitor>> {
    vec![
        Box::new(inventory::InventoryMonitor::new(cfg)),
        Box::new(logins::LoginMonitor::new(cfg, firewall.clone(), now)),
        Box::new(firewall::FirewallMonitor::new(firewall.clone())),
        Box::new(baseline::BaselineMonitor::new(cfg)),
        Box::new(files::FilesMonitor::new(cfg)),
    ]
}

/// Posts a report to the server (the agent's signed channel; something simpler in tests).
pub type Post = Arc<
    dyn Fn(&'static str, Vec<u8>) -> Pin<Box<dyn Future<Output = Result<(), CallError>> + Send>>
        + Send
        + Sync,
>;

/// Where the monitors' output goes.
#[derive(Clone)]
pub struct Outlet {
    pub spool: Arc<Mutex<Spool>>,
    /// Woken when events were spooled.
    pub wake: Arc<Notify>,
    pub post: Post,
    /// Set when the server says this host is gone; the agent stops.
    pub fatal: watch::Sender<Option<String>>,
}

/// Runs every monitor in its own task until dropped (or [`Scheduler::stop`]).
pub struct Scheduler {
    policy: watch::Sender<Policy>,
    rescan: watch::Sender<u64>,
    health: Arc<Mutex<Vec<MonitorHealth>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts the monitors under `policy`; each runs once at once, then on its interval.
    pub fn start(monitors: Vec<Box<dyn Monitor>>, policy: Policy, outlet: Outlet) -> Scheduler {
        let health = Arc::new(Mutex::new(
            monitors.iter().map(|m| m.health()).collect::<Vec<_>>(),
        ));
        let (policy, _) = watch::channel(policy);
        let (rescan, _) = watch::channel(0u64);
        let tasks = monitors
            .into_iter()
            .enumerate()
            .map(|(slot, m)| {
                tokio::spawn(drive(
                    m,
                    Slot {
                        index: slot,
                        health: health.clone(),
                    },
                    outlet.clone(),
                    policy.subscribe(),
                    rescan.subscribe(),
                ))
            })
            .collect();
        Scheduler {
            policy,
            rescan,
            health,
            tasks,
        }
    }

    /// Hands a new policy to every monitor (before its next run).
    pub fn apply_policy(&self, policy: Policy) {
        self.policy.send_replace(policy);
    }

    /// Asks every monitor for a full report now.
    pub fn rescan(&self) {
        self.rescan.send_modify(|n| *n += 1);
    }

    /// Each monitor's health as of its last run, in [`all`]'s order.
    pub fn health(&self) -> Vec<MonitorHealth> {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops every monitor; a run in progress finishes on its thread and is dropped.
    pub async fn stop(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A monitor's place in the health list.
struct Slot {
    index: usize,
    health: Arc<Mutex<Vec<MonitorHealth>>>,
}

impl Slot {
    fn publish(&self, h: MonitorHealth) {
        if let Some(s) = self
            .health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(self.index)
        {
            *s = h;
        }
    }
}

/// One monitor's life: wait for its time (or a policy change, or a rescan), run it off the
/// async thread, spool its events, post its report, publish its health.
async fn drive(
    mut monitor: Box<dyn Monitor>,
    slot: Slot,
    outlet: Outlet,
    mut policy: watch::Receiver<Policy>,
    mut rescan: watch::Receiver<u64>,
) {
    let name = monitor.name();
    let p = policy.borrow_and_update().clone();
    monitor.apply_policy(&p);
    rescan.borrow_and_update();
    slot.publish(monitor.health());
    let mut next = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            Ok(()) = policy.changed() => {
                let p = policy.borrow_and_update().clone();
                monitor.apply_policy(&p);
                slot.publish(monitor.health());
                continue;
            }
            Ok(()) = rescan.changed() => {
                rescan.borrow_and_update();
                if !monitor.rescan() {
                    continue;
                }
            }
        }
        let started = Instant::now();
        let now = unix_now();
        let ran = tokio::task::spawn_blocking(move || {
            let poll = monitor.poll(now);
            (monitor, poll)
        })
        .await;
        let poll;
        (monitor, poll) = match ran {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(monitor = name, error = %e, "monitor stopped");
                slot.publish(MonitorHealth {
                    name: name.to_string(),
                    state: MonitorState::Failed,
                    last_run: Some(now),
                    last_error: Some(format!("the monitor stopped: {e}")),
                    unreadable: Vec::new(),
                });
                return;
            }
        };
        if !poll.events.is_empty() {
            outlet
                .spool
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .append(poll.events);
            outlet.wake.notify_one();
        }
        if let Some(report) = poll.report {
            match (outlet.post)(report.path, report.body).await {
                Ok(()) => monitor.reported(now, Ok(())),
                Err(CallError::Identity(e)) => {
                    let _ = outlet.fatal.send(Some(e.message));
                    return;
                }
                Err(e) => monitor.reported(now, Err(e.to_string())),
            }
        }
        slot.publish(monitor.health());
        // As an interval that delays missed ticks: on the beat, or a full interval after a
        // run that overran it.
        let interval = monitor.interval();
        next = started + interval;
        if next <= Instant::now() {
            next = Instant::now() + interval;
        }
    }
}

#[cfg(test)]
mod tests;
