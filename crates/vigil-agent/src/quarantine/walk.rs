//! Resolving a path from `/` one directory descriptor at a time, so that a symbolic link planted
//! on the way cannot redirect what the agent (root) does on the server's behalf.
//!
//! Every directory is opened `O_PATH | O_DIRECTORY | O_NOFOLLOW` relative to the one before it,
//! and every later step is an `*at` call on the descriptor, so swapping a directory for a link
//! after it was opened changes nothing. A symbolic link met on the way is followed only when no
//! one but root could have made or changed it: the link is owned by root and sits in a root-owned
//! directory that group and others cannot write (the `/bin -> usr/bin` of a merged-/usr system).
//! Any other link refuses the walk. `..` goes back to the directory the walk came from. The
//! final component is never followed: callers open it with `O_NOFOLLOW` relative to
//! [`Parent::dir`].

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// Links followed in one walk before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Why a path could not be resolved safely.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("not an absolute path")]
    NotAbsolute,
    #[error("the path does not end in a file name")]
    NoFileName,
    #[error("directory {} does not exist", dir.display())]
    Missing { dir: PathBuf },
    #[error("{} is not a directory", dir.display())]
    NotDirectory { dir: PathBuf },
    #[error("{} is a symbolic link that a user other than root could have planted (owned by uid {owner}, in a directory {why}); it is not followed", link.display())]
    UntrustedLink {
        link: PathBuf,
        owner: u32,
        why: &'static str,
    },
    #[error("more than {MAX_LINKS} symbolic links on the way")]
    TooManyLinks,
    #[error("opening {}: {source}", dir.display())]
    Io {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// An opened directory and the path the walk took to it (for messages).
pub(crate) struct Dir {
    pub file: File,
    pub shown: PathBuf,
}

impl Dir {
    pub fn meta(&self) -> io::Result<Metadata> {
        self.file.metadata()
    }

    /// True if group and others cannot write the directory and root owns it.
    pub fn root_only(&self) -> io::Result<bool> {
        let m = self.meta()?;
        Ok(m.uid() == 0 && m.mode() & 0o022 == 0)
    }

    /// The entry `name` itself (never followed), as an `O_PATH` handle with its metadata;
    /// `None` when there is no such entry.
    pub fn entry(&self, name: &OsStr) -> io::Result<Option<(File, Metadata)>> {
        match rustix::fs::openat(
            &self.file,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => {
                let f = File::from(fd);
                let m = f.metadata()?;
                Ok(Some((f, m)))
            }
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens the entry `name` for reading, refusing a symbolic link (`ELOOP`) and never blocking
    /// on a pipe or device that was swapped in.
    pub fn open_read(&self, name: &OsStr) -> io::Result<File> {
        let fd = rustix::fs::openat(
            &self.file,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }

    /// Creates `name` (which must not exist: no link is followed or replaced) for writing.
    pub fn create_new(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let fd = rustix::fs::openat(
            &self.file,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        )?;
        Ok(File::from(fd))
    }

    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.file, name, AtFlags::empty())?)
    }

    /// Renames `name` here to `to_name` in `to` (replacing what is there).
    pub fn rename_to(&self, name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::renameat(&self.file, name, &to.file, to_name)?)
    }

    /// Links `name` here as `to_name` in `to`; fails with `AlreadyExists` if that name is taken.
    pub fn link_to(&self, name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::linkat(
            &self.file,
            name,
            &to.file,
            to_name,
            AtFlags::empty(),
        )?)
    }

    /// Flushes the directory entry changes to disk, best effort.
    pub fn sync(&self) {
        // An O_PATH descriptor cannot be fsynced: reopen the directory itself through it.
        if let Ok(fd) = rustix::fs::openat(
            &self.file,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            let _ = rustix::fs::fsync(fd);
        }
    }
}

/// The directory holding a path's last component, opened by a safe walk, and that component.
pub(crate) struct Parent {
    pub dir: Dir,
    pub name: OsString,
}

/// Opens the parent directory of the absolute `path` by a safe walk.
pub(crate) fn open_parent(path: &Path) -> Result<Parent, WalkError> {
    if !path.is_absolute() {
        return Err(WalkError::NotAbsolute);
    }
    let Some(Component::Normal(name)) = path.components().next_back() else {
        return Err(WalkError::NoFileName);
    };
    let parent = path.parent().ok_or(WalkError::NoFileName)?;
    Ok(Parent {
        dir: open_dir(parent)?,
        name: name.to_owned(),
    })
}

fn open_path_dir(at: &impl AsFd, name: &OsStr) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        at,
        name,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn push_components(pending: &mut VecDeque<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    for p in parts.into_iter().rev() {
        pending.push_front(p);
    }
}

/// Opens the absolute directory `path` by a safe walk from `/`.
pub(crate) fn open_dir(path: &Path) -> Result<Dir, WalkError> {
    if !path.is_absolute() {
        return Err(WalkError::NotAbsolute);
    }
    let io_err = |dir: &Path| {
        let dir = dir.to_path_buf();
        move |e: Errno| WalkError::Io {
            dir,
            source: e.into(),
        }
    };
    let root = rustix::fs::openat(
        CWD,
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err(Path::new("/")))?;
    let mut stack = vec![Dir {
        file: File::from(root),
        shown: PathBuf::from("/"),
    }];
    let mut pending = VecDeque::new();
    push_components(&mut pending, path);
    let mut links = 0;
    while let Some(c) = pending.pop_front() {
        if c == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let cur = stack.last().expect("the root is never popped");
        let shown = cur.shown.join(&c);
        match open_path_dir(&cur.file, &c) {
            Ok(fd) => {
                stack.push(Dir {
                    file: File::from(fd),
                    shown,
                });
                continue;
            }
            Err(Errno::NOENT) => return Err(WalkError::Missing { dir: shown }),
            Err(Errno::NOTDIR) | Err(Errno::LOOP) => {}
            Err(e) => return Err(io_err(&shown)(e)),
        }
        // Not a directory: a symbolic link, or something else.
        let entry = cur
            .entry(&c)
            .map_err(|source| WalkError::Io {
                dir: shown.clone(),
                source,
            })?
            .ok_or_else(|| WalkError::Missing { dir: shown.clone() })?;
        if !entry.1.file_type().is_symlink() {
            return Err(WalkError::NotDirectory { dir: shown });
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(WalkError::TooManyLinks);
        }
        let dir_meta = cur.meta().map_err(|source| WalkError::Io {
            dir: cur.shown.clone(),
            source,
        })?;
        let why = if dir_meta.uid() != 0 {
            Some("not owned by root")
        } else if dir_meta.mode() & 0o022 != 0 {
            Some("writable by group or others")
        } else if entry.1.uid() != 0 {
            Some("owned by root, but the link is not")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(WalkError::UntrustedLink {
                link: shown,
                owner: entry.1.uid(),
                why,
            });
        }
        let target = rustix::fs::readlinkat(&cur.file, &c, Vec::new()).map_err(io_err(&shown))?;
        let target = PathBuf::from(OsString::from_vec(target.into_bytes()));
        if target.as_os_str().as_bytes().is_empty() {
            return Err(WalkError::NotDirectory { dir: shown });
        }
        if target.is_absolute() {
            stack.truncate(1);
        }
        push_components(&mut pending, &target);
    }
    Ok(stack.pop().expect("the root is never popped"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn ino(p: &Path) -> (u64, u64) {
        let m = std::fs::metadata(p).unwrap();
        (m.dev(), m.ino())
    }

    fn ino_of(d: &Dir) -> (u64, u64) {
        let m = d.meta().unwrap();
        (m.dev(), m.ino())
    }

    #[test]
    fn walks_real_directories_and_dot_dot() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a/b");
        std::fs::create_dir_all(&a).unwrap();
        assert_eq!(ino_of(&open_dir(&a).unwrap()), ino(&a));
        assert_eq!(
            ino_of(&open_dir(&tmp.path().join("a/b/../b/./")).unwrap()),
            ino(&a)
        );
        assert_eq!(
            ino_of(&open_dir(Path::new("/")).unwrap()),
            ino(Path::new("/"))
        );
        assert_eq!(
            ino_of(&open_dir(Path::new("/../../")).unwrap()),
            ino(Path::new("/"))
        );
        assert!(matches!(
            open_dir(Path::new("relative")),
            Err(WalkError::NotAbsolute)
        ));
        assert!(matches!(
            open_dir(&tmp.path().join("missing/x")),
            Err(WalkError::Missing { .. })
        ));
        std::fs::write(tmp.path().join("file"), b"x").unwrap();
        assert!(matches!(
            open_dir(&tmp.path().join("file/x")),
            Err(WalkError::NotDirectory { .. })
        ));
        let p = open_parent(&tmp.path().join("a/b/name")).unwrap();
        assert_eq!(p.name, OsString::from("name"));
        assert_eq!(ino_of(&p.dir), ino(&a));
        assert!(matches!(
            open_parent(&tmp.path().join("a/..")),
            Err(WalkError::NoFileName)
        ));
    }

    #[test]
    fn links_are_followed_only_when_only_root_could_have_made_them() {
        let root = rustix::process::geteuid().is_root();
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let safe = tmp.path().join("safe");
        std::fs::create_dir(&safe).unwrap();
        std::fs::set_permissions(&safe, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("../real", safe.join("rel")).unwrap();
        std::os::unix::fs::symlink(&real, safe.join("abs")).unwrap();
        if root {
            for l in ["rel", "abs"] {
                assert_eq!(ino_of(&open_dir(&safe.join(l)).unwrap()), ino(&real), "{l}");
            }
            // The same links in a directory others can write are refused.
            std::fs::set_permissions(&safe, std::fs::Permissions::from_mode(0o777)).unwrap();
            let e = open_dir(&safe.join("abs")).map(|_| ()).unwrap_err();
            assert!(matches!(e, WalkError::UntrustedLink { .. }), "{e}");
            assert!(e.to_string().contains("writable by group or others"), "{e}");
            std::fs::set_permissions(&safe, std::fs::Permissions::from_mode(0o755)).unwrap();
            // A link owned by someone else, even in a root-owned directory.
            std::os::unix::fs::lchown(safe.join("abs"), Some(65534), Some(65534)).unwrap();
            let e = open_dir(&safe.join("abs")).map(|_| ()).unwrap_err();
            assert!(
                matches!(e, WalkError::UntrustedLink { owner: 65534, .. }),
                "{e}"
            );
        } else {
            let e = open_dir(&safe.join("abs")).map(|_| ()).unwrap_err();
            assert!(matches!(e, WalkError::UntrustedLink { .. }), "{e}");
        }
        // A loop ends.
        std::os::unix::fs::symlink("loop", safe.join("loop")).unwrap();
        let e = open_dir(&safe.join("loop")).map(|_| ()).unwrap_err();
        assert!(
            matches!(e, WalkError::TooManyLinks | WalkError::UntrustedLink { .. }),
            "{e}"
        );
    }
}
