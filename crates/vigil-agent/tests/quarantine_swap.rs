//! The symlink-swap attack on quarantine and restore, played for real: a local user (`nobody`,
//! through `setpriv`) owns a directory on the path of a file the server asked about, and swaps
//! it for a symbolic link between the alert and the action. The agent (root) must refuse, and
//! move, write or overwrite nothing.
//!
//! Needs root (to act as `nobody`) and `setpriv` (util-linux).

use std::fs::{self, Permissions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use vigil_agent::quarantine::{Expected, QuarantineBox, QuarantineError};

const NOW: i64 = 1_750_000_000;
const NOBODY: u32 = 65534;

/// A tree like a host's: root-owned `etc` and `bin`, and `home/mallory` owned by `nobody`.
struct Host {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    qbox: QuarantineBox,
}

impl Host {
    fn new() -> Host {
        assert!(
            rustix::process::geteuid().is_root(),
            "this test plays a local attacker against the root agent: run it as root"
        );
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        // `nobody` must be able to reach its own directory.
        fs::set_permissions(&root, Permissions::from_mode(0o755)).unwrap();
        for d in ["etc", "bin", "home", "data"] {
            fs::create_dir(root.join(d)).unwrap();
            fs::set_permissions(root.join(d), Permissions::from_mode(0o755)).unwrap();
        }
        fs::set_permissions(root.join("data"), Permissions::from_mode(0o700)).unwrap();
        fs::write(
            root.join("etc/shadow"),
            b"root:$y$j9T$secret:20000:0:99999:7:::\n",
        )
        .unwrap();
        fs::set_permissions(root.join("etc/shadow"), Permissions::from_mode(0o600)).unwrap();
        let home = root.join("home/mallory/site");
        fs::create_dir_all(&home).unwrap();
        for d in [root.join("home/mallory"), home.clone()] {
            std::os::unix::fs::chown(&d, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let qbox = QuarantineBox::open(&root.join("data/quarantine")).unwrap();
        Host {
            _tmp: tmp,
            root,
            qbox,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Runs a shell command as `nobody`, failing the test if it fails.
    fn as_nobody(&self, script: &str) {
        let out = Command::new("setpriv")
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
                "sh",
                "-ec",
                script,
            ])
            .current_dir(self.path("home/mallory"))
            .output()
            .expect("setpriv (util-linux) runs");
        assert!(
            out.status.success(),
            "as nobody: {script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A file written by `nobody` in its own directory (what an alert would name).
    fn planted(&self, name: &str, content: &str, mode: &str) -> PathBuf {
        self.as_nobody(&format!(
            "printf '%s' '{content}' > site/{name}; chmod {mode} site/{name}"
        ));
        self.path(&format!("home/mallory/site/{name}"))
    }

    fn box_is_empty(&self) -> bool {
        fs::read_dir(self.qbox.dir()).unwrap().next().is_none()
    }

    fn names_in(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.path(rel))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

fn shadow_is_intact(h: &Host) {
    let m = fs::symlink_metadata(h.path("etc/shadow")).unwrap();
    assert!(m.is_file());
    assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o600));
    assert_eq!(
        fs::read(h.path("etc/shadow")).unwrap(),
        b"root:$y$j9T$secret:20000:0:99999:7:::\n"
    );
}

#[test]
fn a_directory_swapped_for_a_link_before_a_quarantine_is_refused() {
    let h = Host::new();
    // The alert names mallory's file; then mallory points its directory at etc.
    let alerted = h.planted("shadow", "<?php system($_GET[c]); ?>", "644");
    let etc = h.path("etc");
    h.as_nobody(&format!("mv site site.old; ln -s {} site", etc.display()));

    let e = h.qbox.quarantine(&alerted, NOW).unwrap_err();
    assert!(matches!(e, QuarantineError::UnsafePath { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("symbolic link") && msg.contains("site"),
        "{msg}"
    );
    shadow_is_intact(&h);
    assert!(h.box_is_empty(), "nothing entered the box");
    assert_eq!(h.names_in("home/mallory/site.old"), vec!["shadow"]);

    // Even a link to mallory's own directory is refused: no link a user could have planted is
    // followed.
    h.as_nobody("rm site; mv site.old real; ln -s real site");
    let e = h.qbox.quarantine(&alerted, NOW).unwrap_err();
    assert!(matches!(e, QuarantineError::UnsafePath { .. }), "{e}");
    assert!(h.box_is_empty());

    // Without the swap the same file is quarantined.
    h.as_nobody("rm site; mv real site");
    let q = h.qbox.quarantine(&alerted, NOW).unwrap();
    assert_eq!(q.path(), alerted);
    assert!(!alerted.exists());
    shadow_is_intact(&h);
}

#[test]
fn a_file_replaced_after_the_alert_is_not_quarantined() {
    let h = Host::new();
    let alerted = h.planted("x.php", "<?php eval($_POST[a]); ?>", "644");
    let m = fs::metadata(&alerted).unwrap();
    let expect = Expected {
        inode: Some((m.dev(), m.ino())),
        size: Some(m.len()),
        sha256: Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            fs::read(&alerted).unwrap(),
        ))),
    };
    // mallory replaces the file under the same name with another one of the same size.
    h.as_nobody("printf '%s' '<?php echo 1; /*    */ ?>' > site/y; mv site/y site/x.php");
    let e = h
        .qbox
        .quarantine_expecting(&alerted, NOW, &expect)
        .unwrap_err();
    assert!(matches!(e, QuarantineError::Changed { .. }), "{e}");
    assert!(alerted.exists() && h.box_is_empty());

    // Same inode, other content: refused by the hash, before anything moves.
    let m = fs::metadata(&alerted).unwrap();
    let wrong = Expected {
        inode: Some((m.dev(), m.ino())),
        size: Some(m.len()),
        sha256: Some("00".repeat(32)),
    };
    let e = h
        .qbox
        .quarantine_expecting(&alerted, NOW, &wrong)
        .unwrap_err();
    assert!(matches!(e, QuarantineError::NotTheFile { .. }), "{e}");
    assert!(e.to_string().contains("SHA-256"), "{e}");
    let wrong_size = Expected {
        size: Some(m.len() + 1),
        ..Expected::default()
    };
    let e = h
        .qbox
        .quarantine_expecting(&alerted, NOW, &wrong_size)
        .unwrap_err();
    assert!(matches!(e, QuarantineError::NotTheFile { .. }), "{e}");
    assert!(alerted.exists() && h.box_is_empty());
}

#[test]
fn a_directory_swapped_for_a_link_before_a_restore_is_refused() {
    let h = Host::new();
    let tool = h.planted("tool", "#!/bin/sh\necho pwned\n", "4755");
    assert_eq!(fs::metadata(&tool).unwrap().mode() & 0o7777, 0o4755);
    let q = h.qbox.quarantine(&tool, NOW).unwrap();
    assert_eq!(q.mode, 0o4755);

    // mallory points its directory at bin and asks for its file back.
    let bin = h.path("bin");
    h.as_nobody(&format!("mv site site.old; ln -s {} site", bin.display()));
    let e = h.qbox.restore(&q.id, false, NOW + 60).unwrap_err();
    assert!(matches!(e, QuarantineError::UnsafePath { .. }), "{e}");
    assert!(h.names_in("bin").is_empty(), "nothing written into bin");
    assert_eq!(h.qbox.get(&q.id).unwrap(), q, "still in the box");

    // With overwrite too, and with a link planted as the file itself (pointing at shadow).
    h.as_nobody(&format!(
        "rm site; mv site.old site; ln -s {} site/tool",
        h.path("etc/shadow").display()
    ));
    let e = h.qbox.restore(&q.id, false, NOW + 60).unwrap_err();
    assert!(matches!(e, QuarantineError::Exists { .. }), "{e}");
    shadow_is_intact(&h);

    // The setuid file is not recreated in mallory's directory, which root does not own.
    let e = h.qbox.restore(&q.id, true, NOW + 60).unwrap_err();
    assert!(matches!(e, QuarantineError::SetuidUnsafe { .. }), "{e}");
    assert!(e.to_string().contains("setuid"), "{e}");
    shadow_is_intact(&h);
    assert!(fs::symlink_metadata(&tool)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(h.names_in("home/mallory/site"), vec!["tool"]);
    assert!(h.qbox.get(&q.id).is_ok());
}

#[test]
fn restore_replaces_a_planted_link_without_following_it() {
    let h = Host::new();
    let page = h.planted("index.php", "<?php phpinfo(); ?>", "644");
    let q = h.qbox.quarantine(&page, NOW).unwrap();
    h.as_nobody(&format!(
        "ln -s {} site/index.php",
        h.path("etc/shadow").display()
    ));
    let r = h.qbox.restore(&q.id, true, NOW + 60).unwrap();
    assert!(r.replaced);
    shadow_is_intact(&h);
    let m = fs::symlink_metadata(&page).unwrap();
    assert!(m.is_file());
    assert_eq!((m.uid(), m.mode() & 0o7777), (NOBODY, 0o644));
    assert_eq!(fs::read(&page).unwrap(), b"<?php phpinfo(); ?>");
}

#[test]
fn setuid_files_come_back_only_into_root_only_directories() {
    let h = Host::new();
    // A root-owned setuid program in a directory only root can write: restored as it was.
    let sbin = h.path("bin");
    let prog = sbin.join("helper");
    fs::write(&prog, b"\x7fELF-ish").unwrap();
    fs::set_permissions(&prog, Permissions::from_mode(0o4755)).unwrap();
    let q = h.qbox.quarantine(&prog, NOW).unwrap();
    h.qbox.restore(&q.id, false, NOW + 60).unwrap();
    let m = fs::metadata(&prog).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o4755));

    // The same file, once its directory became writable by others, is not recreated there.
    let q = h.qbox.quarantine(&prog, NOW).unwrap();
    fs::set_permissions(&sbin, Permissions::from_mode(0o777)).unwrap();
    let e = h.qbox.restore(&q.id, false, NOW + 60).unwrap_err();
    assert!(matches!(e, QuarantineError::SetuidUnsafe { .. }), "{e}");
    assert!(h.names_in("bin").is_empty());
    fs::set_permissions(&sbin, Permissions::from_mode(0o755)).unwrap();
    h.qbox.restore(&q.id, false, NOW + 60).unwrap();
    assert!(Path::new(&prog).exists());
}
