//! The host list (this machine, online) and the host's page: its state, security score, agent
//! health and fingerprint tabs (packages, ports, accounts, system, events).

use crate::fixture::listening_tcp_ports;
use crate::prelude::*;

/// The host list shows this machine online; returns its row's selector and its host id.
pub async fn host_list(c: &Ctx<'_>, t0: Instant) -> WdResult<(String, String)> {
    let wd = c.wd;
    step("host list", t0).await;
    wd.click(&wd.find("#nav-hosts").await?).await?;
    let row_css = format!(
        "tr[data-testid=host-row][data-hostname={}]",
        css_str(&c.hostname)
    );
    let row = wd.wait_visible(&row_css).await?;
    let state = wd.attribute(&row, "data-state").await?.unwrap_or_default();
    if state != "online" {
        return Err(format!(
            "host {} is {state:?} in the host list, wanted online",
            c.hostname
        ));
    }
    let badge = wd
        .text(
            &wd.find(&format!("{row_css} [data-testid=host-state]"))
                .await?,
        )
        .await?;
    if !badge.eq_ignore_ascii_case("online") {
        return Err(format!("the state badge of {} reads {badge:?}", c.hostname));
    }
    let host_id = wd
        .attribute(&row, "data-host-id")
        .await?
        .unwrap_or_default();
    wd.screenshot(&c.shots.join("hosts.png")).await?;
    Ok((row_css, host_id))
}

/// The agent sends its first fingerprints right after enrolling; waits for them through the
/// API so the detail page is not caught in between.
pub async fn wait_fingerprints(c: &Ctx<'_>, host_id: &str) -> WdResult<()> {
    let console = &c.banner.console;
    let fp_url = format!("{console}/api/v1/hosts/{host_id}/fingerprints");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let res = c
            .http
            .get(&fp_url)
            .bearer_auth(&c.banner.api_token)
            .send()
            .await;
        if matches!(&res, Ok(r) if r.status().is_success()) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no fingerprints for host {host_id} after 60 s: {:?}",
                res.map(|r| r.status())
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

/// The host's page, opened from its row (`row_css`) in the host list.
pub async fn host_detail(c: &Ctx<'_>, t0: Instant, row_css: &str) -> WdResult<()> {
    let wd = c.wd;
    let console = &c.banner.console;
    step("host detail", t0).await;
    wd.click(
        &wd.find(&format!("{row_css} a[data-testid=host-link]"))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=host-name]", "the host name", |t| {
        t.trim() == c.hostname
    })
    .await?;
    let st = wd
        .text(&wd.find("[data-testid=host-detail-state]").await?)
        .await?;
    if !st.eq_ignore_ascii_case("online") {
        return Err(format!("host detail state badge reads {st:?}"));
    }
    // The host's security score (from /api/v1/score) and the agent's own health line.
    let score = wd
        .wait_text("[data-testid=host-score-value]", "a score", |t| {
            t.trim()
                .parse::<u32>()
                .is_ok_and(|n| (10..=100).contains(&n))
        })
        .await?;
    let band = wd
        .text(&wd.find("[data-testid=host-score-band]").await?)
        .await?;
    if !["secure", "a few risks", "many risks", "high risk"].contains(&band.trim()) {
        return Err(format!("host score {score} has the band {band:?}"));
    }
    let health = wd
        .wait_text("[data-testid=host-agent-health]", "memory and spool", |t| {
            t.contains("MB") && t.contains("dropped")
        })
        .await?;
    if wd.find("[data-testid=agent-dropped].bad").await.is_ok() && !health.contains(" 0 events") {
        eprintln!("note: the agent reports dropped events: {health:?}");
    }
    // The same heartbeat carried each monitor's health: one row per monitor.
    wd.wait_text(
        "[data-testid=host-monitors]",
        "the monitor health table",
        |t| {
            ["inventory", "logins", "firewall", "baseline", "files"]
                .iter()
                .all(|m| t.contains(m))
        },
    )
    .await?;

    step("packages tab", t0).await;
    wd.click(&wd.wait_visible("#tab-packages").await?).await?;
    wd.wait_visible("[data-testid=table-packages]").await?;
    wd.wait_cell("table-packages", 0, "dpkg").await?;
    wd.wait_text("[data-testid=table-packages-count]", "a row count", |t| {
        t.contains("row") || t.contains("showing")
    })
    .await?;
    wd.screenshot(&c.shots.join("host-detail.png")).await?;
    let filter = wd.find("[data-testid=table-packages-filter]").await?;
    wd.send_keys(&filter, "dpkg").await?;
    wd.wait_cell("table-packages", 1, "dpkg").await?;

    step("ports tab", t0).await;
    wd.click(&wd.find("#tab-ports").await?).await?;
    wd.wait_visible("[data-testid=table-ports]").await?;
    let listening = listening_tcp_ports();
    let api_port: u16 = console
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let mut want = vec![];
    if listening.contains(&5432) {
        want.push(5432);
    } else {
        eprintln!("note: nothing listens on 5432 here (no PostgreSQL); checking the console's own port instead");
    }
    want.push(api_port);
    for port in want {
        wd.wait_visible(&format!("[data-testid=table-ports] tr[data-port='{port}']"))
            .await?;
    }
    wd.screenshot(&c.shots.join("host-ports.png")).await?;

    step("accounts tab", t0).await;
    wd.click(&wd.find("#tab-accounts").await?).await?;
    wd.wait_visible("[data-testid=table-accounts]").await?;
    wd.wait_cell("table-accounts", 0, "root").await?;

    step("system and events tabs", t0).await;
    wd.click(&wd.find("#tab-system").await?).await?;
    wd.wait_cell("table-system", 1, &c.hostname).await?;
    wd.click(&wd.find("#tab-events").await?).await?;
    wd.wait_visible("[data-testid=table-events]").await?;
    Ok(())
}
