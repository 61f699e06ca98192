//! Reading an override tree from disk: its `.toml` files as texts, and a cheap fingerprint
//! (paths, sizes, modification times) to notice a change without reading them.

use crate::ContentError;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// A content file larger than this is refused rather than read.
pub const MAX_FILE_BYTES: u64 = 4 << 20;
const MAX_DEPTH: usize = 4;

/// What changes when a file is added, removed, replaced or edited.
pub type Fingerprint = Vec<(String, u64, Option<SystemTime>)>;

/// The `.toml` files under `dir` by their path relative to it (`/`-separated). A missing
/// directory is an empty tree; a symbolic link, a file over [`MAX_FILE_BYTES`] or one that is not
/// UTF-8 is an error naming it. Other files (notes, editor backups) are passed over.
pub fn read_tree(dir: &Path) -> Result<BTreeMap<String, String>, ContentError> {
    let mut out = BTreeMap::new();
    for (rel, meta) in walk(dir)? {
        if meta.len() > MAX_FILE_BYTES {
            return Err(ContentError::new(
                rel,
                format!(
                    "{} bytes is over the {MAX_FILE_BYTES}-byte limit",
                    meta.len()
                ),
            ));
        }
        let bytes = std::fs::read(dir.join(&rel))
            .map_err(|e| ContentError::new(rel.as_str(), format!("cannot be read: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ContentError::new(rel.as_str(), "is not UTF-8 text"))?;
        out.insert(rel, text);
    }
    Ok(out)
}

/// The tree's fingerprint; an unreadable tree has the fingerprint of its error, so a fix to it
/// is noticed too.
pub fn fingerprint(dir: &Path) -> Fingerprint {
    match walk(dir) {
        Ok(files) => files
            .into_iter()
            .map(|(rel, m)| (rel, m.len(), m.modified().ok()))
            .collect(),
        Err(e) => vec![(e.to_string(), 0, None)],
    }
}

fn walk(dir: &Path) -> Result<Vec<(String, std::fs::Metadata)>, ContentError> {
    let mut out = Vec::new();
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(ContentError::new(dir.display().to_string(), e.to_string())),
        Ok(m) if !m.is_dir() => {
            return Err(ContentError::new(
                dir.display().to_string(),
                "is not a directory",
            ))
        }
        Ok(_) => {}
    }
    walk_into(dir, "", 0, &mut out)?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn walk_into(
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, std::fs::Metadata)>,
) -> Result<(), ContentError> {
    let here = if prefix.is_empty() { "." } else { prefix };
    let entries = std::fs::read_dir(dir.join(prefix))
        .map_err(|e| ContentError::new(here, format!("cannot be listed: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| ContentError::new(here, e.to_string()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let meta = entry
            .metadata()
            .map_err(|e| ContentError::new(rel.as_str(), e.to_string()))?;
        if meta.file_type().is_symlink() {
            return Err(ContentError::new(
                rel,
                "is a symbolic link; content files must be regular files in the tree",
            ));
        }
        if meta.is_dir() {
            if depth + 1 >= MAX_DEPTH {
                return Err(ContentError::new(rel, "is nested too deep"));
            }
            walk_into(dir, &rel, depth + 1, out)?;
        } else if meta.is_file() && name.ends_with(".toml") {
            out.push((rel, meta));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toml_files_by_relative_path_and_passes_over_the_rest() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("rules")).unwrap();
        std::fs::write(d.path().join("rules/assets.toml"), "x = 1").unwrap();
        std::fs::write(d.path().join("rules/assets.toml~"), "old").unwrap();
        std::fs::write(d.path().join("NOTES"), "mine").unwrap();
        let t = read_tree(d.path()).unwrap();
        assert_eq!(t.keys().collect::<Vec<_>>(), ["rules/assets.toml"]);
        assert!(read_tree(&d.path().join("absent")).unwrap().is_empty());
    }

    #[test]
    fn links_big_files_and_bad_text_are_refused() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("manifest.toml")).unwrap();
        let e = read_tree(d.path()).unwrap_err();
        assert_eq!(e.file, "manifest.toml");
        assert!(e.message.contains("symbolic link"), "{e}");

        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.toml"), [0xff, 0xfe]).unwrap();
        assert!(read_tree(d.path()).unwrap_err().message.contains("UTF-8"));
        let f = std::fs::File::create(d.path().join("a.toml")).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(read_tree(d.path()).unwrap_err().message.contains("limit"));
    }

    #[test]
    fn the_fingerprint_changes_with_the_tree() {
        let d = tempfile::tempdir().unwrap();
        let empty = fingerprint(d.path());
        std::fs::write(d.path().join("a.toml"), "x = 1").unwrap();
        let one = fingerprint(d.path());
        assert_ne!(empty, one);
        std::fs::write(d.path().join("a.toml"), "x = 12").unwrap();
        assert_ne!(one, fingerprint(d.path()));
    }
}
