//! The IP policy page: a bad address refused, a block applied by the agent, then disabled.

use crate::fixture::nft_log;
use crate::prelude::*;

/// The IP policy page: a bad address refused with the server's message in the form (the input
/// kept); the documentation address 192.0.2.44 blocked on this host for an hour, its row active
/// and the block pending, then applied by the agent (through the stand-in nft); disabled in two
/// clicks, its row disabled and the block removed from the host.
pub async fn ip_policy(c: &Ctx<'_>, t0: Instant, host_id: &str) -> WdResult<()> {
    let wd = c.wd;
    let host_wait = Duration::from_secs(60);
    step("IP policy: a bad address", t0).await;
    wd.click(&wd.find("#nav-ip-policy").await?).await?;
    wd.wait_visible("[data-testid=ip-rules-table]").await?;
    wd.wait_visible("#ip-form").await?;
    fill_input(wd, "#ip-target", "192.0.2.300").await?;
    wd.click(&wd.find("#ip-block").await?).await?;
    let msg = wd
        .wait_text("[data-testid=ip-form-error]", "the server's refusal", |t| {
            t.contains("192.0.2.300")
        })
        .await?;
    if !msg.contains("not an IP address") {
        return Err(format!("the refused address reads {msg:?}"));
    }
    let kept = wd.property(&wd.find("#ip-target").await?, "value").await?;
    if kept != json!("192.0.2.300") {
        return Err(format!("the refused address left {kept} in the form"));
    }
    if api_get(c, "/api/v1/ip-rules").await?["rules"]
        .as_array()
        .is_some_and(|r| !r.is_empty())
    {
        return Err("the refused address made a rule".into());
    }
    wd.screenshot(&c.shots.join("ip-policy-refused.png"))
        .await?;

    step("IP policy: block 192.0.2.44 on this host for 1 h", t0).await;
    fill_input(wd, "#ip-target", "192.0.2.44").await?;
    wd.click(&wd.find("#ip-scope option[value=some]").await?)
        .await?;
    wd.wait_visible("#ip-hosts").await?;
    wd.click(
        &wd.find(&format!("#ip-hosts option[value={}]", css_str(host_id)))
            .await?,
    )
    .await?;
    wd.wait_text("[data-testid=ip-hosts-note]", "one host chosen", |t| {
        t.starts_with("1 host chosen")
    })
    .await?;
    wd.click(&wd.find("#ip-duration option[value='1h']").await?)
        .await?;
    fill_input(
        wd,
        "#ip-reason",
        "console test <b>documentation address</b>",
    )
    .await?;
    wd.click(&wd.find("#ip-block").await?).await?;
    let added = wd
        .wait_text("[data-testid=ip-rule-added]", "the rule added", |t| {
            t.contains("192.0.2.44 blocked inbound on 1 host, for 1 hour")
        })
        .await?;
    if wd
        .exec(
            "return document.querySelector('[data-testid=ip-form-error]').hidden;",
            json!([]),
        )
        .await?
        != json!(true)
    {
        return Err("the form still shows the earlier error".into());
    }
    let row_css = "tr[data-testid=ip-rule-row][data-target='192.0.2.44/32']";
    let row = wd.wait_visible(row_css).await?;
    let rule_id = wd
        .attribute(&row, "data-rule-id")
        .await?
        .unwrap_or_default();
    eprintln!("[console_browser] {added}");
    wd.wait_text(
        &format!("{row_css} [data-testid=ip-status]"),
        "active",
        |t| t.eq_ignore_ascii_case("active"),
    )
    .await?;
    let summary = wd
        .wait_text(
            &format!("{row_css} [data-testid=ip-host-summary]"),
            "the block pending or applied on the host",
            |t| t == "pending on 1" || t == "applied on 1",
        )
        .await?;
    eprintln!("[console_browser] IP rule {rule_id} first shows {summary:?}");
    let text = wd.text(&row).await?;
    for needle in [
        "192.0.2.44",
        "inbound",
        c.hostname.as_str(),
        "custom",
        "console test <b>documentation address</b>",
        "by admin",
    ] {
        // Badges are capitalized by the style sheet.
        if !text.to_lowercase().contains(&needle.to_lowercase()) {
            return Err(format!("the rule's row lacks {needle:?}: {text:?}"));
        }
    }
    if text.contains("permanent") {
        return Err(format!("a 1 h block reads permanent: {text:?}"));
    }
    let rules = api_get(c, "/api/v1/ip-rules").await?;
    let rule = rules["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["id"].to_string().as_str() == rule_id))
        .ok_or_else(|| format!("the API does not list rule {rule_id}: {rules}"))?;
    let lasts = rule["expires_at"].as_i64().unwrap_or(0) - rule["created_at"].as_i64().unwrap_or(0);
    if rule["hosts"] != json!([host_id]) || rule["direction"] != json!("in") || lasts != 3600 {
        return Err(format!("the API holds the rule as {rule}"));
    }

    // The agent applies it at its next check-in (every 2 s here), through the stand-in nft.
    step("IP policy: applied by the agent", t0).await;
    wd.wait_js(
        "the block applied on this host",
        "return !!document.querySelector(arguments[0] + ' [data-testid=ip-host-state][data-state=applied]');",
        json!([row_css]),
        host_wait,
    )
    .await?;
    wd.click(
        &wd.find(&format!("{row_css} [data-testid=ip-host-summary]"))
            .await?,
    )
    .await?;
    let applied = wd
        .wait_text(
            &format!("{row_css} [data-testid=ip-host-state] [data-testid=ip-host-message]"),
            "the agent's message",
            |t| t.contains("blocked (in)"),
        )
        .await?;
    eprintln!("[console_browser] the agent reports: {applied}");
    let log = nft_log(c);
    if !log.contains("add element inet vigil in4 { 192.0.2.44/32 timeout ") {
        return Err(format!(
            "the stand-in nft was not asked to block 192.0.2.44: {log:?}"
        ));
    }
    wd.screenshot(&c.shots.join("ip-policy.png")).await?;

    step("IP policy: disable", t0).await;
    let disable = format!("{row_css} button[data-testid=ip-disable]");
    wd.click(&wd.find(&disable).await?).await?;
    wd.wait_text(&disable, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    if api_get(c, "/api/v1/ip-rules?status=active").await?["rules"]
        .as_array()
        .is_none_or(|r| r.is_empty())
    {
        return Err("the first click of Disable already disabled the rule".into());
    }
    wd.click(&wd.find(&disable).await?).await?;
    wd.wait_text("[data-testid=ip-rule-disabled]", "the rule disabled", |t| {
        t.contains("(192.0.2.44) disabled")
    })
    .await?;
    wd.wait_js(
        "the rule's row disabled",
        "const r = document.querySelector(arguments[0]); return !!r && r.dataset.status === 'disabled';",
        json!([row_css]),
        UI_TIMEOUT,
    )
    .await?;
    wd.wait_text(
        &format!("{row_css} [data-testid=ip-status]"),
        "disabled",
        |t| t.eq_ignore_ascii_case("disabled"),
    )
    .await?;
    if wd.find(&disable).await.is_ok() {
        return Err("a disabled rule still offers Disable".into());
    }
    // The agent removes the block at its next check-in; the page follows it.
    wd.wait_js(
        "the block removed from this host",
        "return !!document.querySelector(arguments[0] + ' [data-testid=ip-host-state][data-state=removed]');",
        json!([row_css]),
        host_wait,
    )
    .await?;
    let log = nft_log(c);
    let unblock = "delete element inet vigil in4 { 192.0.2.44/32 }";
    // The block itself deletes and re-adds the element (to reset its timeout): the unblock is one more.
    if log.matches(unblock).count() < 2 {
        return Err(format!(
            "the stand-in nft was not asked to unblock 192.0.2.44: {log:?}"
        ));
    }
    let rules = api_get(c, "/api/v1/ip-rules?status=disabled").await?;
    if !rules["rules"].as_array().is_some_and(|r| {
        r.iter()
            .any(|r| r["id"].to_string().as_str() == rule_id && r["ended_by"] == json!("admin"))
    }) {
        return Err(format!(
            "the API does not list rule {rule_id} disabled by admin: {rules}"
        ));
    }
    // The status filter: not among the active rules, among the disabled ones.
    wd.click(&wd.find("[data-testid=ip-status-filter-active]").await?)
        .await?;
    wd.wait_text(
        "[data-testid=ip-rules-table] tbody",
        "no active rule",
        |t| t.contains("No active IP rule"),
    )
    .await?;
    wd.click(&wd.find("[data-testid=ip-status-filter-disabled]").await?)
        .await?;
    wd.wait_visible(row_css).await?;
    wd.screenshot(&c.shots.join("ip-policy-disabled.png"))
        .await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the IP policy page raised the banner: {b:?}"));
    }
    Ok(())
}
