//! Signing in (a wrong password first), a session the server no longer knows, signing out.

use crate::prelude::*;

/// The sign-in page: a wrong password gets the server's message and no session; the right one
/// opens the console as admin.
pub async fn sign_in(c: &Ctx<'_>, t0: Instant) -> WdResult<()> {
    let wd = c.wd;
    let console = &c.banner.console;
    step("login page", t0).await;
    wd.goto(&format!("{console}/")).await?;
    wd.wait_visible("#login-form").await?;
    let user = wd.find("#login-username").await?;
    wd.clear(&user).await?;
    wd.send_keys(&user, "admin").await?;
    let pw = wd.find("#login-password").await?;
    wd.send_keys(&pw, "definitely-not-the-password").await?;
    wd.click(&wd.find("#login-submit").await?).await?;
    wd.wait_visible("#error-banner").await?;
    let msg = wd
        .wait_text("#error-text", "the server's error message", |t| {
            !t.is_empty()
        })
        .await?;
    if !msg.to_lowercase().contains("password") {
        return Err(format!(
            "wrong password: the banner says {msg:?}, not the server's message"
        ));
    }
    let token = wd
        .exec("return sessionStorage.getItem('vigil.token');", json!([]))
        .await?;
    if !token.is_null() {
        return Err("a wrong password left a session token behind".into());
    }
    wd.screenshot(&c.shots.join("login-error.png")).await?;

    step("sign in", t0).await;
    let pw = wd.find("#login-password").await?;
    wd.clear(&pw).await?;
    wd.send_keys(&pw, &c.banner.password).await?;
    wd.click(&wd.find("#login-submit").await?).await?;
    wd.wait_visible("#app-view").await?;
    wd.wait_text("#current-user", "admin", |t| t.trim() == "admin")
        .await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!(
            "the error banner is still shown after signing in: {b:?}"
        ));
    }
    Ok(())
}

/// A session the server no longer knows sends the user back to the sign-in page, which says
/// why and, signed in again, goes back where the user was going (the host list, `row_css`).
pub async fn expired_session(c: &Ctx<'_>, t0: Instant, row_css: &str) -> WdResult<()> {
    let wd = c.wd;
    step("expired session", t0).await;
    wd.exec(
        "sessionStorage.setItem('vigil.token', 'vgs_not_a_session'); location.hash = '#/hosts';",
        json!([]),
    )
    .await?;
    wd.wait_visible("#login-form").await?;
    let msg = wd
        .wait_text("#error-text", "why the session ended", |t| !t.is_empty())
        .await?;
    if !msg.contains("Signed out") {
        return Err(format!("after a 401 the banner says {msg:?}"));
    }
    let pw = wd.find("#login-password").await?;
    wd.send_keys(&pw, &c.banner.password).await?;
    wd.click(&wd.find("#login-submit").await?).await?;
    // Back where the user was going.
    wd.wait_visible("[data-testid=hosts-table]").await?;
    wd.wait_visible(row_css).await?;
    Ok(())
}

/// Signing out: back to the sign-in page, and the token is gone.
pub async fn sign_out(c: &Ctx<'_>, t0: Instant) -> WdResult<()> {
    let wd = c.wd;
    let console = &c.banner.console;
    step("sign out", t0).await;
    wd.click(&wd.find("#logout").await?).await?;
    wd.wait_visible("#login-form").await?;
    let token = wd
        .exec("return sessionStorage.getItem('vigil.token');", json!([]))
        .await?;
    if !token.is_null() {
        return Err("signing out left the session token in sessionStorage".into());
    }
    wd.goto(&format!("{console}/#/hosts")).await?;
    wd.wait_visible("#login-form").await?;
    let b = wd.banner().await?;
    if !b.is_empty() {
        return Err(format!("an error banner appeared after signing out: {b:?}"));
    }
    Ok(())
}
