//! The agent's disk spool: event batches wait here, in order, until the server has committed
//! them. Bounded in bytes; past the bound the oldest batches go first and are counted. A batch
//! that cannot be written (disk full, read-only) is kept in memory, also bounded and counted.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigil_proto::agent::{EventBatch, SpoolStats, MAX_BATCH_EVENTS};
use vigil_proto::codec;

/// Batches kept in memory while the disk refuses writes.
const MAX_MEMORY_BATCHES: usize = 256;

#[derive(Debug)]
enum Location {
    Disk(PathBuf),
    Memory(Vec<u8>),
}

#[derive(Debug)]
struct Entry {
    location: Location,
    events: u64,
    bytes: u64,
}

/// One batch ready to send: its sequence number and encoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub seq: u64,
    pub body: Vec<u8>,
    pub events: u64,
}

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    next_seq: u64,
    entries: BTreeMap<u64, Entry>,
    bytes: u64,
    dropped_events: u64,
    write_failures: u64,
    resynced_batches: u64,
}

fn file_name(seq: u64, events: u64) -> String {
    format!("{seq:020}-{events}.batch")
}

fn parse_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".batch")?;
    let (seq, events) = stem.split_once('-')?;
    Some((seq.parse().ok()?, events.parse().ok()?))
}

/// `next dropped failures [resynced]`, all numbers; anything else is corrupt.
fn parse_counters(text: &str) -> Option<[u64; 4]> {
    let nums: Vec<u64> = text
        .split_whitespace()
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    match nums[..] {
        [next, dropped, failures] => Some([next, dropped, failures, 0]),
        [next, dropped, failures, resynced] => Some([next, dropped, failures, resynced]),
        _ => None,
    }
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    let r = f.write_all(data).and_then(|_| f.sync_all());
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)
}

impl Spool {
    /// Opens the spool in `dir`, picking up batches left by an earlier run.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating spool {}", dir.display()))?;
        let mut s = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            next_seq: 1,
            entries: BTreeMap::new(),
            bytes: 0,
            dropped_events: 0,
            write_failures: 0,
            resynced_batches: 0,
        };
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".tmp") {
                // A write cut short by a crash: the batch was never acknowledged to anyone.
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            if let Some((seq, events)) = parse_name(&name) {
                let bytes = entry.metadata()?.len();
                s.bytes += bytes;
                s.entries.insert(
                    seq,
                    Entry {
                        location: Location::Disk(entry.path()),
                        events,
                        bytes,
                    },
                );
            }
        }
        let after_files = s.entries.keys().next_back().map_or(1, |m| m + 1);
        let saved_next = match std::fs::read_to_string(dir.join("counters")) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 1,
            Err(e) => {
                tracing::warn!(error = %e, "the spool's counters cannot be read; numbering resumes after the spooled batches and the server will resynchronise it");
                1
            }
            Ok(text) => match parse_counters(&text) {
                Some([next, dropped, failures, resynced]) => {
                    s.dropped_events = dropped;
                    s.write_failures = failures;
                    s.resynced_batches = resynced;
                    next
                }
                None => {
                    tracing::warn!(content = %text.chars().take(80).collect::<String>(), "the spool's counters file is corrupt; numbering resumes after the spooled batches and the server will resynchronise it");
                    1
                }
            },
        };
        s.next_seq = saved_next.max(after_files).max(1);
        Ok(s)
    }

    fn save_counters(&self) -> std::io::Result<()> {
        write_atomic(
            &self.dir.join("counters"),
            format!(
                "{} {} {} {}\n",
                self.next_seq, self.dropped_events, self.write_failures, self.resynced_batches
            )
            .as_bytes(),
        )
    }

    /// Adds events, as one batch or as several of at most [`MAX_BATCH_EVENTS`]; returns the
    /// (last) batch's sequence number.
    pub fn append(&mut self, mut events: Vec<vigil_model::Event>) -> u64 {
        while events.len() > MAX_BATCH_EVENTS {
            let rest = events.split_off(MAX_BATCH_EVENTS);
            self.append_one(std::mem::replace(&mut events, rest));
        }
        self.append_one(events)
    }

    fn append_one(&mut self, events: Vec<vigil_model::Event>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let count = events.len() as u64;
        let body = codec::encode(&EventBatch { seq, events });
        let bytes = body.len() as u64;
        let path = self.dir.join(file_name(seq, count));
        // The sequence counter is saved first so a crash can never reuse a number.
        let saved = self
            .save_counters()
            .and_then(|_| write_atomic(&path, &body));
        let location = match saved {
            Ok(()) => Location::Disk(path),
            Err(e) => {
                self.write_failures += 1;
                tracing::warn!(error = %e, seq, "spool write failed; keeping the batch in memory");
                let in_memory = self
                    .entries
                    .values()
                    .filter(|e| matches!(e.location, Location::Memory(_)))
                    .count();
                if in_memory >= MAX_MEMORY_BATCHES {
                    self.drop_oldest_memory();
                }
                Location::Memory(body)
            }
        };
        self.bytes += bytes;
        self.entries.insert(
            seq,
            Entry {
                location,
                events: count,
                bytes,
            },
        );
        while self.bytes > self.max_bytes && self.entries.len() > 1 {
            let (&oldest, _) = self.entries.iter().next().expect("non-empty");
            self.remove(oldest, true);
        }
        seq
    }

    fn drop_oldest_memory(&mut self) {
        let oldest = self
            .entries
            .iter()
            .find(|(_, e)| matches!(e.location, Location::Memory(_)))
            .map(|(s, _)| *s);
        if let Some(seq) = oldest {
            self.remove(seq, true);
        }
    }

    fn remove(&mut self, seq: u64, dropped: bool) {
        if let Some(e) = self.entries.remove(&seq) {
            self.bytes -= e.bytes;
            if dropped {
                self.dropped_events += e.events;
                tracing::warn!(
                    seq,
                    events = e.events,
                    "spool over its bound: oldest batch dropped"
                );
            }
            if let Location::Disk(p) = e.location {
                let _ = std::fs::remove_file(p);
            }
            if dropped {
                let _ = self.save_counters();
            }
        }
    }

    /// The oldest batch not yet acknowledged. A file that can no longer be read is dropped and
    /// counted, and the next one is returned.
    pub fn first(&mut self) -> Option<Pending> {
        loop {
            let (&seq, entry) = self.entries.iter().next()?;
            let events = entry.events;
            let body = match &entry.location {
                Location::Memory(b) => Ok(b.clone()),
                Location::Disk(p) => std::fs::read(p),
            };
            match body {
                Ok(body) => return Some(Pending { seq, body, events }),
                Err(e) => {
                    tracing::error!(seq, error = %e, "spooled batch unreadable; dropping it");
                    self.remove(seq, true);
                }
            }
        }
    }

    /// The server committed `seq`: forget it.
    pub fn ack(&mut self, seq: u64) {
        self.remove(seq, false);
    }

    /// The server says its last committed batch is `next - 1`, above what this spool numbers
    /// (a restored snapshot, a lost counter file): every pending batch is renumbered from
    /// `next`, in order, and kept to be sent again. Returns how many were renumbered.
    pub fn renumber_from(&mut self, next: u64) -> usize {
        let old = std::mem::take(&mut self.entries);
        self.bytes = 0;
        self.next_seq = self.next_seq.max(next);
        let mut seq = next;
        let mut renumbered = 0;
        for (old_seq, entry) in old {
            let body = match &entry.location {
                Location::Memory(b) => Ok(b.clone()),
                Location::Disk(p) => std::fs::read(p),
            };
            let batch = body.map_err(|e| e.to_string()).and_then(|b| {
                codec::decode::<EventBatch>(&b, vigil_proto::MAX_INFLATED_BYTES)
                    .map_err(|e| e.to_string())
            });
            if let Location::Disk(p) = &entry.location {
                let _ = std::fs::remove_file(p);
            }
            let mut batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(seq = old_seq, error = %e, "spooled batch unreadable while renumbering; dropping it");
                    self.dropped_events += entry.events;
                    continue;
                }
            };
            batch.seq = seq;
            let body = codec::encode(&batch);
            let path = self.dir.join(file_name(seq, entry.events));
            let location = match write_atomic(&path, &body) {
                Ok(()) => Location::Disk(path),
                Err(_) => {
                    self.write_failures += 1;
                    Location::Memory(body.clone())
                }
            };
            self.bytes += body.len() as u64;
            self.entries.insert(
                seq,
                Entry {
                    location,
                    events: entry.events,
                    bytes: body.len() as u64,
                },
            );
            seq += 1;
            renumbered += 1;
        }
        self.next_seq = self.next_seq.max(seq);
        self.resynced_batches += renumbered as u64;
        let _ = self.save_counters();
        renumbered
    }

    /// The server refused `seq` for good: forget it, counting its events as dropped.
    pub fn reject(&mut self, seq: u64) {
        self.remove(seq, true);
    }

    pub fn stats(&self) -> SpoolStats {
        SpoolStats {
            pending_batches: self.entries.len() as u64,
            pending_bytes: self.bytes,
            dropped_events: self.dropped_events,
            write_failures: self.write_failures,
            resynced_batches: self.resynced_batches,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_model::{Account, Event, EventBody};

    fn events(n: usize, tag: &str) -> Vec<Event> {
        (0..n)
            .map(|i| Event {
                time: i as i64,
                body: EventBody::AccountAdded {
                    account: Account {
                        name: format!("{tag}{i}"),
                        ..Default::default()
                    },
                },
            })
            .collect()
    }

    fn decode(p: &Pending) -> EventBatch {
        codec::decode(&p.body, 1 << 24).unwrap()
    }

    #[test]
    fn batches_survive_restart_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(s.append(events(3, "a")), 1);
        assert_eq!(s.append(events(2, "b")), 2);
        drop(s);
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        let first = s.first().unwrap();
        assert_eq!((first.seq, first.events), (1, 3));
        assert_eq!(decode(&first).events, events(3, "a"));
        s.ack(1);
        assert_eq!(s.first().unwrap().seq, 2);
        s.ack(2);
        assert!(s.first().is_none());
        // Numbers are never reused, even after everything was acknowledged.
        drop(s);
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(s.append(events(1, "c")), 3);
    }

    #[test]
    fn over_the_bound_the_oldest_go_and_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 1).unwrap();
        s.append(events(5, "a"));
        s.append(events(7, "b"));
        s.append(events(1, "c"));
        let st = s.stats();
        assert_eq!((st.pending_batches, st.dropped_events), (1, 12));
        assert_eq!(s.first().unwrap().seq, 3);
        drop(s);
        let s = Spool::open(dir.path(), 1).unwrap();
        assert_eq!(s.stats().dropped_events, 12);
    }

    #[test]
    fn unwritable_disk_keeps_batches_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let spool_dir = dir.path().join("spool");
        let mut s = Spool::open(&spool_dir, 1 << 20).unwrap();
        // Removing the directory makes every write fail, as a full or vanished disk would.
        std::fs::remove_dir_all(&spool_dir).unwrap();
        let seq = s.append(events(4, "m"));
        assert_eq!(s.stats().write_failures, 1);
        let p = s.first().unwrap();
        assert_eq!((p.seq, p.events), (seq, 4));
        assert_eq!(decode(&p).events.len(), 4);
        s.ack(seq);
        assert!(s.first().is_none());
    }

    #[test]
    fn leftovers_and_junk_are_handled() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("00000000000000000009-2.tmp"), b"partial").unwrap();
        std::fs::write(dir.path().join("00000000000000000004-2.batch"), b"not gzip").unwrap();
        std::fs::write(dir.path().join("README"), b"x").unwrap();
        std::fs::write(dir.path().join("counters"), b"garbage").unwrap();
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        assert!(!dir.path().join("00000000000000000009-2.tmp").exists());
        assert_eq!(s.first().unwrap().seq, 4);
        assert_eq!(s.append(events(1, "x")), 5);
    }

    #[test]
    fn renumbering_keeps_every_batch_in_order_under_new_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        s.append(events(2, "a"));
        s.append(events(3, "b"));
        assert_eq!(s.renumber_from(41), 2);
        let first = s.first().unwrap();
        assert_eq!((first.seq, decode(&first).seq), (41, 41));
        assert_eq!(decode(&first).events, events(2, "a"));
        s.ack(41);
        let second = s.first().unwrap();
        assert_eq!((second.seq, decode(&second).events), (42, events(3, "b")));
        assert_eq!(s.append(events(1, "c")), 43);
        assert_eq!(s.stats().resynced_batches, 2);
        // What was renumbered is what a restart finds, and the count survives it.
        drop(s);
        let s = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(s.stats().pending_batches, 2);
        assert_eq!(s.stats().resynced_batches, 2);
        assert_eq!(s.entries.keys().copied().collect::<Vec<_>>(), [42, 43]);
    }

    #[test]
    fn counters_files_parse_old_and_new_forms_only() {
        assert_eq!(parse_counters("7 1 2\n"), Some([7, 1, 2, 0]));
        assert_eq!(parse_counters("7 1 2 3\n"), Some([7, 1, 2, 3]));
        for bad in ["", "garbage", "7 x 2", "1 2", "1 2 3 4 5", "-1 0 0"] {
            assert_eq!(parse_counters(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_large_append_is_split_into_batches_the_server_takes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 1 << 30).unwrap();
        let last = s.append(events(MAX_BATCH_EVENTS * 2 + 5, "x"));
        assert_eq!(last, 3);
        let sizes: Vec<u64> = s.entries.values().map(|e| e.events).collect();
        assert_eq!(sizes, [MAX_BATCH_EVENTS as u64, MAX_BATCH_EVENTS as u64, 5]);
    }
}
