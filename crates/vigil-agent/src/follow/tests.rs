//! Tests of the log follower: first sight, restarts, rotation by rename and copytruncate, partial
//! and overlong lines, records, symlinks, retries, the byte budget, a corrupt state file.

use super::*;
use std::fs::OpenOptions;
use std::io::Write;

const BIG: usize = 1 << 20;

fn lines(path: &Path) -> Vec<Source> {
    vec![Source {
        path: path.to_path_buf(),
        framing: Framing::Lines,
    }]
}

fn append(path: &Path, data: &[u8]) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
}

fn text(items: Vec<Vec<u8>>) -> Vec<String> {
    items
        .into_iter()
        .map(|i| String::from_utf8(i).unwrap())
        .collect()
}

/// Every item of one poll, whatever its source, as text.
fn poll_text(f: &mut Follower, budget: usize) -> Vec<String> {
    text(f.poll(budget).into_iter().flat_map(|c| c.items).collect())
}

/// The items one poll got from `path`.
fn items_of(chunks: &[Chunk], path: &Path) -> Vec<String> {
    text(
        chunks
            .iter()
            .filter(|c| c.path == path)
            .flat_map(|c| c.items.clone())
            .collect(),
    )
}

fn stats(f: &Follower) -> SourceStats {
    f.stats().sources[0].clone()
}

#[test]
fn a_file_first_seen_starts_at_its_end_and_a_later_one_at_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("auth.log");
    let later = dir.path().join("secure");
    append(&old, b"history 1\nhistory 2\n");
    let mut sources = lines(&old);
    sources.extend(lines(&later));
    let mut f = Follower::open(&dir.path().join("follow.json"), sources);
    assert!(f.poll(BIG).is_empty());
    assert_eq!(f.stats().sources[1].health, SourceHealth::Missing);
    append(&old, b"new 1\n");
    append(&later, b"first\nsecond\n");
    let chunks = f.poll(BIG);
    assert_eq!(items_of(&chunks, &old), ["new 1"]);
    assert_eq!(items_of(&chunks, &later), ["first", "second"]);
    let st = f.stats();
    assert_eq!(st.sources[1].health, SourceHealth::Following);
    assert_eq!((st.sources[1].missing, st.sources[1].errors), (1, 0));
    assert_eq!(st.sources[0].offset, std::fs::metadata(&old).unwrap().len());
}

#[test]
fn a_restart_neither_rereads_nor_skips() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let state = dir.path().join("follow.json");
    append(&log, b"");
    let mut f = Follower::open(&state, lines(&log));
    append(&log, b"a\nb\npart");
    assert_eq!(poll_text(&mut f, BIG), ["a", "b"]);
    f.commit().unwrap();
    drop(f);
    append(&log, b"ial\nc\n");
    let mut f = Follower::open(&state, lines(&log));
    assert_eq!(poll_text(&mut f, BIG), ["partial", "c"]);
    f.commit().unwrap();
    drop(f);
    let mut f = Follower::open(&state, lines(&log));
    assert!(f.poll(BIG).is_empty());
    append(&log, b"d\n");
    assert_eq!(poll_text(&mut f, BIG), ["d"]);
    // Not committed: handed out again after a restart, never lost.
    drop(f);
    let mut f = Follower::open(&state, lines(&log));
    assert_eq!(poll_text(&mut f, BIG), ["d"]);
    assert!(!dir.path().join("follow.json.tmp").exists());
}

#[test]
fn a_renamed_file_is_read_to_its_end_before_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let rotated = dir.path().join("auth.log.1");
    append(&log, b"");
    let mut f = Follower::open(&dir.path().join("follow.json"), lines(&log));
    // The writer's descriptor, as rsyslog holds it until told to reopen.
    let mut old = OpenOptions::new().append(true).open(&log).unwrap();
    old.write_all(b"one\n").unwrap();
    assert_eq!(poll_text(&mut f, BIG), ["one"]);

    std::fs::rename(&log, &rotated).unwrap();
    old.write_all(b"two\n").unwrap();
    assert_eq!(poll_text(&mut f, BIG), ["two"]);
    assert_eq!(stats(&f).health, SourceHealth::Missing);
    assert_eq!(stats(&f).draining, 1);

    let mut new = File::create(&log).unwrap();
    new.write_all(b"new 1\n").unwrap();
    old.write_all(b"three\n").unwrap();
    assert_eq!(poll_text(&mut f, BIG), ["three", "new 1"]);
    assert_eq!(stats(&f).rotations, 1);

    // The writer leaves a line unfinished and moves to the new file.
    old.write_all(b"four, cut short").unwrap();
    drop(old);
    new.write_all(b"new 2\n").unwrap();
    assert_eq!(poll_text(&mut f, BIG), ["new 2"]);
    let mut rest = Vec::new();
    for _ in 0..DRAIN_IDLE_POLLS {
        rest.extend(poll_text(&mut f, BIG));
    }
    assert_eq!(rest, ["four, cut short"]);
    let st = stats(&f);
    assert_eq!((st.draining, st.rotations, st.errors), (0, 1, 0));
    assert_eq!(st.health, SourceHealth::Following);

    append(&rotated, b"closed, not read\n");
    new.write_all(b"new 3\n").unwrap();
    assert_eq!(poll_text(&mut f, BIG), ["new 3"]);
}

#[test]
fn rename_and_create_between_two_polls() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, b"");
    let mut f = Follower::open(&dir.path().join("follow.json"), lines(&log));
    let mut old = OpenOptions::new().append(true).open(&log).unwrap();
    old.write_all(b"a\n").unwrap();
    std::fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    old.write_all(b"b\n").unwrap();
    append(&log, b"c\n");
    old.write_all(b"d\n").unwrap();
    assert_eq!(poll_text(&mut f, BIG), ["a", "b", "d", "c"]);
    assert_eq!(stats(&f).rotations, 1);
}

#[test]
fn a_restart_in_the_middle_of_a_rotation_finishes_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let state = dir.path().join("follow.json");
    append(&log, b"");
    let mut f = Follower::open(&state, lines(&log));
    let old: Vec<String> = (0..100).map(|i| format!("old {i}")).collect();
    append(&log, (old.join("\n") + "\n").as_bytes());
    std::fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    append(&log, b"new\n");
    let mut got = poll_text(&mut f, 100);
    assert!(got.len() < 100);
    f.commit().unwrap();
    drop(f);
    let mut f = Follower::open(&state, lines(&log));
    got.extend(poll_text(&mut f, BIG));
    let mut want = old.clone();
    want.push("new".into());
    assert_eq!(got, want);
}

#[test]
fn a_rotation_while_stopped_is_found_by_inode() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let state = dir.path().join("follow.json");
    append(&log, b"");
    let mut f = Follower::open(&state, lines(&log));
    append(&log, b"a\n");
    assert_eq!(poll_text(&mut f, BIG), ["a"]);
    f.commit().unwrap();
    drop(f);
    append(&log, b"b\n");
    std::fs::rename(&log, dir.path().join("auth.log-20240101")).unwrap();
    append(&log, b"c\n");
    let mut f = Follower::open(&state, lines(&log));
    assert_eq!(poll_text(&mut f, BIG), ["b", "c"]);
    let st = stats(&f);
    assert_eq!((st.rotations, st.errors), (1, 0));

    // The rotated file is gone (compressed) by the time the agent is back: the new file is
    // read whole and the loss is counted.
    f.commit().unwrap();
    drop(f);
    append(&log, b"d\n");
    std::fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    std::fs::remove_file(dir.path().join("auth.log.1")).unwrap();
    append(&log, b"e\n");
    let mut f = Follower::open(&state, lines(&log));
    assert_eq!(poll_text(&mut f, BIG), ["e"]);
    assert_eq!(stats(&f).errors, 1);
}

#[test]
fn copytruncate_restarts_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, b"");
    let mut f = Follower::open(&dir.path().join("follow.json"), lines(&log));
    append(&log, b"one\ntwo\n");
    assert_eq!(poll_text(&mut f, BIG), ["one", "two"]);
    std::fs::copy(&log, dir.path().join("auth.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, b"three\n");
    assert_eq!(poll_text(&mut f, BIG), ["three"]);
    assert_eq!(stats(&f).truncations, 1);
    // Cut and written past the old offset between two polls: the first bytes tell.
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, b"a much longer first line\nx\n");
    assert_eq!(poll_text(&mut f, BIG), ["a much longer first line", "x"]);
    let st = stats(&f);
    assert_eq!((st.truncations, st.rotations), (2, 0));
}

#[test]
fn a_file_rewritten_in_place_while_stopped_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let state = dir.path().join("follow.json");
    append(&log, b"");
    let mut f = Follower::open(&state, lines(&log));
    append(&log, b"aaa\nbbb\n");
    assert_eq!(poll_text(&mut f, BIG).len(), 2);
    f.commit().unwrap();
    drop(f);
    std::fs::write(&log, b"ccccccccc\ndddddddd\n").unwrap();
    let mut f = Follower::open(&state, lines(&log));
    assert_eq!(poll_text(&mut f, BIG), ["ccccccccc", "dddddddd"]);
    assert_eq!(stats(&f).truncations, 1);
}

#[test]
fn a_changed_device_number_is_recognised_by_the_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let state = dir.path().join("follow.json");
    append(&log, b"");
    let mut f = Follower::open(&state, lines(&log));
    append(&log, b"seen\n");
    assert_eq!(poll_text(&mut f, BIG), ["seen"]);
    f.commit().unwrap();
    drop(f);
    let edit = |head_len: Option<u64>| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        let file = &mut v["sources"][0]["file"];
        file["dev"] = (file["dev"].as_u64().unwrap() ^ 0xff).into();
        if let Some(len) = head_len {
            file["head_len"] = len.into();
        }
        std::fs::write(&state, serde_json::to_vec(&v).unwrap()).unwrap();
    };
    edit(None);
    append(&log, b"more\n");
    let mut f = Follower::open(&state, lines(&log));
    assert_eq!(poll_text(&mut f, BIG), ["more"]);
    // Without the first bytes to compare, another device means another file.
    f.commit().unwrap();
    drop(f);
    edit(Some(0));
    let mut f = Follower::open(&state, lines(&log));
    assert_eq!(poll_text(&mut f, BIG), ["seen", "more"]);
}

#[test]
fn a_partial_line_waits_for_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, b"");
    let mut f = Follower::open(&dir.path().join("follow.json"), lines(&log));
    append(&log, b"abc");
    assert!(f.poll(BIG).is_empty());
    assert_eq!(stats(&f).offset, 0);
    append(&log, b"def\r\n\n");
    assert_eq!(poll_text(&mut f, BIG), ["abcdef\r", ""]);
}

#[test]
fn an_overlong_line_is_dropped_counted_and_never_buffered_whole() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let state = dir.path().join("follow.json");
    append(&log, b"");
    let mut f = Follower::open(&state, lines(&log));
    let mut skipped = 0;
    for _ in 0..7 {
        append(&log, &[b'x'; 10 * 1024]);
        for c in f.poll(BIG) {
            assert!(c.items.is_empty());
            skipped += c.skipped;
        }
        let buffered = f.tails[0].cur.as_ref().unwrap().buf.len();
        assert!(buffered <= MAX_ITEM);
    }
    assert_eq!(skipped, 1);
    // Still inside the long line across a restart.
    f.commit().unwrap();
    drop(f);
    let mut f = Follower::open(&state, lines(&log));
    append(&log, b"yyyy\nok\n");
    assert_eq!(poll_text(&mut f, BIG), ["ok"]);
    let longest = vec![b'z'; MAX_ITEM];
    append(&log, &longest);
    append(&log, b"\n");
    append(&log, &[b'z'; MAX_ITEM + 1]);
    append(&log, b"\nafter\n");
    let chunks = f.poll(BIG);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].items, [longest, b"after".to_vec()]);
    assert_eq!(chunks[0].skipped, 1);
    assert_eq!(stats(&f).skipped, 1);
}

#[test]
fn records_come_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    let wtmp = dir.path().join("wtmp");
    let rec = |n: u8| [n; 8];
    // First seen in the middle of a record being written: start after the last whole one.
    append(&wtmp, &[rec(1), rec(2)].concat()[..12]);
    let sources = vec![Source {
        path: wtmp.clone(),
        framing: Framing::Records(8),
    }];
    let mut f = Follower::open(&dir.path().join("follow.json"), sources);
    assert!(f.poll(BIG).is_empty());
    append(&wtmp, &rec(2)[..4]);
    append(&wtmp, &[rec(3), rec(4)].concat());
    append(&wtmp, &rec(5)[..3]);
    let chunks = f.poll(BIG);
    assert_eq!(chunks[0].items, [rec(2), rec(3), rec(4)]);
    append(&wtmp, &rec(5)[3..]);
    assert_eq!(f.poll(BIG)[0].items, [rec(5)]);
    // A record cut off by the file going away is dropped and counted.
    append(&wtmp, &rec(6)[..5]);
    std::fs::remove_file(&wtmp).unwrap();
    let mut skipped = 0;
    for _ in 0..=DRAIN_IDLE_POLLS {
        for c in f.poll(BIG) {
            assert!(c.items.is_empty());
            skipped += c.skipped;
        }
    }
    assert_eq!(skipped, 1);
}

#[test]
fn an_impossible_record_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wtmp = dir.path().join("wtmp");
    append(&wtmp, &[0; 64]);
    let sources = vec![Source {
        path: wtmp.clone(),
        framing: Framing::Records(0),
    }];
    let mut f = Follower::open(&dir.path().join("follow.json"), sources);
    assert!(f.poll(BIG).is_empty());
    assert!(matches!(stats(&f).health, SourceHealth::Failing(_)));
}

#[test]
fn a_symbolic_link_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let target = dir.path().join("shadow");
    append(&target, b"secret\n");
    std::os::unix::fs::symlink(&target, &log).unwrap();
    let mut f = Follower::open(&dir.path().join("follow.json"), lines(&log));
    for _ in 0..3 {
        assert!(f.poll(BIG).is_empty());
        append(&target, b"more secret\n");
    }
    let st = stats(&f);
    assert!(matches!(st.health, SourceHealth::Failing(ref r) if r.contains("symbolic link")));
    assert_eq!(st.errors, 1);

    // A regular file again: followed from its start.
    std::fs::remove_file(&log).unwrap();
    append(&log, b"real\n");
    assert_eq!(poll_text(&mut f, BIG), ["real"]);
    assert_eq!(stats(&f).health, SourceHealth::Following);

    // Swapped for a link while followed: the file already open is finished, the link is not
    // read.
    let mut writer = OpenOptions::new().append(true).open(&log).unwrap();
    writer.write_all(b"before the swap\n").unwrap();
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&target, &log).unwrap();
    writer.write_all(b"late\n").unwrap();
    assert_eq!(poll_text(&mut f, BIG), ["before the swap", "late"]);
    for _ in 0..=DRAIN_IDLE_POLLS {
        assert!(f.poll(BIG).is_empty());
    }
    let st = stats(&f);
    assert_eq!((st.errors, st.draining), (2, 0));
}

#[test]
fn directories_missing_and_unreadable_files_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::create_dir(&log).unwrap();
    let mut f = Follower::open(&dir.path().join("follow.json"), lines(&log));
    assert!(f.poll(BIG).is_empty());
    assert!(f.poll(BIG).is_empty());
    let st = stats(&f);
    assert!(matches!(st.health, SourceHealth::Failing(ref r) if r.contains("regular")));
    assert_eq!(st.errors, 1);
    std::fs::remove_dir(&log).unwrap();
    assert!(f.poll(BIG).is_empty());
    assert_eq!(stats(&f).health, SourceHealth::Missing);
    append(&log, b"x\n");
    assert_eq!(poll_text(&mut f, BIG), ["x"]);

    let locked = dir.path().join("secure");
    append(&locked, b"old\n");
    let mut f = Follower::open(&dir.path().join("other.json"), lines(&locked));
    append(&locked, b"new\n");
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    if File::open(&locked).is_err() {
        assert!(f.poll(BIG).is_empty());
        assert!(f.poll(BIG).is_empty());
        assert!(matches!(stats(&f).health, SourceHealth::Failing(_)));
        assert_eq!(stats(&f).errors, 1);
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
    }
    // Readable (now, or all along for root): from where it was first seen.
    assert_eq!(poll_text(&mut f, BIG), ["new"]);
    assert_eq!(stats(&f).health, SourceHealth::Following);
}

#[test]
fn the_budget_bounds_each_poll_and_is_shared() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.log");
    let small = dir.path().join("small.log");
    append(&small, b"");
    let mut sources = lines(&big);
    sources.extend(lines(&small));
    let mut f = Follower::open(&dir.path().join("follow.json"), sources);
    let want: Vec<String> = (0..10_000).map(|i| format!("{i:099}")).collect();
    append(&big, (want.join("\n") + "\n").as_bytes());
    append(&small, b"s1\n");
    let budget = 64 * 1024;
    let mut got = Vec::new();
    let mut polls = 0;
    let mut read_before = 0;
    loop {
        let chunks = f.poll(budget);
        let read: u64 = f.stats().sources.iter().map(|s| s.bytes_read).sum();
        assert!(read - read_before <= budget as u64);
        read_before = read;
        if polls == 0 {
            assert_eq!(items_of(&chunks, &small), ["s1"]);
        }
        polls += 1;
        if chunks.is_empty() {
            break;
        }
        got.extend(items_of(&chunks, &big));
    }
    assert_eq!(got, want);
    assert!(polls > 1_000_000 / budget);
    assert!(f.poll(0).is_empty());
}

#[test]
fn binary_garbage_passes_through_as_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, b"");
    let mut f = Follower::open(&dir.path().join("follow.json"), lines(&log));
    let garbage: Vec<u8> = (0..=255u8).filter(|&b| b != b'\n').collect();
    let mut data = garbage.clone();
    data.extend_from_slice(b"\n\xff\xfe\xc3(\n");
    append(&log, &data);
    let chunks = f.poll(BIG);
    assert_eq!(chunks[0].items, [garbage, b"\xff\xfe\xc3(".to_vec()]);
}

#[test]
fn a_corrupt_state_file_is_ignored_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let state = dir.path().join("follow.json");
    std::fs::write(&state, b"{ not json").unwrap();
    append(&log, b"history\n");
    let mut f = Follower::open(&state, lines(&log));
    assert!(f.poll(BIG).is_empty());
    append(&log, b"new\n");
    assert_eq!(poll_text(&mut f, BIG), ["new"]);
    f.commit().unwrap();
    drop(f);
    let mut f = Follower::open(&state, lines(&log));
    assert!(f.poll(BIG).is_empty());
}

/// Not timed: checks that a long stream cut at random places, rotated and restarted twice,
/// comes out exactly once and in order.
#[test]
fn a_hundred_thousand_lines_come_out_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let state = dir.path().join("follow.json");
    let all: Vec<String> = (0..100_000)
        .map(|i| format!("line {i} {}", "x".repeat(i % 97)))
        .collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    append(&log, b"");
    let mut f = Follower::open(&state, lines(&log));
    let mut writer = OpenOptions::new().append(true).open(&log).unwrap();
    let mut got = Vec::new();
    // (lines, what happens once they are written)
    let segments = [
        (0..40_000, "rotate"),
        (40_000..55_000, "restart"),
        (55_000..60_000, "reopen"),
        (60_000..80_000, "restart"),
        (80_000..100_000, ""),
    ];
    for (range, then) in segments {
        let bytes = all[range].join("\n") + "\n";
        let mut bytes = bytes.as_bytes();
        while !bytes.is_empty() {
            let n = (1 + random(6000)).min(bytes.len());
            writer.write_all(&bytes[..n]).unwrap();
            bytes = &bytes[n..];
            if random(2) == 0 {
                for c in f.poll(1 + random(100_000)) {
                    assert_eq!(c.skipped, 0);
                    got.extend(c.items);
                }
            }
        }
        match then {
            // The writer keeps its descriptor: the next lines go to the renamed file.
            "rotate" => std::fs::rename(&log, dir.path().join("auth.log.1")).unwrap(),
            "reopen" => writer = File::create(&log).unwrap(),
            "restart" => {
                f.commit().unwrap();
                f = Follower::open(&state, lines(&log));
            }
            _ => {}
        }
    }
    let mut quiet = 0;
    while quiet <= DRAIN_IDLE_POLLS {
        let chunks = f.poll(BIG);
        quiet = if chunks.is_empty() { quiet + 1 } else { 0 };
        got.extend(chunks.into_iter().flat_map(|c| c.items));
    }
    let got = text(got);
    assert_eq!(got.len(), all.len());
    let first_difference = got.iter().zip(&all).position(|(g, w)| g != w);
    assert_eq!(first_difference, None);
    assert_eq!(stats(&f).draining, 0);
}
