//! Figures of a leg: CPU, latencies, the printed and JSON report.

use super::*;

pub(super) fn pct_ms(v: &[u64], p: f64) -> f64 {
    percentile(v, p) as f64
}

pub(super) fn median(v: &[u64]) -> u64 {
    percentile(v, 50.0)
}

impl LegResult {
    pub(super) fn print(&self, poll: u64) {
        let (w, e) = (&self.webhook, &self.email);
        let total = w.check.received + e.check.received;
        println!();
        println!(
            "leg {} — {} alerts → {} notifications{}",
            self.name,
            self.n,
            2 * self.n,
            if self.timed_out { "  (TIMED OUT)" } else { "" }
        );
        if let Some((down, up)) = self.outage {
            println!(
                "  SMTP server down for {:.1} s ({})",
                up - down,
                self.outage_how
            );
        }
        let row = |label: &str, a: String, b: String, c: String| {
            println!("  {label:<42}{a:>20}{b:>20}{c:>12}");
        };
        row("", "webhook".into(), "email".into(), "both".into());
        row(
            "delivered / expected",
            format!("{}/{}", w.check.received, self.n),
            format!("{}/{}", e.check.received, self.n),
            format!("{total}/{}", 2 * self.n),
        );
        row(
            "lost / duplicated / unknown",
            format!(
                "{}/{}/{}",
                w.check.lost, w.check.duplicated, w.check.unknown
            ),
            format!(
                "{}/{}/{}",
                e.check.lost, e.check.duplicated, e.check.unknown
            ),
            String::new(),
        );
        row(
            "first alert sent → last delivery (s)",
            format!("{:.2}", w.span_secs),
            format!("{:.2}", e.span_secs),
            format!("{:.2}", self.span_secs),
        );
        row(
            "deliveries/s over that span",
            format!("{:.1}", w.per_sec),
            format!("{:.1}", e.per_sec),
            format!("{:.1}", total as f64 / self.span_secs.max(1e-9)),
        );
        let p = |v: &[u64], scale: f64, decimals: usize| {
            format!(
                "{:.d$}/{:.d$}/{:.d$}",
                pct_ms(v, 50.0) / scale,
                pct_ms(v, 99.0) / scale,
                pct_ms(v, 100.0) / scale,
                d = decimals
            )
        };
        row(
            "outbox enqueue→sent p50/p99/max (s) [1]",
            p(&w.outbox_secs, 1.0, 0),
            p(&e.outbox_secs, 1.0, 0),
            String::new(),
        );
        row(
            "batch ack→arrival p50/p99/max (s) [2]",
            p(&w.arrival_ms, 1000.0, 1),
            p(&e.arrival_ms, 1000.0, 1),
            String::new(),
        );
        let attempts = |f: &ChannelFigures| {
            f.attempts
                .iter()
                .map(|(k, v)| format!("{k}×{v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        row(
            "rows by attempts made (attempts×rows)",
            attempts(w),
            attempts(e),
            String::new(),
        );
        for (name, f) in [("webhook", w), ("email", e)] {
            for ((code, msg), n) in &f.failures {
                let msg: String = msg.chars().take(110).collect();
                println!("  failed attempts ({name}): {n} × [{code}] {msg}");
            }
        }
        println!(
            "  outbox: {} rows, {} not in state `sent`; first created_at → last sent attempt: {} s",
            self.rows, self.rows_not_sent, self.outbox_span_secs
        );
        println!(
            "  ingest: {} alerts acknowledged in {:.2} s ({:.0} alerts/s), batch ack p50 {} ms p99 {} ms, {} retries",
            self.n,
            self.ingest_secs,
            self.n as f64 / self.ingest_secs.max(1e-9),
            median(&self.batch_ms),
            percentile(&self.batch_ms, 99.0),
            self.send_retries
        );
        let r = &self.rounds;
        println!(
            "  dispatcher: {} rounds touched these rows (one attempt time each), items per round median {} max {} (claim limit {})",
            r.count, r.median_items, r.max_items, SERVER_CLAIM_BATCH
        );
        let busy = median(&r.busy_ms) as f64 / 1000.0;
        println!(
            "  receivers: {} bursts, busy median {:.2} s (max {:.2} s), gap between bursts median {:.2} s",
            r.busy_ms.len(),
            busy,
            percentile(&r.busy_ms, 100.0) as f64 / 1000.0,
            median(&r.gap_ms) as f64 / 1000.0
        );
        println!(
            "  within a burst: {:.2} ms before each email (p99 {:.2}), {:.2} ms before each webhook (p99 {:.2}) [3]",
            median(&r.step_email_ms) as f64 / 1000.0,
            percentile(&r.step_email_ms, 99.0) as f64 / 1000.0,
            median(&r.step_webhook_ms) as f64 / 1000.0,
            percentile(&r.step_webhook_ms, 99.0) as f64 / 1000.0
        );
        if r.max_items > 0 && busy > 0.0 {
            println!(
                "  ceiling of this schedule: {} items / ({poll} s sleep + {busy:.2} s busy) = {:.1}/s; without the sleep after a full claim: {:.0}/s",
                r.max_items,
                r.max_items as f64 / (poll as f64 + busy),
                r.max_items as f64 / busy
            );
        }
        println!(
            "  CPU (% of one core over the leg): server {:.0}%, aiosmtpd {:.0}%, postgres {:.0}%",
            self.cpu_server_pct, self.cpu_smtp_pct, self.cpu_postgres_pct
        );
        println!("  [1] from the outbox rows: whole seconds; the server stamps every attempt of a round with the round's start");
        println!("  [2] receiver clocks: the alert's batch acknowledgement (its notifications were queued before) → arrival");
        println!("  [3] time between consecutive deliveries: the previous item's outbox write plus this item's send");
    }

    pub(super) fn json(&self) -> serde_json::Value {
        let ch = |f: &ChannelFigures| {
            serde_json::json!({
                "received": f.check.received,
                "lost": f.check.lost,
                "duplicated": f.check.duplicated,
                "unknown": f.check.unknown,
                "span_secs": r2(f.span_secs),
                "per_sec": r2(f.per_sec),
                "outbox_p50_secs": percentile(&f.outbox_secs, 50.0),
                "outbox_p99_secs": percentile(&f.outbox_secs, 99.0),
                "arrival_p50_ms": percentile(&f.arrival_ms, 50.0),
                "arrival_p99_ms": percentile(&f.arrival_ms, 99.0),
                "attempts": f.attempts.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
                "failed_attempts": f.failures.iter().fold(BTreeMap::<String, usize>::new(), |mut m, ((code, _), n)| {
                    *m.entry(code.clone()).or_insert(0) += n;
                    m
                }),
            })
        };
        serde_json::json!({
            "leg": self.name,
            "alerts": self.n,
            "timed_out": self.timed_out,
            "outage_secs": self.outage.map(|(d, u)| r2(u - d)),
            "ingest_secs": r2(self.ingest_secs),
            "span_secs": r2(self.span_secs),
            "per_sec": r2((self.webhook.check.received + self.email.check.received) as f64 / self.span_secs.max(1e-9)),
            "webhook": ch(&self.webhook),
            "email": ch(&self.email),
            "rounds": self.rounds.count,
            "round_max_items": self.rounds.max_items,
            "round_busy_median_ms": median(&self.rounds.busy_ms),
            "round_gap_median_ms": median(&self.rounds.gap_ms),
            "step_email_median_us": median(&self.rounds.step_email_ms),
            "step_webhook_median_us": median(&self.rounds.step_webhook_ms),
            "cpu_server_pct": r2(self.cpu_server_pct),
            "cpu_smtp_pct": r2(self.cpu_smtp_pct),
            "cpu_postgres_pct": r2(self.cpu_postgres_pct),
        })
    }
}
