//! One leg of the bench: a round of alerts through the outbox, timed and verified.

use super::*;

pub(super) struct Leg {
    pub(super) name: &'static str,
    pub(super) first: usize,
    pub(super) n: usize,
    /// Stop the SMTP server this long once a fifth of the leg's mail arrived.
    pub(super) outage_secs: Option<u64>,
}

pub(super) struct Channels {
    pub(super) webhook: i64,
    pub(super) email: i64,
}

/// Whether every alert of a range arrived exactly once on one channel.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct OnceCheck {
    pub(super) received: usize,
    pub(super) lost: usize,
    pub(super) duplicated: usize,
    /// Deliveries naming no alert of the range.
    pub(super) unknown: usize,
}

impl OnceCheck {
    pub(super) fn ok(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unknown == 0
    }
}

pub(super) fn check_once(hits: &[(Option<usize>, f64)], first: usize, n: usize) -> OnceCheck {
    let mut seen = vec![0u32; n];
    let mut c = OnceCheck::default();
    for (index, _) in hits {
        match index {
            Some(i) if (first..first + n).contains(i) => {
                seen[i - first] += 1;
                c.received += 1;
            }
            Some(_) => {}
            None => c.unknown += 1,
        }
    }
    c.lost = seen.iter().filter(|&&k| k == 0).count();
    c.duplicated = seen.iter().filter(|&&k| k > 1).count();
    c
}

/// Per channel figures of a leg.
pub(super) struct ChannelFigures {
    pub(super) check: OnceCheck,
    /// First alert sent → last delivery on this channel, seconds.
    pub(super) span_secs: f64,
    pub(super) per_sec: f64,
    /// Batch acknowledged → arrival, ms, sorted.
    pub(super) arrival_ms: Vec<u64>,
    /// Outbox `sent` attempt at − created_at, seconds, sorted.
    pub(super) outbox_secs: Vec<u64>,
    /// Rows by attempts made.
    pub(super) attempts: BTreeMap<i64, usize>,
    /// Failed attempts by code and message.
    pub(super) failures: BTreeMap<(String, String), usize>,
}

pub(super) struct Rounds {
    /// Distinct attempt times of the leg's rows (the dispatcher stamps a round with one time).
    pub(super) count: usize,
    pub(super) max_items: usize,
    pub(super) median_items: usize,
    /// Receiver-side bursts: busy time (first to last delivery) and gap to the next burst.
    pub(super) busy_ms: Vec<u64>,
    pub(super) gap_ms: Vec<u64>,
    /// Time between consecutive deliveries within a burst, by the channel of the later one.
    pub(super) step_email_ms: Vec<u64>,
    pub(super) step_webhook_ms: Vec<u64>,
}

pub(super) struct LegResult {
    pub(super) name: &'static str,
    pub(super) n: usize,
    pub(super) timed_out: bool,
    pub(super) ingest_secs: f64,
    pub(super) batch_ms: Vec<u64>,
    pub(super) send_retries: u64,
    /// First alert sent → last delivery on any channel.
    pub(super) span_secs: f64,
    pub(super) outbox_span_secs: i64,
    pub(super) webhook: ChannelFigures,
    pub(super) email: ChannelFigures,
    pub(super) rows: usize,
    pub(super) rows_not_sent: usize,
    pub(super) rounds: Rounds,
    pub(super) outage: Option<(f64, f64)>,
    /// How the SMTP server went down.
    pub(super) outage_how: &'static str,
    pub(super) cpu_server_pct: f64,
    pub(super) cpu_smtp_pct: f64,
    pub(super) cpu_postgres_pct: f64,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn run_leg(
    args: &Args,
    ctx: &Ctx,
    leg: &Leg,
    agents: &mut Vec<SimAgent>,
    agent_http: &reqwest::Client,
    hooks: &HookLog,
    smtp: &mut SmtpServer,
    channels: &Channels,
) -> Result<LegResult> {
    let db = ctx.db.name();
    let range = leg.first..leg.first + leg.n;
    let floor = read_outbox(&ctx.target, 0)
        .await?
        .keys()
        .next_back()
        .copied()
        .unwrap_or(0);
    let base_hooks = hooks.len();
    let base_mails = smtp.count();
    println!(
        "notify ({db}) leg {}: {} alerts from {} agents in batches of {}{}",
        leg.name,
        leg.n,
        agents.len(),
        args.batch,
        match leg.outage_secs {
            Some(s) => format!(
                ", SMTP server down ({}) {s} s once a fifth of the mail arrived",
                match args.outage {
                    OutageKind::Kill => "killed",
                    OutageKind::Stop => "SIGSTOP",
                }
            ),
            None => String::new(),
        }
    );
    let cpu0 = Cpu::take(smtp.pid());
    let start = Instant::now();
    let sent = send_alerts(
        agents,
        agent_http,
        &ctx.agent_url,
        leg.first,
        leg.n,
        args.batch,
    )
    .await?;
    let ingest_secs = start.elapsed().as_secs_f64();
    println!(
        "  {} alerts acknowledged in {ingest_secs:.2} s ({:.0} alerts/s; each queued its 2 notifications before its ack)",
        leg.n,
        leg.n as f64 / ingest_secs
    );

    let deadline = start + Duration::from_secs(args.timeout_secs);
    let mut outage = None;
    let mut next_progress = Instant::now() + PROGRESS_EVERY;
    let mut timed_out = false;
    let mut smtp_cpu = 0u64;
    loop {
        let h = hooks.len() - base_hooks;
        let m = smtp.count() - base_mails;
        if let (Some(secs), None) = (leg.outage_secs, outage) {
            if m >= (leg.n / 5).max(1) {
                let down = unix_f64(SystemTime::now());
                match args.outage {
                    OutageKind::Kill => {
                        smtp_cpu += Cpu::smtp_ticks(smtp.pid());
                        smtp.kill().await;
                    }
                    OutageKind::Stop => smtp.signal("STOP").await?,
                }
                println!(
                    "  t={:>6.1} s  SMTP server {} after {m} of {} messages; down for {secs} s",
                    start.elapsed().as_secs_f64(),
                    match args.outage {
                        OutageKind::Kill => "killed",
                        OutageKind::Stop => "frozen (SIGSTOP)",
                    },
                    leg.n
                );
                tokio::time::sleep(Duration::from_secs(secs)).await;
                match args.outage {
                    OutageKind::Kill => smtp.start().await?,
                    OutageKind::Stop => smtp.signal("CONT").await?,
                }
                let up = unix_f64(SystemTime::now());
                println!(
                    "  t={:>6.1} s  SMTP server {} (pid {})",
                    start.elapsed().as_secs_f64(),
                    match args.outage {
                        OutageKind::Kill => "started again on the same port",
                        OutageKind::Stop => "resumed (SIGCONT)",
                    },
                    smtp.pid().unwrap_or(0)
                );
                outage = Some((down, up));
                continue;
            }
        }
        if h >= leg.n && m >= leg.n {
            break;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            eprintln!(
                "  TIMEOUT after {} s: webhook {h}/{}, email {m}/{}",
                args.timeout_secs, leg.n, leg.n
            );
            break;
        }
        if Instant::now() >= next_progress {
            next_progress += PROGRESS_EVERY;
            println!(
                "  t={:>6.1} s  delivered: webhook {h}/{}, email {m}/{}",
                start.elapsed().as_secs_f64(),
                leg.n,
                leg.n
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Wait until no row of the leg is pending: after that nothing more can be delivered, so
    // the receivers' counts are final.
    let settle = Instant::now() + Duration::from_secs(SETTLE_SECS);
    let rows = loop {
        let rows = read_outbox(&ctx.target, floor).await?;
        let pending = rows.values().filter(|r| r.state == "pending").count();
        if pending == 0 || timed_out || Instant::now() >= settle {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let cpu = Cpu::take(smtp.pid()).since(&cpu0, smtp_cpu);

    let hook_hits: Vec<(Option<usize>, f64)> = hooks.snapshot()[base_hooks..].to_vec();
    let mails: Vec<(Option<usize>, f64)> = smtp
        .messages()?
        .into_iter()
        .filter(|(i, _)| i.is_none_or(|i| range.contains(&i)))
        .collect();
    let first_sent = sent
        .times
        .values()
        .map(|(s, _)| *s)
        .fold(f64::INFINITY, f64::min);
    let figures = |hits: &[(Option<usize>, f64)], channel: i64| {
        let check = check_once(hits, leg.first, leg.n);
        let last = hits.iter().map(|(_, t)| *t).fold(first_sent, f64::max);
        let span_secs = last - first_sent;
        let mut first_arrival: HashMap<usize, f64> = HashMap::new();
        for (i, t) in hits {
            if let Some(i) = i {
                let e = first_arrival.entry(*i).or_insert(*t);
                *e = e.min(*t);
            }
        }
        let mut arrival_ms: Vec<u64> = first_arrival
            .iter()
            .filter_map(|(i, t)| {
                let (_, acked) = sent.times.get(i)?;
                Some(((t - acked).max(0.0) * 1000.0) as u64)
            })
            .collect();
        arrival_ms.sort_unstable();
        let mine: Vec<&OutboxInfo> = rows.values().filter(|r| r.channel_id == channel).collect();
        let mut outbox_secs: Vec<u64> = mine
            .iter()
            .filter_map(|r| Some((r.sent_at()? - r.created_at).max(0) as u64))
            .collect();
        outbox_secs.sort_unstable();
        let mut attempts = BTreeMap::new();
        let mut failures: BTreeMap<(String, String), usize> = BTreeMap::new();
        for r in &mine {
            *attempts.entry(r.attempts.len() as i64).or_insert(0) += 1;
            for (_, _, o) in &r.attempts {
                let o = OutboxInfo::outcome(o);
                if o["outcome"] == "failed" {
                    let code = o["code"].as_str().unwrap_or("?").to_string();
                    let message = o["message"].as_str().unwrap_or("").to_string();
                    *failures.entry((code, message)).or_insert(0) += 1;
                }
            }
        }
        ChannelFigures {
            per_sec: check.received as f64 / span_secs.max(1e-9),
            check,
            span_secs,
            arrival_ms,
            outbox_secs,
            attempts,
            failures,
        }
    };
    let webhook = figures(&hook_hits, channels.webhook);
    let email = figures(&mails, channels.email);
    let last_any = hook_hits
        .iter()
        .chain(&mails)
        .map(|(_, t)| *t)
        .fold(first_sent, f64::max);
    let created_min = rows.values().map(|r| r.created_at).min().unwrap_or(0);
    let sent_max = rows.values().filter_map(|r| r.sent_at()).max().unwrap_or(0);

    let mut all: Vec<(f64, bool)> = hook_hits
        .iter()
        .map(|(_, t)| (*t, false))
        .chain(mails.iter().map(|(_, t)| (*t, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut per_at: BTreeMap<i64, usize> = BTreeMap::new();
    for r in rows.values() {
        for (_, at, _) in &r.attempts {
            *per_at.entry(*at).or_insert(0) += 1;
        }
    }
    let mut sizes: Vec<usize> = per_at.values().copied().collect();
    sizes.sort_unstable();
    let rounds = analyse_rounds(&all, sizes);

    Ok(LegResult {
        name: leg.name,
        n: leg.n,
        timed_out,
        ingest_secs,
        batch_ms: sent.batch_ms,
        send_retries: sent.retries,
        span_secs: last_any - first_sent,
        outbox_span_secs: sent_max - created_min,
        webhook,
        email,
        rows: rows.len(),
        rows_not_sent: rows.values().filter(|r| r.state != "sent").count(),
        rounds,
        outage,
        outage_how: match args.outage {
            OutageKind::Kill => "killed, then started again on the same port",
            OutageKind::Stop => "frozen with SIGSTOP, then resumed with SIGCONT",
        },
        cpu_server_pct: cpu.pct(cpu.server),
        cpu_smtp_pct: cpu.pct(cpu.smtp),
        cpu_postgres_pct: cpu.pct(cpu.postgres),
    })
}

/// Dispatcher rounds as the receivers saw them: deliveries (time, is email), sorted.
pub(super) fn analyse_rounds(all: &[(f64, bool)], sizes: Vec<usize>) -> Rounds {
    let mut busy_ms = Vec::new();
    let mut gap_ms = Vec::new();
    let mut step_email_ms = Vec::new();
    let mut step_webhook_ms = Vec::new();
    let mut burst_start = all.first().map(|d| d.0);
    for w in all.windows(2) {
        let dt = w[1].0 - w[0].0;
        if dt > ROUND_GAP_SECS {
            if let Some(s) = burst_start {
                busy_ms.push(((w[0].0 - s) * 1000.0) as u64);
            }
            gap_ms.push((dt * 1000.0) as u64);
            burst_start = Some(w[1].0);
        } else if w[1].1 {
            step_email_ms.push((dt * 1e6) as u64);
        } else {
            step_webhook_ms.push((dt * 1e6) as u64);
        }
    }
    if let (Some(s), Some(last)) = (burst_start, all.last()) {
        busy_ms.push(((last.0 - s) * 1000.0) as u64);
    }
    for v in [
        &mut busy_ms,
        &mut gap_ms,
        &mut step_email_ms,
        &mut step_webhook_ms,
    ] {
        v.sort_unstable();
    }
    Rounds {
        count: sizes.len(),
        max_items: sizes.last().copied().unwrap_or(0),
        median_items: sizes.get(sizes.len() / 2).copied().unwrap_or(0),
        busy_ms,
        gap_ms,
        step_email_ms,
        step_webhook_ms,
    }
}

/// CPU time around a leg: the server's threads, the SMTP child, PostgreSQL's processes.
pub(super) struct Cpu {
    pub(super) at: Instant,
    pub(super) server: u64,
    pub(super) smtp: u64,
    pub(super) postgres: u64,
}

/// CPU ticks used over an interval.
pub(super) struct CpuDelta {
    pub(super) secs: f64,
    pub(super) server: u64,
    pub(super) smtp: u64,
    pub(super) postgres: u64,
}

impl Cpu {
    pub(super) fn take(smtp_pid: Option<u32>) -> Cpu {
        Cpu {
            at: Instant::now(),
            server: procfs::own_thread_ticks(SERVER_THREADS),
            smtp: Cpu::smtp_ticks(smtp_pid),
            postgres: procfs::processes_ticks("postgres"),
        }
    }

    pub(super) fn smtp_ticks(pid: Option<u32>) -> u64 {
        pid.and_then(procfs::cpu_ticks).unwrap_or(0)
    }

    /// The difference; `smtp_killed` holds the ticks of an SMTP child killed meanwhile (the
    /// one `before` measured), 0 when it still runs.
    pub(super) fn since(&self, before: &Cpu, smtp_killed: u64) -> CpuDelta {
        let smtp = if smtp_killed > 0 {
            smtp_killed.saturating_sub(before.smtp) + self.smtp
        } else {
            self.smtp.saturating_sub(before.smtp)
        };
        CpuDelta {
            secs: (self.at - before.at).as_secs_f64(),
            server: self.server.saturating_sub(before.server),
            smtp,
            postgres: self.postgres.saturating_sub(before.postgres),
        }
    }
}

impl CpuDelta {
    /// Ticks as a percentage of one core over the interval.
    pub(super) fn pct(&self, ticks: u64) -> f64 {
        ticks as f64 / procfs::TICKS_PER_SEC * 100.0 / self.secs.max(1e-9)
    }
}
