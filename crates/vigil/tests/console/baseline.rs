//! The Security baseline page: the local agent's own run of this machine (it runs at start),
//! failed checks first; a check's drawer with evidence, fix and references; an ignore refused
//! without a reason, done with one, listed under Ignored, and undone; the host page's Baseline
//! tab lists every status with the same drawer; verify marks a check verifying; the fleet's
//! schedule is changed from the page; the by-check view counts hosts per check.

use crate::prelude::*;

pub async fn baseline(c: &Ctx<'_>, t0: Instant, host_id: &str) -> WdResult<()> {
    let wd = c.wd;
    step("baseline page", t0).await;
    wd.goto(&format!("{}/#/baseline", c.banner.console)).await?;
    wd.wait_visible("[data-testid=baseline-panel]").await?;
    // The agent ran the baseline at start: this machine fails some checks (the tests never
    // harden it), each row with its host, level and status.
    let row = wd
        .wait_visible(&format!(
            "[data-testid=baseline-row][data-host-id='{host_id}'][data-status=failed]"
        ))
        .await?;
    wd.wait_text("[data-testid=baseline-summary]", "the summary", |t| {
        t.contains("failed") && !t.starts_with("0 failed")
    })
    .await?;
    let check = wd
        .attribute(&row, "data-check-id")
        .await?
        .unwrap_or_default();
    wd.click(&row).await?;
    wd.wait_visible(&format!(
        "[data-testid=baseline-drawer][data-check-id='{check}']"
    ))
    .await?;
    wd.wait_text("[data-testid=baseline-evidence]", "the evidence", |t| {
        !t.trim().is_empty()
    })
    .await?;
    wd.wait_text("[data-testid=baseline-remediation]", "the fix", |t| {
        !t.trim().is_empty()
    })
    .await?;
    wd.screenshot(&c.shots.join("baseline-drawer.png")).await?;

    // Ignore: refused without a reason, then done with one.
    wd.click(&wd.wait_visible("[data-testid=baseline-ignore]").await?)
        .await?;
    wd.click(&wd.wait_visible("[data-testid=vuln-reason-submit]").await?)
        .await?;
    wd.wait_text(
        "[data-testid=vuln-reason-error]",
        "the reason is required",
        |t| t.contains("reason"),
    )
    .await?;
    fill_input(
        wd,
        "[data-testid=vuln-reason]",
        "accepted on this test machine",
    )
    .await?;
    wd.click(&wd.find("[data-testid=vuln-reason-submit]").await?)
        .await?;
    wd.wait_visible(&format!(
        "[data-testid=baseline-drawer][data-check-id='{check}'][data-status=ignored]"
    ))
    .await?;
    wd.wait_text(
        "[data-testid=baseline-ignored]",
        "who ignored it and why",
        |t| t.contains("accepted on this test machine") && t.contains("admin"),
    )
    .await?;

    // Listed under Ignored; undone from the drawer.
    wd.goto(&format!("{}/#/baseline?status=ignored", c.banner.console))
        .await?;
    let ignored = wd
        .wait_visible(&format!(
            "[data-testid=baseline-row][data-check-id='{check}']"
        ))
        .await?;
    wd.click(&ignored).await?;
    wd.click(&wd.wait_visible("[data-testid=baseline-unignore]").await?)
        .await?;
    wd.wait_visible(&format!(
        "[data-testid=baseline-drawer][data-check-id='{check}'][data-status=failed]"
    ))
    .await?;
    // Verify: the host runs its baseline with its next heartbeat; until the run arrives the
    // check shows as verifying, then the drawer shows its fresh result.
    wd.click(&wd.wait_visible("[data-testid=baseline-verify]").await?)
        .await?;
    wd.wait_visible("[data-testid=baseline-action-done]")
        .await?;
    wd.wait_visible(&format!(
        "[data-testid=baseline-drawer][data-check-id='{check}'] [data-testid=baseline-status-verifying]"
    ))
    .await?;
    wd.screenshot(&c.shots.join("baseline.png")).await?;

    // The fleet's schedule, changed from the page and read back from the API.
    wd.goto(&format!("{}/#/baseline", c.banner.console)).await?;
    wd.wait_visible("[data-testid=baseline-schedule]").await?;
    pick_date(wd, "[data-testid=baseline-schedule]", "7").await?;
    wd.wait_text(
        "[data-testid=baseline-schedule-note]",
        "the schedule saved",
        |t| t.contains("saved") && t.contains("00:00"),
    )
    .await?;

    // By check: each failed check once, with how many hosts fail it; a row opens that
    // check's hosts.
    pick_date(wd, "[data-testid=baseline-view]", "check").await?;
    let by_check = wd
        .wait_visible(&format!(
            "[data-testid=baseline-check-row][data-check-id='{check}']"
        ))
        .await?;
    wd.wait_text(
        &format!("[data-testid=baseline-check-row][data-check-id='{check}'] [data-testid=baseline-check-hosts]"),
        "one host fails it",
        |t| t.trim() == "1",
    )
    .await?;
    wd.click(&by_check).await?;
    wd.wait_visible(&format!(
        "[data-testid=baseline-table] [data-testid=baseline-row][data-check-id='{check}'][data-host-id='{host_id}']"
    ))
    .await?;
    wd.wait_visible("[data-testid=baseline-check-chip]").await?;

    // The host's own Baseline tab: every status, with the same drawer.
    step("host baseline tab", t0).await;
    wd.goto(&format!(
        "{}/#/hosts/{host_id}?tab=baseline",
        c.banner.console
    ))
    .await?;
    wd.wait_text(
        "[data-testid=host-baseline-summary]",
        "the host's summary",
        |t| t.contains("failed") && t.contains("passed"),
    )
    .await?;
    let row = wd
        .wait_visible(&format!(
            "[data-testid=table-host-baseline] [data-testid=baseline-row][data-check-id='{check}']"
        ))
        .await?;
    wd.click(&row).await?;
    wd.wait_visible(&format!(
        "[data-testid=baseline-drawer][data-check-id='{check}']"
    ))
    .await?;
    Ok(())
}
