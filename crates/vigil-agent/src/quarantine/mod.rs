//! The quarantine box (SPEC R-MW3): files moved out of their tree so they can neither run nor be
//! served, kept byte-exact with their original path, owner, mode and hashes, restorable for 30
//! days and purged after.
//!
//! Layout: one private directory (mode 0700) holding, per quarantined file, `<id>.bin` (the
//! content, mode 0400, owned by the box's owner, i.e. root for the agent) and `<id>.json` (a
//! [`QuarantinedFile`], mode 0600). An `id` is 16 random lowercase hex digits, and every id that
//! comes from outside is checked against exactly that shape, so no id can name a file outside the
//! box. Original paths are only ever read from the box's own metadata, never from the server.
//!
//! What is kept: content, uid, gid, permission bits (including setuid/setgid/sticky) and the
//! modification time. Not kept: extended attributes (file capabilities, ACLs, SELinux labels),
//! access time and other hard links (when the quarantined path was one of several hard links,
//! only that path is removed and the other names keep the content).
//!
//! Files outside the box are only ever reached through [`walk`]: the path is opened from `/` one
//! directory descriptor at a time, a symbolic link that a user other than root could have
//! planted on the way refuses the action, and every move, link, unlink and create is an `*at`
//! call relative to the opened directory. A local user who owns a directory on the path and
//! swaps it for a link between the alert and the action gets a refusal, not a root-owned file
//! moved into the box or written over.

mod walk;

pub use walk::WalkError;

use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use walk::{Dir, Parent};

/// How long a quarantined file can be restored, in seconds (30 days, SPEC R-MW3).
pub const RETENTION_SECS: i64 = 30 * 24 * 3600;

/// Mode of the content files in the box: readable by the owner only, never executable.
const CONTENT_MODE: u32 = 0o400;
/// Mode of the metadata files in the box.
const META_MODE: u32 = 0o600;
/// Mode of the box directory.
const BOX_MODE: u32 = 0o700;
const COPY_BUF: usize = 64 * 1024;

/// Everything the box records about one quarantined file; what the agent reports to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedFile {
    /// 16 lowercase hex digits; names `<id>.bin` and `<id>.json` in the box.
    pub id: String,
    /// Where the file was, for display (invalid UTF-8 replaced by U+FFFD; see
    /// `original_path_hex`).
    pub original_path: String,
    /// The exact bytes of the original path, hex, present only when they are not valid UTF-8.
    /// When present it is the path [`QuarantinedFile::path`] restores to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_path_hex: Option<String>,
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (`st_mode & 0o7777`), setuid/setgid/sticky included.
    pub mode: u32,
    pub size: u64,
    /// Modification time, seconds since the epoch, plus nanoseconds.
    pub mtime: i64,
    #[serde(default)]
    pub mtime_nsec: u32,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// MD5 of the content, lowercase hex (malware is whitelisted by MD5, SPEC R-AL4).
    pub md5: String,
    /// When the file entered the box, seconds since the epoch.
    pub quarantined_at: i64,
    /// True when the file had already been deleted from `original_path` and its content was
    /// captured from elsewhere (the `/proc/PID/exe` of a process still running it).
    #[serde(default)]
    pub source_deleted: bool,
}

impl QuarantinedFile {
    /// The exact original path (from `original_path_hex` when set).
    pub fn path(&self) -> PathBuf {
        match &self.original_path_hex {
            Some(h) => match hex::decode(h) {
                Ok(bytes) => PathBuf::from(OsString::from_vec(bytes)),
                Err(_) => PathBuf::new(),
            },
            None => PathBuf::from(&self.original_path),
        }
    }

    /// When the file stops being restorable, with the default retention.
    pub fn expires_at(&self) -> i64 {
        self.quarantined_at.saturating_add(RETENTION_SECS)
    }
}

/// The result of a successful [`QuarantineBox::restore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoredFile {
    /// The record of the file, as it was in the box (the entry is gone now).
    pub file: QuarantinedFile,
    /// True when something at the original path was replaced (`overwrite`).
    pub replaced: bool,
}

/// One box entry that cannot be read back: reported by [`QuarantineBox::scan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProblem {
    pub id: String,
    pub problem: String,
}

/// The box's content: readable entries and the entries that are damaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub files: Vec<QuarantinedFile>,
    pub problems: Vec<EntryProblem>,
}

/// Why a quarantine, restore, listing or purge failed.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    #[error("cannot quarantine {}: not an absolute path", path.display())]
    NotAbsolute { path: PathBuf },
    #[error("cannot quarantine {}: no such file", path.display())]
    NotFound { path: PathBuf },
    #[error("cannot quarantine {}: it is a symbolic link (quarantine the file it points to)", path.display())]
    Symlink { path: PathBuf },
    #[error("{} is a directory: only regular files can be quarantined or replaced", path.display())]
    Directory { path: PathBuf },
    #[error("cannot quarantine {}: it is a {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("refusing to touch {}: {reason}", path.display())]
    UnsafePath { path: PathBuf, reason: String },
    #[error("refusing to quarantine {}: it is not the file of the alert ({what}); nothing was moved", path.display())]
    NotTheFile { path: PathBuf, what: String },
    #[error("refusing to restore {}: the file had setuid or setgid, and {} is not a directory that only root can write (owned by root, not writable by group or others); nothing was written", path.display(), parent.display())]
    SetuidUnsafe { path: PathBuf, parent: PathBuf },
    #[error("cannot quarantine {}: it is inside the quarantine box", path.display())]
    InsideBox { path: PathBuf },
    #[error("cannot quarantine {}: the file changed while it was being quarantined ({what}); nothing was moved", path.display())]
    Changed { path: PathBuf, what: &'static str },
    #[error("content of {} does not match its recorded SHA-256 (expected {expected}, found {found})", path.display())]
    HashMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("invalid quarantine id {id:?}: expected exactly 16 lowercase hex digits")]
    InvalidId { id: String },
    #[error("no quarantined file with id {id}")]
    UnknownId { id: String },
    #[error("quarantine entry {id} is damaged ({}): {reason}", path.display())]
    Corrupt {
        id: String,
        path: PathBuf,
        reason: String,
    },
    #[error("cannot restore {} (quarantine id {id}): quarantined at {quarantined_at}, more than {} days ago; it can no longer be restored", path.display(), RETENTION_SECS / 86_400)]
    Expired {
        id: String,
        path: PathBuf,
        quarantined_at: i64,
    },
    #[error("cannot restore {}: a file exists at that path again; restore with overwrite to replace it", path.display())]
    Exists { path: PathBuf },
    #[error("cannot restore {}: its parent directory {} no longer exists or is not a directory; the agent does not recreate directories because it cannot know their owner and mode: recreate it, then restore again", path.display(), parent.display())]
    ParentMissing { path: PathBuf, parent: PathBuf },
    #[error("the quarantine box {} is not a directory", path.display())]
    BoxNotDirectory { path: PathBuf },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

type Result<T, E = QuarantineError> = std::result::Result<T, E>;

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> QuarantineError + 'a {
    move |source| QuarantineError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `id` has exactly the shape the box gives ids: 16 lowercase hex digits.
pub fn valid_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_id(id: &str) -> Result<()> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(QuarantineError::InvalidId { id: id.to_owned() })
    }
}

fn random_id() -> io::Result<String> {
    let mut bytes = [0u8; 8];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

fn kind_of(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_fifo() {
        "named pipe"
    } else if t.is_socket() {
        "socket"
    } else if t.is_symlink() {
        "symbolic link"
    } else if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

fn system_time(secs: i64, nsec: u32) -> Option<SystemTime> {
    let nsec = Duration::from_nanos(u64::from(nsec.min(999_999_999)));
    if secs >= 0 {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(secs as u64))?
            .checked_add(nsec)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(nsec)
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// SHA-256 and MD5 of a stream, with its length.
struct Hashes {
    sha256: String,
    md5: String,
    len: u64,
}

/// Reads `src` to the end, hashing it and writing it to `dst` when given.
fn hash_copy(src: &mut File, mut dst: Option<&mut File>) -> io::Result<Hashes> {
    let mut sha = Sha256::new();
    let mut md5 = <md5::Md5 as md5::Digest>::new();
    let mut buf = vec![0u8; COPY_BUF];
    let mut len = 0u64;
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha.update(&buf[..n]);
        md5::Digest::update(&mut md5, &buf[..n]);
        if let Some(d) = dst.as_deref_mut() {
            d.write_all(&buf[..n])?;
        }
        len += n as u64;
    }
    Ok(Hashes {
        sha256: hex::encode(sha.finalize()),
        md5: hex::encode(md5::Digest::finalize(md5)),
        len,
    })
}

/// The quarantine box: a private directory of quarantined files.
#[derive(Debug, Clone)]
pub struct QuarantineBox {
    /// The box directory, canonical.
    dir: PathBuf,
    /// Device and inode of the box directory, to recognise it however a path names it.
    id: (u64, u64),
    /// Owner given to content files: the box directory's owner (root for the agent).
    uid: u32,
    gid: u32,
}

/// What the alert knew of a file to quarantine. Each value given is checked on the opened file
/// before anything is moved; a mismatch refuses the quarantine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Device and inode.
    pub inode: Option<(u64, u64)>,
    pub size: Option<u64>,
    /// SHA-256 of the content, hex (either case).
    pub sha256: Option<String>,
}

impl Expected {
    fn check_meta(&self, path: &Path, meta: &fs::Metadata) -> Result<()> {
        if let Some(inode) = self.inode {
            if (meta.dev(), meta.ino()) != inode {
                return Err(QuarantineError::Changed {
                    path: path.to_path_buf(),
                    what: "it is no longer the expected file",
                });
            }
        }
        if let Some(size) = self.size.filter(|s| *s != meta.len()) {
            return Err(QuarantineError::NotTheFile {
                path: path.to_path_buf(),
                what: format!("it holds {} bytes, the alert's file {size}", meta.len()),
            });
        }
        Ok(())
    }

    fn check_hash(&self, path: &Path, sha256: &str) -> Result<()> {
        match &self.sha256 {
            Some(want) if !want.eq_ignore_ascii_case(sha256) => Err(QuarantineError::NotTheFile {
                path: path.to_path_buf(),
                what: format!("its SHA-256 is {sha256}, the alert's file's {want}"),
            }),
            _ => Ok(()),
        }
    }
}

impl QuarantineBox {
    /// Opens the box at `dir`, creating it with mode 0700 if needed (and tightening the mode of
    /// an existing one).
    pub fn open(dir: &Path) -> Result<Self> {
        match fs::symlink_metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(QuarantineError::BoxNotDirectory {
                    path: dir.to_path_buf(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
                }
                fs::DirBuilder::new()
                    .mode(BOX_MODE)
                    .create(dir)
                    .or_else(|e| {
                        if e.kind() == io::ErrorKind::AlreadyExists {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })
                    .map_err(io_err("creating the quarantine box", dir))?;
            }
            Err(e) => return Err(io_err("opening the quarantine box", dir)(e)),
        }
        fs::set_permissions(dir, Permissions::from_mode(BOX_MODE))
            .map_err(io_err("setting the mode of the quarantine box", dir))?;
        let dir = fs::canonicalize(dir).map_err(io_err("opening the quarantine box", dir))?;
        let meta = fs::metadata(&dir).map_err(io_err("opening the quarantine box", &dir))?;
        Ok(QuarantineBox {
            id: (meta.dev(), meta.ino()),
            uid: meta.uid(),
            gid: meta.gid(),
            dir,
        })
    }

    /// The box directory (canonical).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn bin_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.bin"))
    }

    fn json_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// The box directory, opened by a safe walk and checked to be the box this was opened on.
    fn open_box_dir(&self) -> Result<Dir> {
        let moved = |reason: String| QuarantineError::Io {
            action: "opening the quarantine box",
            path: self.dir.clone(),
            source: io::Error::other(reason),
        };
        let d = walk::open_dir(&self.dir).map_err(|e| moved(e.to_string()))?;
        if !self.is_box(&d) {
            return Err(moved(
                "it is not the directory the agent started with".into(),
            ));
        }
        Ok(d)
    }

    /// True when `d` is the box directory.
    fn is_box(&self, d: &Dir) -> bool {
        d.meta().is_ok_and(|m| (m.dev(), m.ino()) == self.id)
    }

    /// True if `path` (absolute) names something inside the box, following symbolic links in
    /// its directories (only used for paths that are recorded or read through `/proc`, never
    /// written).
    fn inside_box(&self, path: &Path) -> bool {
        if path.starts_with(&self.dir) {
            return true;
        }
        let Some(parent) = path.parent() else {
            return false;
        };
        match fs::canonicalize(parent) {
            Ok(p) => p.starts_with(&self.dir),
            Err(_) => false,
        }
    }

    fn new_id(&self) -> Result<String> {
        loop {
            let id = random_id().map_err(io_err("reading", Path::new("/dev/urandom")))?;
            let free = |p: PathBuf| matches!(fs::symlink_metadata(p), Err(e) if e.kind() == io::ErrorKind::NotFound);
            if free(self.bin_path(&id)) && free(self.json_path(&id)) {
                return Ok(id);
            }
        }
    }

    /// Moves the regular file at `path` into the box.
    ///
    /// The path is resolved from `/` one directory descriptor at a time (see [`walk`]): a
    /// symbolic link planted on the way refuses the quarantine with `UnsafePath`, and a
    /// directory swapped after it was opened changes nothing. Refuses relative paths, a symbolic
    /// link as the file itself, directories, devices, pipes, sockets and anything inside the
    /// box. On the same filesystem the file is renamed into the box; otherwise (or when the file
    /// has other hard links, whose mode must not change) it is copied, synced, checked against
    /// the SHA-256 of what was read, and the original is unlinked. Either way the original path
    /// no longer exists afterwards, and the content in the box has mode 0400 and the box's owner.
    pub fn quarantine(&self, path: &Path, now: i64) -> Result<QuarantinedFile> {
        self.quarantine_expecting(path, now, &Expected::default())
    }

    /// [`QuarantineBox::quarantine`], refusing unless the opened file is the one `expect`
    /// describes (`Changed` for another inode, `NotTheFile` for another size or hash).
    pub fn quarantine_expecting(
        &self,
        path: &Path,
        now: i64,
        expect: &Expected,
    ) -> Result<QuarantinedFile> {
        if !path.is_absolute() {
            return Err(QuarantineError::NotAbsolute {
                path: path.to_path_buf(),
            });
        }
        let parent = walk::open_parent(path).map_err(|e| match e {
            WalkError::Missing { .. } | WalkError::NotDirectory { .. } => {
                QuarantineError::NotFound {
                    path: path.to_path_buf(),
                }
            }
            e => QuarantineError::UnsafePath {
                path: path.to_path_buf(),
                reason: e.to_string(),
            },
        })?;
        let (dir, name) = (&parent.dir, parent.name.as_os_str());
        let meta = self.check_candidate(path, &parent)?;
        let changed = |what| QuarantineError::Changed {
            path: path.to_path_buf(),
            what,
        };
        let mut file = match dir.open_read(name) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(Errno::LOOP.raw_os_error()) => {
                return Err(changed("it was replaced by a symbolic link"))
            }
            Err(e) => return Err(io_err("opening", path)(e)),
        };
        let opened = file.metadata().map_err(io_err("examining", path))?;
        if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) || !opened.is_file() {
            return Err(changed("it was replaced while it was examined"));
        }
        expect.check_meta(path, &opened)?;
        if expect.sha256.is_some() {
            let h = hash_copy(&mut file, None).map_err(io_err("reading", path))?;
            expect.check_hash(path, &h.sha256)?;
            file.seek(SeekFrom::Start(0))
                .map_err(io_err("reading", path))?;
        }
        let boxdir = self.open_box_dir()?;
        let id = self.new_id()?;
        let bin_name = OsString::from(format!("{id}.bin"));
        if opened.nlink() <= 1 {
            match dir.rename_to(name, &boxdir, &bin_name) {
                Ok(()) => {
                    return self
                        .finish_rename(&id, path, &parent, &boxdir, &file, &opened, expect, now)
                }
                Err(e) if e.raw_os_error() == Some(Errno::XDEV.raw_os_error()) => {}
                Err(e) => return Err(io_err("moving into the quarantine box", path)(e)),
            }
        }
        let record = self.copy_in(&id, path, &mut file, &opened, expect, now, false)?;
        // The copy is safe in the box: now remove the original, if it is still the same file.
        match dir.entry(name) {
            Ok(Some((_, m))) if (m.dev(), m.ino()) == (opened.dev(), opened.ino()) => {}
            _ => {
                self.discard(&id);
                return Err(changed("it was replaced during the copy"));
            }
        }
        if let Err(e) = dir.unlink(name) {
            self.discard(&id);
            return Err(io_err("removing the original of", path)(e));
        }
        dir.sync();
        Ok(record)
    }

    /// Stores a copy of `read_from` (typically `/proc/PID/exe` of a process whose binary was
    /// deleted) as if it had been quarantined from `original_path`, which is recorded but not
    /// touched. `read_from` is followed if it is a link, and must lead to a regular file.
    pub fn capture(
        &self,
        read_from: &Path,
        original_path: &Path,
        now: i64,
    ) -> Result<QuarantinedFile> {
        self.capture_checked(read_from, original_path, now, None)
    }

    pub(crate) fn capture_checked(
        &self,
        read_from: &Path,
        original_path: &Path,
        now: i64,
        inode: Option<(u64, u64)>,
    ) -> Result<QuarantinedFile> {
        if !original_path.is_absolute() {
            return Err(QuarantineError::NotAbsolute {
                path: original_path.to_path_buf(),
            });
        }
        if self.inside_box(original_path) || self.inside_box(read_from) {
            return Err(QuarantineError::InsideBox {
                path: original_path.to_path_buf(),
            });
        }
        let mut input = File::open(read_from).map_err(io_err("opening", read_from))?;
        let meta = input.metadata().map_err(io_err("examining", read_from))?;
        if !meta.is_file() {
            return Err(QuarantineError::NotRegular {
                path: original_path.to_path_buf(),
                kind: kind_of(&meta),
            });
        }
        let expect = Expected {
            inode,
            ..Expected::default()
        };
        expect.check_meta(original_path, &meta)?;
        let id = self.new_id()?;
        self.copy_in(&id, original_path, &mut input, &meta, &expect, now, true)
    }

    /// The checks before quarantining the last component of `path`, in the opened `parent`;
    /// returns its metadata (the entry itself, never followed).
    fn check_candidate(&self, path: &Path, parent: &Parent) -> Result<fs::Metadata> {
        let meta = match parent.dir.entry(&parent.name) {
            Ok(Some((_, m))) => m,
            Ok(None) => {
                return Err(QuarantineError::NotFound {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => return Err(io_err("examining", path)(e)),
        };
        let t = meta.file_type();
        if t.is_symlink() {
            return Err(QuarantineError::Symlink {
                path: path.to_path_buf(),
            });
        }
        if t.is_dir() {
            return Err(QuarantineError::Directory {
                path: path.to_path_buf(),
            });
        }
        if !t.is_file() {
            return Err(QuarantineError::NotRegular {
                path: path.to_path_buf(),
                kind: kind_of(&meta),
            });
        }
        if self.is_box(&parent.dir) {
            return Err(QuarantineError::InsideBox {
                path: path.to_path_buf(),
            });
        }
        Ok(meta)
    }

    /// After `original` was renamed to `<id>.bin`: checks it is the inode that was opened and
    /// checked, unchanged, locks it down, hashes it and writes the metadata. Moves it back on
    /// failure.
    #[allow(clippy::too_many_arguments)]
    fn finish_rename(
        &self,
        id: &str,
        original: &Path,
        parent: &Parent,
        boxdir: &Dir,
        file: &File,
        before: &fs::Metadata,
        expect: &Expected,
        now: i64,
    ) -> Result<QuarantinedFile> {
        let bin = self.bin_path(id);
        let bin_name = OsString::from(format!("{id}.bin"));
        let changed = |what| QuarantineError::Changed {
            path: original.to_path_buf(),
            what,
        };
        let result = (|| {
            let moved = boxdir
                .entry(&bin_name)
                .map_err(io_err("examining", &bin))?
                .map(|(_, m)| m);
            if moved.is_none_or(|m| (m.dev(), m.ino()) != (before.dev(), before.ino())) {
                return Err(changed("it was replaced before it was moved"));
            }
            let meta = file.metadata().map_err(io_err("examining", &bin))?;
            if meta.len() != before.len()
                || (meta.mtime(), meta.mtime_nsec()) != (before.mtime(), before.mtime_nsec())
            {
                return Err(changed("it was written to while it was being quarantined"));
            }
            // Owner first: chown clears setuid/setgid, and the mode is set right after anyway.
            std::os::unix::fs::fchown(file, Some(self.uid), Some(self.gid))
                .map_err(io_err("setting the owner of", &bin))?;
            file.set_permissions(Permissions::from_mode(CONTENT_MODE))
                .map_err(io_err("setting the mode of", &bin))?;
            let mut f = boxdir
                .open_read(&bin_name)
                .map_err(io_err("opening", &bin))?;
            let h = hash_copy(&mut f, None).map_err(io_err("reading", &bin))?;
            expect.check_hash(original, &h.sha256)?;
            let record = record_for(id, original, before, &h, now, false);
            self.write_meta(&record)?;
            Ok(record)
        })();
        match result {
            Ok(r) => {
                boxdir.sync();
                parent.dir.sync();
                Ok(r)
            }
            Err(e) => {
                // Put the file back as it was, without replacing anything that appeared there.
                let _ = std::os::unix::fs::fchown(file, Some(before.uid()), Some(before.gid()));
                let _ = file.set_permissions(Permissions::from_mode(before.mode() & 0o7777));
                if boxdir.link_to(&bin_name, &parent.dir, &parent.name).is_ok() {
                    let _ = boxdir.unlink(&bin_name);
                } else {
                    tracing::error!(
                        "quarantine of {} failed and the file could not be put back; it stays at {}",
                        original.display(),
                        bin.display()
                    );
                }
                Err(e)
            }
        }
    }

    /// Copies the opened `input` (whose metadata was `before`) into `<id>.bin`, verifies the
    /// copy and writes `<id>.json`. Removes what it wrote on failure. The source is not touched.
    #[allow(clippy::too_many_arguments)]
    fn copy_in(
        &self,
        id: &str,
        original: &Path,
        input: &mut File,
        before: &fs::Metadata,
        expect: &Expected,
        now: i64,
        source_deleted: bool,
    ) -> Result<QuarantinedFile> {
        let bin = self.bin_path(id);
        let bin_name = OsString::from(format!("{id}.bin"));
        let result = (|| {
            let boxdir = self.open_box_dir()?;
            let mut out = boxdir
                .create_new(&bin_name, CONTENT_MODE)
                .map_err(io_err("creating", &bin))?;
            let h = hash_copy(input, Some(&mut out)).map_err(io_err("copying", original))?;
            let after = input.metadata().map_err(io_err("examining", original))?;
            if after.len() != before.len()
                || h.len != before.len()
                || (after.mtime(), after.mtime_nsec()) != (before.mtime(), before.mtime_nsec())
            {
                return Err(QuarantineError::Changed {
                    path: original.to_path_buf(),
                    what: "it was written to during the copy",
                });
            }
            expect.check_hash(original, &h.sha256)?;
            std::os::unix::fs::fchown(&out, Some(self.uid), Some(self.gid))
                .map_err(io_err("setting the owner of", &bin))?;
            out.set_permissions(Permissions::from_mode(CONTENT_MODE))
                .map_err(io_err("setting the mode of", &bin))?;
            out.sync_all().map_err(io_err("syncing", &bin))?;
            drop(out);
            let mut check = boxdir
                .open_read(&bin_name)
                .map_err(io_err("opening", &bin))?;
            let stored = hash_copy(&mut check, None).map_err(io_err("reading", &bin))?;
            if stored.sha256 != h.sha256 {
                return Err(QuarantineError::HashMismatch {
                    path: bin.clone(),
                    expected: h.sha256,
                    found: stored.sha256,
                });
            }
            let record = record_for(id, original, before, &h, now, source_deleted);
            self.write_meta(&record)?;
            boxdir.sync();
            Ok(record)
        })();
        if result.is_err() {
            self.discard(id);
        }
        result
    }

    /// Removes both files of an entry, ignoring errors (used to undo a failed quarantine).
    pub(crate) fn discard(&self, id: &str) {
        let _ = fs::remove_file(self.json_path(id));
        let _ = fs::remove_file(self.bin_path(id));
    }

    fn write_meta(&self, record: &QuarantinedFile) -> Result<()> {
        let path = self.json_path(&record.id);
        let tmp = self.dir.join(format!("{}.json.tmp", record.id));
        let body = serde_json::to_vec_pretty(record).expect("a record always serializes");
        let r = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(META_MODE)
                .open(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(e) = r {
            let _ = fs::remove_file(&tmp);
            return Err(io_err("writing", &path)(e));
        }
        Ok(())
    }

    /// The record of entry `id`, after checking that its content file is present and has the
    /// recorded size. Damaged entries give `Corrupt`.
    pub fn get(&self, id: &str) -> Result<QuarantinedFile> {
        check_id(id)?;
        let json = self.json_path(id);
        let bin = self.bin_path(id);
        let corrupt = |path: &Path, reason: String| QuarantineError::Corrupt {
            id: id.to_owned(),
            path: path.to_path_buf(),
            reason,
        };
        let text = match fs::read(&json) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return if fs::symlink_metadata(&bin).is_ok() {
                    Err(corrupt(&bin, "metadata file missing".into()))
                } else {
                    Err(QuarantineError::UnknownId { id: id.to_owned() })
                };
            }
            Err(e) => return Err(io_err("reading", &json)(e)),
        };
        let record: QuarantinedFile = serde_json::from_slice(&text)
            .map_err(|e| corrupt(&json, format!("unreadable metadata: {e}")))?;
        if record.id != id {
            return Err(corrupt(
                &json,
                format!("metadata names a different id {:?}", record.id),
            ));
        }
        let path = record.path();
        if !path.is_absolute() {
            return Err(corrupt(
                &json,
                "recorded original path is not absolute".into(),
            ));
        }
        match fs::symlink_metadata(&bin) {
            Ok(m) if m.is_file() && m.len() == record.size => Ok(record),
            Ok(m) if m.is_file() => Err(corrupt(
                &bin,
                format!(
                    "content file holds {} bytes, {} recorded",
                    m.len(),
                    record.size
                ),
            )),
            Ok(m) => Err(corrupt(&bin, format!("content file is a {}", kind_of(&m)))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(corrupt(&bin, "content file missing".into()))
            }
            Err(e) => Err(io_err("examining", &bin)(e)),
        }
    }

    /// The ids present in the box (from either file of an entry).
    fn ids(&self) -> Result<BTreeSet<String>> {
        let mut ids = BTreeSet::new();
        let entries = fs::read_dir(&self.dir).map_err(io_err("listing", &self.dir))?;
        for entry in entries {
            let entry = entry.map_err(io_err("listing", &self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stem = name
                .strip_suffix(".json")
                .or_else(|| name.strip_suffix(".bin"));
            if let Some(stem) = stem.filter(|s| valid_id(s)) {
                ids.insert(stem.to_owned());
            }
        }
        Ok(ids)
    }

    /// Every entry of the box: the readable ones (oldest first) and the damaged ones.
    pub fn scan(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        for id in self.ids()? {
            match self.get(&id) {
                Ok(f) => listing.files.push(f),
                Err(e) => listing.problems.push(EntryProblem {
                    id,
                    problem: e.to_string(),
                }),
            }
        }
        listing
            .files
            .sort_by(|a, b| (a.quarantined_at, &a.id).cmp(&(b.quarantined_at, &b.id)));
        Ok(listing)
    }

    /// The readable entries, oldest first. Damaged entries are logged; [`QuarantineBox::scan`]
    /// returns them.
    pub fn list(&self) -> Result<Vec<QuarantinedFile>> {
        let listing = self.scan()?;
        for p in &listing.problems {
            tracing::warn!(id = %p.id, "quarantine box: {}", p.problem);
        }
        Ok(listing.files)
    }

    /// Puts the quarantined file `id` back at its original path, byte-exact, with its owner,
    /// mode and modification time, and removes it from the box.
    ///
    /// The original directory is reached by the same safe walk as a quarantine: a symbolic link
    /// planted on the way refuses the restore with `UnsafePath`, and every file operation is
    /// relative to the opened directory. A file that had setuid or setgid is only recreated in a
    /// directory that root owns and group and others cannot write (`SetuidUnsafe` otherwise).
    /// Refused with `Expired` once the entry is older than [`RETENTION_SECS`] at `now` (even if
    /// no purge has run), with `Exists` if anything is at the original path again (unless
    /// `overwrite`; a directory is never replaced), and with `ParentMissing` if the original
    /// directory is gone. The content is checked against the recorded SHA-256 before it is put
    /// in place. Without `overwrite` the file is put in place with a hard link, which cannot
    /// replace a file that appears at the last moment.
    pub fn restore(&self, id: &str, overwrite: bool, now: i64) -> Result<RestoredFile> {
        let record = self.get(id)?;
        let path = record.path();
        if now.saturating_sub(record.quarantined_at) > RETENTION_SECS {
            return Err(QuarantineError::Expired {
                id: id.to_owned(),
                path,
                quarantined_at: record.quarantined_at,
            });
        }
        let parent_path = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let parent = walk::open_parent(&path).map_err(|e| match e {
            WalkError::Missing { .. } | WalkError::NotDirectory { .. } => {
                QuarantineError::ParentMissing {
                    path: path.clone(),
                    parent: parent_path.clone(),
                }
            }
            WalkError::NoFileName | WalkError::NotAbsolute => QuarantineError::Corrupt {
                id: id.to_owned(),
                path: self.json_path(id),
                reason: format!("recorded original path {} has no file name", path.display()),
            },
            e => QuarantineError::UnsafePath {
                path: path.clone(),
                reason: e.to_string(),
            },
        })?;
        let (dir, name) = (&parent.dir, parent.name.as_os_str());
        let existing = dir
            .entry(name)
            .map_err(io_err("examining", &path))?
            .map(|(_, m)| m);
        if let Some(m) = &existing {
            if !overwrite {
                return Err(QuarantineError::Exists { path });
            }
            if m.is_dir() {
                return Err(QuarantineError::Directory { path });
            }
        }
        if record.mode & 0o6000 != 0
            && !dir.root_only().map_err(io_err("examining", &parent_path))?
        {
            return Err(QuarantineError::SetuidUnsafe {
                path,
                parent: parent_path,
            });
        }

        // Build the file next to its destination, then put it in place in one step.
        let bin = self.bin_path(id);
        let bin_name = OsString::from(format!("{id}.bin"));
        let boxdir = self.open_box_dir()?;
        let suffix = random_id().map_err(io_err("reading", Path::new("/dev/urandom")))?;
        let tmp_name = OsString::from(format!(".vigil-restore-{id}-{}", &suffix[..8]));
        let tmp = parent_path.join(&tmp_name);
        let built = (|| {
            let mut input = boxdir
                .open_read(&bin_name)
                .map_err(io_err("opening", &bin))?;
            let mut out = dir
                .create_new(&tmp_name, 0o600)
                .map_err(io_err("creating", &tmp))?;
            let h = hash_copy(&mut input, Some(&mut out)).map_err(io_err("writing", &tmp))?;
            if h.sha256 != record.sha256 {
                return Err(QuarantineError::HashMismatch {
                    path: bin.clone(),
                    expected: record.sha256.clone(),
                    found: h.sha256,
                });
            }
            std::os::unix::fs::fchown(&out, Some(record.uid), Some(record.gid))
                .map_err(io_err("restoring the owner of", &path))?;
            out.set_permissions(Permissions::from_mode(record.mode & 0o7777))
                .map_err(io_err("restoring the mode of", &path))?;
            if let Some(t) = system_time(record.mtime, record.mtime_nsec) {
                out.set_modified(t)
                    .map_err(io_err("restoring the modification time of", &path))?;
            }
            out.sync_all().map_err(io_err("syncing", &tmp))?;
            Ok(())
        })();
        if let Err(e) = built {
            let _ = dir.unlink(&tmp_name);
            return Err(e);
        }
        let placed = if overwrite {
            dir.rename_to(&tmp_name, dir, name)
                .map_err(io_err("restoring", &path))
        } else {
            match dir.link_to(&tmp_name, dir, name) {
                Ok(()) => {
                    let _ = dir.unlink(&tmp_name);
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    Err(QuarantineError::Exists { path: path.clone() })
                }
                // A filesystem without hard links: check again, then rename.
                Err(_) => match dir.entry(name) {
                    Ok(None) => dir
                        .rename_to(&tmp_name, dir, name)
                        .map_err(io_err("restoring", &path)),
                    _ => Err(QuarantineError::Exists { path: path.clone() }),
                },
            }
        };
        if let Err(e) = placed {
            let _ = dir.unlink(&tmp_name);
            return Err(e);
        }
        dir.sync();
        // The file is back: drop the entry, metadata first so a half-removed entry shows as an
        // orphan content file rather than a restorable record.
        for p in [self.json_path(id), bin] {
            if let Err(e) = fs::remove_file(&p) {
                tracing::warn!(
                    "restored {} but could not remove {}: {e}",
                    path.display(),
                    p.display()
                );
            }
        }
        boxdir.sync();
        Ok(RestoredFile {
            file: record,
            replaced: existing.is_some(),
        })
    }

    /// Deletes every entry older than `keep_secs` at `now` ([`RETENTION_SECS`] in production)
    /// and returns their ids, damaged entries included. Entries whose metadata is unreadable are
    /// aged by the change time of their files. An entry that cannot be removed is logged and left for the next purge.
    pub fn purge_expired(&self, now: i64, keep_secs: i64) -> Result<Vec<String>> {
        let mut purged = Vec::new();
        for id in self.ids()? {
            let recorded = fs::read(self.json_path(&id))
                .ok()
                .and_then(|t| serde_json::from_slice::<QuarantinedFile>(&t).ok());
            let since = match recorded {
                Some(f) => Some(f.quarantined_at),
                None => [self.json_path(&id), self.bin_path(&id)]
                    .iter()
                    .filter_map(|p| fs::symlink_metadata(p).ok())
                    .map(|m| m.ctime())
                    .max(),
            };
            let Some(since) = since else { continue };
            if now.saturating_sub(since) <= keep_secs {
                continue;
            }
            let mut ok = true;
            for p in [self.json_path(&id), self.bin_path(&id)] {
                match fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        ok = false;
                        tracing::warn!("quarantine purge: cannot remove {}: {e}", p.display());
                    }
                }
            }
            if ok {
                purged.push(id);
            }
        }
        if !purged.is_empty() {
            sync_dir(&self.dir);
        }
        Ok(purged)
    }
}

fn record_for(
    id: &str,
    original: &Path,
    meta: &fs::Metadata,
    h: &Hashes,
    now: i64,
    source_deleted: bool,
) -> QuarantinedFile {
    let bytes = original.as_os_str().as_bytes();
    let original_path_hex = std::str::from_utf8(bytes)
        .is_err()
        .then(|| hex::encode(bytes));
    QuarantinedFile {
        id: id.to_owned(),
        original_path: original.to_string_lossy().into_owned(),
        original_path_hex,
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode() & 0o7777,
        size: h.len,
        mtime: meta.mtime(),
        mtime_nsec: meta.mtime_nsec().clamp(0, 999_999_999) as u32,
        sha256: h.sha256.clone(),
        md5: h.md5.clone(),
        quarantined_at: now,
        source_deleted,
    }
}

#[cfg(test)]
mod tests;
