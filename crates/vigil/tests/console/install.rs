//! Install agent: a code created for group web with a label and an attacker-style provider
//! (shown as text, never markup), then revoked in two clicks.

use crate::prelude::*;

pub async fn install_codes(c: &Ctx<'_>, t0: Instant) -> WdResult<()> {
    let wd = c.wd;
    step("install page", t0).await;
    wd.click(&wd.find("#nav-install").await?).await?;
    wd.wait_visible("#install-form").await?;
    let group = wd.find("#install-group").await?;
    wd.clear(&group).await?;
    wd.send_keys(&group, "web").await?;
    wd.send_keys(&wd.find("#install-labels").await?, "env=prod")
        .await?;
    // Attacker-style text must come back as text, never as markup.
    wd.send_keys(
        &wd.find("#install-provider").await?,
        "<b id=\"xss\">idc</b>",
    )
    .await?;
    wd.click(&wd.find("#install-create").await?).await?;
    let cmd_el = wd.wait_visible("#install-command").await?;
    let command = wd
        .property(&cmd_el, "value")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string();
    for needle in ["curl", "--pinnedpubkey"] {
        if !command.contains(needle) {
            return Err(format!("the install command lacks {needle:?}: {command:?}"));
        }
    }
    let once = wd
        .text(&wd.find("[data-testid=install-once-note]").await?)
        .await?;
    if !once.contains("only once") || !once.contains("root") {
        return Err(format!(
            "the install note does not say shown-once / run-as-root: {once:?}"
        ));
    }
    let code_id = wd
        .attribute(&wd.find("#install-result").await?, "data-code-id")
        .await?
        .unwrap_or_default();
    let code_row = format!(
        "[data-testid=codes-table] tr[data-code-id={}]",
        css_str(&code_id)
    );
    let row = wd.wait_visible(&code_row).await?;
    let row_text = wd.text(&row).await?;
    if !row_text.contains("web")
        || !row_text.contains("env=prod")
        || !row_text.contains("<b id=\"xss\">idc</b>")
    {
        return Err(format!(
            "the new code's row lacks its group, label or provider: {row_text:?}"
        ));
    }
    let injected = wd
        .exec("return document.getElementById('xss') !== null;", json!([]))
        .await?;
    if injected != json!(false) {
        return Err("the provider text was inserted as HTML".into());
    }
    wd.wait_text(
        &format!("{code_row} [data-testid=code-state]"),
        "active",
        |t| t.eq_ignore_ascii_case("active"),
    )
    .await?;
    wd.screenshot(&c.shots.join("install.png")).await?;

    step("revoke", t0).await;
    let revoke_css = format!("{code_row} button[data-testid=revoke]");
    wd.click(&wd.find(&revoke_css).await?).await?;
    wd.wait_text(&revoke_css, "the confirmation", |t| t.contains("Confirm"))
        .await?;
    wd.click(&wd.find(&revoke_css).await?).await?;
    wd.wait_js(
        "the code to be revoked",
        "const r = document.querySelector(arguments[0]); return !!(r && r.dataset.state === 'revoked');",
        json!([code_row]),
        UI_TIMEOUT,
    )
    .await?;
    wd.wait_text(
        &format!("{code_row} [data-testid=code-state]"),
        "revoked",
        |t| t.eq_ignore_ascii_case("revoked"),
    )
    .await?;
    wd.screenshot(&c.shots.join("install-revoked.png")).await?;
    Ok(())
}
