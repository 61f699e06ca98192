//! Follows log files (text lines or fixed-size binary records) across rotation, truncation and
//! agent restarts, reading each byte once, with a byte budget per poll and a bound on every line.
//!
//! Each path is identified by device + inode + a hash of its first bytes, and the offset of the
//! first item not yet handed out is saved (`commit`) in a small JSON state file written
//! atomically. A file first seen with no saved state starts at its end, so history is not
//! replayed; a file that appears later at a known path is read from its start.
//!
//! A file renamed away (logrotate's default) keeps its descriptor: it is read to its end before
//! the new file, and stays open while its writer, not yet told to reopen, keeps adding to it.
//! Symbolic links are never followed: a log path that is a link is a planted trap, not a log.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Longest line or record kept. A longer line is dropped and counted; no more than this is ever
/// buffered for one line.
pub const MAX_ITEM: usize = 64 * 1024;
/// Bytes asked of the kernel per read.
const READ_BLOCK: usize = 64 * 1024;
/// Leading bytes hashed to tell a file from another that reuses its inode.
const HEAD_LEN: usize = 128;
/// A rotated-away file is closed once it has stopped growing for this many polls (about 2 s at
/// the agent's 200 ms cadence): its writer may append to it until it is told to reopen.
const DRAIN_IDLE_POLLS: u32 = 10;
const STATE_VERSION: u32 = 1;

/// How a file is cut into items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Lines ending in `\n`; items are returned without it (a `\r` is kept).
    Lines,
    /// Fixed-size binary records (384 bytes for Linux utmp/wtmp/btmp), from 1 to [`MAX_ITEM`].
    Records(usize),
}

/// One file to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
    pub framing: Framing,
}

/// What one poll got from one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub path: PathBuf,
    /// Complete lines (without `\n`) or whole records, in file order; bytes as they are.
    pub items: Vec<Vec<u8>>,
    /// Items dropped in this poll: lines over [`MAX_ITEM`], partial records left by a rotation
    /// or a truncation.
    pub skipped: u64,
}

/// Whether a source is being read, as of the last poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceHealth {
    /// Not polled yet.
    Unknown,
    Following,
    /// Nothing at the path (yet); looked for again at each poll.
    Missing,
    /// The path cannot or must not be read (a symbolic link, a directory, permissions); looked
    /// at again at each poll.
    Failing(String),
}

/// Counters for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStats {
    pub path: PathBuf,
    pub health: SourceHealth,
    /// The file currently followed at the path (or the position waiting for it).
    pub device: Option<u64>,
    pub inode: Option<u64>,
    /// Offset of the first byte not yet handed out in that file.
    pub offset: u64,
    /// Rotated-away files still being read.
    pub draining: usize,
    pub items: u64,
    pub bytes_read: u64,
    pub skipped: u64,
    pub rotations: u64,
    pub truncations: u64,
    /// Times the source went into [`SourceHealth::Failing`], including rotated files that
    /// could not be found again after a restart.
    pub errors: u64,
    /// Times the path was found missing.
    pub missing: u64,
}

/// Counters for every source, in the order the sources were given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FollowStats {
    pub sources: Vec<SourceStats>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(md: &std::fs::Metadata) -> FileId {
        FileId {
            dev: md.dev(),
            ino: md.ino(),
        }
    }
}

/// Hash of a file's first `len` bytes; `len` 0 says nothing about the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Head {
    len: usize,
    hash: u64,
}

/// FNV-1a: stable across Rust releases, unlike `DefaultHasher`, since it is saved to disk.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The head of `file` over its first `len` bytes, or `None` if it is shorter.
fn read_head(file: &File, len: usize) -> io::Result<Option<Head>> {
    let mut bytes = [0u8; HEAD_LEN];
    let len = len.min(HEAD_LEN);
    let mut got = 0;
    while got < len {
        match file.read_at(&mut bytes[got..len], got as u64) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(Head {
        len,
        hash: fnv1a(&bytes[..len]),
    }))
}

/// A position in a file, as saved in the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    dev: u64,
    ino: u64,
    offset: u64,
    #[serde(default)]
    head_len: usize,
    #[serde(default)]
    head: u64,
    /// In the middle of a line too long to keep: skip to the next newline.
    #[serde(default)]
    discarding: bool,
}

impl Saved {
    /// Same inode, and same device or (device numbers can change across reboots on some
    /// storage stacks) the same first bytes.
    fn same_inode(&self, id: FileId) -> bool {
        self.ino == id.ino && (self.dev == id.dev || self.head_len > 0)
    }

    fn head_matches(&self, file: &File) -> bool {
        self.head_len == 0
            || matches!(read_head(file, self.head_len), Ok(Some(h)) if h.hash == self.head)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedSource {
    path: String,
    /// The file at the path; `None`: read whatever appears there from its start.
    file: Option<Saved>,
    /// Rotated-away files not read to their end yet, oldest first.
    #[serde(default)]
    draining: Vec<Saved>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    sources: Vec<SavedSource>,
}

fn state_key(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn load_state(state_file: &Path) -> Vec<SavedSource> {
    let bytes = match std::fs::read(state_file) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            tracing::warn!(file = %state_file.display(), error = %e,
                "log offsets unreadable; logs are followed from their end");
            return Vec::new();
        }
    };
    match serde_json::from_slice::<StateFile>(&bytes) {
        Ok(s) if s.version == STATE_VERSION => s.sources,
        Ok(s) => {
            tracing::warn!(file = %state_file.display(), version = s.version,
                "log offsets of an unknown version; logs are followed from their end");
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(file = %state_file.display(), error = %e,
                "log offsets corrupt; logs are followed from their end");
            Vec::new()
        }
    }
}

fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp)?;
    let r = f.write_all(data).and_then(|_| f.sync_all());
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)
}

/// An open file being read.
#[derive(Debug)]
struct Open {
    file: File,
    id: FileId,
    /// Next byte to read.
    pos: u64,
    /// The incomplete item at the end of what was read: bytes `pos - buf.len() .. pos`.
    buf: Vec<u8>,
    discarding: bool,
    head: Head,
    /// Polls since this file last grew (only used once it is rotated away).
    idle_polls: u32,
}

impl Open {
    fn new(file: File, id: FileId) -> Open {
        Open {
            file,
            id,
            pos: 0,
            buf: Vec::new(),
            discarding: false,
            head: Head::default(),
            idle_polls: 0,
        }
    }

    fn resume(file: File, id: FileId, saved: &Saved) -> Open {
        Open {
            pos: saved.offset,
            discarding: saved.discarding,
            head: Head {
                len: saved.head_len,
                hash: saved.head,
            },
            ..Open::new(file, id)
        }
    }

    /// Offset of the first byte not handed out yet.
    fn offset(&self) -> u64 {
        self.pos - self.buf.len() as u64
    }

    /// Hashes the first bytes once they have been read, up to [`HEAD_LEN`].
    fn ensure_head(&mut self) {
        let want = self.offset().min(HEAD_LEN as u64) as usize;
        if self.head.len < want {
            if let Ok(Some(h)) = read_head(&self.file, want) {
                self.head = h;
            }
        }
    }

    fn head_still_matches(&self) -> bool {
        self.head.len == 0
            || matches!(read_head(&self.file, self.head.len), Ok(Some(h)) if h == self.head)
    }

    fn saved(&mut self) -> Saved {
        self.ensure_head();
        Saved {
            dev: self.id.dev,
            ino: self.id.ino,
            offset: self.offset(),
            head_len: self.head.len,
            head: self.head.hash,
            discarding: self.discarding,
        }
    }

    /// Reads until the end of the file (`Ok(true)`) or of the budget (`Ok(false)`).
    fn read(
        &mut self,
        framing: Framing,
        budget: &mut usize,
        scratch: &mut [u8],
        chunk: &mut Chunk,
    ) -> io::Result<bool> {
        loop {
            if *budget == 0 {
                return Ok(false);
            }
            let want = (*budget).min(scratch.len());
            let got = match self.file.read_at(&mut scratch[..want], self.pos) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if got == 0 {
                return Ok(true);
            }
            self.pos += got as u64;
            *budget -= got;
            self.idle_polls = 0;
            self.feed(framing, &scratch[..got], chunk);
        }
    }

    fn feed(&mut self, framing: Framing, mut data: &[u8], chunk: &mut Chunk) {
        match framing {
            Framing::Lines => {
                while !data.is_empty() {
                    match data.iter().position(|&b| b == b'\n') {
                        Some(i) => {
                            let line = &data[..i];
                            data = &data[i + 1..];
                            if self.discarding {
                                self.discarding = false;
                            } else if self.buf.len() + line.len() > MAX_ITEM {
                                self.buf = Vec::new();
                                chunk.skipped += 1;
                            } else if self.buf.is_empty() {
                                chunk.items.push(line.to_vec());
                            } else {
                                self.buf.extend_from_slice(line);
                                chunk.items.push(std::mem::take(&mut self.buf));
                            }
                        }
                        None => {
                            // While discarding, the rest of the long line is not kept.
                            if self.discarding {
                            } else if self.buf.len() + data.len() > MAX_ITEM {
                                self.buf = Vec::new();
                                self.discarding = true;
                                chunk.skipped += 1;
                            } else {
                                self.buf.extend_from_slice(data);
                            }
                            data = &[];
                        }
                    }
                }
            }
            Framing::Records(size) => {
                if !self.buf.is_empty() {
                    let need = (size - self.buf.len()).min(data.len());
                    self.buf.extend_from_slice(&data[..need]);
                    data = &data[need..];
                    if self.buf.len() == size {
                        chunk.items.push(std::mem::take(&mut self.buf));
                    }
                }
                let whole = data.len() - data.len() % size;
                chunk
                    .items
                    .extend(data[..whole].chunks_exact(size).map(<[u8]>::to_vec));
                self.buf.extend_from_slice(&data[whole..]);
            }
        }
    }

    /// The file will not be read past where it is now (its writer is gone or it was cut): a
    /// partial line is handed out as it is, a partial record is dropped.
    fn flush_partial(&mut self, framing: Framing, chunk: &mut Chunk) {
        let partial = std::mem::take(&mut self.buf);
        let discarding = std::mem::replace(&mut self.discarding, false);
        if partial.is_empty() || discarding {
            return;
        }
        match framing {
            Framing::Lines => chunk.items.push(partial),
            Framing::Records(_) => chunk.skipped += 1,
        }
    }
}

/// Where to start in the next file found at the path.
#[derive(Debug, Clone, Copy)]
enum Start {
    Beginning,
    /// At this position if it is the same file; else that file was rotated away.
    At(Saved),
}

#[derive(Debug)]
struct Tail {
    path: PathBuf,
    framing: Framing,
    cur: Option<Open>,
    /// Rotated-away files, oldest first, read before `cur`.
    draining: VecDeque<Open>,
    /// Used while `cur` is `None`.
    start: Start,
    /// Saved positions in rotated-away files, to find next to the path by inode.
    orphans: Vec<Saved>,
    /// A file was followed (or positioned in) at this path: another one there is a rotation.
    had_file: bool,
    health: SourceHealth,
    problem: Option<String>,
    missing_now: bool,
    items: u64,
    bytes_read: u64,
    skipped: u64,
    rotations: u64,
    truncations: u64,
    errors: u64,
    missing: u64,
}

impl Tail {
    fn new(source: Source, saved: Option<SavedSource>) -> Tail {
        let mut tail = Tail {
            path: source.path,
            framing: source.framing,
            cur: None,
            draining: VecDeque::new(),
            start: Start::Beginning,
            orphans: Vec::new(),
            had_file: false,
            health: SourceHealth::Unknown,
            problem: None,
            missing_now: false,
            items: 0,
            bytes_read: 0,
            skipped: 0,
            rotations: 0,
            truncations: 0,
            errors: 0,
            missing: 0,
        };
        match saved {
            Some(s) => {
                tail.had_file = s.file.is_some();
                tail.start = s.file.map_or(Start::Beginning, Start::At);
                tail.orphans = s.draining;
            }
            None => {
                // First sight: start at the end, so a host's history is not replayed.
                if let Ok(md) = std::fs::symlink_metadata(&tail.path) {
                    if md.is_file() {
                        let size = md.len();
                        let offset = match tail.framing {
                            Framing::Records(n) if n > 0 => size - size % n as u64,
                            _ => size,
                        };
                        let id = FileId::of(&md);
                        tail.had_file = true;
                        tail.start = Start::At(Saved {
                            dev: id.dev,
                            ino: id.ino,
                            offset,
                            head_len: 0,
                            head: 0,
                            discarding: false,
                        });
                    }
                }
            }
        }
        tail
    }

    fn framing_error(&self) -> Option<String> {
        match self.framing {
            Framing::Records(n) if n == 0 || n > MAX_ITEM => {
                Some(format!("record size {n} is outside 1..={MAX_ITEM}"))
            }
            _ => None,
        }
    }

    /// Looks at the path: follows a new file, notices rotation and truncation.
    fn refresh(&mut self, chunk: &mut Chunk) {
        self.problem = self.framing_error();
        self.missing_now = false;
        if self.problem.is_some() {
            return;
        }
        for d in &mut self.draining {
            d.idle_polls = d.idle_polls.saturating_add(1);
        }
        match std::fs::symlink_metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.lose_path();
                self.missing_now = true;
            }
            Err(e) => self.problem = Some(format!("cannot look at it: {e}")),
            Ok(md) if md.file_type().is_symlink() => {
                self.lose_path();
                self.problem = Some("is a symbolic link, not followed".into());
            }
            Ok(md) if !md.is_file() => {
                self.lose_path();
                self.problem = Some("is not a regular file".into());
            }
            Ok(md) => self.follow(&md, chunk),
        }
        self.find_orphans();
    }

    /// The path no longer names the file being followed: read that one to its end, and the
    /// next file found at the path from its start.
    fn lose_path(&mut self) {
        if let Some(mut cur) = self.cur.take() {
            cur.idle_polls = 0;
            self.draining.push_back(cur);
        }
        if let Start::At(saved) = std::mem::replace(&mut self.start, Start::Beginning) {
            self.orphans.push(saved);
        }
    }

    fn follow(&mut self, md: &std::fs::Metadata, chunk: &mut Chunk) {
        let id = FileId::of(md);
        match &mut self.cur {
            Some(cur) if cur.id == id => {
                let size = md.len();
                // Smaller than what was read, or rewritten past it: copytruncate, or `> file`.
                if size < cur.pos || (size > cur.pos && !cur.head_still_matches()) {
                    cur.flush_partial(self.framing, chunk);
                    cur.pos = 0;
                    cur.head = Head::default();
                    self.truncations += 1;
                    tracing::info!(path = %self.path.display(), "log truncated; reading it from its start");
                }
                return;
            }
            Some(_) => self.lose_path(),
            None => {}
        }
        if let Some(i) = self.draining.iter().position(|d| d.id == id) {
            // Renamed back: it is the current file again.
            self.cur = self.draining.remove(i);
            return;
        }
        self.open_current(id);
    }

    fn open_current(&mut self, id: FileId) {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) => {
                self.problem = Some(format!("cannot open it: {e}"));
                return;
            }
        };
        // The path may have changed between the look and the open (to a link, say): only the
        // file that was looked at is followed.
        let size = match file.metadata() {
            Ok(md) if md.is_file() && FileId::of(&md) == id => md.len(),
            Ok(_) => {
                self.problem = Some("changed while being opened".into());
                return;
            }
            Err(e) => {
                self.problem = Some(format!("cannot look at it: {e}"));
                return;
            }
        };
        let open = match std::mem::replace(&mut self.start, Start::Beginning) {
            Start::At(saved) if saved.same_inode(id) => {
                if saved.offset <= size && saved.head_matches(&file) {
                    Open::resume(file, id, &saved)
                } else {
                    self.truncations += 1;
                    tracing::info!(path = %self.path.display(),
                        "log truncated or rewritten while not followed; reading it from its start");
                    Open::new(file, id)
                }
            }
            Start::At(saved) => {
                // Rotated while not followed: the old file is looked for next to this one.
                self.orphans.push(saved);
                self.rotations += 1;
                Open::new(file, id)
            }
            Start::Beginning => {
                if self.had_file {
                    self.rotations += 1;
                }
                Open::new(file, id)
            }
        };
        self.had_file = true;
        self.cur = Some(open);
    }

    /// Finds rotated files by inode among the path's siblings (`auth.log.1`,
    /// `auth.log-20240101`) and reads their rest before the current file.
    fn find_orphans(&mut self) {
        let orphans = std::mem::take(&mut self.orphans);
        let mut found = Vec::new();
        for saved in orphans {
            let known = self
                .cur
                .iter()
                .chain(&self.draining)
                .chain(&found)
                .any(|o: &Open| saved.same_inode(o.id));
            if known {
                continue;
            }
            match locate(&self.path, &saved) {
                Some(open) => found.push(open),
                None => {
                    self.errors += 1;
                    tracing::warn!(path = %self.path.display(), inode = saved.ino,
                        "rotated log not found next to it; its unread end is lost");
                }
            }
        }
        for open in found.into_iter().rev() {
            self.draining.push_front(open);
        }
    }

    /// Reads rotated files to their end, then the current one, within `budget`.
    fn read(&mut self, budget: &mut usize, scratch: &mut [u8], chunk: &mut Chunk) {
        if self.framing_error().is_some() {
            return;
        }
        let before = *budget;
        let mut i = 0;
        let mut spent = false;
        while i < self.draining.len() {
            match self.draining[i].read(self.framing, budget, scratch, chunk) {
                Ok(true) if self.draining[i].idle_polls >= DRAIN_IDLE_POLLS => {
                    if let Some(mut done) = self.draining.remove(i) {
                        done.flush_partial(self.framing, chunk);
                    }
                }
                Ok(true) => i += 1,
                Ok(false) => {
                    spent = true;
                    break;
                }
                Err(e) => {
                    self.problem
                        .get_or_insert_with(|| format!("reading a rotated file failed: {e}"));
                    if let Some(mut done) = self.draining.remove(i) {
                        done.flush_partial(self.framing, chunk);
                    }
                }
            }
        }
        if !spent {
            if let Some(cur) = &mut self.cur {
                if let Err(e) = cur.read(self.framing, budget, scratch, chunk) {
                    self.problem
                        .get_or_insert_with(|| format!("reading failed: {e}"));
                }
                cur.ensure_head();
            }
        }
        self.bytes_read += (before - *budget) as u64;
    }

    /// Settles the source's health after a poll, logging and counting changes only.
    fn settle(&mut self) {
        let health = match self.problem.take() {
            Some(p) => SourceHealth::Failing(p),
            None if self.missing_now => SourceHealth::Missing,
            None => SourceHealth::Following,
        };
        if health == self.health {
            return;
        }
        let path = self.path.display();
        match &health {
            SourceHealth::Failing(reason) => {
                self.errors += 1;
                tracing::warn!(path = %path, %reason, "log not followed; will look again");
            }
            SourceHealth::Missing => {
                self.missing += 1;
                tracing::debug!(path = %path, "log missing; will look again");
            }
            SourceHealth::Following if matches!(self.health, SourceHealth::Failing(_)) => {
                tracing::info!(path = %path, "log followed again");
            }
            _ => {}
        }
        self.health = health;
    }

    fn saved(&mut self) -> SavedSource {
        let file = match (&mut self.cur, &self.start) {
            (Some(cur), _) => Some(cur.saved()),
            (None, Start::At(s)) => Some(*s),
            (None, Start::Beginning) => None,
        };
        let mut draining = self.orphans.clone();
        draining.extend(self.draining.iter_mut().map(Open::saved));
        SavedSource {
            path: state_key(&self.path),
            file,
            draining,
        }
    }

    fn stats(&self) -> SourceStats {
        let (id, offset) = match (&self.cur, &self.start) {
            (Some(cur), _) => (Some(cur.id), cur.offset()),
            (None, Start::At(s)) => (
                Some(FileId {
                    dev: s.dev,
                    ino: s.ino,
                }),
                s.offset,
            ),
            (None, Start::Beginning) => (None, 0),
        };
        SourceStats {
            path: self.path.clone(),
            health: self.health.clone(),
            device: id.map(|i| i.dev),
            inode: id.map(|i| i.ino),
            offset,
            draining: self.draining.len(),
            items: self.items,
            bytes_read: self.bytes_read,
            skipped: self.skipped,
            rotations: self.rotations,
            truncations: self.truncations,
            errors: self.errors,
            missing: self.missing,
        }
    }
}

/// The rotated-away file `saved` describes, if a sibling of `path` named after it is that file.
fn locate(path: &Path, saved: &Saved) -> Option<Open> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name()?.as_bytes();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let sibling = entry.file_name();
        let sibling = sibling.as_bytes();
        if sibling == name || !sibling.starts_with(name) {
            continue;
        }
        let candidate = entry.path();
        let Ok(md) = std::fs::symlink_metadata(&candidate) else {
            continue;
        };
        if !md.is_file() || !saved.same_inode(FileId::of(&md)) || md.len() < saved.offset {
            continue;
        }
        let Ok(file) = File::open(&candidate) else {
            continue;
        };
        let Ok(md) = file.metadata() else {
            continue;
        };
        let id = FileId::of(&md);
        if md.is_file() && saved.same_inode(id) && saved.head_matches(&file) {
            return Some(Open::resume(file, id, saved));
        }
    }
    None
}

/// Follows a set of log files. Synchronous and poll-based: call [`Follower::poll`] every few
/// hundred milliseconds (from a blocking thread), hand the items on, then [`Follower::commit`].
#[derive(Debug)]
pub struct Follower {
    state_file: PathBuf,
    tails: Vec<Tail>,
    scratch: Vec<u8>,
    /// The source served first with what is left of the budget, turn by turn.
    next_first: usize,
    last_saved: Option<Vec<u8>>,
}

impl Follower {
    /// Follows `sources`, resuming from the positions saved in `state_file`. Nothing is read
    /// yet; an unreadable or corrupt state file is logged and treated as absent. A path listed
    /// twice is followed once.
    pub fn open(state_file: &Path, sources: Vec<Source>) -> Follower {
        let mut saved = load_state(state_file);
        let mut tails: Vec<Tail> = Vec::with_capacity(sources.len());
        for source in sources {
            if tails.iter().any(|t| t.path == source.path) {
                tracing::warn!(path = %source.path.display(), "log listed twice; followed once");
                continue;
            }
            let key = state_key(&source.path);
            let entry = saved
                .iter()
                .position(|s| s.path == key)
                .map(|i| saved.swap_remove(i));
            tails.push(Tail::new(source, entry));
        }
        Follower {
            state_file: state_file.to_path_buf(),
            tails,
            scratch: vec![0; READ_BLOCK],
            next_first: 0,
            last_saved: None,
        }
    }

    /// Complete items added since the last poll, at most one chunk per source, reading at most
    /// `budget_bytes` in all. Each source first gets an equal share of the budget, then what is
    /// left goes to the sources in turn, so one large backlog cannot starve the others.
    pub fn poll(&mut self, budget_bytes: usize) -> Vec<Chunk> {
        let Follower {
            tails,
            scratch,
            next_first,
            ..
        } = self;
        let mut chunks: Vec<Chunk> = tails
            .iter()
            .map(|t| Chunk {
                path: t.path.clone(),
                items: Vec::new(),
                skipped: 0,
            })
            .collect();
        for (tail, chunk) in tails.iter_mut().zip(&mut chunks) {
            tail.refresh(chunk);
        }
        let n = tails.len();
        let mut left = budget_bytes;
        if let Some(share) = budget_bytes.checked_div(n) {
            for (tail, chunk) in tails.iter_mut().zip(&mut chunks) {
                let mut quota = share.min(left);
                let granted = quota;
                tail.read(&mut quota, scratch, chunk);
                left -= granted - quota;
            }
            for k in 0..n {
                let i = (*next_first + k) % n;
                tails[i].read(&mut left, scratch, &mut chunks[i]);
            }
            *next_first = (*next_first + 1) % n;
        }
        for (tail, chunk) in tails.iter_mut().zip(&chunks) {
            tail.settle();
            tail.items += chunk.items.len() as u64;
            tail.skipped += chunk.skipped;
        }
        chunks.retain(|c| !c.items.is_empty() || c.skipped > 0);
        chunks
    }

    /// Saves the positions after everything the polls so far handed out, atomically (a
    /// temporary file renamed over the state file). Writes nothing if nothing moved.
    pub fn commit(&mut self) -> io::Result<()> {
        let state = StateFile {
            version: STATE_VERSION,
            sources: self.tails.iter_mut().map(Tail::saved).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&state).map_err(io::Error::other)?;
        if self.last_saved.as_deref() == Some(&bytes[..]) {
            return Ok(());
        }
        write_atomic(&self.state_file, &bytes)?;
        self.last_saved = Some(bytes);
        Ok(())
    }

    pub fn stats(&self) -> FollowStats {
        FollowStats {
            sources: self.tails.iter().map(Tail::stats).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
