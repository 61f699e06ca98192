//! `vigil scan logins`: the agent's login parsers and brute-force engine run offline over log
//! files, streaming, in bounded memory.

use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use vigil_collect::auth::tries::Tries;
use vigil_collect::auth::{parse_line_pid, LineContext, LineResult, MAX_LINE_BYTES};
use vigil_detect::bruteforce::{BruteForce, BruteForceConfig};
use vigil_model::{LoginEvent, LoginOutcome, NewAlert};

/// How many distinct sources and users the summary counts exactly; beyond, the rest is summed.
const SUMMARY_KEYS: usize = 100_000;

/// Options of one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub files: Vec<PathBuf>,
    pub json: bool,
    /// Reference time for year-less syslog lines (default: now).
    pub now: i64,
    /// Zone of local timestamps, seconds east of UTC.
    pub utc_offset_secs: i32,
    pub config: BruteForceConfig,
}

/// Reads one line of at most `MAX_LINE_BYTES + 1` bytes into `buf` (the rest of a longer line
/// is consumed and dropped, so memory stays bounded). Returns false at end of input.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    let mut any = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any);
        }
        any = true;
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        match memchr::memchr(b'\n', chunk) {
            Some(i) => {
                buf.extend_from_slice(&chunk[..i.min(room)]);
                r.consume(i + 1);
                return Ok(true);
            }
            None => {
                let n = chunk.len();
                buf.extend_from_slice(&chunk[..n.min(room)]);
                r.consume(n);
            }
        }
    }
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct Summary {
    lines: u64,
    logins: u64,
    failures: u64,
    successes: u64,
    skipped: u64,
    skip_reasons: BTreeMap<String, u64>,
    // Two lookups a try: foldhash (randomly seeded per process; the maps are bounded by
    // SUMMARY_KEYS) costs a third of SipHash here.
    by_source: FastMap<String, (u64, u64)>,
    failures_by_user: FastMap<String, u64>,
    by_service: BTreeMap<String, u64>,
    overflow_sources: u64,
}

impl Summary {
    /// Counts one try (each try once: [`Tries`]).
    fn add(&mut self, ev: &LoginEvent) {
        let failed = ev.outcome == LoginOutcome::Failure;
        if failed {
            self.failures += 1;
        } else {
            self.successes += 1;
        }
        match self.by_service.get_mut(&ev.service) {
            Some(n) => *n += 1,
            None => {
                self.by_service.insert(ev.service.clone(), 1);
            }
        }
        if let Some(src) = &ev.source {
            let room = self.by_source.len() < SUMMARY_KEYS;
            match self.by_source.get_mut(src) {
                Some(e) => bump(e, failed),
                None if room => bump(self.by_source.entry(src.clone()).or_default(), failed),
                None => self.overflow_sources += 1,
            }
        }
        if failed && !ev.user.is_empty() {
            if let Some(n) = self.failures_by_user.get_mut(&ev.user) {
                *n += 1;
            } else if self.failures_by_user.len() < SUMMARY_KEYS {
                self.failures_by_user.insert(ev.user.clone(), 1);
            }
        }
    }
}

fn bump(e: &mut (u64, u64), failed: bool) {
    if failed {
        e.0 += 1;
    } else {
        e.1 += 1;
    }
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// One login attempt as `--json` prints it; fields in this order.
#[derive(serde::Serialize)]
struct LoginRecord<'a> {
    record: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    line: usize,
    time: String,
    service: &'a str,
    user: &'a str,
    source: Option<&'a str>,
    port: Option<u16>,
    method: Option<&'static str>,
    outcome: &'static str,
    reason: Option<&'a str>,
}

fn login_record<'a>(ev: &'a LoginEvent, line: usize, file: Option<&'a str>) -> LoginRecord<'a> {
    LoginRecord {
        record: "login",
        file,
        line,
        time: rfc3339(ev.time),
        service: &ev.service,
        user: &ev.user,
        source: ev.source.as_deref(),
        port: ev.port,
        method: ev.method.map(|m| m.as_str()),
        outcome: ev.outcome.as_str(),
        reason: ev.reason.as_deref(),
    }
}

/// A `try` record: one counted try, and the line it was counted from (a try written on several
/// lines is counted from one of them; see `vigil_collect::auth::tries`).
fn write_try(out: &mut impl Write, ev: &LoginEvent, line: usize, file: Option<&str>) -> Result<()> {
    let mut rec = login_record(ev, line, file);
    rec.record = "try";
    serde_json::to_writer(&mut *out, &rec)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn alert_json(a: &NewAlert, count: u64, blocked_until: Option<Option<i64>>) -> serde_json::Value {
    let evidence: serde_json::Map<String, serde_json::Value> = a
        .evidence
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    let mut v = serde_json::json!({
        "record": "alert",
        "kind": a.kind.as_str(),
        "level": a.level.as_str(),
        "name": a.name,
        "key": a.key,
        "time": rfc3339(a.time),
        "count": count,
        "evidence": evidence,
    });
    if let Some(until) = blocked_until {
        v["block_until"] = until.map(rfc3339).into();
    }
    v
}

/// Runs the scan, writing to `out`. Returns the number of alerts raised.
pub fn logins(opts: &ScanOptions, out: &mut impl Write) -> Result<usize> {
    let mut engine = BruteForce::new(opts.config.clone());
    let mut summary = Summary::default();
    // key → (latest alert, times raised, block end if it blocked)
    let mut alerts: Vec<(NewAlert, u64, Option<Option<i64>>)> = Vec::new();
    let mut alert_index: HashMap<String, usize> = HashMap::new();
    let many = opts.files.len() > 1;
    let mut buf = Vec::with_capacity(4096);
    // Tagged with the line each try was counted from (for `--json`'s `try` records).
    let mut tries: Tries<usize> = Tries::default();
    let mut counted = Vec::new();
    // Each try once: into the summary and the brute-force engine.
    type Raised = Vec<(NewAlert, u64, Option<Option<i64>>)>;
    fn take(
        ev: &LoginEvent,
        summary: &mut Summary,
        engine: &mut BruteForce,
        alerts: &mut Raised,
        alert_index: &mut HashMap<String, usize>,
    ) {
        summary.add(ev);
        for d in engine.observe(ev, ev.time) {
            let blocked = d.block().map(|b| b.until);
            let a = d.alert().clone();
            match alert_index.get(&a.key) {
                Some(&i) => {
                    let slot = &mut alerts[i];
                    slot.1 += 1;
                    slot.2 = blocked.or(slot.2);
                    slot.0 = a;
                }
                None => {
                    alert_index.insert(a.key.clone(), alerts.len());
                    alerts.push((a, 1, blocked));
                }
            }
        }
    }
    for path in &opts.files {
        let file = open(path)?;
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut ctx = LineContext::new(opts.now, opts.utc_offset_secs);
        let name = path.display().to_string();
        let mut line_no = 0usize;
        while read_line(&mut reader, &mut buf).with_context(|| format!("reading {name}"))? {
            line_no += 1;
            summary.lines += 1;
            match parse_line_pid(&buf, &mut ctx) {
                (LineResult::Login(ev), meta) => {
                    summary.logins += u64::from(meta.times);
                    if opts.json {
                        serde_json::to_writer(
                            &mut *out,
                            &login_record(&ev, line_no, many.then_some(name.as_str())),
                        )?;
                        out.write_all(b"\n")?;
                    }
                    // A repeated line (`message repeated N times`) is N tries.
                    let time = ev.time;
                    tries.feed_line_into(ev, meta, line_no, &mut counted);
                    // Now and then, the held lines of connections long quiet count, and go.
                    if line_no.is_multiple_of(4096) {
                        counted.extend(tries.flush_tagged(Some(time)));
                    }
                    for (t, line) in counted.drain(..) {
                        if opts.json {
                            write_try(out, &t, line, many.then_some(name.as_str()))?;
                        }
                        take(&t, &mut summary, &mut engine, &mut alerts, &mut alert_index);
                    }
                }
                (LineResult::NotLogin, _) => {}
                (LineResult::Skipped(why), _) => {
                    summary.skipped += 1;
                    *summary.skip_reasons.entry(why.to_string()).or_default() += 1;
                }
            }
        }
        // The held lines of connections that logged no try of their own count at the end.
        for (t, line) in tries.flush_tagged(None) {
            if opts.json {
                write_try(out, &t, line, many.then_some(name.as_str()))?;
            }
            take(&t, &mut summary, &mut engine, &mut alerts, &mut alert_index);
        }
    }
    if opts.json {
        for (a, n, blocked) in &alerts {
            serde_json::to_writer(&mut *out, &alert_json(a, *n, *blocked))?;
            out.write_all(b"\n")?;
        }
    } else {
        print_summary(&summary, &alerts, out)?;
    }
    out.flush()?;
    Ok(alerts.len())
}

fn open(path: &Path) -> Result<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        anyhow::bail!("{} is a directory, not a log file", path.display());
    }
    // Rotated logs are often compressed.
    if path.extension().is_some_and(|e| e == "gz") {
        return Ok(Box::new(flate2::read::MultiGzDecoder::new(f)));
    }
    Ok(Box::new(f))
}

fn print_summary(
    s: &Summary,
    alerts: &[(NewAlert, u64, Option<Option<i64>>)],
    out: &mut impl Write,
) -> Result<()> {
    writeln!(
        out,
        "{} lines: {} login lines, {} tries ({} failed, {} succeeded), {} skipped",
        s.lines,
        s.logins,
        s.failures + s.successes,
        s.failures,
        s.successes,
        s.skipped
    )?;
    for (why, n) in &s.skip_reasons {
        writeln!(out, "  skipped {n}: {why}")?;
    }
    if !s.by_service.is_empty() {
        let services: Vec<String> = s
            .by_service
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(out, "by service: {}", services.join(", "))?;
    }
    let mut sources: Vec<(&String, &(u64, u64))> = s.by_source.iter().collect();
    sources.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    if !sources.is_empty() {
        writeln!(out, "\ntop sources (failed / succeeded):")?;
        for (src, (f, ok)) in sources.iter().take(10) {
            writeln!(out, "  {src:<40} {f:>8} / {ok}")?;
        }
        if s.overflow_sources > 0 {
            writeln!(
                out,
                "  (+{} attempts from sources past the first {SUMMARY_KEYS})",
                s.overflow_sources
            )?;
        }
    }
    let mut users: Vec<(&String, &u64)> = s.failures_by_user.iter().collect();
    users.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if !users.is_empty() {
        writeln!(out, "\nfailures per user ({} users):", users.len())?;
        for (u, n) in users.iter().take(10) {
            writeln!(out, "  {u:<32} {n:>8}")?;
        }
    }
    writeln!(out, "\nalerts: {}", alerts.len())?;
    for (a, n, blocked) in alerts {
        let block = match blocked {
            Some(Some(t)) => format!(" — would block until {}", rfc3339(*t)),
            Some(None) => " — would block permanently".to_string(),
            None => String::new(),
        };
        writeln!(out, "  [{}] {} (×{n}){block}", a.level.as_str(), a.name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<Vec<u8>> {
        let mut r = BufReader::with_capacity(7, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while read_line(&mut r, &mut buf).unwrap() {
            out.push(buf.clone());
        }
        out
    }

    #[test]
    fn line_reader_bounds_and_splits() {
        assert_eq!(lines(b""), Vec::<Vec<u8>>::new());
        assert_eq!(lines(b"a\nbb\n"), vec![b"a".to_vec(), b"bb".to_vec()]);
        assert_eq!(
            lines(b"a\n\nlast"),
            vec![b"a".to_vec(), vec![], b"last".to_vec()]
        );
        let mut long = vec![b'x'; MAX_LINE_BYTES * 3];
        long.extend_from_slice(b"\nnext\n");
        let got = lines(&long);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].len(),
            MAX_LINE_BYTES + 1,
            "kept bounded, still too long"
        );
        assert_eq!(got[1], b"next");
    }
}
