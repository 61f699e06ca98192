//! The scheduler with fake monitors, on tokio's paused clock: intervals, spooling, policy,
//! rescans, reports, an unknown host and a monitor that panics.

use super::*;
use vigil_model::EventBody;
use vigil_proto::agent::AgentError;

#[derive(Debug, Default)]
struct Log {
    polls: Vec<Timestamp>,
    inventory_secs: Vec<u64>,
    reported: Vec<Result<(), String>>,
}

struct Fake {
    name: &'static str,
    interval: Duration,
    rescans: bool,
    report: bool,
    panics: bool,
    log: Arc<Mutex<Log>>,
}

impl Fake {
    fn new(name: &'static str, interval: Duration) -> (Fake, Arc<Mutex<Log>>) {
        let log = Arc::new(Mutex::new(Log::default()));
        let fake = Fake {
            name,
            interval,
            rescans: false,
            report: false,
            panics: false,
            log: log.clone(),
        };
        (fake, log)
    }
}

fn event(n: usize) -> Event {
    Event {
        time: n as i64,
        body: EventBody::LoginFailures {
            source: None,
            service: "sshd".into(),
            failures: 1,
            users: Vec::new(),
            first: 0,
            last: 0,
        },
    }
}

impl Monitor for Fake {
    fn name(&self) -> &'static str {
        self.name
    }
    fn interval(&self) -> Duration {
        self.interval
    }
    fn apply_policy(&mut self, policy: &Policy) {
        let mut log = self.log.lock().unwrap();
        log.inventory_secs.push(policy.settings.inventory_secs);
    }
    fn poll(&mut self, now: Timestamp) -> Poll {
        assert!(!self.panics, "this monitor always fails");
        let mut log = self.log.lock().unwrap();
        log.polls.push(now);
        Poll {
            events: vec![event(log.polls.len())],
            report: self.report.then(|| Report {
                path: "/agent/v1/test",
                body: b"full".to_vec(),
            }),
        }
    }
    fn reported(&mut self, _now: Timestamp, outcome: Result<(), String>) {
        self.log.lock().unwrap().reported.push(outcome);
    }
    fn rescan(&mut self) -> bool {
        self.rescans
    }
    fn health(&self) -> MonitorHealth {
        let log = self.log.lock().unwrap();
        MonitorHealth {
            name: self.name.into(),
            state: MonitorState::Running,
            last_run: log.polls.last().copied(),
            last_error: None,
            unreadable: vec![format!("{} polls", log.polls.len())],
        }
    }
}

/// The paths posted so far.
type Posted = Arc<Mutex<Vec<&'static str>>>;

/// Posts nothing; answers each report with the next of `answers` (then `Ok`), and keeps paths.
fn outlet(
    dir: &std::path::Path,
    answers: Vec<Result<(), CallError>>,
) -> (Outlet, Posted, watch::Receiver<Option<String>>) {
    let posted = Arc::new(Mutex::new(Vec::new()));
    let answers = Arc::new(Mutex::new(answers.into_iter()));
    let p = posted.clone();
    let post: Post = Arc::new(move |path, _body| {
        p.lock().unwrap().push(path);
        let answer = answers.lock().unwrap().next().unwrap_or(Ok(()));
        Box::pin(async move { answer })
    });
    let (fatal, fatal_rx) = watch::channel(None);
    let outlet = Outlet {
        spool: Arc::new(Mutex::new(Spool::open(dir, 1 << 20).unwrap())),
        wake: Arc::new(Notify::new()),
        post,
        fatal,
    };
    (outlet, posted, fatal_rx)
}

fn polls(log: &Arc<Mutex<Log>>) -> usize {
    log.lock().unwrap().polls.len()
}

#[tokio::test(start_paused = true)]
async fn each_monitor_runs_on_its_own_interval_and_its_events_are_spooled() {
    let dir = tempfile::tempdir().unwrap();
    let (fast, fast_log) = Fake::new("fast", Duration::from_millis(100));
    let (slow, slow_log) = Fake::new("slow", Duration::from_secs(3600));
    let (out, _, _) = outlet(dir.path(), Vec::new());
    let s = Scheduler::start(
        vec![Box::new(fast), Box::new(slow)],
        Policy::default(),
        out.clone(),
    );
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (f, sl) = (polls(&fast_log), polls(&slow_log));
    assert!((10..=12).contains(&f), "fast ran {f} times");
    assert_eq!(
        sl, 1,
        "the slow one runs once at start, then waits its hour"
    );
    let pending = out.spool.lock().unwrap().stats().pending_batches as usize;
    assert_eq!(pending, f + sl);
    // The sender was woken (the permit is waiting).
    tokio::time::timeout(Duration::from_millis(1), out.wake.notified())
        .await
        .expect("the sender is woken");
    let health = s.health();
    let names: Vec<&str> = health.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["fast", "slow"], "in the list's order");
    assert!(health.iter().all(|h| h.last_run.is_some()));
    s.stop().await;
    let after = polls(&fast_log);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(polls(&fast_log), after, "nothing runs once stopped");
}

#[tokio::test(start_paused = true)]
async fn policy_changes_and_rescans_reach_the_monitors() {
    let dir = tempfile::tempdir().unwrap();
    let (mut scans, scans_log) = Fake::new("scans", Duration::from_secs(3600));
    scans.rescans = true;
    let (other, other_log) = Fake::new("other", Duration::from_secs(3600));
    let (out, _, _) = outlet(dir.path(), Vec::new());
    let s = Scheduler::start(
        vec![Box::new(scans), Box::new(other)],
        Policy::default(),
        out,
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(scans_log.lock().unwrap().inventory_secs, vec![600]);
    s.apply_policy(Policy {
        settings: AgentSettings {
            heartbeat_secs: 10,
            inventory_secs: 7,
        },
        login: None,
        baseline: Default::default(),
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(scans_log.lock().unwrap().inventory_secs, vec![600, 7]);
    assert_eq!(other_log.lock().unwrap().inventory_secs, vec![600, 7]);
    assert_eq!(polls(&scans_log), 1, "a policy change is not a run");
    s.rescan();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        polls(&scans_log),
        2,
        "a monitor with a full report runs at once"
    );
    assert_eq!(polls(&other_log), 1, "one without is left alone");
}

#[tokio::test(start_paused = true)]
async fn reports_are_posted_and_an_unknown_host_stops_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let (mut m, log) = Fake::new("reports", Duration::from_secs(1));
    m.report = true;
    let gone = AgentError {
        code: "host_unknown".into(),
        message: "this host is not known".into(),
    };
    let (out, posted, mut fatal) = outlet(
        dir.path(),
        vec![
            Err(CallError::Retry("connection refused".into())),
            Ok(()),
            Err(CallError::Identity(gone)),
        ],
    );
    let _s = Scheduler::start(vec![Box::new(m)], Policy::default(), out);
    tokio::time::timeout(Duration::from_secs(10), fatal.changed())
        .await
        .expect("the agent is told to stop")
        .unwrap();
    assert_eq!(fatal.borrow().as_deref(), Some("this host is not known"));
    assert_eq!(*posted.lock().unwrap(), ["/agent/v1/test"; 3]);
    let reported = log.lock().unwrap().reported.clone();
    assert_eq!(reported.len(), 2, "{reported:?}");
    assert!(reported[0]
        .as_ref()
        .unwrap_err()
        .contains("connection refused"));
    assert_eq!(reported[1], Ok(()));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(polls(&log), 3, "the monitor stopped with the agent");
}

#[tokio::test(start_paused = true)]
async fn a_monitor_that_panics_is_reported_failed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bad, _) = Fake::new("bad", Duration::from_millis(100));
    bad.panics = true;
    let (good, good_log) = Fake::new("good", Duration::from_millis(100));
    let (out, _, _) = outlet(dir.path(), Vec::new());
    let s = Scheduler::start(vec![Box::new(bad), Box::new(good)], Policy::default(), out);
    tokio::time::sleep(Duration::from_millis(550)).await;
    let h = s.health();
    assert_eq!(h[0].state, MonitorState::Failed);
    assert!(
        h[0].last_error.as_ref().unwrap().contains("stopped"),
        "{h:?}"
    );
    assert!(polls(&good_log) >= 5, "the others go on");
}
