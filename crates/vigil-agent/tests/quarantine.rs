//! The quarantine box and the process actions, on real files and real processes.

use sha2::{Digest, Sha256};
use std::fs::{self, Permissions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, UNIX_EPOCH};
use vigil_agent::quarantine::{QuarantineBox, QuarantineError, RETENTION_SECS};
use vigil_agent::respond::{kill_and_quarantine, kill_process, KillOutcome, RespondError};

const DAY: i64 = 86_400;
const NOW: i64 = 1_750_000_000;

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Content with every byte value, so a text-mode or lossy copy would show.
fn sample(tag: &str) -> Vec<u8> {
    let mut v: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    v.extend_from_slice(tag.as_bytes());
    v
}

fn bin_of(qbox: &QuarantineBox, id: &str) -> PathBuf {
    qbox.dir().join(format!("{id}.bin"))
}

fn open_box(tmp: &Path) -> QuarantineBox {
    let qbox = QuarantineBox::open(&tmp.join("data/quarantine")).unwrap();
    assert_eq!(
        fs::metadata(qbox.dir()).unwrap().mode() & 0o7777,
        0o700,
        "the box is private"
    );
    qbox
}

/// Quarantines `path`, checks the box entry, restores it and checks the file is back as it was.
fn round_trip(qbox: &QuarantineBox, path: &Path, mode: u32) {
    let content = sample(&path.display().to_string());
    fs::write(path, &content).unwrap();
    fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    if is_root() {
        std::os::unix::fs::chown(path, Some(1), Some(1)).unwrap();
        // chown may clear setuid/setgid bits: set the mode again.
        fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }
    let mtime = UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let before = fs::metadata(path).unwrap();

    let q = qbox.quarantine(path, NOW).unwrap();
    assert!(
        fs::symlink_metadata(path).is_err(),
        "{} still exists",
        path.display()
    );
    assert_eq!(q.path(), path);
    assert_eq!(q.original_path, path.to_str().unwrap());
    assert_eq!((q.uid, q.gid, q.mode), (before.uid(), before.gid(), mode));
    assert_eq!(q.size, content.len() as u64);
    assert_eq!(q.sha256, hex::encode(Sha256::digest(&content)));
    assert_eq!(q.md5.len(), 32);
    assert_eq!(q.quarantined_at, NOW);
    assert_eq!((q.mtime, q.mtime_nsec), (1_600_000_000, 123_456_789));
    assert!(!q.source_deleted);
    let bin = bin_of(qbox, &q.id);
    let stored = fs::metadata(&bin).unwrap();
    assert_eq!(stored.mode() & 0o7777, 0o400, "no execute bits in the box");
    if is_root() {
        assert_eq!(
            (stored.uid(), stored.gid()),
            (0, 0),
            "owned by root in the box"
        );
    }
    assert_eq!(fs::read(&bin).unwrap(), content, "byte-exact in the box");
    let box_dev = fs::metadata(qbox.dir()).unwrap().dev();
    assert_eq!(stored.dev(), box_dev);
    if before.dev() == box_dev {
        assert_eq!(stored.ino(), before.ino(), "same filesystem: renamed");
    } else {
        assert_ne!(stored.dev(), before.dev(), "other filesystem: copied");
    }
    assert_eq!(qbox.get(&q.id).unwrap(), q);
    assert!(qbox.list().unwrap().contains(&q));

    let r = qbox.restore(&q.id, false, NOW + DAY).unwrap();
    assert!(!r.replaced);
    assert_eq!(r.file, q);
    let after = fs::metadata(path).unwrap();
    assert_eq!(fs::read(path).unwrap(), content, "same bytes");
    assert_eq!(after.mode() & 0o7777, mode, "same mode");
    assert_eq!(
        (after.uid(), after.gid()),
        (before.uid(), before.gid()),
        "same owner"
    );
    assert_eq!(after.modified().unwrap(), mtime, "same modification time");
    assert!(!bin.exists(), "the entry left the box");
    assert!(matches!(
        qbox.get(&q.id),
        Err(QuarantineError::UnknownId { .. })
    ));
}

#[test]
fn quarantine_and_restore_are_byte_exact_with_owner_and_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let qbox = open_box(tmp.path());
    let tree = tmp.path().join("www");
    fs::create_dir(&tree).unwrap();
    round_trip(&qbox, &tree.join("shell.php"), 0o640);
    round_trip(&qbox, &tree.join("miner"), 0o755);
    round_trip(&qbox, &tree.join("suid"), 0o4755);
    round_trip(&qbox, &tree.join("empty-mode"), 0o000);

    // Another filesystem: copy, sync, verify, unlink instead of rename.
    let tmp_dev = fs::metadata(tmp.path()).unwrap().dev();
    match fs::metadata("/dev/shm") {
        Ok(m) if m.is_dir() && m.dev() != tmp_dev => {
            let other = tempfile::tempdir_in("/dev/shm").unwrap();
            round_trip(&qbox, &other.path().join("dropper"), 0o755);
        }
        _ => eprintln!(
            "note: /dev/shm is missing or on the same filesystem as {}; cross-filesystem \
             sub-case skipped",
            tmp.path().display()
        ),
    }
    assert!(qbox.list().unwrap().is_empty());
}

#[test]
fn restore_never_overwrites_a_new_file_without_asking() {
    let tmp = tempfile::tempdir().unwrap();
    let qbox = open_box(tmp.path());
    let path = tmp.path().join("app.jsp");
    fs::write(&path, b"<% webshell %>").unwrap();
    let q = qbox.quarantine(&path, NOW).unwrap();

    fs::write(&path, b"new business code").unwrap();
    let e = qbox.restore(&q.id, false, NOW + 60).unwrap_err();
    assert!(
        matches!(&e, QuarantineError::Exists { path: p } if p == &path),
        "{e}"
    );
    assert!(e.to_string().contains(path.to_str().unwrap()), "{e}");
    assert_eq!(fs::read(&path).unwrap(), b"new business code", "untouched");
    assert_eq!(qbox.get(&q.id).unwrap(), q, "still in the box");

    // A symbolic link at the path counts too, and is not followed.
    let target = tmp.path().join("target");
    fs::write(&target, b"target").unwrap();
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let e = qbox.restore(&q.id, false, NOW + 60).unwrap_err();
    assert!(matches!(e, QuarantineError::Exists { .. }), "{e}");
    assert_eq!(fs::read(&target).unwrap(), b"target");

    // A directory is never replaced, even with overwrite.
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    let e = qbox.restore(&q.id, true, NOW + 60).unwrap_err();
    assert!(matches!(e, QuarantineError::Directory { .. }), "{e}");
    fs::remove_dir(&path).unwrap();

    fs::write(&path, b"new business code").unwrap();
    let r = qbox.restore(&q.id, true, NOW + 60).unwrap();
    assert!(r.replaced);
    assert_eq!(fs::read(&path).unwrap(), b"<% webshell %>");
    assert_eq!(fs::read(&target).unwrap(), b"target");
    let stray: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".vigil-restore"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn entries_expire_after_30_days() {
    assert_eq!(RETENTION_SECS, 2_592_000);
    let tmp = tempfile::tempdir().unwrap();
    let qbox = open_box(tmp.path());
    let old_path = tmp.path().join("old");
    let new_path = tmp.path().join("new");
    fs::write(&old_path, b"old").unwrap();
    fs::write(&new_path, b"new").unwrap();
    let old = qbox.quarantine(&old_path, NOW).unwrap();
    let new = qbox.quarantine(&new_path, NOW + 10 * DAY).unwrap();
    assert_eq!(old.expires_at(), NOW + 30 * DAY);

    // Day 30: still restorable, nothing purged.
    assert!(qbox
        .purge_expired(NOW + 30 * DAY, RETENTION_SECS)
        .unwrap()
        .is_empty());
    // Day 31: refused even though no purge ran yet.
    let e = qbox.restore(&old.id, false, NOW + 31 * DAY).unwrap_err();
    assert!(matches!(e, QuarantineError::Expired { .. }), "{e}");
    assert!(e.to_string().contains(old_path.to_str().unwrap()), "{e}");
    assert!(!old_path.exists());

    let purged = qbox.purge_expired(NOW + 31 * DAY, RETENTION_SECS).unwrap();
    assert_eq!(purged, vec![old.id.clone()]);
    assert!(!bin_of(&qbox, &old.id).exists());
    assert_eq!(qbox.list().unwrap(), vec![new.clone()]);
    assert!(matches!(
        qbox.restore(&old.id, false, NOW + 31 * DAY),
        Err(QuarantineError::UnknownId { .. })
    ));
    // The younger one is still restorable on its own day 30.
    qbox.restore(&new.id, false, NOW + 40 * DAY).unwrap();
    assert_eq!(fs::read(&new_path).unwrap(), b"new");
}

#[test]
fn ids_from_outside_cannot_escape_the_box() {
    let tmp = tempfile::tempdir().unwrap();
    let qbox = open_box(tmp.path());
    let victim = tmp.path().join("victim");
    fs::write(&victim, b"keep me").unwrap();
    for id in [
        "../../etc/passwd",
        "ABC",
        "",
        "0123456789ABCDEF",
        "../victim",
        "/etc/passwd",
        "0123456789abcdef/..",
        "0123456789abcde",
    ] {
        let e = qbox.restore(id, true, NOW).unwrap_err();
        assert!(
            matches!(e, QuarantineError::InvalidId { .. }),
            "{id:?}: {e}"
        );
        let e = qbox.get(id).unwrap_err();
        assert!(
            matches!(e, QuarantineError::InvalidId { .. }),
            "{id:?}: {e}"
        );
    }
    assert!(matches!(
        qbox.restore("0123456789abcdef", false, NOW),
        Err(QuarantineError::UnknownId { .. })
    ));
    assert_eq!(fs::read(&victim).unwrap(), b"keep me");
}

#[test]
fn refuses_what_is_not_a_regular_file_outside_the_box() {
    let tmp = tempfile::tempdir().unwrap();
    let qbox = open_box(tmp.path());
    let target = tmp.path().join("target");
    fs::write(&target, b"target").unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let dir = tmp.path().join("dir");
    fs::create_dir(&dir).unwrap();

    let e = qbox.quarantine(&link, NOW).unwrap_err();
    assert!(matches!(e, QuarantineError::Symlink { .. }), "{e}");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read(&target).unwrap(), b"target");

    let e = qbox.quarantine(&dir, NOW).unwrap_err();
    assert!(matches!(e, QuarantineError::Directory { .. }), "{e}");
    assert!(dir.is_dir());

    let e = qbox.quarantine(Path::new("/dev/null"), NOW).unwrap_err();
    assert!(matches!(e, QuarantineError::NotRegular { .. }), "{e}");
    assert!(e.to_string().contains("/dev/null"), "{e}");
    assert!(Path::new("/dev/null").exists());

    let e = qbox.quarantine(Path::new("target"), NOW).unwrap_err();
    assert!(matches!(e, QuarantineError::NotAbsolute { .. }), "{e}");

    let e = qbox
        .quarantine(&tmp.path().join("missing"), NOW)
        .unwrap_err();
    assert!(matches!(e, QuarantineError::NotFound { .. }), "{e}");

    // Inside the box: an entry's own files, directly and through a symlinked directory.
    let q = qbox.quarantine(&target, NOW).unwrap();
    let bin = bin_of(&qbox, &q.id);
    let json = qbox.dir().join(format!("{}.json", q.id));
    for p in [bin.clone(), json.clone()] {
        let e = qbox.quarantine(&p, NOW).unwrap_err();
        assert!(matches!(e, QuarantineError::InsideBox { .. }), "{e}");
    }
    let via = tmp.path().join("via");
    std::os::unix::fs::symlink(qbox.dir(), &via).unwrap();
    let e = qbox
        .quarantine(&via.join(format!("{}.bin", q.id)), NOW)
        .unwrap_err();
    assert!(matches!(e, QuarantineError::InsideBox { .. }), "{e}");
    let e = qbox
        .quarantine(
            &tmp.path()
                .join("data/quarantine/../quarantine")
                .join(format!("{}.json", q.id)),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(e, QuarantineError::InsideBox { .. }), "{e}");
    assert!(bin.exists() && json.exists());
    assert_eq!(qbox.list().unwrap(), vec![q]);
}

// ---- processes ----

/// Spawns `program 60`, retrying while the freshly written binary is still "text busy" (another
/// test thread may be forking while a copy is open for writing).
fn spawn_sleep(program: &Path) -> Child {
    for _ in 0..50 {
        match Command::new(program).arg("60").spawn() {
            Ok(c) => return c,
            Err(e) if e.raw_os_error() == Some(26 /* ETXTBSY */) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("spawning {}: {e}", program.display()),
        }
    }
    panic!("{} stayed busy", program.display());
}

fn start_ticks(pid: u32) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    vigil_collect::process::stat(&text).unwrap().start_ticks
}

fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => vigil_collect::process::stat(&text).unwrap().state != 'Z',
        Err(_) => false,
    }
}

/// Reaps `child` after a kill, checking that it died of SIGKILL.
fn reap_killed(mut child: Child) {
    use std::os::unix::process::ExitStatusExt;
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
}

fn sleep_binary() -> PathBuf {
    ["/bin/sleep", "/usr/bin/sleep"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("sleep(1) is installed")
}

#[test]
fn kills_a_process_by_pid() {
    let child = spawn_sleep(&sleep_binary());
    let pid = child.id();
    let ticks = start_ticks(pid);
    let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let outcome = kill_process(pid, Some(ticks), Some(exe.to_str().unwrap())).unwrap();
    assert_eq!(outcome, KillOutcome::Killed);
    assert!(!alive(pid));
    reap_killed(child);
}

#[test]
fn a_reused_pid_is_not_killed() {
    let mut child = spawn_sleep(&sleep_binary());
    let pid = child.id();
    let ticks = start_ticks(pid);

    let e = kill_process(pid, Some(ticks + 1), None).unwrap_err();
    assert!(matches!(e, RespondError::Recycled { .. }), "{e}");
    assert!(alive(pid), "still running");

    let e = kill_process(pid, Some(ticks), Some("/usr/sbin/other-daemon")).unwrap_err();
    assert!(matches!(e, RespondError::Recycled { .. }), "{e}");
    assert!(alive(pid), "still running");

    let tmp = tempfile::tempdir().unwrap();
    let qbox = open_box(tmp.path());
    let e = kill_and_quarantine(pid, Some(ticks + 1), None, &qbox, NOW).unwrap_err();
    assert!(matches!(e, RespondError::Recycled { .. }), "{e}");
    assert!(alive(pid), "still running");
    assert!(qbox.list().unwrap().is_empty());
    assert!(sleep_binary().exists());

    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn protected_and_missing_pids() {
    let e = kill_process(1, None, None).unwrap_err();
    assert!(matches!(e, RespondError::Protected { .. }), "{e}");
    let e = kill_process(std::process::id(), None, None).unwrap_err();
    assert!(matches!(e, RespondError::Protected { .. }), "{e}");

    // A pid above the kernel's maximum can never exist, nor can one past i32.
    let pid_max: u32 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for pid in [pid_max + 1, u32::MAX] {
        let e = kill_process(pid, None, None).unwrap_err();
        assert!(matches!(e, RespondError::NotFound { .. }), "{pid}: {e}");
    }
    // A process that exited and was reaped.
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    if !Path::new(&format!("/proc/{pid}")).exists() {
        let e = kill_process(pid, None, None).unwrap_err();
        assert!(matches!(e, RespondError::NotFound { .. }), "{pid}: {e}");
    }
    // An exited process not reaped yet (a zombie) is not running either.
    let child = spawn_sleep(&sleep_binary());
    let pid = child.id();
    kill_process(pid, None, None).unwrap();
    let e = kill_process(pid, None, None).unwrap_err();
    assert!(matches!(e, RespondError::NotFound { .. }), "{pid}: {e}");
    reap_killed(child);
}

#[test]
fn kill_and_quarantine_moves_the_binary_into_the_box() {
    let tmp = tempfile::tempdir().unwrap();
    let qbox = open_box(tmp.path());
    let drop_dir = tmp.path().join("drop");
    fs::create_dir(&drop_dir).unwrap();
    let copy = drop_dir.join("kworker-fake");
    fs::copy(sleep_binary(), &copy).unwrap();
    fs::set_permissions(&copy, Permissions::from_mode(0o755)).unwrap();
    let original = fs::read(&copy).unwrap();

    let child = spawn_sleep(&copy);
    let pid = child.id();
    let ticks = start_ticks(pid);
    let (outcome, q) =
        kill_and_quarantine(pid, Some(ticks), Some(copy.to_str().unwrap()), &qbox, NOW).unwrap();
    assert_eq!(outcome, KillOutcome::Killed);
    assert!(!alive(pid));
    reap_killed(child);
    assert!(!copy.exists(), "the binary left its path");
    assert_eq!(q.path(), copy);
    assert_eq!(q.mode, 0o755);
    assert!(!q.source_deleted);
    assert_eq!(q.sha256, hex::encode(Sha256::digest(&original)));
    let bin = bin_of(&qbox, &q.id);
    assert_eq!(fs::read(&bin).unwrap(), original);
    assert_eq!(fs::metadata(&bin).unwrap().mode() & 0o7777, 0o400);
    assert_eq!(qbox.list().unwrap(), vec![q.clone()]);

    qbox.restore(&q.id, false, NOW + DAY).unwrap();
    assert_eq!(fs::read(&copy).unwrap(), original);
    assert_eq!(fs::metadata(&copy).unwrap().mode() & 0o7777, 0o755);
}

#[test]
fn kill_and_quarantine_captures_a_deleted_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let qbox = open_box(tmp.path());
    let copy = tmp.path().join("payload");
    fs::copy(sleep_binary(), &copy).unwrap();
    fs::set_permissions(&copy, Permissions::from_mode(0o750)).unwrap();
    let original = fs::read(&copy).unwrap();

    let child = spawn_sleep(&copy);
    let pid = child.id();
    fs::remove_file(&copy).unwrap();
    let link = fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(link.to_string_lossy().ends_with(" (deleted)"), "{link:?}");

    // The inventory's exe may carry the " (deleted)" suffix or not: both identify the process.
    let (outcome, q) =
        kill_and_quarantine(pid, None, Some(link.to_str().unwrap()), &qbox, NOW).unwrap();
    assert_eq!(outcome, KillOutcome::Killed);
    assert!(!alive(pid));
    reap_killed(child);
    assert!(q.source_deleted);
    assert_eq!(q.path(), copy, "recorded under its original path");
    assert_eq!(q.mode, 0o750);
    assert_eq!(q.size, original.len() as u64);
    assert_eq!(q.sha256, hex::encode(Sha256::digest(&original)));
    let bin = bin_of(&qbox, &q.id);
    assert_eq!(
        fs::read(&bin).unwrap(),
        original,
        "byte-equal to the deleted file"
    );
    assert_eq!(fs::metadata(&bin).unwrap().mode() & 0o7777, 0o400);

    qbox.restore(&q.id, false, NOW + DAY).unwrap();
    assert_eq!(fs::read(&copy).unwrap(), original);
    assert_eq!(fs::metadata(&copy).unwrap().mode() & 0o7777, 0o750);
}
