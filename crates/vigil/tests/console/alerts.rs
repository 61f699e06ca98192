//! The Alerts page and an alert's life in the console: the drawer's ignore, whitelist and
//! unwhitelist, the Whitelist page, the batch bar, and the list's filters kept in the URL.

use crate::prelude::*;

/// The status of alert `id`, through the API.
pub async fn alert_status(c: &Ctx<'_>, id: i64) -> WdResult<String> {
    let a = api_get(c, &format!("/api/v1/alerts/{id}")).await?;
    Ok(a["status"].as_str().unwrap_or_default().to_string())
}

/// Opens alert `id` from its row in the alerts table and waits for its handle section.
pub async fn open_alert(wd: &WebDriver, row_css: &str, id: i64) -> WdResult<()> {
    // The name cell: the first one is the selection checkbox.
    wd.click(&wd.find(&format!("{row_css} td:nth-child(3)")).await?)
        .await?;
    wd.wait_visible(&format!(
        "#drawer[data-alert-id='{id}'] [data-testid=alert-handle]"
    ))
    .await?;
    Ok(())
}

/// Picks a status in the alerts page's status filter and waits for the list.
pub async fn filter_status(wd: &WebDriver, status: &str) -> WdResult<()> {
    wd.click(
        &wd.find(&format!("#alerts-status option[value={status}]"))
            .await?,
    )
    .await?;
    wd.wait_js(
        &format!("the alerts page filtered on {status}"),
        "const p = document.querySelector('[data-testid=alerts-panel]');
         return !!p && p.dataset.loadedStatus === arguments[0];",
        json!([status]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// A real alert through its life: raised by a port this test opens, ignored (twice: the second
/// time the server says why nothing changed), whitelisted for this host from the ignored list,
/// seen on the Whitelist page, taken off the whitelist (back to unhandled), counted in the
/// security score, and finally marked handled with the batch bar. Returns the alert's id.
pub async fn alert_lifecycle(c: &Ctx<'_>, t0: Instant, host_id: &str, lport: u16) -> WdResult<i64> {
    let wd = c.wd;
    step("waiting for the port alert", t0).await;
    let want_name = format!("port {lport} listening on all interfaces");
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let list = api_get(c, "/api/v1/alerts?kind=suspicious_port&limit=1000").await?;
        let found = list["alerts"].as_array().and_then(|a| {
            a.iter().find(|a| {
                a["host_id"] == json!(host_id)
                    && a["name"].as_str().is_some_and(|n| n.contains(&want_name))
            })
        });
        if let Some(a) = found {
            if a["status"] != json!("unhandled") {
                return Err(format!("the new port alert is not unhandled: {a}"));
            }
            break a["id"].as_i64().ok_or("alert without an id")?;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no suspicious_port alert for port {lport} after 60 s; alerts: {list}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("[console_browser] port {lport} raised alert {id}");
    let row_css =
        format!("[data-testid=alerts-table] tr[data-testid=alert-row][data-alert-id='{id}']");

    // --- the default list holds what waits for an operator
    step("alerts: ignore", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    let status = wd
        .property(&wd.find("#alerts-status").await?, "value")
        .await?;
    if status != json!("unhandled") {
        return Err(format!(
            "the alerts status filter starts at {status}, not unhandled"
        ));
    }
    let row = wd.wait_visible(&row_css).await?;
    let text = wd.text(&row).await?;
    if !text.contains(&want_name) {
        return Err(format!("the alert row reads {text:?}"));
    }
    open_alert(wd, &row_css, id).await?;
    wd.wait_text("[data-testid=alert-status]", "unhandled", |t| {
        t.eq_ignore_ascii_case("unhandled")
    })
    .await?;
    if wd
        .find("[data-testid=alert-handle] [data-testid=handle-unwhitelist]")
        .await
        .is_ok()
    {
        return Err("an alert that is not whitelisted offers Remove whitelist".into());
    }
    wd.click(&wd.find("[data-testid=handle-ignore]").await?)
        .await?;
    wd.wait_text("[data-testid=handle-result]", "the alert ignored", |t| {
        t.contains("now ignored")
    })
    .await?;
    wd.wait_text("[data-testid=alert-status]", "ignored", |t| {
        t.eq_ignore_ascii_case("ignored")
    })
    .await?;
    // The list behind the drawer refreshed: the alert left the unhandled list.
    wd.wait_js(
        "the ignored alert to leave the unhandled list",
        "return !document.querySelector(arguments[0]);",
        json!([row_css]),
        UI_TIMEOUT,
    )
    .await?;
    // Again: nothing changes, and the server's message says why (a 200, not an error).
    wd.click(&wd.find("[data-testid=handle-ignore]").await?)
        .await?;
    let msg = wd
        .wait_text("[data-testid=handle-result]", "why nothing changed", |t| {
            t.contains("cannot become ignored")
        })
        .await?;
    wd.find("[data-testid=handle-notice][data-outcome=unchanged]")
        .await
        .map_err(|_| format!("the second ignore is not shown as unchanged: {msg:?}"))?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("ignoring twice raised the error banner: {b:?}"));
    }
    if alert_status(c, id).await? != "ignored" {
        return Err("the API does not say the alert is ignored".into());
    }
    wd.screenshot(&c.shots.join("alerts-handle.png")).await?;

    // --- whitelist it for this host, from the ignored list
    step("alerts: whitelist", t0).await;
    wd.click(&wd.find("#drawer-close").await?).await?;
    filter_status(wd, "ignored").await?;
    let row = wd.wait_visible(&row_css).await?;
    if wd.attribute(&row, "data-status").await?.as_deref() != Some("ignored") {
        return Err("the alert is not listed as ignored".into());
    }
    open_alert(wd, &row_css, id).await?;
    wd.click(&wd.find("[data-testid=handle-whitelist]").await?)
        .await?;
    wd.wait_visible("[data-testid=whitelist-form]").await?;
    let host_scope = wd.find("[data-testid=wl-scope-host]").await?;
    wd.click(&host_scope).await?;
    if wd.property(&host_scope, "checked").await? != json!(true) {
        return Err("the host scope is not selected".into());
    }
    wd.send_keys(
        &wd.find("[data-testid=handle-note]").await?,
        "console test listener <i>",
    )
    .await?;
    wd.screenshot(&c.shots.join("alerts-whitelist-form.png"))
        .await?;
    wd.click(&wd.find("[data-testid=handle-whitelist-confirm]").await?)
        .await?;
    wd.wait_text("[data-testid=handle-result]", "whitelisted", |t| {
        t.contains("is whitelisted")
    })
    .await?;
    wd.wait_text("[data-testid=alert-status]", "whitelisted", |t| {
        t.eq_ignore_ascii_case("whitelisted")
    })
    .await?;
    wd.wait_visible("[data-testid=handle-unwhitelist]").await?;
    if alert_status(c, id).await? != "whitelisted" {
        return Err("the API does not say the alert is whitelisted".into());
    }

    // --- the rule on the Whitelist page
    step("whitelist page", t0).await;
    wd.click(&wd.find("#nav-whitelist").await?).await?;
    wd.wait_visible("[data-testid=whitelist-table]").await?;
    let rule_id = wd
        .wait_js(
            "the port rule in the whitelist table",
            "const r = [...document.querySelectorAll('tr[data-testid=rule-row]')]
                 .find(tr => [...tr.querySelectorAll('[data-testid=rule-fields] .chip')].some(c => c.textContent === arguments[0]));
             return r ? r.dataset.ruleId : null;",
            json!([format!("port={lport}")]),
            UI_TIMEOUT,
        )
        .await?;
    let rule_row = format!(
        "tr[data-testid=rule-row][data-rule-id='{}']",
        rule_id.as_str().unwrap_or_default()
    );
    // The host name appears once the host list has loaded.
    wd.wait_text(
        &format!("{rule_row} [data-testid=rule-scope]"),
        "the host",
        |t| t.contains(&c.hostname),
    )
    .await?;
    let text = wd.text(&wd.find(&rule_row).await?).await?;
    for needle in [
        "suspicious port",
        "protocol=tcp",
        "console test listener <i>",
        "admin",
    ] {
        if !text.contains(needle) {
            return Err(format!("the rule row lacks {needle:?}: {text:?}"));
        }
    }
    wd.screenshot(&c.shots.join("whitelist.png")).await?;

    // A rule added by hand (all hosts, a port nothing listens on), then deleted in two clicks.
    step("whitelist: add and delete a rule", t0).await;
    wd.click(&wd.find("#wl-kind option[value=suspicious_port]").await?)
        .await?;
    wd.click(&wd.find("#wl-scope option[value=all]").await?)
        .await?;
    wd.send_keys(&wd.find("[data-testid=wl-field-port]").await?, "1")
        .await?;
    wd.click(&wd.find("#wl-add").await?).await?;
    wd.wait_text("[data-testid=rule-added]", "the rule added", |t| {
        t.contains("0 existing alerts whitelisted")
    })
    .await?;
    let added = wd
        .wait_js(
            "the added rule in the table",
            "const r = [...document.querySelectorAll('tr[data-testid=rule-row]')]
                 .find(tr => tr.querySelector('[data-testid=rule-fields]').textContent === 'port=1');
             return r ? r.dataset.ruleId : null;",
            json!([]),
            UI_TIMEOUT,
        )
        .await?;
    let del_css = format!(
        "tr[data-testid=rule-row][data-rule-id='{}'] button[data-testid=rule-delete]",
        added.as_str().unwrap_or_default()
    );
    wd.click(&wd.find(&del_css).await?).await?;
    wd.wait_text(&del_css, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&del_css).await?).await?;
    wd.wait_text("[data-testid=rule-deleted]", "the deletion", |t| {
        t.contains("0 alerts back in the list")
    })
    .await?;
    wd.wait_js(
        "the deleted rule to leave the table",
        "return !document.querySelector(arguments[0]);",
        json!([del_css]),
        UI_TIMEOUT,
    )
    .await?;
    wd.find(&rule_row)
        .await
        .map_err(|_| "deleting the other rule removed the port rule too".to_string())?;

    // --- remove the whitelist from the alert: back to unhandled
    step("alerts: remove the whitelist", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    filter_status(wd, "whitelisted").await?;
    wd.wait_visible(&row_css).await?;
    open_alert(wd, &row_css, id).await?;
    wd.click(&wd.find("[data-testid=handle-unwhitelist]").await?)
        .await?;
    wd.wait_text("[data-testid=handle-result]", "the alert back", |t| {
        t.contains("back in the list")
    })
    .await?;
    wd.wait_text("[data-testid=alert-status]", "unhandled", |t| {
        t.eq_ignore_ascii_case("unhandled")
    })
    .await?;
    wd.click(&wd.find("#drawer-close").await?).await?;
    filter_status(wd, "unhandled").await?;
    let row = wd.wait_visible(&row_css).await?;
    if wd.attribute(&row, "data-status").await?.as_deref() != Some("unhandled") {
        return Err("the alert is not back as unhandled".into());
    }
    let rules = api_get(c, "/api/v1/whitelist").await?;
    if rules["rules"].as_array().is_some_and(|r| !r.is_empty()) {
        return Err(format!("whitelist rules left after removing them: {rules}"));
    }

    // --- the security score: one unhandled alert caps this host at 60 (or less), "high risk"
    step("overview: security score", t0).await;
    wd.click(&wd.find("#nav-overview").await?).await?;
    let score = wd
        .wait_text("[data-testid=ov-score-value]", "a fleet score", |t| {
            t.trim().parse::<u32>().is_ok_and(|n| n <= 60)
        })
        .await?;
    wd.wait_text("[data-testid=ov-score-band]", "high risk", |t| {
        t.trim() == "high risk"
    })
    .await?;
    let costs = wd
        .text(
            &wd.find(&format!(
                "[data-testid=score-host-row][data-host-id={}] [data-testid=score-host-costs]",
                css_str(host_id)
            ))
            .await?,
        )
        .await?;
    // The alert costs points; so does this machine's baseline (the agent's run at start), which
    // with the vulnerabilities brings it below the cap of 60 an unhandled alert sets.
    if !costs.contains("alerts −")
        || !(costs.contains("capped at 60") || costs.contains("baseline −"))
    {
        return Err(format!("the lowest host's costs read {costs:?}"));
    }
    let color = wd
        .exec(
            "return getComputedStyle(document.querySelector('[data-testid=ov-score-value]')).color;",
            json!([]),
        )
        .await?;
    if color != json!("rgb(212, 47, 34)") {
        return Err(format!("a high-risk score is drawn in {color}, not red"));
    }
    eprintln!("[console_browser] fleet score {score}, host costs: {costs}");
    wd.screenshot(&c.shots.join("overview-score.png")).await?;

    // --- the batch bar: select the alert, mark it handled
    step("alerts: batch mark handled", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible(&row_css).await?;
    let handled = wd.find("[data-testid=batch-handled]").await?;
    if wd.property(&handled, "disabled").await? != json!(true) {
        return Err("the batch buttons are enabled with nothing selected".into());
    }
    wd.click(
        &wd.find(&format!("{row_css} input[data-testid=alert-check]"))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=batch-count]", "1 selected", |t| {
        t.trim() == "1 selected"
    })
    .await?;
    if !wd
        .exec(
            "return document.getElementById('drawer').hidden;",
            json!([]),
        )
        .await?
        .as_bool()
        .unwrap_or(false)
    {
        return Err("ticking a row's box opened the alert".into());
    }
    wd.screenshot(&c.shots.join("alerts-batch.png")).await?;
    wd.click(&wd.find("[data-testid=batch-handled]").await?)
        .await?;
    wd.wait_text("[data-testid=batch-result]", "the alert handled", |t| {
        t.contains("now handled")
    })
    .await?;
    wd.wait_js(
        "the handled alert to leave the unhandled list",
        "return !document.querySelector(arguments[0]);",
        json!([row_css]),
        UI_TIMEOUT,
    )
    .await?;
    if alert_status(c, id).await? != "handled" {
        return Err("the API does not say the alert is handled".into());
    }
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("handling alerts left an error banner: {b:?}"));
    }
    Ok(id)
}

/// The ids of the alert rows on show, top to bottom.
pub async fn alert_row_ids(wd: &WebDriver) -> WdResult<Vec<i64>> {
    let v = wd
        .exec(
            "return [...document.querySelectorAll('[data-testid=alerts-table] tr[data-testid=alert-row]')]
                 .map(tr => Number(tr.dataset.alertId));",
            json!([]),
        )
        .await?;
    Ok(v.as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default())
}

/// Waits until the alerts panel says (`dataset[key]`) it holds the rows for `loaded` and the URL
/// carries `param=in_url` (an empty `in_url`: no such parameter).
pub async fn wait_alerts_loaded(
    wd: &WebDriver,
    key: &str,
    loaded: &str,
    param: &str,
    in_url: &str,
) -> WdResult<()> {
    wd.wait_js(
        &format!("the alerts list loaded for {key} {loaded:?} with {param}={in_url:?} in the URL"),
        "const p = document.querySelector('[data-testid=alerts-panel]');
         const q = new URLSearchParams(location.hash.split('?')[1] || '');
         return !!p && p.dataset[arguments[0]] === arguments[1] && (q.get(arguments[2]) || '') === arguments[3];",
        json!([key, loaded, param, in_url]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// The alert list's search box, time filter and sort, each kept in the URL: every status
/// listed, then the port alert's name typed in the search box leaves that one row (the server
/// searches, after a pause in typing); the last 24 hours keep it; a custom range of days long
/// past leaves none; any time brings it back; sorting by level keeps the search.
pub async fn alert_filters(c: &Ctx<'_>, t0: Instant, lport: u16, port_alert: i64) -> WdResult<()> {
    let wd = c.wd;
    step("alerts: search box", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    filter_status(wd, "all").await?;
    let row_css = format!(
        "[data-testid=alerts-table] tr[data-testid=alert-row][data-alert-id='{port_alert}']"
    );
    wd.wait_visible(&row_css).await?;
    let before = alert_row_ids(wd).await?;
    // The port alert and the fakesvc alert at least.
    if before.len() < 2 {
        return Err(format!(
            "all statuses list {before:?}: not enough alerts to see a search narrow them"
        ));
    }
    let want = format!("port {lport} listening on all interfaces");
    let search = wd.find("[data-testid=alerts-search]").await?;
    wd.click(&search).await?;
    wd.send_keys(&search, &want).await?;
    wait_alerts_loaded(wd, "loadedQ", &want, "q", &want).await?;
    let after = alert_row_ids(wd).await?;
    if after != vec![port_alert] {
        return Err(format!(
            "searching {want:?} lists alerts {after:?} (before: {before:?}), wanted only {port_alert}"
        ));
    }
    // Rebuilt for the new URL, the page kept the search box focused with the text typed.
    let kept = wd
        .exec(
            "const s = document.getElementById('alerts-search');
             return [s.value, document.activeElement === s, new URLSearchParams(location.hash.split('?')[1]).get('status')];",
            json!([]),
        )
        .await?;
    if kept != json!([want, true, "all"]) {
        return Err(format!(
            "after the search the box, its focus and the status read {kept}"
        ));
    }
    wd.screenshot(&c.shots.join("alerts-search.png")).await?;

    step("alerts: time filter", t0).await;
    wd.click(&wd.find("#alerts-time option[value='24h']").await?)
        .await?;
    wait_alerts_loaded(wd, "loadedTime", "24h", "time", "24h").await?;
    wait_alerts_loaded(wd, "loadedQ", &want, "q", &want).await?;
    if alert_row_ids(wd).await? != vec![port_alert] {
        return Err("the last 24 hours do not list the port alert raised minutes ago".into());
    }
    // A custom range: two days in January 2001, long before any alert here.
    wd.click(&wd.find("#alerts-time option[value=custom]").await?)
        .await?;
    wait_alerts_loaded(wd, "loadedTime", "custom::", "time", "custom").await?;
    wd.wait_visible("[data-testid=alerts-since]").await?;
    pick_date(wd, "[data-testid=alerts-since]", "2001-01-01").await?;
    wd.wait_js(
        "the custom start in the URL",
        "return new URLSearchParams(location.hash.split('?')[1]).get('since') === '2001-01-01'
             && document.querySelector('[data-testid=alerts-panel]').dataset.loadedTime === 'custom:2001-01-01:';",
        json!([]),
        UI_TIMEOUT,
    )
    .await?;
    pick_date(wd, "[data-testid=alerts-until]", "2001-01-02").await?;
    wd.wait_js(
        "the custom range loaded",
        "const q = new URLSearchParams(location.hash.split('?')[1]);
         return q.get('since') === '2001-01-01' && q.get('until') === '2001-01-02' && q.get('time') === 'custom'
             && q.get('q') === arguments[0]
             && document.querySelector('[data-testid=alerts-panel]').dataset.loadedTime === 'custom:2001-01-01:2001-01-02';",
        json!([want]),
        UI_TIMEOUT,
    )
    .await?;
    let left = alert_row_ids(wd).await?;
    if !left.is_empty() {
        return Err(format!("January 2001 lists alerts {left:?}"));
    }
    wd.wait_text("[data-testid=alerts-table] tbody", "no alert", |t| {
        t.contains("No alert matches")
    })
    .await?;
    wd.wait_text("[data-testid=alerts-pager]", "0 of 0", |t| {
        t.contains("of 0")
    })
    .await?;
    wd.screenshot(&c.shots.join("alerts-time-filter.png"))
        .await?;
    // Any time again: the range leaves the URL, the search stays.
    wd.click(&wd.find("#alerts-time option[value='']").await?)
        .await?;
    wait_alerts_loaded(wd, "loadedTime", "", "time", "").await?;
    let q = wd
        .exec(
            "const q = new URLSearchParams(location.hash.split('?')[1]); return [q.get('since'), q.get('until'), q.get('q')];",
            json!([]),
        )
        .await?;
    if q != json!([null, null, want]) {
        return Err(format!("back to any time, the URL keeps {q}"));
    }
    if alert_row_ids(wd).await? != vec![port_alert] {
        return Err("back to any time, the port alert is not listed".into());
    }

    step("alerts: sort", t0).await;
    wd.click(&wd.find("#alerts-sort option[value=level]").await?)
        .await?;
    wait_alerts_loaded(wd, "loadedSort", "level", "sort", "level").await?;
    if alert_row_ids(wd).await? != vec![port_alert] {
        return Err("sorting by level lost the search".into());
    }
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the alert filters raised the banner: {b:?}"));
    }
    Ok(())
}

/// The Alerts page's filters and pager render, offer the server's lists (`/api/v1/meta`), and
/// the level filter goes to the URL.
pub async fn alerts_page(c: &Ctx<'_>, t0: Instant) -> WdResult<()> {
    let wd = c.wd;
    step("alerts page", t0).await;
    wd.click(&wd.find("#nav-alerts").await?).await?;
    wd.wait_visible("[data-testid=alerts-table]").await?;
    wd.wait_text("[data-testid=alerts-pager]", "the pager", |t| {
        t.contains(" of ")
    })
    .await?;
    let meta = api_get(c, "/api/v1/meta").await?;
    // The filters offer the server's lists: "All levels" and "All types" first, "All statuses"
    // last.
    let any = |v: Vec<String>| [vec![String::new()], v].concat();
    let mut statuses = strings(&meta["alerts"]["statuses"], None);
    statuses.push("all".into());
    for (css, want) in [
        (
            "#alerts-level",
            any(strings(&meta["alerts"]["levels"], None)),
        ),
        (
            "#alerts-kind",
            any(strings(&meta["alerts"]["kinds"], Some("kind"))),
        ),
        ("#alerts-status", statuses),
    ] {
        let got = option_values(wd, css).await?;
        if got != want || want.len() < 4 {
            return Err(format!(
                "{css} offers {got:?}, the server's list is {want:?}"
            ));
        }
    }
    // Clicking an <option> selects it and fires `change`, as a user picking it would.
    wd.click(&wd.find("#alerts-level option[value=urgent]").await?)
        .await?;
    wd.wait_js(
        "the level filter in the URL",
        "return location.hash.includes('level=urgent');",
        json!([]),
        UI_TIMEOUT,
    )
    .await?;
    wd.wait_text("[data-testid=alerts-pager]", "the pager", |t| {
        t.contains(" of ")
    })
    .await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the alerts page shows an error: {b:?}"));
    }
    Ok(())
}
