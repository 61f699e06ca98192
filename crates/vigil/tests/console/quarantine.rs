//! Host actions from the alert drawer (kill and quarantine), the Quarantine box and its
//! restores, and the host's Commands tab.

use crate::alerts::{alert_status, open_alert};
use crate::fixture::{wait_exit, FakeSvc};
use crate::prelude::*;
use sha2::{Digest, Sha256};
use std::os::unix::process::ExitStatusExt;

/// A host action end to end, from the alert drawer, on the `fakesvc` process: Kill and
/// quarantine (two clicks), the drawer following the alert from in progress to handled with the
/// agent's message; the Quarantine box listing the file; a restore refused because a file
/// reappeared at the path (the agent's exact error), then Restore and overwrite; the file back
/// byte for byte; the host's Commands tab.
pub async fn host_actions(
    c: &Ctx<'_>,
    t0: Instant,
    host_id: &str,
    fake: &mut FakeSvc,
) -> WdResult<()> {
    let wd = c.wd;
    let pid = fake.child.id();
    let path = fake.path.to_string_lossy().to_string();
    // Host actions wait for the agent's next heartbeat (every 2 s here).
    let host_wait = Duration::from_secs(60);

    step("waiting for the fakesvc alert", t0).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let list = api_get(c, "/api/v1/alerts?kind=suspicious_port&limit=1000").await?;
        let found = list["alerts"].as_array().and_then(|a| {
            a.iter().find(|a| {
                a["host_id"] == json!(host_id)
                    && a["evidence"].as_array().is_some_and(|ev| {
                        ev.iter().any(|e| {
                            e["name"] == json!("pid") && e["value"] == json!(pid.to_string())
                        })
                    })
            })
        });
        if let Some(a) = found {
            if a["status"] != json!("unhandled") {
                return Err(format!("the fakesvc alert is not unhandled: {a}"));
            }
            break a["id"].as_i64().ok_or("alert without an id")?;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no suspicious_port alert names pid {pid} after 60 s; alerts: {list}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("[console_browser] fakesvc (pid {pid}) raised alert {id}");

    // --- the drawer offers the actions the evidence allows: a pid, no file path
    step("alert drawer: kill and quarantine", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    let row_css =
        format!("[data-testid=alerts-table] tr[data-testid=alert-row][data-alert-id='{id}']");
    wd.wait_visible(&row_css).await?;
    open_alert(wd, &row_css, id).await?;
    wd.wait_text(
        "[data-testid=host-action-target]",
        "the process to act on",
        |t| t.contains("fakesvc") && t.contains(&format!("pid {pid}")),
    )
    .await?;
    wd.find("[data-testid=handle-kill_process]").await?;
    if wd.find("[data-testid=handle-quarantine]").await.is_ok() {
        return Err("Quarantine file is offered for an alert that names no file".into());
    }
    if wd.find("[data-testid=handle-block_ip]").await.is_ok() {
        return Err("Block source IP is offered for an alert that names no source IP".into());
    }
    let kq = "[data-testid=handle-kill_and_quarantine]";
    wd.click(&wd.find(kq).await?).await?;
    wd.wait_text(kq, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    // One click sends nothing.
    if alert_status(c, id).await? != "unhandled" || !matches!(fake.child.try_wait(), Ok(None)) {
        return Err("the first click of Kill and quarantine already acted".into());
    }
    wd.click(&wd.find(kq).await?).await?;
    // Queued: the drawer shows the alert in progress and the server's message.
    wd.wait_text("[data-testid=alert-status]", "in progress", |t| {
        t.eq_ignore_ascii_case("in progress")
    })
    .await?;
    wd.wait_visible("[data-testid=host-action-progress]")
        .await?;
    let queued = wd
        .wait_text("[data-testid=handle-result]", "the queued command", |t| {
            t.contains("queued as command")
        })
        .await?;
    if !queued.contains(host_id) {
        return Err(format!(
            "the queued message does not name the host: {queued:?}"
        ));
    }
    // The agent runs it at its next heartbeat; the drawer polls the alert until it is handled.
    wd.wait_js(
        "the drawer to show the alert handled by the agent",
        "return document.getElementById('drawer').dataset.status === 'handled'
             && !!document.querySelector('[data-testid=host-action-outcome][data-outcome=handled]');",
        json!([]),
        host_wait,
    )
    .await?;
    let outcome = wd
        .text(&wd.find("[data-testid=host-action-outcome]").await?)
        .await?;
    for needle in [
        format!("process {pid}: killed"),
        format!("{path} quarantined as "),
    ] {
        if !outcome.contains(&needle) {
            return Err(format!("the outcome lacks {needle:?}: {outcome:?}"));
        }
    }
    let status = wd
        .text(&wd.find("[data-testid=alert-status]").await?)
        .await?;
    if !status.eq_ignore_ascii_case("handled") {
        return Err(format!(
            "after the action the status badge reads {status:?}"
        ));
    }
    if wd.find(kq).await.is_ok() {
        return Err("a handled alert still offers Kill and quarantine".into());
    }
    wd.screenshot(&c.shots.join("alert-kill.png")).await?;

    // --- on the host: the process exited (killed), its executable left its path
    let exit = wait_exit(&mut fake.child, Duration::from_secs(10)).await?;
    if exit.signal() != Some(9) {
        return Err(format!("fakesvc ended with {exit:?}, not SIGKILL"));
    }
    if fake.path.exists() {
        return Err(format!("{path} is still there after Kill and quarantine"));
    }
    let a = api_get(c, &format!("/api/v1/alerts/{id}")).await?;
    if a["status"] != json!("handled") || !a["note"].as_str().is_some_and(|n| n.contains("killed"))
    {
        return Err(format!(
            "the API does not show the alert handled by the agent: {a}"
        ));
    }

    // --- the Quarantine box lists the file under its original path
    step("quarantine box", t0).await;
    wd.click(&wd.find("#nav-quarantine").await?).await?;
    wd.wait_visible("[data-testid=quarantine-table]").await?;
    let qrow = format!(
        "[data-testid=quarantine-table] tr[data-testid=quarantine-row][data-path={}]",
        css_str(&path)
    );
    let row = wd.wait_visible(&qrow).await?;
    if wd.attribute(&row, "data-state").await?.as_deref() != Some("quarantined") {
        return Err("the quarantined file is not listed as quarantined".into());
    }
    let qid = wd.attribute(&row, "data-qid").await?.unwrap_or_default();
    let text = wd.text(&row).await?;
    for needle in [c.hostname.as_str(), path.as_str(), "in 30 days", "Restore"] {
        if !text.contains(needle) {
            return Err(format!("the quarantine row lacks {needle:?}: {text:?}"));
        }
    }
    let sha = hex::encode(Sha256::digest(&fake.bytes));
    let hash_title = wd
        .attribute(
            &wd.find(&format!("{qrow} [data-testid=q-hash]")).await?,
            "title",
        )
        .await?
        .unwrap_or_default();
    if !hash_title.contains(&sha) || !hash_title.contains("MD5 ") {
        return Err(format!(
            "the hash cell's tooltip {hash_title:?} lacks SHA-256 {sha} or the MD5"
        ));
    }

    // --- a file reappeared at the path: the restore is refused with the agent's words
    step("quarantine box: restore refused, then overwrite", t0).await;
    std::fs::write(&fake.path, b"decoy").map_err(|e| format!("writing the decoy: {e}"))?;
    let restore = format!("{qrow} button[data-testid=restore]");
    wd.click(&wd.find(&restore).await?).await?;
    wd.wait_text(&restore, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&restore).await?).await?;
    let notice = format!("[data-testid=restore-notice][data-qid={}]", css_str(&qid));
    let state_is = "const n = document.querySelector(arguments[0]); return !!n && n.dataset.state === arguments[1];";
    wd.wait_js(
        "the restore to fail",
        state_is,
        json!([notice, "failed"]),
        host_wait,
    )
    .await?;
    let err = wd
        .text(
            &wd.find(&format!("{notice} [data-testid=restore-error]"))
                .await?,
        )
        .await?;
    if !err.contains(&format!(
        "cannot restore {path}: a file exists at that path again"
    )) {
        return Err(format!("the failed restore says {err:?}"));
    }
    if std::fs::read(&fake.path).ok().as_deref() != Some(b"decoy".as_slice()) {
        return Err("the refused restore touched the file at the path".into());
    }
    wd.screenshot(&c.shots.join("quarantine-refused.png"))
        .await?;
    let overwrite = format!("{notice} button[data-testid=restore-overwrite]");
    wd.click(&wd.find(&overwrite).await?).await?;
    wd.wait_text(&overwrite, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&overwrite).await?).await?;
    wd.wait_js(
        "the restore to succeed",
        state_is,
        json!([notice, "succeeded"]),
        host_wait,
    )
    .await?;
    let ok = wd.text(&wd.find(&notice).await?).await?;
    if !ok.contains(&format!("{path} restored")) {
        return Err(format!("the restore notice reads {ok:?}"));
    }
    wd.wait_js(
        "the file listed as restored",
        "const r = document.querySelector(arguments[0]); return !!r && r.dataset.state === 'restored';",
        json!([qrow]),
        UI_TIMEOUT,
    )
    .await?;
    wd.wait_text(&format!("{qrow} [data-testid=q-state]"), "restored", |t| {
        t.eq_ignore_ascii_case("restored")
    })
    .await?;
    if wd.find(&restore).await.is_ok() {
        return Err("a restored file still offers Restore".into());
    }
    let back = std::fs::read(&fake.path).map_err(|e| format!("reading {path}: {e}"))?;
    if back != fake.bytes {
        return Err(format!(
            "{path} is back but differs from the copy ({} bytes, {} expected)",
            back.len(),
            fake.bytes.len()
        ));
    }
    wd.screenshot(&c.shots.join("quarantine.png")).await?;

    // --- the host's Commands tab: the three commands and what the agent said
    step("host commands tab", t0).await;
    wd.exec(
        "location.hash = arguments[0];",
        json!([format!("#/hosts/{host_id}?tab=commands")]),
    )
    .await?;
    wd.wait_visible("[data-testid=table-commands]").await?;
    let rows = wd
        .wait_js(
            "the three commands in the Commands tab",
            "const rows = [...document.querySelectorAll('tr[data-testid=command-row]')]
                 .map(tr => [tr.dataset.action, tr.dataset.state, tr.textContent]);
             const has = (a, s) => rows.some(r => r[0] === a && r[1] === s);
             return has('kill_and_quarantine', 'succeeded') && has('restore_file', 'failed')
                 && has('restore_file', 'succeeded') ? rows : null;",
            json!([]),
            UI_TIMEOUT,
        )
        .await?;
    let failed = rows
        .as_array()
        .and_then(|r| {
            r.iter()
                .find(|r| r[0] == "restore_file" && r[1] == "failed")
        })
        .and_then(|r| r[2].as_str())
        .unwrap_or_default()
        .to_string();
    for needle in [path.as_str(), "a file exists at that path again", "admin"] {
        if !failed.contains(needle) {
            return Err(format!(
                "the failed restore's row lacks {needle:?}: {failed:?}"
            ));
        }
    }
    wd.screenshot(&c.shots.join("host-commands.png")).await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("host actions left an error banner: {b:?}"));
    }
    Ok(())
}
