//! Human tables and `--json` lines for the operator CLI.

use anyhow::Result;
use serde_json::Value;
use std::collections::BTreeMap;

pub fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC; empty for null.
pub fn time(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_i64)
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
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

fn json_lines(items: &[Value]) {
    for i in items {
        println!("{i}");
    }
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub fn one(v: &Value, json: bool, human: &str) -> Result<()> {
    if json {
        println!("{v}");
    } else {
        println!("{human}");
    }
    Ok(())
}

pub fn created_code(v: &Value, json: bool) -> Result<()> {
    if json {
        println!("{v}");
        return Ok(());
    }
    println!(
        "install code {} for group {} (valid until {} UTC)",
        s(v, "id"),
        s(v, "group"),
        time(v, "expires_at")
    );
    println!("run this as root on each host to protect (shown only now):\n");
    println!("  {}\n", s(v, "command"));
    Ok(())
}

fn labels(v: &Value) -> String {
    v.get("labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, x)| format!("{k}={}", x.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

pub fn codes(v: &Value, json: bool) -> Result<()> {
    let codes = array(v, "codes");
    if json {
        json_lines(codes);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = codes
        .iter()
        .map(|c| {
            vec![
                s(c, "id"),
                format!("{}…", s(c, "hint")),
                s(c, "group"),
                s(c, "state"),
                match c.get("max_hosts").and_then(Value::as_i64) {
                    Some(max) => format!("{}/{max}", s(c, "uses")),
                    None => s(c, "uses"),
                },
                time(c, "expires_at"),
                labels(c),
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

pub fn hosts(v: &Value, json: bool) -> Result<()> {
    let hosts = array(v, "hosts");
    if json {
        json_lines(hosts);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = hosts
        .iter()
        .map(|h| {
            let ips: Vec<String> = array(h, "ips")
                .iter()
                .filter_map(|i| i.as_str().map(String::from))
                .collect();
            let alerts = h.get("alerts").cloned().unwrap_or_default();
            vec![
                s(h, "id"),
                s(h, "hostname"),
                s(h, "state"),
                s(h, "group"),
                s(h, "os"),
                ips.join(","),
                time(h, "last_seen"),
                format!(
                    "{}/{}/{}",
                    alerts.get("urgent").and_then(Value::as_i64).unwrap_or(0),
                    alerts
                        .get("suspicious")
                        .and_then(Value::as_i64)
                        .unwrap_or(0),
                    alerts.get("reminder").and_then(Value::as_i64).unwrap_or(0)
                ),
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

pub fn host(host: &Value, inv: Option<&Value>, section: Option<&str>, json: bool) -> Result<()> {
    if let Some(section) = section {
        let inv = inv.expect("section requested only with fingerprints");
        let key = match section {
            "system" | "os" => "os",
            "processes" => "processes",
            "ports" | "sockets" => "sockets",
            "accounts" => "accounts",
            "packages" => "packages",
            other => anyhow::bail!(
                "section {other:?} is not one of system, processes, ports, accounts, packages"
            ),
        };
        let data = inv.get(key).cloned().unwrap_or(Value::Null);
        if json {
            match data.as_array() {
                Some(items) => json_lines(items),
                None => println!("{data}"),
            }
            return Ok(());
        }
        let rows_of = |cols: &[&str]| -> Vec<Vec<String>> {
            data.as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| cols.iter().map(|c| s(r, c)).collect())
                        .collect()
                })
                .unwrap_or_default()
        };
        match key {
            "os" => {
                for (k, v) in data.as_object().into_iter().flatten() {
                    println!(
                        "{k:<16} {}",
                        if let Some(s) = v.as_str() {
                            s.to_string()
                        } else {
                            v.to_string()
                        }
                    );
                }
            }
            "processes" => {
                let cols = ["pid", "ppid", "user", "name", "exe", "cmdline"];
                table(&cols, &rows_of(&cols))
            }
            "sockets" => {
                let cols = ["protocol", "address", "port", "pid", "process"];
                table(&cols, &rows_of(&cols))
            }
            "accounts" => {
                let cols = [
                    "name",
                    "uid",
                    "gid",
                    "shell",
                    "password",
                    "admin",
                    "login_shell",
                ];
                table(&cols, &rows_of(&cols))
            }
            _ => {
                let cols = [
                    "format",
                    "name",
                    "version",
                    "arch",
                    "source",
                    "source_version",
                ];
                table(&cols, &rows_of(&cols))
            }
        }
        return Ok(());
    }
    if json {
        let mut v = host.clone();
        if let (Some(obj), Some(inv)) = (v.as_object_mut(), inv) {
            obj.insert("fingerprints".into(), inv.clone());
        }
        println!("{v}");
        return Ok(());
    }
    for (label, key) in [
        ("id", "id"),
        ("hostname", "hostname"),
        ("state", "state"),
        ("group", "group"),
        ("os", "os"),
        ("kernel", "kernel"),
        ("agent", "agent_version"),
    ] {
        println!("{label:<12} {}", s(host, key));
    }
    println!("{:<12} {}", "labels", labels(host));
    let agent = host.get("agent").cloned().unwrap_or_default();
    let spool = agent.get("spool").cloned().unwrap_or_default();
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    println!(
        "{:<12} {} KiB resident; spool: {} batches pending, {} events dropped, {} failed writes",
        "agent health",
        n(&agent, "rss_kb"),
        n(&spool, "pending_batches"),
        n(&spool, "dropped_events"),
        n(&spool, "write_failures")
    );
    println!("{:<12} {}", "enrolled", time(host, "enrolled_at"));
    println!("{:<12} {}", "last seen", time(host, "last_seen"));
    if let Some(inv) = inv {
        let n = |k: &str| array(inv, k).len();
        println!(
            "{:<12} {} processes, {} listening sockets, {} accounts, {} packages (collected {})",
            "inventory",
            n("processes"),
            n("sockets"),
            n("accounts"),
            n("packages"),
            time(inv, "collected_at")
        );
        println!(
            "             see: vigil hosts show {} --section processes|ports|accounts|packages",
            s(host, "id")
        );
    }
    Ok(())
}

pub fn alerts(v: &Value, json: bool) -> Result<()> {
    let alerts = array(v, "alerts");
    if json {
        json_lines(alerts);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            vec![
                s(a, "id"),
                s(a, "level"),
                s(a, "status"),
                s(a, "hostname"),
                s(a, "kind"),
                s(a, "name"),
                s(a, "count"),
                time(a, "last_seen"),
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
    let more = if v
        .get("total_capped")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        "+"
    } else {
        ""
    };
    println!("{} of {}{more} alerts", alerts.len(), s(v, "total"));
    Ok(())
}

pub fn alert(a: &Value, json: bool) -> Result<()> {
    if json {
        println!("{a}");
        return Ok(());
    }
    for (label, key) in [
        ("id", "id"),
        ("name", "name"),
        ("level", "level"),
        ("status", "status"),
        ("kind", "kind"),
        ("host", "hostname"),
        ("count", "count"),
    ] {
        println!("{label:<12} {}", s(a, key));
    }
    println!("{:<12} {}", "tactic", s(a, "tactic"));
    println!("{:<12} {}", "first seen", time(a, "first_seen"));
    println!("{:<12} {}", "last seen", time(a, "last_seen"));
    println!("evidence:");
    for e in array(a, "evidence") {
        println!("  {:<12} {}", s(e, "name"), s(e, "value"));
    }
    Ok(())
}

pub fn handled(v: &Value, json: bool) -> Result<()> {
    let results = array(v, "results");
    if json {
        json_lines(results);
        return Ok(());
    }
    for r in results {
        println!("{:<10} {}", s(r, "outcome"), s(r, "message"));
    }
    if results.iter().any(|r| s(r, "outcome") != "changed") {
        anyhow::bail!("not every alert was changed (see above)");
    }
    Ok(())
}

pub fn rules(v: &Value, json: bool) -> Result<()> {
    let rules = array(v, "rules");
    if json {
        json_lines(rules);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            let fields = r
                .get("fields")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, x)| format!("{k}={}", x.as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let scope = match s(r, "scope_value").as_str() {
                "" => s(r, "scope"),
                v => format!("{} {v}", s(r, "scope")),
            };
            vec![
                s(r, "id"),
                s(r, "kind"),
                scope,
                fields,
                s(r, "created_by"),
                time(r, "created_at"),
                s(r, "note"),
            ]
        })
        .collect();
    table(
        &["id", "kind", "scope", "key", "by", "created (utc)", "note"],
        &rows,
    );
    Ok(())
}

pub fn score(v: &Value, json: bool) -> Result<()> {
    if json {
        println!("{v}");
        return Ok(());
    }
    let fleet = v.get("fleet").cloned().unwrap_or_default();
    println!("fleet score {} ({})", s(&fleet, "score"), s(&fleet, "band"));
    let rows: Vec<Vec<String>> = array(v, "hosts")
        .iter()
        .map(|h| {
            let costs = array(h, "deductions")
                .iter()
                .filter_map(|d| {
                    let d = d.as_array()?;
                    Some(format!("{} -{}", d.first()?.as_str()?, d.get(1)?))
                })
                .collect::<Vec<_>>()
                .join(", ");
            let cap = h
                .get("capped_at")
                .and_then(Value::as_u64)
                .map(|c| format!("capped at {c}"))
                .unwrap_or_default();
            vec![
                s(h, "host_id"),
                s(h, "hostname"),
                s(h, "score"),
                s(h, "band"),
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

pub fn channels(v: &Value, json: bool) -> Result<()> {
    let list = array(v, "channels");
    if json {
        json_lines(list);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            let cfg = c.get("config").cloned().unwrap_or_default();
            let kind = cfg.get("kind").cloned().unwrap_or_default();
            let to = match s(&kind, "type").as_str() {
                "email" => array(&kind, "to")
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                "webhook" => format!("{} ({})", s(&kind, "url"), s(&kind, "shape")),
                _ => String::new(),
            };
            let levels = array(&cfg, "levels")
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let window = cfg
                .get("window")
                .filter(|w| !w.is_null())
                .map(|w| {
                    let hm = |k: &str| {
                        let m = w.get(k).and_then(Value::as_u64).unwrap_or(0);
                        format!("{:02}:{:02}", m / 60, m % 60)
                    };
                    format!("{}-{}", hm("start_minute"), hm("end_minute"))
                })
                .unwrap_or_else(|| "any time".into());
            vec![
                s(c, "id"),
                s(c, "name"),
                s(&kind, "type"),
                to,
                levels,
                window,
                format!(
                    "{}/{}",
                    s(&cfg, "max_per_day"),
                    s(&cfg, "max_per_host_per_day")
                ),
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

pub fn outbox(v: &Value, json: bool) -> Result<()> {
    let items = array(v, "items");
    if json {
        json_lines(items);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let attempts = array(i, "attempts");
            let last = attempts
                .last()
                .map(|a| {
                    let o = a.get("outcome").cloned().unwrap_or_default();
                    match s(&o, "outcome").as_str() {
                        "failed" => format!("failed: {}", s(&o, "message")),
                        other => other.to_string(),
                    }
                })
                .unwrap_or_default();
            vec![
                s(i, "id"),
                s(i, "channel_id"),
                s(i, "alert_id"),
                s(i, "state"),
                attempts.len().to_string(),
                time(i, "next_at"),
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

pub fn inbox(v: &Value, json: bool) -> Result<()> {
    let messages = array(v, "messages");
    if json {
        json_lines(messages);
        return Ok(());
    }
    for m in messages {
        let unread = if m.get("read_at").is_some_and(Value::is_null) {
            "*"
        } else {
            " "
        };
        println!("{unread} {} {}", time(m, "created_at"), s(m, "title"));
    }
    println!("{} unread", s(v, "unread"));
    Ok(())
}

/// The IP policy library: one line per rule, hosts' outcomes summed up.
pub fn ip_rules(v: &Value, json: bool) -> Result<()> {
    let rules = array(v, "rules");
    if json {
        json_lines(rules);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            let hosts = match r.get("hosts").and_then(Value::as_array) {
                Some(h) if !h.is_empty() => h
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => "all".into(),
            };
            let mut states: BTreeMap<String, usize> = BTreeMap::new();
            let mut failure = String::new();
            for h in array(r, "on_hosts") {
                *states.entry(s(h, "state")).or_default() += 1;
                if s(h, "state") == "failed" && failure.is_empty() {
                    failure = format!(" ({})", s(h, "message"));
                }
            }
            let on_hosts = states
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                s(r, "id"),
                s(r, "target"),
                s(r, "direction"),
                hosts,
                s(r, "status"),
                match time(r, "expires_at") {
                    t if t.is_empty() => "permanent".into(),
                    t => t,
                },
                format!("{on_hosts}{failure}"),
                s(r, "origin"),
                s(r, "reason"),
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
