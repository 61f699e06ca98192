//! Reading a system tree as if it were `/`: paths resolved inside the tree, symbolic links
//! followed within it, so a mounted image's absolute links read the image's files, never the
//! host's.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Resolves `rel` inside `root` as if `root` were `/`: symbolic links, absolute or relative, are
/// followed within the tree and `..` stops at the root, so a mounted image's
/// `/etc/os-release -> /usr/lib/os-release` reads the image's file, never the host's.
pub fn resolve_in_root(root: &Path, rel: &str) -> io::Result<PathBuf> {
    fn push_parts(pending: &mut Vec<OsString>, path: &Path) {
        let parts: Vec<OsString> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_owned()),
                Component::ParentDir => Some(OsString::from("..")),
                Component::RootDir | Component::Prefix(_) | Component::CurDir => None,
            })
            .collect();
        pending.extend(parts.into_iter().rev());
    }
    let mut pending = Vec::new();
    push_parts(&mut pending, Path::new(rel));
    let mut current = root.to_path_buf();
    let mut depth = 0usize;
    let mut links = 0usize;
    while let Some(part) = pending.pop() {
        if part == ".." {
            if depth > 0 {
                current.pop();
                depth -= 1;
            }
            continue;
        }
        let next = current.join(&part);
        let meta = fs::symlink_metadata(&next)?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > 40 {
                return Err(io::Error::other("too many levels of symbolic links"));
            }
            let target = fs::read_link(&next)?;
            if target.is_absolute() {
                current = root.to_path_buf();
                depth = 0;
            }
            push_parts(&mut pending, &target);
        } else {
            current = next;
            depth += 1;
        }
    }
    Ok(current)
}
