//! The overview: this host online (the page refreshes itself every 10 s) and the latest alerts.

use crate::prelude::*;

pub async fn overview(c: &Ctx<'_>, t0: Instant) -> WdResult<()> {
    let wd = c.wd;
    step("overview", t0).await;
    wd.wait_visible("[data-testid=ov-hosts-online]").await?;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let t = wd
            .text(&wd.find("[data-testid=ov-hosts-online] .stat-value").await?)
            .await?;
        if t.trim() == "1" {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!("overview shows {t:?} hosts online, wanted 1"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wd.wait_text("[data-testid=latest-alerts-count]", "a row count", |t| {
        t.contains("row")
    })
    .await?;
    wd.screenshot(&c.shots.join("overview.png")).await?;
    Ok(())
}
