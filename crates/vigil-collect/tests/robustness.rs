//! Every parser against hostile input: truncated fixtures, mutated fixtures, random bytes,
//! invalid UTF-8 and megabyte-long lines. Nothing may panic, skip lists stay bounded, and
//! garbage is counted as skipped rather than silently dropped.

use vigil_collect::{accounts, ifaddr, net, os, packages, process, Parsed, MAX_SKIPS};
use vigil_model::Protocol;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
        .as_slice()
    };
}

const FIXTURES: &[&[u8]] = &[
    fixture!("os-release/debian12"),
    fixture!("os-release/alpine319"),
    fixture!("os-release/rocky9"),
    fixture!("os-release/ubuntu2204"),
    fixture!("proc/meminfo"),
    fixture!("proc/cpuinfo"),
    fixture!("proc/stat"),
    fixture!("proc/net_tcp"),
    fixture!("proc/net_tcp6"),
    fixture!("proc/net_udp"),
    fixture!("proc/net_udp6"),
    fixture!("net/fib_trie"),
    fixture!("net/if_inet6"),
    fixture!("proc/pid-weird/stat"),
    fixture!("proc/pid-weird/status"),
    fixture!("proc/pid-weird/cmdline"),
    fixture!("proc/pid-redis/cmdline"),
    fixture!("etc/passwd"),
    fixture!("etc/shadow"),
    fixture!("etc/group"),
    fixture!("dpkg/status"),
    fixture!("apk/installed"),
    fixture!("rpm/rpm-qa.txt"),
    fixture!("rpm/vigil-hello.hdr"),
    fixture!("rpm/vigil-epoch.hdr"),
];

/// Longest skip reason accepted: reasons quote at most a short excerpt of the input.
const MAX_REASON_CHARS: usize = 200;

fn check_bounded<T>(p: &Parsed<T>) {
    assert!(p.skipped.len() <= MAX_SKIPS);
    assert!(p.skipped.len() <= p.skipped_total);
    assert_eq!(p.skipped.len(), p.skipped_total.min(MAX_SKIPS));
    for s in &p.skipped {
        assert!(
            s.reason.chars().count() <= MAX_REASON_CHARS,
            "{:?}",
            s.reason
        );
        assert!(!s.reason.contains('\n'));
    }
}

/// Skip counts of every line-based parser for one input, after checking their invariants.
struct Skips {
    os_release: usize,
    proc_net: usize,
    accounts: usize,
    dpkg: usize,
    apk: usize,
    rpm_qa: usize,
}

/// Runs every parser on `bytes` (text parsers see it lossily decoded) and checks invariants.
fn run_all(bytes: &[u8]) -> Skips {
    let text = String::from_utf8_lossy(bytes);
    let text = text.as_ref();
    let lines = text.lines().count();

    let os = os::os_release(text);
    check_bounded(&os);
    let _ = os::meminfo_total_kb(text);
    let (_, cpus) = os::cpuinfo(text);
    assert!(cpus as usize <= lines);
    let _ = os::boot_time(text);

    if let Some(s) = process::stat(text) {
        assert!(s.comm.len() <= text.len());
    }
    let _ = process::status_uid(text);
    let args = process::cmdline(bytes);
    assert!(args.chars().count() <= process::CMDLINE_MAX_CHARS);
    let _ = process::cmdline(text.as_bytes());

    let mut proc_net = 0;
    for protocol in [Protocol::Tcp, Protocol::Tcp6, Protocol::Udp, Protocol::Udp6] {
        let p = net::proc_net(text, protocol);
        check_bounded(&p);
        assert!(p.value.len() <= lines);
        proc_net += p.skipped_total;
    }
    let _ = net::socket_inode(text);
    assert!(ifaddr::local_ipv4(text).len() <= lines);
    assert!(ifaddr::global_ipv6(text).len() <= lines);

    let acc = accounts::accounts(text, Some(text), Some(text));
    check_bounded(&acc);
    assert!(acc.value.len() <= lines);
    check_bounded(&accounts::accounts(text, None, None));

    let dpkg = packages::dpkg_status(text);
    check_bounded(&dpkg);
    assert!(dpkg.value.len() <= lines);
    let apk = packages::apk_installed(text);
    check_bounded(&apk);
    assert!(apk.value.len() <= lines);
    let rpm = packages::rpm_qa(text);
    check_bounded(&rpm);
    assert!(rpm.value.len() <= lines);
    if let Some(p) = packages::rpm_header(bytes) {
        assert!(p.name.len() + p.version.len() <= 2 * bytes.len() + 16);
    }

    Skips {
        os_release: os.skipped_total,
        proc_net,
        accounts: acc.skipped_total,
        dpkg: dpkg.skipped_total,
        apk: apk.skipped_total,
        rpm_qa: rpm.skipped_total,
    }
}

/// xorshift64*: deterministic, so a failure reproduces from the seed alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn truncated_fixtures() {
    for fixture in FIXTURES {
        // Cuts where parsers are most likely to stumble: on and just after each line end, plus
        // evenly spaced ones (which land inside fields and UTF-8 sequences) and the very end.
        let line_ends = fixture
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .take(300)
            .flat_map(|(i, _)| [i, i + 1]);
        let step = (fixture.len() / 100).max(1);
        let cuts = (0..fixture.len())
            .step_by(step)
            .chain(line_ends)
            .chain(fixture.len().saturating_sub(8)..fixture.len());
        for cut in cuts {
            run_all(&fixture[..cut.min(fixture.len())]);
        }
    }
}

#[test]
fn truncated_rpm_headers_never_read_past_the_end() {
    for fixture in [
        fixture!("rpm/vigil-hello.hdr"),
        fixture!("rpm/vigil-epoch.hdr"),
    ] {
        assert!(packages::rpm_header(fixture).is_some());
        for cut in 0..fixture.len() {
            // Whatever a prefix yields must be what the whole header says, never garbage.
            if let Some(p) = packages::rpm_header(&fixture[..cut]) {
                let whole = packages::rpm_header(fixture).expect("whole header");
                assert_eq!(p.name, whole.name);
            }
        }
    }
}

#[test]
fn mutated_fixtures() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for fixture in FIXTURES {
        for _ in 0..40 {
            let mut bytes = fixture.to_vec();
            if bytes.is_empty() {
                continue;
            }
            for _ in 0..=rng.below(8) {
                let at = rng.below(bytes.len());
                match rng.below(4) {
                    0 => bytes[at] = rng.next() as u8,
                    1 => bytes[at] = b"\n:\t ()=\"'\\\0\xff"[rng.below(12)],
                    2 => {
                        bytes.remove(at);
                        if bytes.is_empty() {
                            break;
                        }
                    }
                    _ => bytes.insert(at, rng.next() as u8),
                }
            }
            run_all(&bytes);
        }
    }
}

#[test]
fn mutated_rpm_headers() {
    let mut rng = Rng(0x0DDB_A11C_0FFE_E000);
    for fixture in [
        fixture!("rpm/vigil-hello.hdr"),
        fixture!("rpm/vigil-epoch.hdr"),
    ] {
        for _ in 0..3000 {
            let mut bytes = fixture.to_vec();
            for _ in 0..=rng.below(4) {
                // Aim at the count, data length and the index, where offsets live.
                let at = rng.below(8 + 16 * 16);
                bytes[at] = match rng.below(3) {
                    0 => rng.next() as u8,
                    1 => 0xff,
                    _ => 0,
                };
            }
            let _ = packages::rpm_header(&bytes);
        }
    }
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut garbage_seen = Skips {
        os_release: 0,
        proc_net: 0,
        accounts: 0,
        dpkg: 0,
        apk: 0,
        rpm_qa: 0,
    };
    for _ in 0..300 {
        let len = rng.below(4096);
        let bytes = rng.bytes(len);
        let s = run_all(&bytes);
        garbage_seen.os_release += s.os_release;
        garbage_seen.proc_net += s.proc_net;
        garbage_seen.accounts += s.accounts;
        garbage_seen.dpkg += s.dpkg;
        garbage_seen.apk += s.apk;
        garbage_seen.rpm_qa += s.rpm_qa;
    }
    // Random bytes are garbage to every format, and every parser must say so.
    assert!(garbage_seen.os_release > 300);
    assert!(garbage_seen.proc_net > 300);
    assert!(garbage_seen.accounts > 300);
    assert!(garbage_seen.dpkg > 300);
    assert!(garbage_seen.apk > 300);
    assert!(garbage_seen.rpm_qa > 300);
}

#[test]
fn random_text_lines_are_all_skipped() {
    // Printable junk without any of the separators the formats rely on.
    let mut rng = Rng(42);
    let alphabet = b"abcXYZ0189 .,;!?@#%&/";
    let mut text = String::new();
    let lines = 500;
    for _ in 0..lines {
        // Never starting with '#' or blank, so nothing can be read as a comment.
        text.push('q');
        for _ in 0..rng.below(80) {
            text.push(alphabet[rng.below(alphabet.len())] as char);
        }
        text.push('\n');
    }
    let s = run_all(text.as_bytes());
    assert_eq!(s.os_release, lines);
    assert_eq!(s.proc_net, 4 * lines);
    // Each line fails passwd, shadow and group once.
    assert_eq!(s.accounts, 3 * lines);
    assert_eq!(s.apk, lines);
    assert_eq!(s.rpm_qa, lines);
    // Every line lacks ':', then the one stanza they form lacks Status.
    assert_eq!(s.dpkg, lines + 1);
}

#[test]
fn invalid_utf8_is_read_lossily() {
    // Real fixtures with invalid bytes spliced into values.
    let passwd = [
        fixture!("etc/passwd"),
        b"\xff\xfe:x:1001:1001:\xc3(:/home/x:/bin/sh\n",
    ]
    .concat();
    let text = String::from_utf8_lossy(&passwd);
    let p = accounts::accounts(&text, None, None);
    assert!(p.skipped.is_empty());
    assert_eq!(p.value.len(), 31);
    assert_eq!(p.value[30].name, "\u{fffd}\u{fffd}");

    let os = [fixture!("os-release/debian12"), b"PRETTY_NAME=\"\xff\"\n"].concat();
    let p = os::os_release(&String::from_utf8_lossy(&os));
    assert_eq!(p.value.pretty_name, "\u{fffd}");

    assert_eq!(process::cmdline(b"\xff\0\xc3\0"), "\u{fffd} \u{fffd}");
}

#[test]
fn megabyte_lines() {
    const MB: usize = 1 << 20;
    for unit in ["A", ":", "=", "(", ")", " ", "\t", "é", "0", "P:"] {
        let line = unit.repeat(MB / unit.len());
        let s = run_all(line.as_bytes());
        let blank = line.trim().is_empty();
        if !blank {
            assert!(s.os_release >= 1, "{unit:?}");
            assert!(s.proc_net >= 4, "{unit:?}");
            assert!(s.accounts >= 1, "{unit:?}");
            assert!(s.rpm_qa >= 1, "{unit:?}");
        }
        // Lines starting with white space are dpkg continuations, and "P:P:…" is a valid apk
        // record without a version; both still count as skipped.
        if !blank {
            assert!(s.dpkg >= 1, "{unit:?}");
            assert!(s.apk >= 1, "{unit:?}");
        }
    }
    let mut with_newline = "A".repeat(MB);
    with_newline.push('\n');
    run_all(with_newline.as_bytes());
    let args = process::cmdline(&vec![b'x'; MB]);
    assert_eq!(args.len(), process::CMDLINE_MAX_CHARS);
}

#[test]
fn many_bad_lines_keep_only_the_first_skips() {
    let text = "garbage\n".repeat(10_000);
    let p = os::os_release(&text);
    assert_eq!(p.skipped_total, 10_000);
    assert_eq!(p.skipped.len(), MAX_SKIPS);
    assert_eq!(p.skipped[0].line, 1);
    assert_eq!(p.skipped[MAX_SKIPS - 1].line, MAX_SKIPS);
}
