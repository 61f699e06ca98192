//! Human tables and `--json` lines for the operator CLI, from the typed bodies of
//! `vigil_proto::api`.

use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use vigil_model::Inventory;
use vigil_notify::ChannelKind;
use vigil_proto::api::*;

/// The wire name of an enum value (`urgent`, `kill_process`), as the API spells it.
pub fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// [`time`] of an optional time; empty for none.
pub fn time_opt(t: Option<i64>) -> String {
    t.map(time).unwrap_or_default()
}

/// Prints rows under headers, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for r in rows {
        line(r.clone());
    }
}

/// One JSON line per item.
fn json_lines<T: Serialize>(items: &[T]) -> Result<()> {
    for i in items {
        println!("{}", serde_json::to_string(i)?);
    }
    Ok(())
}

/// The body as one JSON line, or a human sentence.
pub fn one<T: Serialize>(v: &T, json: bool, human: &str) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(v)?);
    } else {
        println!("{human}");
    }
    Ok(())
}

fn pairs(m: &BTreeMap<String, String>, sep: &str) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(sep)
}

pub fn created_code(c: &CreatedInstallCode, json: bool) -> Result<()> {
    if json {
        return one(c, true, "");
    }
    println!(
        "install code {} for group {} (valid until {} UTC)",
        c.view.id,
        c.view.group,
        time(c.view.expires_at)
    );
    println!("run this as root on each host to protect (shown only now):\n");
    println!("  {}\n", c.command);
    Ok(())
}

pub fn codes(v: &InstallCodeList, json: bool) -> Result<()> {
    if json {
        return json_lines(&v.codes);
    }
    let rows: Vec<Vec<String>> = v
        .codes
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                format!("{}…", c.hint),
                c.group.clone(),
                name(&c.state),
                match c.max_hosts {
                    Some(max) => format!("{}/{max}", c.uses),
                    None => c.uses.to_string(),
                },
                time(c.expires_at),
                pairs(&c.labels, ","),
            ]
        })
        .collect();
    table(
        &[
            "id",
            "code",
            "group",
            "state",
            "uses",
            "expires (utc)",
            "labels",
        ],
        &rows,
    );
    Ok(())
}

pub fn hosts(v: &HostList, json: bool) -> Result<()> {
    if json {
        return json_lines(&v.hosts);
    }
    let rows: Vec<Vec<String>> = v
        .hosts
        .iter()
        .map(|h| {
            let n = |k: &str| h.alerts.get(k).copied().unwrap_or(0);
            vec![
                h.id.clone(),
                h.hostname.clone(),
                h.state.as_str().to_string(),
                h.group.clone(),
                h.os.clone(),
                h.ips.join(","),
                time_opt(h.last_seen),
                format!("{}/{}/{}", n("urgent"), n("suspicious"), n("reminder")),
            ]
        })
        .collect();
    table(
        &[
            "id",
            "hostname",
            "state",
            "group",
            "os",
            "ips",
            "last seen (utc)",
            "alerts u/s/r",
        ],
        &rows,
    );
    Ok(())
}

/// One section of a host's inventory (`--section`).
fn section(inv: &Inventory, section: &str, json: bool) -> Result<()> {
    match section {
        "system" | "os" => {
            if json {
                return one(&inv.os, true, "");
            }
            if let serde_json::Value::Object(m) = serde_json::to_value(&inv.os)? {
                for (k, v) in m {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    println!("{k:<16} {v}");
                }
            }
        }
        "processes" => {
            if json {
                return json_lines(&inv.processes);
            }
            let rows: Vec<Vec<String>> = inv
                .processes
                .iter()
                .map(|p| {
                    vec![
                        p.pid.to_string(),
                        p.ppid.to_string(),
                        p.user.clone(),
                        p.name.clone(),
                        p.exe.clone(),
                        p.cmdline.clone(),
                    ]
                })
                .collect();
            table(&["pid", "ppid", "user", "name", "exe", "cmdline"], &rows);
        }
        "ports" | "sockets" => {
            if json {
                return json_lines(&inv.sockets);
            }
            let rows: Vec<Vec<String>> = inv
                .sockets
                .iter()
                .map(|s| {
                    vec![
                        s.protocol.as_str().to_string(),
                        s.address.clone(),
                        s.port.to_string(),
                        s.pid.to_string(),
                        s.process.clone(),
                    ]
                })
                .collect();
            table(&["protocol", "address", "port", "pid", "process"], &rows);
        }
        "accounts" => {
            if json {
                return json_lines(&inv.accounts);
            }
            let rows: Vec<Vec<String>> = inv
                .accounts
                .iter()
                .map(|a| {
                    vec![
                        a.name.clone(),
                        a.uid.to_string(),
                        a.gid.to_string(),
                        a.shell.clone(),
                        name(&a.password),
                        a.admin.to_string(),
                        a.login_shell.to_string(),
                    ]
                })
                .collect();
            table(
                &[
                    "name",
                    "uid",
                    "gid",
                    "shell",
                    "password",
                    "admin",
                    "login_shell",
                ],
                &rows,
            );
        }
        "packages" => {
            if json {
                return json_lines(&inv.packages);
            }
            let rows: Vec<Vec<String>> = inv
                .packages
                .iter()
                .map(|p| {
                    vec![
                        name(&p.format),
                        p.name.clone(),
                        p.version.clone(),
                        p.arch.clone(),
                        p.source.clone(),
                        p.source_version.clone(),
                    ]
                })
                .collect();
            table(
                &[
                    "format",
                    "name",
                    "version",
                    "arch",
                    "source",
                    "source_version",
                ],
                &rows,
            );
        }
        other => anyhow::bail!(
            "section {other:?} is not one of system, processes, ports, accounts, packages"
        ),
    }
    Ok(())
}

pub fn host(
    host: &HostView,
    inv: Option<&Inventory>,
    part: Option<&str>,
    json: bool,
) -> Result<()> {
    if let Some(part) = part {
        let inv = inv.expect("section requested only with fingerprints");
        return section(inv, part, json);
    }
    if json {
        #[derive(Serialize)]
        struct WithInventory<'a> {
            #[serde(flatten)]
            host: &'a HostView,
            #[serde(skip_serializing_if = "Option::is_none")]
            fingerprints: Option<&'a Inventory>,
        }
        return one(
            &WithInventory {
                host,
                fingerprints: inv,
            },
            true,
            "",
        );
    }
    for (label, value) in [
        ("id", host.id.as_str()),
        ("hostname", &host.hostname),
        ("state", host.state.as_str()),
        ("group", &host.group),
        ("os", &host.os),
        ("kernel", &host.kernel),
        ("agent", &host.agent_version),
    ] {
        println!("{label:<12} {value}");
    }
    println!("{:<12} {}", "labels", pairs(&host.labels, ","));
    let spool = &host.agent.spool;
    println!(
        "{:<12} {} KiB resident; spool: {} batches pending, {} events dropped, {} failed writes",
        "agent health",
        host.agent.rss_kb,
        spool.pending_batches,
        spool.dropped_events,
        spool.write_failures
    );
    for m in &host.monitors {
        let mut problem = m
            .last_error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        if !m.unreadable.is_empty() {
            problem.push_str(&format!(" (cannot read {})", m.unreadable.join(", ")));
        }
        println!("{:<12} {} {}{problem}", "monitor", m.name, name(&m.state));
    }
    println!("{:<12} {}", "enrolled", time(host.enrolled_at));
    println!("{:<12} {}", "last seen", time_opt(host.last_seen));
    if let Some(inv) = inv {
        println!(
            "{:<12} {} processes, {} listening sockets, {} accounts, {} packages (collected {})",
            "inventory",
            inv.processes.len(),
            inv.sockets.len(),
            inv.accounts.len(),
            inv.packages.len(),
            time(inv.collected_at)
        );
        println!(
            "             see: vigil hosts show {} --section processes|ports|accounts|packages",
            host.id
        );
    }
    Ok(())
}

pub fn alerts(v: &AlertList, json: bool) -> Result<()> {
    if json {
        return json_lines(&v.alerts);
    }
    let rows: Vec<Vec<String>> = v
        .alerts
        .iter()
        .map(|a| {
            vec![
                a.id.to_string(),
                a.level.as_str().to_string(),
                a.status.as_str().to_string(),
                a.hostname.clone(),
                a.kind.as_str().to_string(),
                a.name.clone(),
                a.count.to_string(),
                time(a.last_seen),
            ]
        })
        .collect();
    table(
        &[
            "id",
            "level",
            "status",
            "host",
            "kind",
            "name",
            "count",
            "last seen (utc)",
        ],
        &rows,
    );
    let more = if v.total_capped { "+" } else { "" };
    println!("{} of {}{more} alerts", v.alerts.len(), v.total);
    Ok(())
}

pub fn alert(a: &AlertView, json: bool) -> Result<()> {
    if json {
        return one(a, true, "");
    }
    for (label, value) in [
        ("id", a.id.to_string()),
        ("name", a.name.clone()),
        ("level", a.level.as_str().to_string()),
        ("status", a.status.as_str().to_string()),
        ("kind", a.kind.as_str().to_string()),
        ("host", a.hostname.clone()),
        ("count", a.count.to_string()),
        ("tactic", a.tactic.clone()),
        ("first seen", time(a.first_seen)),
        ("last seen", time(a.last_seen)),
    ] {
        println!("{label:<12} {value}");
    }
    println!("evidence:");
    for e in &a.evidence {
        println!("  {:<12} {}", e.name, e.value);
    }
    Ok(())
}

pub fn handled(v: &HandleResponse, json: bool) -> Result<()> {
    if json {
        json_lines(&v.results)?;
    } else {
        for r in &v.results {
            println!("{:<10} {}", r.outcome, r.message);
        }
    }
    if v.results.iter().any(|r| r.outcome != "changed") {
        anyhow::bail!("not every alert was changed (see above)");
    }
    Ok(())
}

pub fn rules(v: &WhitelistRuleList, json: bool) -> Result<()> {
    if json {
        return json_lines(&v.rules);
    }
    let rows: Vec<Vec<String>> = v
        .rules
        .iter()
        .map(|r| {
            let scope = match r.scope_value.as_str() {
                "" => name(&r.scope),
                v => format!("{} {v}", name(&r.scope)),
            };
            vec![
                r.id.to_string(),
                r.kind.as_str().to_string(),
                scope,
                pairs(&r.fields, ", "),
                r.created_by.clone(),
                time(r.created_at),
                r.note.clone(),
            ]
        })
        .collect();
    table(
        &["id", "kind", "scope", "key", "by", "created (utc)", "note"],
        &rows,
    );
    Ok(())
}

pub fn score(v: &FleetScore, json: bool) -> Result<()> {
    if json {
        return one(v, true, "");
    }
    println!("fleet score {} ({})", v.fleet.score, v.fleet.band);
    let rows: Vec<Vec<String>> = v
        .hosts
        .iter()
        .map(|h| {
            let costs = h
                .score
                .deductions
                .iter()
                .map(|(what, points)| format!("{what} -{points}"))
                .collect::<Vec<_>>()
                .join(", ");
            let cap = h
                .score
                .capped_at
                .map(|c| format!("capped at {c}"))
                .unwrap_or_default();
            vec![
                h.host_id.clone(),
                h.hostname.clone(),
                h.score.score.to_string(),
                h.score.band.clone(),
                costs,
                cap,
            ]
        })
        .collect();
    table(
        &["host", "hostname", "score", "band", "deductions", ""],
        &rows,
    );
    Ok(())
}

pub fn channels(v: &ChannelList, json: bool) -> Result<()> {
    if json {
        return json_lines(&v.channels);
    }
    let rows: Vec<Vec<String>> = v
        .channels
        .iter()
        .map(|c| {
            let cfg = &c.config;
            let (kind, to) = match &cfg.kind {
                ChannelKind::Inbox => ("inbox", String::new()),
                ChannelKind::Email { to } => ("email", to.join(",")),
                ChannelKind::Webhook { url, shape } => {
                    ("webhook", format!("{url} ({})", name(shape)))
                }
            };
            let levels = cfg
                .levels
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let window = cfg
                .window
                .map(|w| {
                    let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
                    format!("{}-{}", hm(w.start_minute), hm(w.end_minute))
                })
                .unwrap_or_else(|| "any time".into());
            vec![
                c.id.to_string(),
                c.name.clone(),
                kind.to_string(),
                to,
                levels,
                window,
                format!("{}/{}", cfg.max_per_day, cfg.max_per_host_per_day),
            ]
        })
        .collect();
    table(
        &[
            "id",
            "name",
            "type",
            "to",
            "levels",
            "window",
            "per day/host",
        ],
        &rows,
    );
    Ok(())
}

pub fn outbox(v: &OutboxList, json: bool) -> Result<()> {
    if json {
        return json_lines(&v.items);
    }
    let rows: Vec<Vec<String>> = v
        .items
        .iter()
        .map(|i| {
            let last = match i.attempts.last().map(|a| &a.outcome) {
                None => String::new(),
                Some(None) => "unreadable".into(),
                Some(Some(vigil_notify::AttemptOutcome::Sent)) => "sent".into(),
                Some(Some(vigil_notify::AttemptOutcome::Failed { message, .. })) => {
                    format!("failed: {message}")
                }
            };
            vec![
                i.id.to_string(),
                i.channel_id.to_string(),
                i.alert_id.map(|a| a.to_string()).unwrap_or_default(),
                name(&i.state),
                i.attempts.len().to_string(),
                time(i.next_at),
                last,
            ]
        })
        .collect();
    table(
        &[
            "id",
            "channel",
            "alert",
            "state",
            "attempts",
            "next (utc)",
            "last attempt",
        ],
        &rows,
    );
    Ok(())
}

pub fn inbox(v: &Inbox, json: bool) -> Result<()> {
    if json {
        return json_lines(&v.messages);
    }
    for m in &v.messages {
        let unread = if m.read_at.is_none() { "*" } else { " " };
        println!("{unread} {} {}", time(m.created_at), m.title);
    }
    println!("{} unread", v.unread);
    Ok(())
}

/// The IP policy library: one line per rule, hosts' outcomes summed up.
pub fn ip_rules(v: &IpRuleList, json: bool) -> Result<()> {
    if json {
        return json_lines(&v.rules);
    }
    let rows: Vec<Vec<String>> = v
        .rules
        .iter()
        .map(|r| {
            let hosts = if r.hosts.is_empty() {
                "all".to_string()
            } else {
                r.hosts.join(",")
            };
            let mut states: BTreeMap<String, usize> = BTreeMap::new();
            let mut failure = String::new();
            for h in &r.on_hosts {
                let state = name(&h.state);
                if state == "failed" && failure.is_empty() {
                    failure = format!(" ({})", h.message);
                }
                *states.entry(state).or_default() += 1;
            }
            let on_hosts = states
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                r.id.to_string(),
                r.target.clone(),
                name(&r.direction),
                hosts,
                name(&r.status),
                match r.expires_at {
                    None => "permanent".into(),
                    Some(t) => time(t),
                },
                format!("{on_hosts}{failure}"),
                name(&r.origin),
                r.reason.clone(),
            ]
        })
        .collect();
    table(
        &[
            "id",
            "target",
            "dir",
            "hosts",
            "status",
            "expires (utc)",
            "on hosts",
            "origin",
            "reason",
        ],
        &rows,
    );
    Ok(())
}

/// Baseline results: one line per host and check, the evidence of failures below it.
pub fn baseline(v: &BaselineList, json: bool) -> Result<()> {
    if json {
        return json_lines(&v.results);
    }
    let rows: Vec<Vec<String>> = v
        .results
        .iter()
        .map(|r| {
            let status = match (&r.ignored, r.status) {
                (Some(i), vigil_model::CheckStatus::Failed) => format!("ignored ({})", i.reason),
                _ => r.status.as_str().to_string(),
            };
            vec![
                r.hostname.clone(),
                r.level.clone(),
                status,
                r.check_id.clone(),
                r.title.clone(),
                r.evidence.clone(),
            ]
        })
        .collect();
    table(
        &["host", "level", "status", "check", "title", "evidence"],
        &rows,
    );
    let s = &v.summary;
    println!(
        "{} failed, {} ignored, {} errors, {} passed, {} not applicable",
        s.failed, s.ignored, s.error, s.passed, s.not_applicable
    );
    Ok(())
}
