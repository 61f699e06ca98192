//! End-to-end test of the web console in a real headless Chromium.
//!
//! Starts `vigil up` (server plus a local agent protecting this host) in a temporary data
//! directory, starts `/usr/bin/chromedriver`, and drives Chromium through the W3C WebDriver
//! protocol with plain HTTP+JSON calls: sign in (a wrong password first), the overview, the host
//! list, the host's fingerprint tabs (with its security score and agent health), an install code
//! created and revoked, and a real alert handled end to end: the test opens a TCP port on all
//! interfaces, the local agent (collecting every second) reports it, and the alert it raises is
//! ignored, whitelisted, seen on the Whitelist page, taken off the whitelist, counted in the
//! overview's security score, and marked handled from the batch bar. Then a host action end to
//! end: a copy of python3 named `fakesvc` listens on all interfaces, its alert is handled with
//! Kill and quarantine from the alert drawer (the process exits, its file leaves its path), the
//! file shows in the Quarantine box, a restore over a file that reappeared at the path fails
//! with the agent's exact error, Restore and overwrite puts it back byte for byte, and the
//! host's Commands tab lists the three commands. Notifications: before those alerts are raised,
//! the Notifications page adds an inbox channel and an email channel (one with a bad recipient is
//! refused with the server's message), shows a webhook's URL redacted and deletes it, and saves
//! SMTP settings whose password it never shows; afterwards the top bar's Inbox badge counts the
//! port alert's message, opening it marks it read and leads to the alert, and the delivery log
//! shows the inbox delivery sent and the email delivery failed, in red. The alert list's search
//! box, time filter (a preset, then a custom range of days long past) and sort are followed in
//! the URL and narrow the list. The IP policy page refuses a bad address with the server's
//! message, blocks the documentation address 192.0.2.44 on this host for an hour (the agent
//! applies it), and disables it in two clicks (the agent removes it). The Attack analysis page
//! shows what the server has (the empty state on a machine without failed logins) and, for a
//! known answer put in place of the API's, its per-day chart with tooltips and block marks,
//! totals, host selector and top sources, whose Block… link fills in the IP policy form. The
//! Login security page saves a brute-force rule and an access whitelist that survive a reload,
//! refuses a bad network with the server's message, and keeps an approved login location.
//! The Vulnerabilities page shows how to build the advisory database when none is loaded (for
//! an answer put in place of the API's), then this machine's findings against a Debian 12
//! database `vigil vulndb update --source apt` built in the data directory before `vigil up`:
//! a level filter, the drawer's fix command and Verify, an ignore refused without a reason and
//! then done with one, the row under status ignored, its ignore undone from the batch bar, and
//! the by-advisory view. The Security baseline page lists this machine's failed checks from
//! the local agent's run at start; a check's drawer shows evidence and fix, and an ignore is
//! refused without a reason, done with one, listed under Ignored and undone.
//! Screenshots go to `target/console-screenshots/`.
//!
//! One test, one fixture ([`fixture::start`]: one server, one browser), because the steps
//! build on each other: the channels exist before the alerts that notify them, the port alert
//! raised early is searched for, whitelisted and handled later. The steps live with their page,
//! one module each; [`scenario`] runs them in order.
//!
//! The local agent's `nft` is a stand-in (`VIGIL_NFT`, see [`FAKE_NFT`]) that records the
//! nftables scripts it is given and keeps the set elements in a file: the test never touches
//! this machine's firewall.
//!
//! Needs Debian's `chromium` and `chromium-driver`: run `scripts/setup.sh` once.

mod alerts;
mod attacks;
mod baseline;
mod fixture;
mod hosts;
mod install;
mod ip_policy;
mod login;
mod login_settings;
mod notify;
mod overview;
mod prelude;
mod quarantine;
mod vulns;
mod webdriver;

use prelude::*;

/// Every page in turn, in the order the steps need.
async fn scenario(c: &Ctx<'_>) -> WdResult<()> {
    let t0 = Instant::now();
    login::sign_in(c, t0).await?;
    overview::overview(c, t0).await?;
    // Set up before the port alerts below are raised: an alert notifies only when it first
    // occurs.
    notify::notifications_setup(c, t0).await?;
    let (row_css, host_id) = hosts::host_list(c, t0).await?;
    hosts::wait_fingerprints(c, &host_id).await?;

    // A port listening on every interface, opened after the first fingerprints (a baseline
    // raises nothing): the agent reports it and the server raises a suspicious_port reminder.
    // Kept open to the end of the scenario.
    let listener = std::net::TcpListener::bind("0.0.0.0:0")
        .map_err(|e| format!("binding a listener on 0.0.0.0: {e}"))?;
    let lport = listener
        .local_addr()
        .map_err(|e| format!("listener address: {e}"))?
        .port();
    // The process a host action kills, started after the baseline for the same reason.
    let mut fake = fixture::spawn_fakesvc()?;
    eprintln!(
        "[console_browser] fakesvc runs as pid {} from {}",
        fake.child.id(),
        fake.path.display()
    );

    hosts::host_detail(c, t0, &row_css).await?;
    install::install_codes(c, t0).await?;
    let port_alert = alerts::alert_lifecycle(c, t0, &host_id, lport).await?;
    quarantine::host_actions(c, t0, &host_id, &mut fake).await?;
    drop(fake);
    notify::inbox_and_log(c, t0, lport, port_alert).await?;
    alerts::alert_filters(c, t0, lport, port_alert).await?;
    ip_policy::ip_policy(c, t0, &host_id).await?;
    attacks::attack_analysis(c, t0, &host_id).await?;
    login_settings::login_security(c, t0).await?;
    vulns::vulnerabilities(c, t0, &host_id).await?;
    baseline::baseline(c, t0, &host_id).await?;
    alerts::alerts_page(c, t0).await?;
    login::expired_session(c, t0, &row_css).await?;
    login::sign_out(c, t0).await?;
    step("done", t0).await;
    drop(listener);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_headless_chromium() {
    let fx = fixture::start().await;
    let t0 = Instant::now();
    let result = scenario(&fx.ctx()).await;
    fx.finish(result, t0).await;
}
