//! The Attack analysis page: what the server has, then a known answer drawn as a chart.

use crate::prelude::*;

/// Installs a stand-in for `fetch` in the page that answers `/api/v1/attacks` with `data`
/// (its `days` filtered on the `host` query parameter, as the server does) and passes every
/// other call through. The test cannot raise failed logins on this machine: the local agent
/// reads the machine's own login logs, which the test must not write to. The real API's answer
/// is checked first; this checks how the page draws a known one.
pub async fn stub_attacks(wd: &WebDriver, data: Value) -> WdResult<()> {
    wd.exec(
        "const data = arguments[0];
         if (!window.__vigilFetch) window.__vigilFetch = window.fetch;
         const real = window.__vigilFetch;
         window.__attackQueries = [];
         window.fetch = (url, init) => {
           const u = String(url);
           if (!u.startsWith('/api/v1/attacks')) return real(url, init);
           window.__attackQueries.push(u);
           const host = new URLSearchParams(u.split('?')[1] || '').get('host');
           const body = { ...data, days: data.days.filter((d) => !host || d.host_id === host) };
           return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }));
         };
         return true;",
        json!([data]),
    )
    .await
    .map(|_| ())
}

/// The text of the value in the totals card `testid`.
pub async fn stat_value(wd: &WebDriver, testid: &str) -> WdResult<String> {
    let el = wd
        .find(&format!("[data-testid={testid}] .stat-value"))
        .await?;
    Ok(wd.text(&el).await?.trim().to_string())
}

/// Waits until the attack chart shows `days` days for `host` ("" for all hosts), loaded.
pub async fn wait_attacks(wd: &WebDriver, days: u32, host: &str, empty: bool) -> WdResult<()> {
    wd.wait_js(
        &format!("the attack analysis of {days} days (host {host:?}, empty: {empty})"),
        "const c = document.querySelector('[data-testid=attacks-chart]');
         return !!c && c.dataset.days === arguments[0] && c.dataset.host === arguments[1]
           && c.dataset.empty === (arguments[2] ? '1' : '')
           && (arguments[2] || document.querySelectorAll('[data-testid=attack-day]').length === Number(arguments[0]));",
        json!([days.to_string(), host, empty]),
        UI_TIMEOUT,
    )
    .await
    .map(|_| ())
}

/// The Attack analysis page. First what the server really has (on this machine, most likely
/// nothing: the empty state, the chart's box and zero totals); the range selector in the URL.
/// Then a known answer (see [`stub_attacks`]): one column per day with its tooltip, bars in
/// proportion, the days with automatic blocks marked, the totals, the by-host and top-source
/// tables, the host selector; and a source's Block… link filling in the IP policy form.
pub async fn attack_analysis(c: &Ctx<'_>, t0: Instant, host_id: &str) -> WdResult<()> {
    let wd = c.wd;
    step("attacks: what the server has", t0).await;
    wd.click(&wd.find("#nav-attacks").await?).await?;
    let real = api_get(c, "/api/v1/attacks?days=30").await?;
    let rows = real["days"].as_array().cloned().unwrap_or_default();
    let sum = |k: &str| rows.iter().map(|d| d[k].as_i64().unwrap_or(0)).sum::<i64>();
    let (failures, blocks) = (sum("failures"), sum("blocks"));
    let empty = failures == 0 && blocks == 0;
    wait_attacks(wd, 30, "", empty).await?;
    if empty {
        let t = wd
            .text(&wd.find("[data-testid=attacks-empty]").await?)
            .await?;
        if !t.contains("No failed logins and no automatic blocks in the last 30 days") {
            return Err(format!("the empty attack analysis reads {t:?}"));
        }
        wd.wait_text(
            "[data-testid=attacks-sources-table] tbody",
            "no source",
            |t| t.contains("No failed login in this range"),
        )
        .await?;
    } else {
        eprintln!("note: this machine has {failures} failed logins in 30 days: checking the chart, not the empty state");
    }
    let shown = stat_value(wd, "attacks-total-failures").await?;
    if shown != failures.to_string()
        || stat_value(wd, "attacks-total-blocks").await? != blocks.to_string()
    {
        return Err(format!(
            "the totals read {shown} failed logins, the API counts {failures} failed logins and {blocks} blocks"
        ));
    }
    wd.screenshot(&c.shots.join("attacks-real.png")).await?;

    step("attacks: range", t0).await;
    wd.click(&wd.find("[data-testid=attacks-range-7]").await?)
        .await?;
    wd.wait_js(
        "the range in the URL",
        "return location.hash === '#/attacks?days=7';",
        json!([]),
        UI_TIMEOUT,
    )
    .await?;
    let real7 = api_get(c, "/api/v1/attacks?days=7").await?;
    let empty7 = real7["days"].as_array().is_none_or(|d| {
        d.iter()
            .all(|r| r["failures"].as_i64() == Some(0) && r["blocks"].as_i64() == Some(0))
    });
    wait_attacks(wd, 7, "", empty7).await?;

    // A known answer: 60 failed logins over three of the seven days, on this host and another.
    step("attacks: the chart of a known answer", t0).await;
    let since = real7["since"]
        .as_i64()
        .ok_or_else(|| format!("the attack analysis has no since: {real7}"))?;
    let day = |i: i64| since + i * 86_400;
    let other = "h-elsewhere";
    stub_attacks(
        wd,
        json!({
            "since": since,
            "days": [
                { "day": day(0), "host_id": host_id, "failures": 5, "sources": 2, "blocks": 0 },
                { "day": day(2), "host_id": host_id, "failures": 40, "sources": 3, "blocks": 1 },
                { "day": day(2), "host_id": other, "failures": 12, "sources": 1, "blocks": 0 },
                { "day": day(6), "host_id": host_id, "failures": 3, "sources": 1, "blocks": 2 },
            ],
            "top_sources": [
                { "source": "198.51.100.23", "failures": 41 },
                { "source": "203.0.113.9", "failures": 19 },
            ],
        }),
    )
    .await?;
    wd.click(&wd.find("[data-testid=attacks-refresh]").await?)
        .await?;
    wait_attacks(wd, 7, "", false).await?;
    let cols = wd
        .exec(
            "return [...document.querySelectorAll('[data-testid=attack-day]')].map((g) => ({
               day: Number(g.dataset.day), failures: Number(g.dataset.failures), blocks: Number(g.dataset.blocks),
               title: g.querySelector('title').textContent,
               height: Number(g.querySelector('[data-testid=attack-bar]').getAttribute('height')),
               mark: !!g.querySelector('[data-testid=attack-block-mark]'),
             }));",
            json!([]),
        )
        .await?;
    let cols = cols.as_array().cloned().unwrap_or_default();
    let col = |i: usize, k: &str| cols[i][k].clone();
    let want = [(5, 0), (0, 0), (52, 1), (0, 0), (0, 0), (0, 0), (3, 2)];
    for (i, (f, b)) in want.iter().enumerate() {
        if col(i, "day") != json!(day(i as i64))
            || col(i, "failures") != json!(f)
            || col(i, "blocks") != json!(b)
            || col(i, "mark") != json!(*b > 0)
        {
            return Err(format!("day {i} of the chart reads {}", cols[i]));
        }
    }
    let title = col(2, "title").as_str().unwrap_or_default().to_string();
    if !title.contains("52 failed logins, 4 sources, 1 automatic block") {
        return Err(format!("the third day's tooltip reads {title:?}"));
    }
    let (h0, h2, h1) = (
        col(0, "height").as_f64().unwrap_or(0.0),
        col(2, "height").as_f64().unwrap_or(0.0),
        col(1, "height").as_f64().unwrap_or(-1.0),
    );
    // 52 against 5 (the axis tops at 60): about ten times as tall.
    if h1 != 0.0 || h0 <= 0.0 || !(8.0..12.0).contains(&(h2 / h0)) {
        return Err(format!(
            "the bars are not in proportion: {h0} for 5, {h2} for 52, {h1} for 0"
        ));
    }
    let labels = wd
        .exec(
            "return [...document.querySelectorAll('[data-testid=attack-x-label]')].map((t) => t.textContent)
               .concat(['|'], [...document.querySelectorAll('[data-testid=attack-y-label]')].map((t) => t.textContent));",
            json!([]),
        )
        .await?;
    let last_day = chrono_day(day(6));
    if !labels
        .to_string()
        .contains(&format!("\"{}\"", &last_day[5..]))
        || !labels.to_string().contains("\"60\"")
    {
        return Err(format!(
            "the axes are labelled {labels}, wanted today ({last_day}) and 60"
        ));
    }
    for (testid, want) in [
        ("attacks-total-failures", "60"),
        ("attacks-total-sources", "7"),
        ("attacks-total-blocks", "3"),
        ("attacks-total-days", "3"),
    ] {
        let got = stat_value(wd, testid).await?;
        if got != want {
            return Err(format!("{testid} reads {got:?}, wanted {want}"));
        }
    }
    wd.wait_cell("attacks-sources-table", 0, "198.51.100.23")
        .await?;
    wd.wait_cell("attacks-sources-table", 1, "41").await?;
    wd.wait_cell("attacks-hosts-table", 0, &c.hostname).await?;
    wd.wait_cell("attacks-hosts-table", 0, other).await?;
    // This host's row: 48 failed logins, 6 sources, 3 blocks, on 3 days.
    let row = wd
        .text(
            &wd.find(&format!(
                "tr[data-testid=attacks-host-row][data-host-id={}]",
                css_str(host_id)
            ))
            .await?,
        )
        .await?;
    if !row.contains("48") || !row.contains(&chrono_day(day(6))) {
        return Err(format!("this host's row reads {row:?}"));
    }
    wd.screenshot(&c.shots.join("attacks.png")).await?;

    step("attacks: one host", t0).await;
    wd.click(
        &wd.find(&format!("#attacks-host option[value={}]", css_str(host_id)))
            .await?,
    )
    .await?;
    wait_attacks(wd, 7, host_id, false).await?;
    if stat_value(wd, "attacks-total-failures").await? != "48" {
        return Err("with this host chosen the total is not its 48 failed logins".into());
    }
    let asked = wd
        .exec(
            "return window.__attackQueries[window.__attackQueries.length - 1];",
            json!([]),
        )
        .await?;
    if asked != json!(format!("/api/v1/attacks?days=7&host={host_id}")) {
        return Err(format!("the page asked the API for {asked}"));
    }

    step("attacks: Block… fills in the IP policy form", t0).await;
    wd.click(
        &wd.find("[data-testid=attacks-block-link][data-source='198.51.100.23']")
            .await?,
    )
    .await?;
    wd.wait_visible("[data-testid=ip-prefill-note]").await?;
    wd.wait_js(
        "the block form filled in for 198.51.100.23 on this host",
        "const o = document.querySelector(`#ip-hosts option[value='${arguments[0]}']`);
         return document.getElementById('ip-target').value === '198.51.100.23'
           && document.getElementById('ip-scope').value === 'some' && !!o && o.selected;",
        json!([host_id]),
        UI_TIMEOUT,
    )
    .await?;
    let reason = wd.property(&wd.find("#ip-reason").await?, "value").await?;
    if reason
        != json!(format!(
            "Attack analysis: 41 failed logins in 7 days on {}",
            c.hostname
        ))
    {
        return Err(format!("the block form's reason reads {reason}"));
    }
    if wd
        .exec(
            "return document.querySelector('.nav-link.active').dataset.nav;",
            json!([]),
        )
        .await?
        != json!("ip-policy")
    {
        return Err("the IP policy page is not the active one in the menu".into());
    }
    wd.screenshot(&c.shots.join("attacks-block-prefilled.png"))
        .await?;
    unstub_fetch(wd).await?;
    if api_get(c, "/api/v1/ip-rules?status=active").await?["rules"]
        .as_array()
        .is_some_and(|r| !r.is_empty())
    {
        return Err("following Block… blocked something before the form was sent".into());
    }
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the attack analysis raised the banner: {b:?}"));
    }
    Ok(())
}

/// Unix seconds → `YYYY-MM-DD` (UTC).
pub fn chrono_day(ts: i64) -> String {
    // Howard Hinnant's days-to-civil.
    let z = ts.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
