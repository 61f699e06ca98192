//! The compiled advisory database: every source's advisories in one checksummed file, indexed
//! by (ecosystem, package) so that loading and matching are fast.
//!
//! # File format (version 1, little-endian)
//!
//! ```text
//! header   "VIGILVDB" | format u32 | flags u32 (0) | payload length u64 | SHA-256 of payload
//! payload  strings   count u32 | blob length u32 | blob (UTF-8) | end offset u32 × count
//!          sources   count u32 | { name str, imported_at i64, advisories u32, ranges u32 } ×
//!          advisories count u32 | { source u32, level u8, rce u8, summary str,
//!                                  id count u32, id str × n } ×
//!          keys      count u32 | { family u8, release str|NONE, package str, ranges u32 } ×
//!          ranges    count u32 | { advisory u32, introduced str, fixed str|NONE,
//!                                  last_affected str|NONE, limit str|NONE } ×
//! ```
//!
//! `str` is an index into the string table (every distinct string is stored once: versions such
//! as `"0"` repeat a lot), `NONE` is `u32::MAX`. Ranges are stored grouped by key, in key order.
//! Loading checks the checksum and every index, so a truncated or corrupt file is an error, never
//! a panic or a wrong answer. Saving writes a temporary file in the same directory, syncs it and
//! renames it over the old one: a failed save leaves the previous database in place.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use sha2::{Digest, Sha256};
use vigil_model::Timestamp;

use crate::ecosystem::{Ecosystem, Family};
use crate::{Advisory, AffectedRange, Error, Level};

/// File magic.
pub const MAGIC: &[u8; 8] = b"VIGILVDB";
/// The format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 4 + 8 + 32;
const NONE: u32 = u32::MAX;

/// One imported source, as recorded in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// E.g. `osv:Debian`, `debian-security:bookworm`.
    pub name: String,
    /// When the caller imported it.
    pub imported_at: Timestamp,
    pub advisories: u32,
    pub ranges: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AdvisoryRec {
    source: u32,
    level: Level,
    rce: bool,
    summary: u32,
    ids_start: u32,
    ids_len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyRec {
    family: Family,
    release: u32,
    package: u32,
    start: u32,
    len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RangeRec {
    advisory: u32,
    introduced: u32,
    fixed: u32,
    last_affected: u32,
    limit: u32,
}

/// A loaded (or freshly built) advisory database.
#[derive(Debug, Default)]
pub struct Db {
    blob: String,
    ends: Vec<u32>,
    sources: Vec<SourceInfo>,
    /// String index of each source's name.
    source_names: Vec<u32>,
    advisories: Vec<AdvisoryRec>,
    advisory_ids: Vec<u32>,
    keys: Vec<KeyRec>,
    ranges: Vec<RangeRec>,
    /// Per ecosystem: package name → position in `keys`.
    index: Vec<(Ecosystem, HashMap<Box<str>, u32>)>,
}

/// One affected range, borrowed from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeRef<'a> {
    /// Position of the advisory, for [`Db::advisory`].
    pub advisory: usize,
    pub introduced: &'a str,
    pub fixed: Option<&'a str>,
    pub last_affected: Option<&'a str>,
    pub limit: Option<&'a str>,
}

/// One advisory's facts, borrowed from the database.
#[derive(Debug, Clone, Copy)]
pub struct AdvisoryRef<'a> {
    db: &'a Db,
    rec: AdvisoryRec,
}

impl<'a> AdvisoryRef<'a> {
    pub fn ids(&self) -> impl Iterator<Item = &'a str> + 'a {
        let db = self.db;
        let start = self.rec.ids_start as usize;
        let end = start + self.rec.ids_len as usize;
        db.advisory_ids[start..end].iter().map(move |&s| db.str(s))
    }

    pub fn summary(&self) -> &'a str {
        self.db.str(self.rec.summary)
    }

    pub fn level(&self) -> Level {
        self.rec.level
    }

    pub fn rce(&self) -> bool {
        self.rec.rce
    }

    /// The source that supplied the advisory.
    pub fn source(&self) -> &'a SourceInfo {
        &self.db.sources[self.rec.source as usize]
    }
}

impl Db {
    /// The sources in the database, in the order they were added.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.sources
    }

    pub fn advisory_count(&self) -> usize {
        self.advisories.len()
    }

    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    pub fn advisory(&self, index: usize) -> Option<AdvisoryRef<'_>> {
        self.advisories
            .get(index)
            .map(|&rec| AdvisoryRef { db: self, rec })
    }

    /// Ranges affecting `package` in `ecosystem`. `package` must already be in the ecosystem's
    /// normal form (see [`Ecosystem::normalize_package`]).
    pub fn ranges<'a>(
        &'a self,
        ecosystem: &Ecosystem,
        package: &str,
    ) -> impl Iterator<Item = RangeRef<'a>> + 'a {
        let key = self
            .index
            .iter()
            .find(|(e, _)| e == ecosystem)
            .and_then(|(_, m)| m.get(package))
            .map(|&k| self.keys[k as usize]);
        let slice = match key {
            Some(k) => &self.ranges[k.start as usize..(k.start + k.len) as usize],
            None => &[][..],
        };
        slice.iter().map(move |r| RangeRef {
            advisory: r.advisory as usize,
            introduced: self.str(r.introduced),
            fixed: self.opt_str(r.fixed),
            last_affected: self.opt_str(r.last_affected),
            limit: self.opt_str(r.limit),
        })
    }

    /// Every advisory of the source named `name`, rebuilt with its ranges (to carry a source
    /// over into a new build while another one is replaced).
    pub fn source_advisories(&self, name: &str) -> Vec<Advisory> {
        let Some(source) = self.sources.iter().position(|s| s.name == name) else {
            return Vec::new();
        };
        let mut slots: HashMap<usize, Advisory> = HashMap::new();
        let mut order: Vec<usize> = Vec::new();
        for (i, a) in self.advisories.iter().enumerate() {
            if a.source as usize == source {
                order.push(i);
                slots.insert(i, self.owned_advisory(i));
            }
        }
        for k in &self.keys {
            let ecosystem = Ecosystem {
                family: k.family,
                release: self.opt_str(k.release).map(str::to_owned),
            };
            for r in &self.ranges[k.start as usize..(k.start + k.len) as usize] {
                if let Some(a) = slots.get_mut(&(r.advisory as usize)) {
                    a.ranges.push(AffectedRange {
                        ecosystem: ecosystem.clone(),
                        package: self.str(k.package).to_owned(),
                        introduced: self.str(r.introduced).to_owned(),
                        fixed: self.opt_str(r.fixed).map(str::to_owned),
                        last_affected: self.opt_str(r.last_affected).map(str::to_owned),
                        limit: self.opt_str(r.limit).map(str::to_owned),
                    });
                }
            }
        }
        order.into_iter().filter_map(|i| slots.remove(&i)).collect()
    }

    fn owned_advisory(&self, i: usize) -> Advisory {
        let rec = self.advisories[i];
        let a = AdvisoryRef { db: self, rec };
        Advisory {
            ids: a.ids().map(str::to_owned).collect(),
            summary: a.summary().to_owned(),
            level: rec.level,
            rce: rec.rce,
            ranges: Vec::new(),
        }
    }

    fn str(&self, i: u32) -> &str {
        // Indices were checked when the database was built or loaded.
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.blob[start..self.ends[i] as usize]
    }

    fn opt_str(&self, i: u32) -> Option<&str> {
        (i != NONE).then(|| self.str(i))
    }

    /// Reads the database file at `path`.
    pub fn load(path: &Path) -> Result<Db, Error> {
        let bytes = fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Db::from_bytes(&bytes).map_err(|e| Error::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Writes the database to `path` atomically: a crash or error leaves the old file intact.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let bytes = self.to_bytes();
        write_atomic(path, |f| f.write_all(&bytes))
    }

    /// The file image: header and payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(self.blob.len() + self.ranges.len() * 20 + 1024);
        put_u32(&mut p, self.ends.len() as u32);
        put_u32(&mut p, self.blob.len() as u32);
        p.extend_from_slice(self.blob.as_bytes());
        for e in &self.ends {
            put_u32(&mut p, *e);
        }
        put_u32(&mut p, self.sources.len() as u32);
        for (s, name) in self.sources.iter().zip(&self.source_names) {
            put_u32(&mut p, *name);
            p.extend_from_slice(&s.imported_at.to_le_bytes());
            put_u32(&mut p, s.advisories);
            put_u32(&mut p, s.ranges);
        }
        put_u32(&mut p, self.advisories.len() as u32);
        for a in &self.advisories {
            put_u32(&mut p, a.source);
            p.push(level_code(a.level));
            p.push(u8::from(a.rce));
            put_u32(&mut p, a.summary);
            put_u32(&mut p, a.ids_len);
            for id in &self.advisory_ids[a.ids_start as usize..(a.ids_start + a.ids_len) as usize] {
                put_u32(&mut p, *id);
            }
        }
        put_u32(&mut p, self.keys.len() as u32);
        for k in &self.keys {
            p.push(k.family.code());
            put_u32(&mut p, k.release);
            put_u32(&mut p, k.package);
            put_u32(&mut p, k.len);
        }
        put_u32(&mut p, self.ranges.len() as u32);
        for r in &self.ranges {
            for v in [r.advisory, r.introduced, r.fixed, r.last_affected, r.limit] {
                put_u32(&mut p, v);
            }
        }
        let mut out = Vec::with_capacity(HEADER_LEN + p.len());
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, FORMAT_VERSION);
        put_u32(&mut out, 0);
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&p));
        out.extend_from_slice(&p);
        out
    }

    /// Parses a file image, checking header, checksum and every index.
    pub fn from_bytes(bytes: &[u8]) -> Result<Db, Error> {
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            if bytes.len() < 8 && MAGIC.starts_with(bytes) {
                return Err(Error::Truncated(format!(
                    "{} bytes, shorter than the header",
                    bytes.len()
                )));
            }
            return Err(Error::BadMagic);
        }
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated(format!(
                "{} bytes, shorter than the {HEADER_LEN}-byte header",
                bytes.len()
            )));
        }
        let mut h = Reader::new(&bytes[8..HEADER_LEN]);
        let version = h.u32()?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedFormat {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let flags = h.u32()?;
        if flags != 0 {
            return Err(Error::Corrupt(format!("unknown header flags {flags:#x}")));
        }
        let declared = h.u64()?;
        let checksum = h.bytes(32)?;
        let payload = &bytes[HEADER_LEN..];
        if (payload.len() as u64) < declared {
            return Err(Error::Truncated(format!(
                "header announces {declared} payload bytes, file has {}",
                payload.len()
            )));
        }
        if payload.len() as u64 > declared {
            return Err(Error::Corrupt(format!(
                "{} bytes after the announced payload",
                payload.len() as u64 - declared
            )));
        }
        if Sha256::digest(payload).as_slice() != checksum {
            return Err(Error::Checksum);
        }
        let mut db = parse_payload(payload)?;
        db.build_index();
        Ok(db)
    }

    fn build_index(&mut self) {
        let mut index: Vec<(Ecosystem, HashMap<Box<str>, u32>)> = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            let ecosystem = Ecosystem {
                family: k.family,
                release: self.opt_str(k.release).map(str::to_owned),
            };
            let slot = match index.iter().position(|(e, _)| *e == ecosystem) {
                Some(p) => p,
                None => {
                    index.push((ecosystem, HashMap::new()));
                    index.len() - 1
                }
            };
            index[slot].1.insert(self.str(k.package).into(), i as u32);
        }
        self.index = index;
    }
}

fn level_code(l: Level) -> u8 {
    match l {
        Level::Low => 0,
        Level::Medium => 1,
        Level::High => 2,
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                Error::Corrupt(format!("record runs past the end at byte {}", self.pos))
            })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.bytes(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, Error> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn i64(&mut self) -> Result<i64, Error> {
        Ok(self.u64()? as i64)
    }

    /// A count of records of at least `min_size` bytes each, checked against what is left so a
    /// corrupt count cannot make us allocate gigabytes.
    fn count(&mut self, what: &str, min_size: usize) -> Result<usize, Error> {
        let n = self.u32()? as usize;
        let left = self.buf.len() - self.pos;
        if n.saturating_mul(min_size) > left {
            return Err(Error::Corrupt(format!(
                "{n} {what} cannot fit in the {left} bytes left"
            )));
        }
        Ok(n)
    }
}

fn parse_payload(payload: &[u8]) -> Result<Db, Error> {
    let mut r = Reader::new(payload);
    let n_strings = r.count("strings", 4)?;
    let blob_len = r.u32()? as usize;
    let blob = std::str::from_utf8(r.bytes(blob_len)?)
        .map_err(|_| Error::Corrupt("string table is not UTF-8".into()))?
        .to_owned();
    let mut ends = Vec::with_capacity(n_strings);
    let mut prev = 0u32;
    for _ in 0..n_strings {
        let e = r.u32()?;
        if e < prev || e as usize > blob.len() || !blob.is_char_boundary(e as usize) {
            return Err(Error::Corrupt(format!("bad string offset {e}")));
        }
        ends.push(e);
        prev = e;
    }
    let str_ok = |i: u32| (i as usize) < n_strings;
    let opt_ok = |i: u32| i == NONE || str_ok(i);
    let bad = |what: &str| Error::Corrupt(format!("{what} out of range"));

    let mut db = Db {
        blob,
        ends,
        ..Db::default()
    };

    let n_sources = r.count("sources", 20)?;
    for _ in 0..n_sources {
        let name = r.u32()?;
        let imported_at = r.i64()?;
        let advisories = r.u32()?;
        let ranges = r.u32()?;
        if !str_ok(name) {
            return Err(bad("source name"));
        }
        db.source_names.push(name);
        db.sources.push(SourceInfo {
            name: db.str(name).to_owned(),
            imported_at,
            advisories,
            ranges,
        });
    }

    let n_adv = r.count("advisories", 14)?;
    db.advisories.reserve(n_adv);
    for _ in 0..n_adv {
        let source = r.u32()?;
        let level = match r.u8()? {
            0 => Level::Low,
            1 => Level::Medium,
            2 => Level::High,
            other => return Err(Error::Corrupt(format!("unknown level code {other}"))),
        };
        let rce = match r.u8()? {
            0 => false,
            1 => true,
            other => return Err(Error::Corrupt(format!("bad flag {other}"))),
        };
        let summary = r.u32()?;
        let n_ids = r.count("ids", 4)?;
        if source as usize >= n_sources {
            return Err(bad("advisory source"));
        }
        if !str_ok(summary) {
            return Err(bad("advisory summary"));
        }
        let ids_start = db.advisory_ids.len() as u32;
        for _ in 0..n_ids {
            let id = r.u32()?;
            if !str_ok(id) {
                return Err(bad("advisory id"));
            }
            db.advisory_ids.push(id);
        }
        db.advisories.push(AdvisoryRec {
            source,
            level,
            rce,
            summary,
            ids_start,
            ids_len: n_ids as u32,
        });
    }

    let n_keys = r.count("keys", 13)?;
    db.keys.reserve(n_keys);
    let mut start = 0u64;
    for _ in 0..n_keys {
        let code = r.u8()?;
        let family = Family::from_code(code)
            .ok_or_else(|| Error::Corrupt(format!("unknown ecosystem family code {code}")))?;
        let release = r.u32()?;
        let package = r.u32()?;
        let len = r.u32()?;
        if !opt_ok(release) || !str_ok(package) {
            return Err(bad("key string"));
        }
        db.keys.push(KeyRec {
            family,
            release,
            package,
            start: start as u32,
            len,
        });
        start += u64::from(len);
    }

    let n_ranges = r.count("ranges", 20)?;
    if n_ranges as u64 != start {
        return Err(Error::Corrupt(format!(
            "keys cover {start} ranges, the table has {n_ranges}"
        )));
    }
    db.ranges.reserve(n_ranges);
    for _ in 0..n_ranges {
        let rec = RangeRec {
            advisory: r.u32()?,
            introduced: r.u32()?,
            fixed: r.u32()?,
            last_affected: r.u32()?,
            limit: r.u32()?,
        };
        if rec.advisory as usize >= n_adv {
            return Err(bad("range advisory"));
        }
        if !str_ok(rec.introduced)
            || !opt_ok(rec.fixed)
            || !opt_ok(rec.last_affected)
            || !opt_ok(rec.limit)
        {
            return Err(bad("range version"));
        }
        db.ranges.push(rec);
    }
    if r.pos != payload.len() {
        return Err(Error::Corrupt(format!(
            "{} unread bytes at the end of the payload",
            payload.len() - r.pos
        )));
    }
    Ok(db)
}

/// Collects sources and compiles them into a [`Db`].
#[derive(Debug, Default)]
pub struct DbBuilder {
    sources: Vec<(String, Timestamp, Vec<Advisory>)>,
}

impl DbBuilder {
    pub fn new() -> DbBuilder {
        DbBuilder::default()
    }

    /// Adds a source's advisories; a source added earlier under the same name is replaced.
    pub fn add_source(&mut self, name: &str, imported_at: Timestamp, advisories: Vec<Advisory>) {
        self.sources.retain(|(n, _, _)| n != name);
        self.sources
            .push((name.to_owned(), imported_at, advisories));
    }

    /// Carries every source of `db` not already added into this build, with its original
    /// import time: refresh one source, keep the rest.
    pub fn keep_sources(&mut self, db: &Db) {
        for s in db.sources() {
            if !self.sources.iter().any(|(n, _, _)| *n == s.name) {
                self.sources
                    .push((s.name.clone(), s.imported_at, db.source_advisories(&s.name)));
            }
        }
    }

    /// Compiles the database. Fails only when a table outgrows the format's 32-bit counters.
    pub fn build(self) -> Result<Db, Error> {
        let mut strings = Interner::default();
        let mut db = Db::default();
        // (family, release, package) -> ranges, in first-seen order per key, keys sorted later.
        let mut grouped: HashMap<(Family, u32, u32), Vec<RangeRec>> = HashMap::new();
        for (name, imported_at, advisories) in &self.sources {
            db.source_names.push(strings.intern(name)?);
            let source = db.sources.len() as u32;
            let mut range_count = 0u32;
            for a in advisories {
                let advisory =
                    u32::try_from(db.advisories.len()).map_err(|_| too_large("advisories"))?;
                let ids_start = db.advisory_ids.len() as u32;
                for id in &a.ids {
                    db.advisory_ids.push(strings.intern(id)?);
                }
                db.advisories.push(AdvisoryRec {
                    source,
                    level: a.level,
                    rce: a.rce,
                    summary: strings.intern(&a.summary)?,
                    ids_start,
                    ids_len: a.ids.len() as u32,
                });
                for r in &a.ranges {
                    let release = match &r.ecosystem.release {
                        Some(rel) => strings.intern(rel)?,
                        None => NONE,
                    };
                    let key = (r.ecosystem.family, release, strings.intern(&r.package)?);
                    let rec = RangeRec {
                        advisory,
                        introduced: strings.intern(&r.introduced)?,
                        fixed: strings.intern_opt(r.fixed.as_deref())?,
                        last_affected: strings.intern_opt(r.last_affected.as_deref())?,
                        limit: strings.intern_opt(r.limit.as_deref())?,
                    };
                    grouped.entry(key).or_default().push(rec);
                    range_count = range_count.saturating_add(1);
                }
            }
            db.sources.push(SourceInfo {
                name: name.clone(),
                imported_at: *imported_at,
                advisories: advisories.len() as u32,
                ranges: range_count,
            });
        }
        let mut keys: Vec<(Family, u32, u32)> = grouped.keys().copied().collect();
        // Sort by text, not by interning order, so the same input always gives the same file.
        keys.sort_by(|a, b| {
            (a.0, strings.get(a.1), strings.get(a.2)).cmp(&(
                b.0,
                strings.get(b.1),
                strings.get(b.2),
            ))
        });
        for key in keys {
            let recs = grouped.remove(&key).unwrap_or_default();
            let start = u32::try_from(db.ranges.len()).map_err(|_| too_large("ranges"))?;
            db.keys.push(KeyRec {
                family: key.0,
                release: key.1,
                package: key.2,
                start,
                len: recs.len() as u32,
            });
            db.ranges.extend(recs);
        }
        u32::try_from(db.ranges.len()).map_err(|_| too_large("ranges"))?;
        db.blob = strings.blob;
        db.ends = strings.ends;
        db.build_index();
        Ok(db)
    }
}

fn too_large(what: &str) -> Error {
    Error::TooLarge(format!("more than {} {what}", u32::MAX))
}

#[derive(Default)]
struct Interner {
    blob: String,
    ends: Vec<u32>,
    map: HashMap<String, u32>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> Result<u32, Error> {
        if let Some(&i) = self.map.get(s) {
            return Ok(i);
        }
        let i = u32::try_from(self.ends.len())
            .ok()
            .filter(|&i| i != NONE)
            .ok_or_else(|| too_large("strings"))?;
        self.blob.push_str(s);
        let end = u32::try_from(self.blob.len()).map_err(|_| too_large("bytes of text"))?;
        self.ends.push(end);
        self.map.insert(s.to_owned(), i);
        Ok(i)
    }

    fn intern_opt(&mut self, s: Option<&str>) -> Result<u32, Error> {
        s.map_or(Ok(NONE), |s| self.intern(s))
    }

    fn get(&self, i: u32) -> Option<&str> {
        if i == NONE {
            return None;
        }
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        Some(&self.blob[start..self.ends[i] as usize])
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `path` through a temporary file in the same directory: write, fsync, rename, fsync the
/// directory. On any error the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> io::Result<()>,
) -> Result<(), Error> {
    let io_err = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io_err(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp.{}.{}",
        file_name.to_string_lossy(),
        std::process::id(),
        TMP_COUNTER.fetch_add(1, AtomicOrdering::Relaxed)
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // Make the rename itself durable; not every file system lets a directory be synced.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adv(id: &str, eco: &str, pkg: &str, fixed: Option<&str>) -> Advisory {
        Advisory {
            ids: vec![id.to_owned(), "CVE-2024-0001".to_owned()],
            summary: format!("summary of {id}"),
            level: Level::High,
            rce: id.ends_with('R'),
            ranges: vec![AffectedRange {
                ecosystem: Ecosystem::parse(eco).unwrap(),
                package: pkg.to_owned(),
                introduced: "0".to_owned(),
                fixed: fixed.map(str::to_owned),
                last_affected: None,
                limit: None,
            }],
        }
    }

    fn sample() -> Db {
        let mut b = DbBuilder::new();
        b.add_source(
            "osv:Debian",
            1_700_000_000,
            vec![
                adv(
                    "DEBIAN-CVE-2024-0001",
                    "Debian:12",
                    "openssl",
                    Some("3.0.11-1~deb12u2"),
                ),
                adv("DSA-1R", "Debian:12", "openssl", None),
                adv(
                    "DEBIAN-CVE-2024-0002",
                    "Debian:11",
                    "curl",
                    Some("7.74.0-1.3+deb11u10"),
                ),
            ],
        );
        b.add_source(
            "osv:PyPI",
            1_700_000_100,
            vec![adv("PYSEC-1", "PyPI", "flask", Some("2.2.5"))],
        );
        b.build().unwrap()
    }

    #[test]
    fn build_index_and_lookup() {
        let db = sample();
        assert_eq!(db.advisory_count(), 4);
        assert_eq!(db.range_count(), 4);
        let deb12 = Ecosystem::parse("Debian:12").unwrap();
        let r: Vec<RangeRef> = db.ranges(&deb12, "openssl").collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].fixed, Some("3.0.11-1~deb12u2"));
        assert_eq!(r[1].fixed, None);
        let a = db.advisory(r[1].advisory).unwrap();
        assert_eq!(a.ids().collect::<Vec<_>>(), ["DSA-1R", "CVE-2024-0001"]);
        assert!(a.rce());
        assert_eq!(a.source().name, "osv:Debian");
        assert_eq!(db.ranges(&deb12, "curl").count(), 0);
        assert_eq!(
            db.ranges(&Ecosystem::parse("Debian:11").unwrap(), "curl")
                .count(),
            1
        );
        assert_eq!(
            db.ranges(&Ecosystem::parse("PyPI").unwrap(), "flask")
                .count(),
            1
        );
        let s = db.sources();
        assert_eq!(
            (s[0].advisories, s[0].ranges, s[1].imported_at),
            (3, 3, 1_700_000_100)
        );
    }

    #[test]
    fn bytes_round_trip() {
        let db = sample();
        let bytes = db.to_bytes();
        let back = Db::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.sources(), db.sources());
        assert_eq!(
            back.source_advisories("osv:PyPI"),
            vec![adv("PYSEC-1", "PyPI", "flask", Some("2.2.5"))]
        );
        // Same input, same file.
        assert_eq!(sample().to_bytes(), bytes);
    }

    #[test]
    fn replacing_one_source_keeps_the_others() {
        let old = sample();
        let mut b = DbBuilder::new();
        b.add_source("osv:PyPI", 1_800_000_000, vec![]);
        b.keep_sources(&old);
        let db = b.build().unwrap();
        assert_eq!(db.sources().len(), 2);
        assert_eq!(db.sources()[0].name, "osv:PyPI");
        assert_eq!(db.sources()[1].imported_at, 1_700_000_000);
        assert_eq!(db.advisory_count(), 3);
        assert_eq!(
            db.source_advisories("osv:Debian"),
            old.source_advisories("osv:Debian")
        );
    }

    #[test]
    fn damaged_files_are_clear_errors() {
        let bytes = sample().to_bytes();
        // Every truncation point.
        for cut in 0..bytes.len() {
            let err = Db::from_bytes(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(err, Error::Truncated(_) | Error::BadMagic),
                "cut at {cut}: {err}"
            );
        }
        assert!(matches!(
            Db::from_bytes(b"PK\x03\x04 not a db").unwrap_err(),
            Error::BadMagic
        ));
        // Every flipped byte past the magic is caught (version, length, checksum or payload).
        for i in 8..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x41;
            assert!(Db::from_bytes(&b).is_err(), "flip at {i}");
        }
        let mut b = bytes.clone();
        b[8] = 9;
        assert!(matches!(
            Db::from_bytes(&b).unwrap_err(),
            Error::UnsupportedFormat {
                found: 9,
                expected: 1
            }
        ));
        let mut b = bytes.clone();
        b.push(0);
        assert!(matches!(Db::from_bytes(&b).unwrap_err(), Error::Corrupt(_)));
        let last = bytes.len() - 1;
        let mut b = bytes;
        b[last] ^= 1;
        let msg = Db::from_bytes(&b).unwrap_err().to_string();
        assert_eq!(
            msg,
            "advisory database checksum mismatch: the file is corrupt"
        );
    }

    /// A payload with a valid checksum but bad contents: the structural checks, not the
    /// checksum, must reject it.
    fn with_payload(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, FORMAT_VERSION);
        put_u32(&mut out, 0);
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(payload));
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn checksummed_garbage_is_corrupt_not_a_panic() {
        let good = sample().to_bytes();
        let payload = &good[HEADER_LEN..];
        for i in 0..payload.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut p = payload.to_vec();
                p[i] ^= flip;
                // Some flips land in text and stay valid; none may panic.
                let _ = Db::from_bytes(&with_payload(&p));
            }
        }
        let huge_count = with_payload(&[0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        assert!(matches!(
            Db::from_bytes(&huge_count).unwrap_err(),
            Error::Corrupt(_)
        ));
        let empty = with_payload(&[]);
        assert!(matches!(
            Db::from_bytes(&empty).unwrap_err(),
            Error::Corrupt(_)
        ));
    }

    #[test]
    fn save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vuln.db");
        let db = sample();
        db.save(&path).unwrap();
        let back = Db::load(&path).unwrap();
        assert_eq!(back.to_bytes(), db.to_bytes());
        // No temporary files left behind.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["vuln.db"]);

        fs::write(&path, &db.to_bytes()[..100]).unwrap();
        let err = Db::load(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains("truncated"), "{err}");
        let missing = Db::load(&dir.path().join("nope.db")).unwrap_err();
        assert!(matches!(missing, Error::Io { .. }));
    }

    #[test]
    fn failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vuln.db");
        sample().save(&path).unwrap();
        let before = fs::read(&path).unwrap();
        let err = write_atomic(&path, |f| {
            f.write_all(b"VIGILVDB partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A target directory that does not exist fails cleanly too.
        assert!(sample()
            .save(&dir.path().join("no/such/dir/vuln.db"))
            .is_err());
    }
}
