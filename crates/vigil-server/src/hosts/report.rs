//! The per-host security report (SPEC R-AL7): one self-contained, printable HTML page with the
//! host's score and what costs it points, pending alerts, exposure and recent host actions.

use std::fmt::Write;
use vigil_detect::score::Score;
use vigil_model::Inventory;
use vigil_store::{AlertRecord, CommandRecord, HostRecord};

/// Escapes text for HTML element and attribute content.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn when(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub struct ReportInput<'a> {
    pub host: &'a HostRecord,
    pub state: &'a str,
    pub score: &'a Score,
    pub alerts: &'a [AlertRecord],
    pub inventory: Option<&'a Inventory>,
    pub commands: &'a [CommandRecord],
    pub baseline: &'a ReportBaseline,
    pub now: i64,
}

/// The host's baseline as the report shows it: counts, and the failed checks not ignored,
/// most severe first.
#[derive(Debug, Default)]
pub struct ReportBaseline {
    pub passed: usize,
    pub ignored: usize,
    pub last_run: Option<i64>,
    /// Level, title, check id, evidence, remediation.
    pub failed: Vec<(String, String, String, String, String)>,
}

pub fn render(r: &ReportInput<'_>) -> String {
    let h = r.host;
    let os: vigil_model::OsInfo = serde_json::from_str(&h.os_json).unwrap_or_default();
    let band_colour = match r.score.band {
        vigil_detect::score::Band::Secure => "#1a7f37",
        vigil_detect::score::Band::FewRisks => "#b08800",
        vigil_detect::score::Band::ManyRisks => "#d1580b",
        vigil_detect::score::Band::HighRisk => "#cf222e",
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Security report: {name}</title>\
         <style>body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1f2328}}\
         h1{{font-size:1.6em;margin:0}}h2{{font-size:1.15em;border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:1.6em}}\
         table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.3em .5em;border-bottom:1px solid #eaeef2;vertical-align:top}}\
         .score{{font-size:2.4em;font-weight:700;color:{band_colour}}}.muted{{color:#656d76}}.urgent{{color:#cf222e;font-weight:600}}\
         .suspicious{{color:#d1580b;font-weight:600}}.reminder{{color:#0969da}}code{{font-size:.9em;word-break:break-all}}\
         @media print{{body{{margin:0}}a{{color:inherit}}}}</style></head><body>",
        name = esc(&h.hostname),
    );
    let _ = write!(
        out,
        "<h1>Security report: {name}</h1><p class=\"muted\">Host {id} · group {group} · {os} · kernel {kernel} · \
         agent {state} · generated {now}</p>",
        name = esc(&h.hostname),
        id = esc(&h.id),
        group = esc(&h.group),
        os = esc(if os.pretty_name.is_empty() { &os.id } else { &os.pretty_name }),
        kernel = esc(&os.kernel),
        state = esc(r.state),
        now = when(r.now),
    );
    let _ = write!(
        out,
        "<h2>Security score</h2><p><span class=\"score\" data-testid=\"score\">{}</span> <strong>{}</strong></p>",
        r.score.score,
        esc(r.score.band.as_str())
    );
    if r.score.deductions.is_empty() {
        out.push_str("<p>Nothing pending costs points.</p>");
    } else {
        out.push_str("<table><tr><th>Module</th><th>Points lost</th></tr>");
        for (module, points) in &r.score.deductions {
            let _ = write!(out, "<tr><td>{}</td><td>{points}</td></tr>", esc(module));
        }
        out.push_str("</table>");
        if let Some(cap) = r.score.capped_at {
            let _ = write!(
                out,
                "<p class=\"muted\">Capped at {cap} while items of that kind are pending.</p>"
            );
        }
    }

    let _ = write!(out, "<h2>Pending alerts ({})</h2>", r.alerts.len());
    if r.alerts.is_empty() {
        out.push_str("<p>No unhandled alerts.</p>");
    } else {
        out.push_str("<table><tr><th>Level</th><th>Alert</th><th>Type</th><th>Last seen</th><th>Count</th></tr>");
        for a in r.alerts {
            let _ = write!(
                out,
                "<tr><td class=\"{lvl}\">{lvl}</td><td>{name}</td><td>{kind}</td><td>{last}</td><td>{count}</td></tr>",
                lvl = a.level.as_str(),
                name = esc(&a.name),
                kind = esc(a.kind.as_str()),
                last = when(a.last_seen),
                count = a.count,
            );
        }
        out.push_str("</table>");
    }

    let b = r.baseline;
    let _ = write!(out, "<h2>Baseline ({} failed)</h2>", b.failed.len());
    match b.last_run {
        None => {
            out.push_str("<p class=\"muted\">The agent has not reported a baseline run yet.</p>")
        }
        Some(t) => {
            let _ = write!(
                out,
                "<p class=\"muted\">Last run {} · {} passed · {} failed · {} ignored</p>",
                when(t),
                b.passed,
                b.failed.len(),
                b.ignored
            );
        }
    }
    if !b.failed.is_empty() {
        out.push_str("<table data-testid=\"baseline\"><tr><th>Level</th><th>Check</th><th>Evidence</th><th>Fix</th></tr>");
        for (level, title, id, evidence, fix) in &b.failed {
            let class = match level.as_str() {
                "high" => "urgent",
                "medium" => "suspicious",
                _ => "reminder",
            };
            let _ = write!(
                out,
                "<tr><td class=\"{class}\">{}</td><td>{}<br><code class=\"muted\">{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                esc(level),
                esc(title),
                esc(id),
                esc(evidence),
                esc(fix)
            );
        }
        out.push_str("</table>");
    }

    out.push_str("<h2>Exposure</h2>");
    match r.inventory {
        None => out.push_str("<p class=\"muted\">No fingerprints reported yet.</p>"),
        Some(inv) => {
            let open: Vec<_> = inv.sockets.iter().filter(|s| s.is_wildcard()).collect();
            let admins: Vec<_> = inv
                .accounts
                .iter()
                .filter(|a| a.admin && a.login_shell)
                .collect();
            let _ = write!(
                out,
                "<p>{} processes · {} packages · {} listening sockets, {} on all interfaces · {} administrator account(s) \
                 (fingerprints of {}).</p>",
                inv.processes.len(),
                inv.packages.len(),
                inv.sockets.len(),
                open.len(),
                admins.len(),
                when(inv.collected_at),
            );
            if !open.is_empty() {
                out.push_str(
                    "<table><tr><th>Listening on all interfaces</th><th>Process</th></tr>",
                );
                for s in open {
                    let _ = write!(
                        out,
                        "<tr><td><code>{}/{}</code></td><td>{}</td></tr>",
                        s.protocol.as_str(),
                        s.port,
                        if s.process.is_empty() {
                            "unknown".to_string()
                        } else {
                            esc(&s.process)
                        }
                    );
                }
                out.push_str("</table>");
            }
            if !admins.is_empty() {
                let names: Vec<String> = admins.iter().map(|a| esc(&a.name)).collect();
                let _ = write!(out, "<p>Administrators: {}</p>", names.join(", "));
            }
        }
    }

    out.push_str("<h2>Recent host actions</h2>");
    if r.commands.is_empty() {
        out.push_str("<p>None.</p>");
    } else {
        out.push_str("<table><tr><th>Action</th><th>State</th><th>By</th><th>Queued</th><th>Result</th></tr>");
        for c in r.commands.iter().take(20) {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.action),
                esc(c.state.as_str()),
                esc(&c.created_by),
                when(c.created_at),
                esc(&c.message)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc("<b a=\"x\">&'\u{1b}"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;\u{fffd}"
        );
    }
}
