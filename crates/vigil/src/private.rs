//! Data directories only their owner can read: the server's (database, keys, tokens) and the
//! agent's (identity, spool, offsets, inventory). Created 0700; at every start the modes of an
//! existing tree are tightened (directories 0700, files 0600) whatever the umask was, and what was
//! changed is said, so an installation made before this check is fixed in place.

use anyhow::{Context, Result};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
/// How deep the tree is walked (the data directory's own layout is shallow).
const MAX_DEPTH: usize = 4;

/// Creates `dir` (and its parents) if missing, then tightens the modes of `dir` and of
/// everything below it. Symbolic links are not followed. Returns the paths whose mode changed,
/// with the mode they had.
pub fn secure(dir: &Path) -> Result<Vec<(PathBuf, u32)>> {
    if !dir.exists() {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::DirBuilder::new()
            .mode(DIR_MODE)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut changed = Vec::new();
    walk(dir, 0, &mut changed)?;
    Ok(changed)
}

fn walk(path: &Path, depth: usize, changed: &mut Vec<(PathBuf, u32)>) -> Result<()> {
    let meta =
        fs::symlink_metadata(path).with_context(|| format!("examining {}", path.display()))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Ok(());
    }
    let want = if ft.is_dir() { DIR_MODE } else { FILE_MODE };
    let mode = meta.mode() & 0o7777;
    // Only ever remove bits: a stricter mode an operator chose is kept.
    if mode & !want != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & want))
            .with_context(|| format!("restricting the mode of {}", path.display()))?;
        changed.push((path.to_path_buf(), mode));
    }
    if ft.is_dir() && depth < MAX_DEPTH {
        for entry in fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
            let entry = entry.with_context(|| format!("listing {}", path.display()))?;
            walk(&entry.path(), depth + 1, changed)?;
        }
    }
    Ok(())
}

/// [`secure`], saying on stderr what it had to fix.
pub fn secure_and_report(dir: &Path) -> Result<()> {
    let changed = secure(dir)?;
    if !changed.is_empty() {
        eprintln!(
            "vigil: {} was readable by other users; restricted {} path(s) to the owner:",
            dir.display(),
            changed.len()
        );
        for (p, mode) in changed.iter().take(20) {
            eprintln!("  {} (was {:o})", p.display(), mode);
        }
        if changed.len() > 20 {
            eprintln!("  … and {} more", changed.len() - 20);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn creates_private_and_tightens_what_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let fresh = tmp.path().join("new/data");
        assert!(secure(&fresh).unwrap().is_empty());
        assert_eq!(mode(&fresh), 0o700);

        let old = tmp.path().join("old");
        fs::create_dir_all(old.join("agent")).unwrap();
        fs::set_permissions(&old, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(old.join("agent"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(old.join("vigil.db"), b"x").unwrap();
        fs::set_permissions(old.join("vigil.db"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(old.join("agent/inventory.json"), b"{}").unwrap();
        fs::set_permissions(
            old.join("agent/inventory.json"),
            fs::Permissions::from_mode(0o664),
        )
        .unwrap();
        fs::write(old.join("admin.token"), b"t").unwrap();
        fs::set_permissions(old.join("admin.token"), fs::Permissions::from_mode(0o400)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", old.join("link")).unwrap();

        let changed = secure(&old).unwrap();
        assert_eq!(changed.len(), 4, "{changed:?}");
        assert_eq!(mode(&old), 0o700);
        assert_eq!(mode(&old.join("agent")), 0o700);
        assert_eq!(mode(&old.join("vigil.db")), 0o600);
        assert_eq!(mode(&old.join("agent/inventory.json")), 0o600);
        // Stricter modes stay; links are not followed (nor is their target touched).
        assert_eq!(mode(&old.join("admin.token")), 0o400);
        assert_eq!(mode(Path::new("/etc/passwd")) & 0o044, 0o044);
        assert!(
            secure(&old).unwrap().is_empty(),
            "a second pass changes nothing"
        );
    }
}
