//! Walking file trees for the file scans: regular files only, symbolic links never followed,
//! files over a size limit, special files, unreadable files and files that change under the scan
//! skipped and counted by reason, and each file read once through a descriptor opened without
//! following links or blocking (a FIFO swapped in after the check cannot hang the scan).

use std::collections::BTreeMap;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

/// Limits of a walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Files larger than this are skipped (counted).
    pub max_size: u64,
    /// Directories deeper than this below a root are skipped (counted).
    pub max_depth: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            max_size: 16 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// What a walk saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WalkStats {
    pub files: u64,
    pub bytes: u64,
    /// Reason → count.
    pub skipped: BTreeMap<&'static str, u64>,
}

impl WalkStats {
    fn skip(&mut self, why: &'static str) {
        *self.skipped.entry(why).or_default() += 1;
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

pub const SKIP_SYMLINK: &str = "symbolic link (not followed)";
pub const SKIP_SPECIAL: &str = "not a regular file (FIFO, socket or device)";
pub const SKIP_TOO_BIG: &str = "over the size limit";
pub const SKIP_UNREADABLE: &str = "unreadable";
pub const SKIP_CHANGED: &str = "changed or vanished during the scan";
pub const SKIP_TOO_DEEP: &str = "directory nested too deep";

/// Calls `visit(path, metadata, contents)` for every regular file under `roots` (a root may be
/// a file), in a stable order (directory entries sorted by name).
pub fn walk(
    roots: &[PathBuf],
    opts: &WalkOptions,
    mut visit: impl FnMut(&Path, &Metadata, &[u8]),
) -> WalkStats {
    let mut stats = WalkStats::default();
    let mut buf = Vec::new();
    for root in roots {
        // A root named by the operator is taken as given (a link to a web root is followed);
        // nothing below it is.
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => walk_dir(root, 0, opts, &mut stats, &mut buf, &mut visit),
            Ok(m) => file(root, &m, opts, &mut stats, &mut buf, &mut visit),
            Err(_) => stats.skip(SKIP_UNREADABLE),
        }
    }
    stats
}

fn walk_dir(
    dir: &Path,
    depth: usize,
    opts: &WalkOptions,
    stats: &mut WalkStats,
    buf: &mut Vec<u8>,
    visit: &mut impl FnMut(&Path, &Metadata, &[u8]),
) {
    if depth > opts.max_depth {
        stats.skip(SKIP_TOO_DEEP);
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        stats.skip(SKIP_UNREADABLE);
        return;
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for path in names {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            stats.skip(SKIP_CHANGED);
            continue;
        };
        let t = meta.file_type();
        if t.is_symlink() {
            stats.skip(SKIP_SYMLINK);
        } else if t.is_dir() {
            walk_dir(&path, depth + 1, opts, stats, buf, visit);
        } else if t.is_file() {
            file(&path, &meta, opts, stats, buf, visit);
        } else {
            stats.skip(SKIP_SPECIAL);
        }
    }
}

fn file(
    path: &Path,
    meta: &Metadata,
    opts: &WalkOptions,
    stats: &mut WalkStats,
    buf: &mut Vec<u8>,
    visit: &mut impl FnMut(&Path, &Metadata, &[u8]),
) {
    if meta.file_type().is_fifo() || meta.file_type().is_socket() || !meta.is_file() {
        stats.skip(SKIP_SPECIAL);
        return;
    }
    if meta.len() > opts.max_size {
        stats.skip(SKIP_TOO_BIG);
        return;
    }
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
    let mut f = match rustix::fs::open(path, flags | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::LOOP) => {
            stats.skip(SKIP_CHANGED);
            return;
        }
        Err(_) => {
            stats.skip(SKIP_UNREADABLE);
            return;
        }
    };
    // The file opened must be the one checked: same inode, still a regular file.
    match f.metadata() {
        Ok(now) if now.is_file() && now.ino() == meta.ino() && now.dev() == meta.dev() => {}
        _ => {
            stats.skip(SKIP_CHANGED);
            return;
        }
    }
    buf.clear();
    if f.by_ref().take(opts.max_size + 1).read_to_end(buf).is_err() {
        stats.skip(SKIP_UNREADABLE);
        return;
    }
    if buf.len() as u64 > opts.max_size {
        stats.skip(SKIP_TOO_BIG);
        return;
    }
    stats.files += 1;
    stats.bytes += buf.len() as u64;
    visit(path, meta, buf);
}

/// What the file scans find in one file.
#[derive(Debug, Clone, PartialEq)]
pub enum FileFinding {
    /// Listed in the known-bad hashes under `name`; `by` is the digest that matched.
    Malware { name: String, by: &'static str },
    /// A credential leak, its value masked.
    Secret(vigil_detect::secrets::SecretFinding),
}

/// One file judged: its digests and what was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub md5: String,
    pub sha256: String,
    pub findings: Vec<FileFinding>,
}

/// Judges one file's contents (`path` as the host sees it): the known-bad hash list for every
/// file, the credential rules for text files.
pub fn judge(
    content: &vigil_content::Content,
    rules: &vigil_detect::secrets::SecretRules,
    path: &str,
    bytes: &[u8],
) -> Judged {
    let (md5, sha256) = digests(bytes);
    let mut findings = Vec::new();
    if let Some((name, by)) = content.malware_hashes.lookup(&md5, &sha256) {
        findings.push(FileFinding::Malware {
            name: name.to_string(),
            by,
        });
    }
    if !is_binary(bytes) {
        findings.extend(
            rules
                .scan(path, &String::from_utf8_lossy(bytes))
                .into_iter()
                .map(FileFinding::Secret),
        );
    }
    Judged {
        md5,
        sha256,
        findings,
    }
}

/// The MD5 and SHA-256 of a file's contents, in hex (the keys of hash lists and whitelists).
pub fn digests(bytes: &[u8]) -> (String, String) {
    let md5 = {
        use md5::Digest as _;
        hex::encode(md5::Md5::digest(bytes))
    };
    let sha256 = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(bytes))
    };
    (md5, sha256)
}

/// True when `bytes` look like a binary file (a NUL in the first 8 KiB), which text rules skip.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_regular_files_and_counts_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/one.txt"), "one").unwrap();
        std::fs::write(root.join("a/b/two.txt"), "two!").unwrap();
        std::fs::write(root.join("big.bin"), vec![1u8; 100]).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("loop"), root.join("loop")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("fifo"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let opts = WalkOptions {
            max_size: 50,
            max_depth: 64,
        };
        let mut seen = Vec::new();
        let stats = walk(&[root.to_path_buf()], &opts, |p, _, bytes| {
            seen.push((p.strip_prefix(root).unwrap().to_path_buf(), bytes.len()));
        });
        assert_eq!(
            seen,
            [
                (PathBuf::from("a/b/two.txt"), 4),
                (PathBuf::from("a/one.txt"), 3)
            ]
        );
        assert_eq!(stats.files, 2);
        assert_eq!(stats.bytes, 7);
        assert_eq!(stats.skipped[SKIP_SYMLINK], 2);
        assert_eq!(stats.skipped[SKIP_SPECIAL], 1);
        assert_eq!(stats.skipped[SKIP_TOO_BIG], 1);
    }

    #[test]
    fn deep_trees_stop_at_the_limit() {
        let d = tempfile::tempdir().unwrap();
        let mut p = d.path().to_path_buf();
        for i in 0..5 {
            p.push(format!("d{i}"));
        }
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("f"), "x").unwrap();
        let opts = WalkOptions {
            max_size: 10,
            max_depth: 3,
        };
        let stats = walk(&[d.path().to_path_buf()], &opts, |_, _, _| {});
        assert_eq!(stats.files, 0);
        assert_eq!(stats.skipped[SKIP_TOO_DEEP], 1);
    }
}
