//! The Notifications page (channels, delivery settings, the delivery log) and the Inbox.

use crate::fixture::free_port;
use crate::prelude::*;

/// The channels the API lists.
pub async fn api_channels(c: &Ctx<'_>) -> WdResult<Vec<Value>> {
    let v = api_get(c, "/api/v1/notify/channels").await?;
    Ok(v["channels"].as_array().cloned().unwrap_or_default())
}

/// The Notifications page, before the scenario raises any alert: an inbox channel (every
/// level, any time, no limits) added through the form; an email channel with a bad recipient
/// refused with the server's message in the banner; an email channel for one alert type that
/// will fail to deliver (its SMTP server refuses connections); a webhook channel with a night
/// window whose secret URL is shown redacted, deleted in two clicks; SMTP settings saved with a
/// password that the page never shows.
pub async fn notifications_setup(c: &Ctx<'_>, t0: Instant) -> WdResult<()> {
    let wd = c.wd;
    step("notifications: inbox channel", t0).await;
    wd.click(&wd.find("#nav-notifications").await?).await?;
    wd.wait_visible("[data-testid=channels-table]").await?;
    wd.wait_text("[data-testid=channels-table-count]", "no channel", |t| {
        t.contains("0 rows")
    })
    .await?;
    // The settings have loaded once the time zone select has its options.
    wd.wait_js(
        "the time zone options",
        "return document.querySelectorAll('#ns-offset option').length > 10;",
        json!([]),
        UI_TIMEOUT,
    )
    .await?;
    fill_input(wd, "#ch-name", "console inbox").await?;
    if wd.property(&wd.find("#ch-type").await?, "value").await? != json!("inbox") {
        return Err("the channel type does not start at the console inbox".into());
    }
    for level in ["urgent", "suspicious", "reminder"] {
        let b = wd.find(&format!("[data-testid=ch-level-{level}]")).await?;
        if wd.property(&b, "checked").await? != json!(true) {
            return Err(format!("the {level} level is not ticked by default"));
        }
    }
    // No limit: other alerts of this host must not use up the one a day per host.
    fill_input(wd, "#ch-max-day", "0").await?;
    fill_input(wd, "#ch-max-host", "0").await?;
    wd.click(&wd.find("#ch-add").await?).await?;
    wd.wait_text("[data-testid=channel-added]", "the channel added", |t| {
        t.contains("(console inbox) added")
    })
    .await?;
    let inbox_row = "tr[data-testid=channel-row][data-name='console inbox']";
    let text = wd.text(&wd.wait_visible(inbox_row).await?).await?;
    let lower = text.to_lowercase();
    for needle in [
        "console inbox",
        "urgent",
        "suspicious",
        "reminder",
        "all types",
        "any time",
        "no limit in all",
        "no limit per host",
    ] {
        if !lower.contains(needle) {
            return Err(format!(
                "the inbox channel's row lacks {needle:?}: {text:?}"
            ));
        }
    }
    let chans = api_channels(c).await?;
    let cfg = &chans.first().ok_or("the API lists no channel")?["config"];
    if chans.len() != 1
        || cfg["kind"] != json!({"type": "inbox"})
        || cfg["levels"].as_array().map(Vec::len) != Some(3)
        || !cfg["kinds"].is_null()
        || !cfg["window"].is_null()
        || cfg["max_per_day"] != json!(0)
        || cfg["max_per_host_per_day"] != json!(0)
        || cfg["enabled"] != json!(true)
    {
        return Err(format!(
            "the API does not hold the inbox channel as set: {chans:?}"
        ));
    }

    // --- an email channel with a bad recipient: refused, the server's message in the banner
    step("notifications: refused and failing email channels", t0).await;
    fill_input(wd, "#ch-name", "bad mail").await?;
    wd.click(&wd.find("#ch-type option[value=email]").await?)
        .await?;
    wd.wait_visible("#ch-to").await?;
    fill_input(wd, "#ch-to", "not an address").await?;
    wd.click(&wd.find("#ch-add").await?).await?;
    let msg = wd
        .wait_text("#error-text", "the server's refusal", |t| {
            t.contains("not an email address")
        })
        .await?;
    if !msg.contains("Adding the channel") || !msg.contains("\"not an address\"") {
        return Err(format!("the refused channel's banner reads {msg:?}"));
    }
    if api_channels(c).await?.len() != 1 {
        return Err("the refused email channel was saved".into());
    }
    // A good recipient, suspicious ports only, default limits: its deliveries fail (below).
    wd.click(&wd.find("#error-close").await?).await?;
    fill_input(wd, "#ch-name", "ops mail").await?;
    fill_input(wd, "#ch-to", "Ops <ops@example.com>").await?;
    wd.click(&wd.find("#ch-kinds option[value=suspicious_port]").await?)
        .await?;
    wd.wait_text("[data-testid=ch-kinds-note]", "one type", |t| {
        t.starts_with("1 type selected")
    })
    .await?;
    wd.click(&wd.find("#ch-add").await?).await?;
    wd.wait_text("[data-testid=channel-added]", "the channel added", |t| {
        t.contains("(ops mail) added")
    })
    .await?;
    let text = wd
        .text(
            &wd.wait_visible("tr[data-testid=channel-row][data-name='ops mail']")
                .await?,
        )
        .await?;
    for needle in [
        "ops@example.com",
        "suspicious port",
        "5 in all",
        "1 per host",
    ] {
        if !text.to_lowercase().contains(needle) {
            return Err(format!(
                "the email channel's row lacks {needle:?}: {text:?}"
            ));
        }
    }

    // --- a webhook with a night window: its secret path is never shown; deleted in two clicks
    step("notifications: webhook channel", t0).await;
    fill_input(wd, "#ch-name", "chat hook").await?;
    wd.click(&wd.find("#ch-type option[value=webhook]").await?)
        .await?;
    wd.wait_visible("#ch-url").await?;
    fill_input(
        wd,
        "#ch-url",
        "https://hooks.example.com/services/T0/SECRET-TOKEN",
    )
    .await?;
    wd.click(&wd.find("#ch-shape option[value=slack]").await?)
        .await?;
    fill_input(wd, "#ch-window-start", "22:00").await?;
    fill_input(wd, "#ch-window-end", "06:30").await?;
    wd.click(&wd.find("#ch-add").await?).await?;
    wd.wait_text("[data-testid=channel-added]", "the channel added", |t| {
        t.contains("(chat hook) added")
    })
    .await?;
    let hook_row = "tr[data-testid=channel-row][data-name='chat hook']";
    let text = wd.text(&wd.wait_visible(hook_row).await?).await?;
    for needle in [
        "https://hooks.example.com/…",
        "Slack",
        "22:00–06:30 (overnight)",
        "all types",
    ] {
        if !text.contains(needle) {
            return Err(format!(
                "the webhook channel's row lacks {needle:?}: {text:?}"
            ));
        }
    }
    let leaked = wd
        .exec(
            "return document.documentElement.outerHTML.includes('SECRET-TOKEN')
                 || [...document.querySelectorAll('input')].some(i => i.value.includes('SECRET-TOKEN'));",
            json!([]),
        )
        .await?;
    if leaked != json!(false) {
        return Err("the webhook's secret token is still on the page".into());
    }
    let del = format!("{hook_row} button[data-testid=channel-delete]");
    wd.click(&wd.find(&del).await?).await?;
    wd.wait_text(&del, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&del).await?).await?;
    wd.wait_text("[data-testid=channel-deleted]", "the deletion", |t| {
        t.contains("(chat hook) deleted")
    })
    .await?;
    wd.wait_js(
        "the deleted channel to leave the table",
        "return !document.querySelector(arguments[0]);",
        json!([hook_row]),
        UI_TIMEOUT,
    )
    .await?;
    if api_channels(c).await?.len() != 2 {
        return Err("the API does not list exactly the two channels left".into());
    }

    // --- delivery settings: the SMTP server refuses connections (a closed local port)
    step("notifications: delivery settings", t0).await;
    let password = "pw-never-shown-7";
    wd.click(&wd.find("#ns-offset option[value='480']").await?)
        .await?;
    fill_input(wd, "#smtp-host", "127.0.0.1").await?;
    fill_input(wd, "#smtp-port", &free_port().to_string()).await?;
    // The encryption choices are the values the server's SMTP settings take.
    let meta = api_get(c, "/api/v1/meta").await?;
    for (css, list) in [
        ("#smtp-tls", &meta["notify"]["smtp_tls"]),
        ("#ch-type", &meta["notify"]["channel_types"]),
        ("#ch-shape", &meta["notify"]["webhook_shapes"]),
    ] {
        let want = strings(list, Some("value"));
        let got = option_values(wd, css).await?;
        if got != want || want.len() < 3 {
            return Err(format!(
                "{css} offers {got:?}, the server's list is {want:?}"
            ));
        }
    }
    wd.click(&wd.find("#smtp-tls option[value=none]").await?)
        .await?;
    fill_input(wd, "#smtp-from", "Vigil <vigil@example.com>").await?;
    fill_input(wd, "#smtp-user", "vigil").await?;
    fill_input(wd, "#smtp-password", password).await?;
    wd.click(&wd.find("#ns-save").await?).await?;
    wd.wait_text("[data-testid=settings-saved]", "the settings saved", |t| {
        t.contains("UTC+08:00") && t.contains("SMTP 127.0.0.1")
    })
    .await?;
    wd.wait_text("[data-testid=smtp-password-set]", "password set", |t| {
        t.contains("password set")
    })
    .await?;
    let shown = wd
        .exec(
            "return document.documentElement.outerHTML.includes(arguments[0])
                 || [...document.querySelectorAll('input')].some(i => i.value.includes(arguments[0]));",
            json!([password]),
        )
        .await?;
    if shown != json!(false) {
        return Err("the SMTP password is shown on the page after saving".into());
    }
    let s = api_get(c, "/api/v1/notify/settings").await?;
    if s["utc_offset_minutes"] != json!(480)
        || s["smtp"]["password_set"] != json!(true)
        || s.to_string().contains(password)
    {
        return Err(format!("the API does not hold the settings as saved: {s}"));
    }
    wd.exec("document.getElementById('view').scrollTop = 0;", json!([]))
        .await?;
    wd.screenshot(&c.shots.join("notifications.png")).await?;
    // Changing the SMTP server without the password: the page says to type it again.
    fill_input(wd, "#smtp-port", "2525").await?;
    wd.click(&wd.find("#ns-save").await?).await?;
    wd.wait_text("#error-text", "the password asked again", |t| {
        t.contains("type the SMTP password again")
    })
    .await?;
    wd.click(&wd.find("#error-close").await?).await?;
    Ok(())
}

/// After the scenario's alerts: the top bar's unread badge, the inbox message naming the test's
/// port (bold until opened; opening it marks it read and offers its alert), and the delivery
/// log with a sent attempt on the inbox channel and a failed one, in red, on the email channel.
pub async fn inbox_and_log(c: &Ctx<'_>, t0: Instant, lport: u16, alert_id: i64) -> WdResult<()> {
    let wd = c.wd;
    step("inbox: unread badge", t0).await;
    let count = |t: &str| t.trim().trim_end_matches('+').parse::<u32>().ok();
    wd.wait_text("[data-testid=inbox-unread]", "an unread count", |t| {
        count(t).is_some_and(|n| n >= 1)
    })
    .await?;
    wd.click(&wd.find("#inbox-link").await?).await?;
    wd.wait_visible("[data-testid=inbox-list]").await?;
    let want = format!("port {lport} listening on all interfaces");
    let mid = wd
        .wait_js(
            "the message about the test's port",
            "const m = [...document.querySelectorAll('li[data-testid=inbox-message]')]
                 .find(li => li.querySelector('[data-testid=inbox-title]').textContent.includes(arguments[0]));
             return m ? m.dataset.messageId : null;",
            json!([want]),
            UI_TIMEOUT,
        )
        .await?;
    let mid = mid.as_str().unwrap_or_default().to_string();
    let msg_css = format!("li[data-testid=inbox-message][data-message-id='{mid}']");
    let state = wd
        .exec(
            "const li = document.querySelector(arguments[0]);
             return [li.dataset.read, getComputedStyle(li.querySelector('[data-testid=inbox-title]')).fontWeight];",
            json!([msg_css]),
        )
        .await?;
    if state != json!(["0", "700"]) {
        return Err(format!(
            "the new message is not shown unread in bold (read flag, weight): {state}"
        ));
    }
    // Newest first.
    let order = wd
        .exec(
            "return [...document.querySelectorAll('li[data-testid=inbox-message]')].map(li => Number(li.dataset.messageId));",
            json!([]),
        )
        .await?;
    let ids: Vec<i64> = order
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    if ids.windows(2).any(|w| w[0] < w[1]) {
        return Err(format!("the inbox is not newest first: {ids:?}"));
    }

    step("inbox: open and mark read", t0).await;
    wd.click(
        &wd.find(&format!("{msg_css} [data-testid=inbox-open]"))
            .await?,
    )
    .await?;
    wd.wait_js(
        "the message marked read",
        "const li = document.querySelector(arguments[0]); return !!li && li.dataset.read === '1';",
        json!([msg_css]),
        UI_TIMEOUT,
    )
    .await?;
    let body = wd
        .text(
            &wd.find(&format!("{msg_css} [data-testid=inbox-body]"))
                .await?,
        )
        .await?;
    if !body.contains(&want) || !body.contains(&c.hostname) {
        return Err(format!(
            "the message body does not name the port and the host: {body:?}"
        ));
    }
    let inbox = api_get(c, "/api/v1/inbox").await?;
    let m = inbox["messages"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|m| m["id"].as_i64().is_some_and(|i| i.to_string() == mid))
        })
        .ok_or_else(|| format!("the API does not list message {mid}"))?;
    if m["read_at"].is_null() || m["alert_id"] != json!(alert_id) {
        return Err(format!(
            "the API does not show message {mid} read for alert {alert_id}: {m}"
        ));
    }
    // The badge follows: it shows what the server counts as unread (other alerts may come).
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let unread = api_get(c, "/api/v1/inbox").await?["unread"]
            .as_u64()
            .unwrap_or(u64::MAX);
        let shown = wd
            .exec(
                "const b = document.getElementById('inbox-unread'); return b.hidden ? '0' : b.textContent;",
                json!([]),
            )
            .await?;
        let shown = count(shown.as_str().unwrap_or_default()).map(u64::from);
        if shown == Some(unread.min(99)) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the badge shows {shown:?} unread, the server counts {unread}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wd.screenshot(&c.shots.join("inbox.png")).await?;
    wd.click(
        &wd.find(&format!("{msg_css} [data-testid=inbox-alert]"))
            .await?,
    )
    .await?;
    wd.wait_visible(&format!(
        "#drawer[data-alert-id='{alert_id}'] [data-testid=alert-handle]"
    ))
    .await?;
    wd.click(&wd.find("#drawer-close").await?).await?;

    // --- the delivery log: sent to the inbox; the email attempts failed, in red, with why
    step("notifications: delivery log", t0).await;
    wd.click(&wd.find("#nav-notifications").await?).await?;
    wd.wait_visible("[data-testid=outbox-table]").await?;
    let sent_row =
        format!("tr[data-testid=outbox-row][data-alert-id='{alert_id}'][data-state=sent]");
    let text = wd.text(&wd.wait_visible(&sent_row).await?).await?;
    if !text.contains("console inbox") || !text.contains(&c.hostname) {
        return Err(format!(
            "the sent notification's row lacks its channel or host: {text:?}"
        ));
    }
    wd.find(&format!(
        "{sent_row} [data-testid=outbox-attempt][data-outcome=sent]"
    ))
    .await
    .map_err(|_| format!("the sent notification lists no sent attempt: {text:?}"))?;
    // The email channel's first try fails at once (connection refused); the log refreshes
    // itself every 10 s, so look again with the Refresh button until it shows.
    let failed = "tr[data-testid=outbox-row] [data-testid=outbox-attempt][data-outcome=failed]";
    let deadline = Instant::now() + UI_TIMEOUT;
    while wd.find(failed).await.is_err() {
        if Instant::now() >= deadline {
            return Err(format!(
                "no failed attempt in the delivery log; the outbox: {}",
                api_get(c, "/api/v1/notify/outbox").await?
            ));
        }
        wd.click(&wd.find("[data-testid=outbox-refresh]").await?)
            .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let attempt = wd
        .exec(
            "const a = document.querySelector(arguments[0]);
             return [a.closest('tr').querySelector('[data-testid=outbox-channel]').textContent,
                     a.querySelector('[data-testid=attempt-message]').textContent,
                     getComputedStyle(a).color];",
            json!([failed]),
        )
        .await?;
    if attempt[0] != json!("ops mail")
        || attempt[1].as_str().is_none_or(str::is_empty)
        || attempt[2] != json!("rgb(212, 47, 34)")
    {
        return Err(format!(
            "the failed attempt is not the email channel's, with a reason, in red: {attempt}"
        ));
    }
    wd.exec(
        "document.querySelector('[data-testid=outbox-panel]').scrollIntoView();",
        json!([]),
    )
    .await?;
    wd.screenshot(&c.shots.join("notifications-log.png"))
        .await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!(
            "the inbox or the delivery log raised the banner: {b:?}"
        ));
    }
    Ok(())
}
