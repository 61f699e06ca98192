//! Unit tests of the quarantine box: ids, odd paths, damaged entries, hard links.

use super::*;

#[test]
fn ids_are_strictly_checked() {
    assert!(valid_id("0123456789abcdef"));
    for bad in [
        "",
        "ABC",
        "0123456789ABCDEF",
        "0123456789abcde",
        "0123456789abcdef0",
        "../../etc/passwd",
        "0123456789abcde/",
        "..3456789abcdef0",
    ] {
        assert!(!valid_id(bad), "{bad:?}");
    }
    let id = random_id().unwrap();
    assert!(valid_id(&id), "{id}");
}

#[test]
fn non_utf8_paths_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let qbox = QuarantineBox::open(&dir.path().join("q")).unwrap();
    let name = OsString::from_vec(b"bad-\xff-name".to_vec());
    let path = dir.path().join(name);
    fs::write(&path, b"x").unwrap();
    let q = qbox.quarantine(&path, 100).unwrap();
    assert!(q.original_path_hex.is_some());
    assert_eq!(q.path(), path);
    let json = serde_json::to_string(&q).unwrap();
    let back: QuarantinedFile = serde_json::from_str(&json).unwrap();
    assert_eq!(back.path(), path);
    qbox.restore(&q.id, false, 100).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"x");
}

#[test]
fn damaged_entries_are_reported_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let qbox = QuarantineBox::open(&dir.path().join("q")).unwrap();
    let mk = |name: &str| {
        let p = dir.path().join(name);
        fs::write(&p, name.as_bytes()).unwrap();
        qbox.quarantine(&p, 100).unwrap()
    };
    let garbled = mk("garbled");
    let no_bin = mk("no-bin");
    let no_json = mk("no-json");
    let good = mk("good");
    fs::write(qbox.json_path(&garbled.id), b"{ not json").unwrap();
    fs::remove_file(qbox.bin_path(&no_bin.id)).unwrap();
    fs::remove_file(qbox.json_path(&no_json.id)).unwrap();

    let listing = qbox.scan().unwrap();
    assert_eq!(listing.files, vec![good.clone()]);
    let mut problem_ids: Vec<_> = listing.problems.iter().map(|p| p.id.clone()).collect();
    problem_ids.sort();
    let mut want = vec![garbled.id.clone(), no_bin.id.clone(), no_json.id.clone()];
    want.sort();
    assert_eq!(problem_ids, want);
    assert_eq!(qbox.list().unwrap(), vec![good]);

    for id in [&garbled.id, &no_bin.id, &no_json.id] {
        let e = qbox.restore(id, false, 100).unwrap_err();
        assert!(matches!(e, QuarantineError::Corrupt { .. }), "{e}");
    }
    // Tampered content is caught by the hash check and nothing is written.
    let tampered = mk("tampered");
    let bin = qbox.bin_path(&tampered.id);
    fs::set_permissions(&bin, Permissions::from_mode(0o600)).unwrap();
    fs::write(&bin, b"TAMPERED").unwrap();
    let e = qbox.restore(&tampered.id, false, 100).unwrap_err();
    assert!(matches!(e, QuarantineError::HashMismatch { .. }), "{e}");
    assert!(!dir.path().join("tampered").exists());
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".vigil-restore"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Damaged entries still age out: by their record, or by the files' change time.
    let purged = qbox.purge_expired(4_000_000_000, RETENTION_SECS).unwrap();
    assert_eq!(purged.len(), 5, "{purged:?}");
    assert_eq!(fs::read_dir(qbox.dir()).unwrap().count(), 0);
}

#[test]
fn restore_refuses_a_missing_parent() {
    let dir = tempfile::tempdir().unwrap();
    let qbox = QuarantineBox::open(&dir.path().join("q")).unwrap();
    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let path = sub.join("f");
    fs::write(&path, b"data").unwrap();
    let q = qbox.quarantine(&path, 100).unwrap();
    fs::remove_dir(&sub).unwrap();
    let e = qbox.restore(&q.id, false, 100).unwrap_err();
    assert!(matches!(e, QuarantineError::ParentMissing { .. }), "{e}");
    assert!(e.to_string().contains(&sub.display().to_string()), "{e}");
    assert!(!sub.exists());
    // The entry is still there for a later attempt.
    fs::create_dir(&sub).unwrap();
    qbox.restore(&q.id, false, 100).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"data");
}

#[test]
fn hard_linked_files_are_copied_and_other_links_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let qbox = QuarantineBox::open(&dir.path().join("q")).unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    fs::write(&a, b"linked").unwrap();
    fs::set_permissions(&a, Permissions::from_mode(0o755)).unwrap();
    fs::hard_link(&a, &b).unwrap();
    let q = qbox.quarantine(&a, 100).unwrap();
    assert!(!a.exists());
    assert_eq!(fs::metadata(&b).unwrap().mode() & 0o7777, 0o755);
    let bin = fs::metadata(qbox.bin_path(&q.id)).unwrap();
    assert_eq!(bin.mode() & 0o7777, 0o400);
    assert_ne!(bin.ino(), fs::metadata(&b).unwrap().ino());
}
