//! The Login security page: the brute-force rule, the access whitelist and the login policy.

use crate::prelude::*;

/// The Login security page: the brute-force rule set to more than 10 failures with two access
/// whitelist entries, saved, kept across a reload and in the API; a bad network refused with
/// the server's message, the input kept and nothing saved; the abnormal-login policy refusing a
/// country name and keeping the approved location AU across a reload.
pub async fn login_security(c: &Ctx<'_>, t0: Instant) -> WdResult<()> {
    let wd = c.wd;
    let loaded = "return !!document.querySelector('#ls-form[data-loaded]') && !!document.querySelector('#lp-form[data-loaded]');";
    step("login security: brute-force rule", t0).await;
    wd.click(&wd.find("#nav-login-settings").await?).await?;
    wd.wait_js("the login security forms", loaded, json!([]), UI_TIMEOUT)
        .await?;
    let before = api_get(c, "/api/v1/login-settings").await?;
    let num = |v: String| v.parse::<i64>().ok();
    if num(value_of(wd, "#ls-max").await?) != before["max_failures"].as_i64()
        || num(value_of(wd, "#ls-span").await?) != before["span_mins"].as_i64()
    {
        return Err(format!("the form does not show the saved rule {before}"));
    }
    let options = wd
        .exec(
            "return [...document.querySelectorAll('#ls-max option')].map((o) => Number(o.value));",
            json!([]),
        )
        .await?;
    if options != json!([2, 3, 4, 5, 10, 50, 80, 100]) {
        return Err(format!("the failure limit offers {options}"));
    }
    wd.click(&wd.find("#ls-max option[value='10']").await?)
        .await?;
    fill_input(wd, "#ls-whitelist", "203.0.113.7\n198.51.100.0/24").await?;
    wd.wait_text("[data-testid=ls-rule-text]", "the rule in words", |t| {
        t.contains("more than 10 ")
    })
    .await?;
    wd.click(&wd.find("#ls-save").await?).await?;
    wd.wait_text("[data-testid=ls-saved]", "the settings saved", |t| {
        t.contains("Saved") && t.contains("2 whitelist entries")
    })
    .await?;
    let saved = api_get(c, "/api/v1/login-settings").await?;
    if saved["max_failures"] != json!(10)
        || saved["access_whitelist"] != json!(["203.0.113.7/32", "198.51.100.0/24"])
        || saved["span_mins"] != before["span_mins"]
        || saved["protocols"] != before["protocols"]
    {
        return Err(format!("the API holds the settings as {saved}"));
    }
    reload(wd, "the login security forms after a reload", loaded).await?;
    let (max, wl) = (
        value_of(wd, "#ls-max").await?,
        value_of(wd, "#ls-whitelist").await?,
    );
    if max != "10" || wl != "203.0.113.7\n198.51.100.0/24" {
        return Err(format!(
            "after a reload the form shows {max:?} failures and the whitelist {wl:?}"
        ));
    }

    step("login security: a bad whitelist entry", t0).await;
    let bad = "203.0.113.7\n198.51.100.0/24\n10.0.0.0/33";
    fill_input(wd, "#ls-whitelist", bad).await?;
    wd.click(&wd.find("#ls-save").await?).await?;
    let msg = wd
        .wait_text("[data-testid=ls-error]", "the server's refusal", |t| {
            t.contains("10.0.0.0/33")
        })
        .await?;
    if !msg.contains("invalid network") {
        return Err(format!("the refused whitelist reads {msg:?}"));
    }
    if value_of(wd, "#ls-whitelist").await? != bad || value_of(wd, "#ls-max").await? != "10" {
        return Err("the refused settings did not stay in the form".into());
    }
    let marked = wd
        .exec(
            "const t = document.getElementById('ls-whitelist');
             return t.classList.contains('invalid') && t.value.slice(t.selectionStart, t.selectionEnd);",
            json!([]),
        )
        .await?;
    if marked != json!("10.0.0.0/33") {
        return Err(format!(
            "the bad entry is not marked in the whitelist: {marked}"
        ));
    }
    if api_get(c, "/api/v1/login-settings").await? != saved {
        return Err("the refused settings changed what the API holds".into());
    }
    wd.screenshot(&c.shots.join("login-settings-refused.png"))
        .await?;

    step("login security: approved location AU", t0).await;
    if wd
        .text(&wd.find("[data-testid=lp-locations-state]").await?)
        .await?
        != "learned"
    {
        return Err("the locations do not start out learned".into());
    }
    fill_input(wd, "#lp-locations", "Australia").await?;
    wd.click(&wd.find("#lp-save").await?).await?;
    let msg = wd
        .wait_text("[data-testid=lp-error]", "the server's refusal", |t| {
            t.contains("Australia")
        })
        .await?;
    if !msg.contains("two-letter") {
        return Err(format!("the refused location reads {msg:?}"));
    }
    fill_input(wd, "#lp-locations", "AU").await?;
    wd.click(&wd.find("#lp-save").await?).await?;
    wd.wait_text("[data-testid=lp-saved]", "the policy saved", |t| {
        t.contains("approved locations configured")
    })
    .await?;
    if wd
        .exec(
            "return document.querySelector('[data-testid=lp-error]').hidden;",
            json!([]),
        )
        .await?
        != json!(true)
    {
        return Err("the policy form still shows the earlier error".into());
    }
    let policy = api_get(c, "/api/v1/login-policy").await?;
    if policy["locations"] != json!(["AU"])
        || !policy["ips"].is_null()
        || !policy["times"].is_null()
        || !policy["accounts"].is_null()
    {
        return Err(format!("the API holds the login policy as {policy}"));
    }
    reload(wd, "the login security forms after a reload", loaded).await?;
    let locs = value_of(wd, "#lp-locations").await?;
    let st = wd
        .text(&wd.find("[data-testid=lp-locations-state]").await?)
        .await?;
    if locs != "AU" || !st.starts_with("1 approved") {
        return Err(format!(
            "after a reload the approved locations read {locs:?} ({st:?})"
        ));
    }
    // The whitelist the refused save left behind is gone: the saved one shows.
    if value_of(wd, "#ls-whitelist").await? != "203.0.113.7\n198.51.100.0/24" {
        return Err("after a reload the whitelist is not the saved one".into());
    }
    wd.exec(
        "document.getElementById('lp-form').scrollIntoView({ block: 'end' }); return true;",
        json!([]),
    )
    .await?;
    wd.screenshot(&c.shots.join("login-settings.png")).await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("the login security page raised the banner: {b:?}"));
    }
    Ok(())
}
