//! The Vulnerabilities page: the database hint, the findings of this machine, the drawer with
//! its fix command, ignores with a reason, the batch bar and the by-advisory view.

use crate::prelude::*;

/// The data-loaded key of the Vulnerabilities page: what its rows were loaded for.
pub async fn wait_vulns_loaded(wd: &WebDriver, prefix: &str) -> WdResult<()> {
    wd.wait_js(
        &format!("the vulnerability list loaded for {prefix:?}"),
        "const p = document.querySelector('[data-testid=vulns-panel]');
         return !!(p && (p.dataset.loaded || '').startsWith(arguments[0]));",
        json!([prefix]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// The vulnerability rows on show, as `[advisory, package, level, status]`.
pub async fn vuln_rows(wd: &WebDriver) -> WdResult<Vec<[String; 4]>> {
    let v = wd
        .exec(
            "return [...document.querySelectorAll('[data-testid=vuln-row]')].map((r) =>
               [r.dataset.advisory, r.dataset.package, r.dataset.level, r.dataset.status]);",
            json!([]),
        )
        .await?;
    Ok(v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| std::array::from_fn(|i| r[i].as_str().unwrap_or_default().to_string()))
        .collect())
}

/// The status the API gives the vulnerability `advisory` in `package` on `host_id`.
pub async fn vuln_status(
    c: &Ctx<'_>,
    host_id: &str,
    package: &str,
    advisory: &str,
) -> WdResult<String> {
    let res = api_get(
        c,
        &format!("/api/v1/vulns?host={host_id}&package={package}&q={advisory}&limit=100"),
    )
    .await?;
    res["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["advisory"] == json!(advisory) && i["package"] == json!(package))
        })
        .and_then(|i| i["status"].as_str().map(str::to_string))
        .ok_or_else(|| format!("the API does not list {advisory} in {package}: {res}"))
}

/// The Vulnerabilities page: the database hint (for an answer without a database, put in place
/// of the API's: this server has one), then the real findings of this machine against the
/// Debian 12 database built before `vigil up`: the DB line, a level filter, the drawer with its
/// fix command and Verify, an ignore refused without a reason and then done with one, the row
/// under status ignored, its ignore undone from the batch bar, and the by-advisory view.
pub async fn vulnerabilities(c: &Ctx<'_>, t0: Instant, host_id: &str) -> WdResult<()> {
    let wd = c.wd;
    step("vulnerabilities: no database", t0).await;
    wd.exec(
        "if (!window.__vigilFetch) window.__vigilFetch = window.fetch;
         const real = window.__vigilFetch;
         window.fetch = (url, init) => {
           if (!String(url).startsWith('/api/v1/vulns?')) return real(url, init);
           const body = { group_by: 'none', total: 0, truncated: false, items: [], database: {
             loaded: false, path: '/data/vulndb.bin', advisories: 0, sources: [],
             hint: 'no advisory database at /data/vulndb.bin: build it with `vigil vulndb update --source apt --data DIR`' } };
           return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }));
         };
         return true;",
        json!([]),
    )
    .await?;
    wd.click(&wd.find("#nav-vulns").await?).await?;
    wd.wait_visible("[data-testid=vulns-db][data-loaded='0']")
        .await?;
    wd.wait_text("[data-testid=vulns-db-hint]", "the build hint", |t| {
        t.contains("vigil vulndb update --source apt")
    })
    .await?;
    wd.wait_text("[data-testid=vulns-table] tbody", "the empty state", |t| {
        t.contains("No vulnerability matches")
    })
    .await?;
    wd.screenshot(&c.shots.join("vulns-no-db.png")).await?;
    unstub_fetch(wd).await?;

    step("vulnerabilities: this machine's findings", t0).await;
    // The status filter to all reloads from the real API.
    wd.click(&wd.find("#vulns-status option[value=all]").await?)
        .await?;
    wait_vulns_loaded(wd, "rows|all|").await?;
    let db = wd
        .wait_text("[data-testid=vulns-db]", "the loaded database", |t| {
            t.contains("advisories") && t.contains("security")
        })
        .await?;
    // The first inventory may still be on its way: the page refreshes every 10 s.
    wd.wait_js(
        "vulnerability rows",
        "return document.querySelectorAll('[data-testid=vuln-row]').length > 0;",
        json!([]),
        Duration::from_secs(60),
    )
    .await?;
    let rows = vuln_rows(wd).await?;
    let level = rows[0][2].clone();
    eprintln!(
        "[console_browser] {db:?}; first page: {} rows, the first {:?}",
        rows.len(),
        rows[0]
    );
    wd.screenshot(&c.shots.join("vulns-list.png")).await?;

    step("vulnerabilities: level filter", t0).await;
    wd.click(
        &wd.find(&format!("#vulns-level option[value={level}]"))
            .await?,
    )
    .await?;
    wait_vulns_loaded(wd, &format!("rows|all|{level}|")).await?;
    let rows = vuln_rows(wd).await?;
    if rows.is_empty() || rows.iter().any(|r| r[2] != level) {
        return Err(format!("the {level} filter shows {rows:?}"));
    }
    let unfixed = rows.iter().find(|r| r[3] == "unfixed").cloned();
    let Some([advisory, package, _, _]) = unfixed else {
        return Err(format!("no unfixed {level} row: {rows:?}"));
    };
    let row_css = format!(
        "[data-testid=vuln-row][data-advisory={}][data-package={}]",
        css_str(&advisory),
        css_str(&package)
    );

    step("vulnerabilities: drawer", t0).await;
    wd.click(
        &wd.find(&format!("{row_css} [data-testid=vuln-advisory]"))
            .await?,
    )
    .await?;
    wd.wait_visible("[data-testid=vuln-drawer]").await?;
    let fix = wd
        .property(&wd.find("[data-testid=vuln-fix-command]").await?, "value")
        .await?;
    if fix != json!(format!("apt-get install --only-upgrade {package}")) {
        return Err(format!("the drawer's fix command reads {fix}"));
    }
    let versions = wd
        .text(&wd.find("[data-testid=vuln-versions]").await?)
        .await?;
    if !versions.contains(" → ") {
        return Err(format!("the drawer's versions read {versions:?}"));
    }
    wd.wait_text("[data-testid=vuln-ids]", "the advisory ids", |t| {
        t.contains(&advisory)
    })
    .await?;
    wd.click(
        &wd.find("[data-testid=vuln-drawer] [data-testid=vuln-verify]")
            .await?,
    )
    .await?;
    wd.wait_text(
        "[data-testid=vuln-verify-message]",
        "the rescan message",
        |t| t.starts_with("Rescan requested") && t.contains("refreshes in 5 s"),
    )
    .await?;
    wd.screenshot(&c.shots.join("vulns-drawer.png")).await?;

    step("vulnerabilities: ignore", t0).await;
    wd.click(&wd.find("[data-testid=vuln-ignore]").await?)
        .await?;
    wd.wait_visible("[data-testid=vuln-reason-dialog]").await?;
    wd.click(&wd.find("[data-testid=vuln-reason-submit]").await?)
        .await?;
    wd.wait_text(
        "[data-testid=vuln-reason-error]",
        "the server's refusal",
        |t| t.contains("needs a reason"),
    )
    .await?;
    wd.screenshot(&c.shots.join("vulns-ignore-refused.png"))
        .await?;
    if vuln_status(c, host_id, &package, &advisory).await? != "unfixed" {
        return Err("an ignore without a reason changed the status".into());
    }
    let reason = "not reachable: the service is not exposed here";
    fill_input(wd, "[data-testid=vuln-reason]", reason).await?;
    wd.click(&wd.find("[data-testid=vuln-reason-submit]").await?)
        .await?;
    wd.wait_visible("[data-testid=vuln-drawer][data-status=ignored]")
        .await?;
    wd.wait_text("[data-testid=vuln-reason-text]", "the reason", |t| {
        t == reason
    })
    .await?;
    wd.wait_text("[data-testid=vuln-handle-notice]", "the result", |t| {
        t.contains("is now ignored")
    })
    .await?;
    if vuln_status(c, host_id, &package, &advisory).await? != "ignored" {
        return Err("the API does not list the row as ignored".into());
    }
    wd.screenshot(&c.shots.join("vulns-ignored.png")).await?;

    step(
        "vulnerabilities: status ignored, undo from the batch bar",
        t0,
    )
    .await;
    wd.click(&wd.find("#drawer-close").await?).await?;
    wd.click(&wd.find("#vulns-status option[value=ignored]").await?)
        .await?;
    wait_vulns_loaded(wd, &format!("rows|ignored|{level}|")).await?;
    let rows = vuln_rows(wd).await?;
    if !rows.iter().any(|r| r[0] == advisory && r[1] == package)
        || rows.iter().any(|r| r[3] != "ignored")
    {
        return Err(format!("status ignored lists {rows:?}"));
    }
    wd.click(
        &wd.find(&format!("{row_css} [data-testid=vuln-check]"))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=vulns-batch-count]", "one selected", |t| {
        t == "1 selected"
    })
    .await?;
    wd.click(&wd.find("[data-testid=vulns-batch-unignore]").await?)
        .await?;
    wd.wait_text("[data-testid=vuln-handle-notice]", "the undo", |t| {
        t.contains("is now unfixed")
    })
    .await?;
    wd.wait_js(
        "the row gone from the ignored list",
        "return !document.querySelector(arguments[0]);",
        json!([row_css]),
        UI_TIMEOUT,
    )
    .await?;
    if vuln_status(c, host_id, &package, &advisory).await? != "unfixed" {
        return Err("the undone ignore is not unfixed in the API".into());
    }

    step("vulnerabilities: by advisory", t0).await;
    wd.click(&wd.find("#vulns-status option[value=unfixed]").await?)
        .await?;
    wait_vulns_loaded(wd, &format!("rows|unfixed|{level}|")).await?;
    wd.click(&wd.find("[data-testid=vulns-view-advisory]").await?)
        .await?;
    wait_vulns_loaded(wd, &format!("advisory|unfixed|{level}|")).await?;
    let group = format!(
        "[data-testid=vuln-group-row][data-key={}]",
        css_str(&advisory)
    );
    wd.click(
        &wd.find(&format!("{group} [data-testid=vuln-group-key]"))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=vuln-hosts]", "the affected host", |t| {
        t.contains(&c.hostname)
    })
    .await?;
    wd.screenshot(&c.shots.join("vulns-by-advisory.png"))
        .await?;
    wd.click(&wd.find("#drawer-close").await?).await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the Vulnerabilities page raised the banner: {b:?}"));
    }
    Ok(())
}
