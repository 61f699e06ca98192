//! The weak-password scan on trees and against this machine's real Redis and MariaDB (the tests
//! create their own weak accounts there and drop them after).

use super::*;
use std::fs;
use std::io::{BufReader, Write};
use std::net::TcpStream;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = tmp.path().join(path.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    tmp
}

fn common() -> Vec<String> {
    vigil_content::Content::embedded().weak_passwords
}

fn account<'a>(scan: &'a CredentialScan, name: &str) -> &'a AccountScan {
    scan.accounts
        .iter()
        .find(|a| a.account == name)
        .unwrap_or_else(|| panic!("no {name} in {scan:#?}"))
}

const SHADOW: &str = "\
root:$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/:19000:0:99999:7:::
alice:$1$alicesal$mQeRMOnGxOGiXetNFjLQP0:19000:0:99999:7:::
frank:$1$franksal$qXM2EBW5eM15gjoItYe4o/:19000:0:99999:7:::
bob:$y$j9T$bobsaltbobsaltbo$UcrRssWxNEULa6I7hja4j8eXCe1wh2rjryOoNkckXQ0:19000:0:99999:7:::
carol:!$6$alice2$MyN2mDn3oQ8EgpzEhPCSTYcpnuGUFywrIFkr4.r.JK5lLGl6nm5HNIrVbApFyVtRZaEvmCduOuNNEKtkQMx.b0:19000::::::
daemon:*:19000:0:99999:7:::
dave::19000:0:99999:7:::
erin:abJnggxhB/yWI:19000:0:99999:7:::
grace:$2b$05$abcdefghijklmnopqrstuuU.w/DwqWfGsjmbCuJzKyVnDDv3IEaMa:19000:0:99999:7:::
";

#[test]
fn system_accounts_are_guessed_and_only_reasons_are_reported() {
    let t = tree(&[("/etc/shadow", SHADOW)]);
    let list = common();
    let mut progress = Progress::new();
    let mut opts = Options::foreground(60, false);
    opts.max_slow_guesses = 150;
    let mut s = Scanner::new(t.path(), "web01.example.com", &list, opts, &mut progress);
    let found = s.scan();
    let scan = &found["system"];
    assert_eq!(scan.location, "/etc/shadow");
    assert_eq!(
        account(scan, "root").weak.as_deref(),
        Some("weak (in common-password list)")
    );
    assert_eq!(
        account(scan, "alice").weak.as_deref(),
        Some("weak (same as user name)")
    );
    assert_eq!(
        account(scan, "alice").guesses,
        2,
        "the empty password, then the name"
    );
    assert_eq!(
        account(scan, "frank").weak.as_deref(),
        Some("weak (made from the host name)")
    );
    assert_eq!(
        account(scan, "grace").weak.as_deref(),
        Some("weak (in common-password list)")
    );
    assert_eq!(
        account(scan, "dave").weak.as_deref(),
        Some("empty password (no password asked)")
    );
    let bob = account(scan, "bob");
    assert_eq!((bob.weak.as_deref(), bob.guesses), (None, 150), "{bob:?}");
    assert!(bob.of > 100);
    assert!(scan
        .accounts
        .iter()
        .all(|a| a.account != "carol" && a.account != "daemon"));
    assert!(scan
        .error
        .as_deref()
        .unwrap()
        .contains("erin: hash scheme not verifiable"));
    assert!(s.verified.contains_key("yescrypt") && s.verified.contains_key("md5crypt"));
    // Nothing the scan keeps or says holds a password.
    let said = format!("{found:?}{progress:?}");
    for pw in ["password", "admin123"] {
        assert!(!said.contains(&format!("\"{pw}")), "{pw} in {said}");
    }
    // The next run goes on where this one stopped, and confirms the earlier matches.
    let mut opts = Options::foreground(60, false);
    opts.max_slow_guesses = 10;
    let mut s = Scanner::new(t.path(), "web01.example.com", &list, opts, &mut progress);
    let again = s.scan();
    assert_eq!(account(&again["system"], "bob").guesses, 160);
    assert_eq!(account(&again["system"], "alice").guesses, 2);
    assert_eq!(
        s.verified["md5crypt"].0, 2,
        "alice and frank: one confirming guess each"
    );
}

#[test]
fn a_changed_password_starts_afresh_and_pacing_keeps_to_its_share() {
    let list = common();
    let mut progress = Progress::new();
    let t = tree(&[("/etc/shadow", SHADOW)]);
    let mut opts = Options::foreground(60, false);
    opts.max_slow_guesses = 3;
    Scanner::new(t.path(), "h", &list, opts.clone(), &mut progress).scan();
    let changed = SHADOW.replace("mQeRMOnGxOGiXetNFjLQP0", "qXM2EBW5eM15gjoItYe4o/");
    let t2 = tree(&[("/etc/shadow", &changed)]);
    let found = Scanner::new(t2.path(), "h", &list, opts, &mut progress).scan();
    assert_eq!(
        account(&found["system"], "alice").weak,
        None,
        "a new hash is guessed anew"
    );
    assert_eq!(account(&found["system"], "alice").guesses, 3);

    // Paced at 20 %: hashing ~N ms makes the run last about 5 N.
    let only_bob: String = SHADOW.lines().filter(|l| l.starts_with("bob:")).collect();
    let t3 = tree(&[("/etc/shadow", &only_bob)]);
    let mut opts = Options::foreground(60, false);
    opts.cpu_share = 0.2;
    opts.max_slow_guesses = 6;
    let mut p = Progress::new();
    let started = Instant::now();
    let mut s = Scanner::new(t3.path(), "h", &list, opts, &mut p);
    s.scan();
    let hashing = s.verified["yescrypt"].1;
    let wall = started.elapsed();
    assert!(
        wall >= hashing * 3,
        "wall {wall:?} for {hashing:?} of hashing"
    );
}

fn redis(args: &[&str]) -> Vec<String> {
    let mut c = TcpStream::connect("127.0.0.1:6379").expect("Redis on 127.0.0.1:6379");
    let mut msg = format!("*{}\r\n", args.len());
    for a in args {
        msg.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    c.write_all(msg.as_bytes()).unwrap();
    let mut budget = 1 << 20;
    redis::reply(&mut BufReader::new(c), &mut budget).unwrap()
}

struct RedisUsers(&'static [&'static str]);
impl Drop for RedisUsers {
    fn drop(&mut self) {
        for u in self.0 {
            let _ = redis(&["ACL", "DELUSER", u]);
        }
    }
}

#[test]
fn redis_acl_users_on_the_real_server() {
    let _cleanup = RedisUsers(&["vigil_weak_r", "vigil_strong_r", "vigil_nopass_r"]);
    redis(&[
        "ACL",
        "SETUSER",
        "vigil_weak_r",
        "on",
        ">password123",
        "~*",
        "+@all",
    ]);
    redis(&[
        "ACL",
        "SETUSER",
        "vigil_strong_r",
        "on",
        ">k7#Qm2!vZ9@pL4w",
        "~*",
        "+@all",
    ]);
    redis(&[
        "ACL",
        "SETUSER",
        "vigil_nopass_r",
        "on",
        "nopass",
        "~*",
        "+get",
    ]);
    let t = tree(&[("/etc/redis/redis.conf", "port 6379\nbind 127.0.0.1\n")]);
    let list = common();
    let mut progress = Progress::new();
    let found = Scanner::new(
        t.path(),
        "h",
        &list,
        Options::foreground(60, true),
        &mut progress,
    )
    .scan();
    let scan = &found["redis"];
    assert_eq!(scan.location, "redis 127.0.0.1:6379");
    assert_eq!(
        account(scan, "vigil_weak_r").weak.as_deref(),
        Some("weak (in common-password list)")
    );
    let strong = account(scan, "vigil_strong_r");
    assert_eq!(strong.weak, None);
    assert_eq!(strong.guesses, strong.of, "a fast hash gets every guess");
    assert!(account(scan, "vigil_nopass_r")
        .weak
        .as_deref()
        .unwrap()
        .starts_with("no password"));
    assert!(
        account(scan, "default").weak.is_some(),
        "this machine's Redis has no password"
    );

    // A tree without the network: only what its files say.
    let t = tree(&[(
        "/etc/redis/redis.conf",
        "requirepass \"foobared\"\nuser app on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~*\n",
    )]);
    let found = Scanner::new(
        t.path(),
        "h",
        &list,
        Options::foreground(60, false),
        &mut progress,
    )
    .scan();
    let scan = &found["redis"];
    assert_eq!(scan.location, "/etc/redis/redis.conf");
    assert_eq!(
        account(scan, "default").weak.as_deref(),
        Some("weak (in common-password list)")
    );
    assert_eq!(
        account(scan, "app").weak.as_deref(),
        Some("weak (in common-password list)")
    );
}

/// A session as this machine's MariaDB root (empty password).
fn mariadb() -> mysql::Conn {
    let addr = mysql::Addr::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 3306)));
    mysql::Conn::open(&addr, "root", "", None).expect("MariaDB on 127.0.0.1:3306 as root")
}

struct Sql(&'static [&'static str]);
impl Drop for Sql {
    fn drop(&mut self) {
        let mut c = mariadb();
        for q in self.0 {
            let _ = c.query(q);
        }
    }
}

#[test]
fn mysql_accounts_on_the_real_server() {
    let _cleanup = Sql(&[
        "DROP USER IF EXISTS 'vigil_weak_m'@'localhost'",
        "DROP USER IF EXISTS 'vigil_strong_m'@'localhost'",
        "DROP USER IF EXISTS 'vigil_try_m'@'%'",
    ]);
    let mut c = mariadb();
    for q in [
        "CREATE OR REPLACE USER 'vigil_weak_m'@'localhost' IDENTIFIED BY 'qwerty123'",
        "CREATE OR REPLACE USER 'vigil_strong_m'@'localhost' IDENTIFIED BY 'k7#Qm2!vZ9@pL4w'",
        "CREATE OR REPLACE USER 'vigil_try_m'@'%' IDENTIFIED BY 'vigil_try_m123'",
    ] {
        c.query(q).unwrap();
    }
    let t = tree(&[("/etc/mysql/my.cnf", "[mysqld]\nbind-address = 127.0.0.1\n")]);
    let list = common();
    let mut progress = Progress::new();
    let mut s = Scanner::new(
        t.path(),
        "h",
        &list,
        Options::foreground(60, true),
        &mut progress,
    );
    let found = s.scan();
    let scan = &found["mysql"];
    assert_eq!(
        account(scan, "vigil_weak_m@localhost").weak.as_deref(),
        Some("weak (in common-password list)")
    );
    let strong = account(scan, "vigil_strong_m@localhost");
    assert_eq!((strong.weak.as_deref(), strong.guesses), (None, strong.of));
    assert_eq!(
        account(scan, "root@localhost").weak.as_deref(),
        Some("empty password (the scan logged in with it)")
    );
    let remote = &found["mysql_remote_root"];
    assert!(
        remote.accounts.iter().all(|a| a.weak.is_none()),
        "{remote:?}"
    );
    assert!(!remote.accounts.is_empty());

    // Login tries: paced, and stopping before the lock-out.
    let mut opts = Options::foreground(60, true);
    opts.login_tries = 30;
    opts.login_pause = Duration::from_millis(10);
    let mut s = Scanner::new(t.path(), "h", &list, opts, &mut progress);
    let a = mysql::try_user(&mut s, 3306, "vigil_try_m", None);
    assert_eq!(
        a.weak.as_deref(),
        Some("weak (user name with a small change)")
    );
    assert!(a.guesses > 3 && a.guesses <= 30, "{a:?}");
    let a = mysql::try_user(&mut s, 3306, "vigil_try_m", Some(3));
    assert_eq!(
        (a.weak.as_deref(), a.guesses),
        (None, 2),
        "two tries, below a lock-out of three"
    );
}

#[test]
fn wordpress_administrators_on_the_real_server() {
    let _cleanup = Sql(&["DROP DATABASE IF EXISTS vigil_wp_t"]);
    let mut c = mariadb();
    for q in [
        "CREATE OR REPLACE DATABASE vigil_wp_t",
        "CREATE TABLE vigil_wp_t.wp_users (ID BIGINT PRIMARY KEY, user_login VARCHAR(60), user_pass VARCHAR(255))",
        "CREATE TABLE vigil_wp_t.wp_usermeta (umeta_id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT, meta_key VARCHAR(255), meta_value LONGTEXT)",
        // admin123 (phpass), "password" (WordPress 6.8 bcrypt), and a weak editor who is no admin.
        "INSERT INTO vigil_wp_t.wp_users VALUES (1, 'admin', '$P$BabcdefghdV/ZccqPqA4JLR6jKFuSJ0'), \
         (2, 'boss', '$wp$2y$05$abcdefghijklmnopqrstuu18AhBggyMMMw64ek0wmg0gpU4Sq05Gu'), \
         (3, 'ed', '$P$6saltsaltRxaFvRrkynTitytVBZApo0')",
        "INSERT INTO vigil_wp_t.wp_usermeta (user_id, meta_key, meta_value) VALUES \
         (1, 'wp_capabilities', 'a:1:{s:13:\"administrator\";b:1;}'), \
         (2, 'wp_capabilities', 'a:1:{s:13:\"administrator\";b:1;}'), \
         (3, 'wp_capabilities', 'a:1:{s:6:\"editor\";b:1;}')",
    ] {
        c.query(q).unwrap();
    }
    let config = "<?php\ndefine( 'DB_NAME', 'vigil_wp_t' );\ndefine( 'DB_USER', 'root' );\n\
                  define( 'DB_PASSWORD', '' );\ndefine( 'DB_HOST', '127.0.0.1' );\n$table_prefix = 'wp_';\n";
    let t = tree(&[("/var/www/blog/wp-config.php", config)]);
    let list = common();
    let mut progress = Progress::new();
    let found = Scanner::new(
        t.path(),
        "h",
        &list,
        Options::foreground(60, true),
        &mut progress,
    )
    .scan();
    let scan = &found["wordpress"];
    let at = "(/var/www/blog/wp-config.php)";
    assert_eq!(
        account(scan, &format!("administrator admin {at}"))
            .weak
            .as_deref(),
        Some("weak (user name with a small change)")
    );
    assert_eq!(
        account(scan, &format!("administrator boss {at}"))
            .weak
            .as_deref(),
        Some("weak (in common-password list)")
    );
    assert!(
        scan.accounts.iter().all(|a| !a.account.contains(" ed ")),
        "{scan:?}"
    );
    assert_eq!(
        account(scan, &format!("database user root {at}"))
            .weak
            .as_deref(),
        Some("empty password")
    );
    assert_eq!(scan.error, None);
}

#[test]
fn john_data_list_is_read_after_the_shipped_one() {
    assert!(
        Path::new(JOHN_LIST).is_file(),
        "{JOHN_LIST} (Debian package john-data; scripts/setup.sh installs it)"
    );
    let words = word_list(&["first".to_string(), "123456".to_string()]);
    assert_eq!(&words[..2], ["first", "123456"]);
    assert!(words.len() > 3_000, "{} words", words.len());
    assert!(words.iter().all(|w| !w.starts_with("#!comment")));
    assert_eq!(words.iter().filter(|w| *w == "123456").count(), 1);
}

#[test]
fn a_server_that_hangs_is_an_error_in_bounded_time() {
    // Accepts connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for c in listener.incoming().flatten() {
            keep.lock().unwrap().push(c);
        }
    });
    let t = tree(&[
        ("/etc/mysql/my.cnf", &format!("[mysqld]\nport = {port}\n")),
        (
            "/etc/redis/redis.conf",
            &format!("port {port}\nrequirepass k7#Qm2!vZ9@pL4w\n"),
        ),
    ]);
    let list = common();
    let mut progress = Progress::new();
    let started = Instant::now();
    let found = Scanner::new(
        t.path(),
        "h",
        &list,
        Options::foreground(60, true),
        &mut progress,
    )
    .scan();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let mysql = &found["mysql"];
    assert!(mysql.accounts.is_empty());
    assert!(
        mysql.error.as_deref().unwrap().contains("does not answer"),
        "{mysql:?}"
    );
    let redis = &found["redis"];
    assert!(
        redis
            .error
            .as_deref()
            .unwrap()
            .contains(&format!("port {port}")),
        "{redis:?}"
    );
    assert_eq!(
        account(redis, "default").weak,
        None,
        "judged from the file alone"
    );
}

#[test]
fn parsers_of_what_servers_and_files_say_never_panic() {
    // A fixed-seed stream of bytes, cut into every shape the parsers meet.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..2_000 {
        let len = (next() % 96) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| (next() % 256) as u8).collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let _ = wordpress::parse(&format!(
            "define('DB_NAME', '{text}');\n$table_prefix = '{text}';"
        ));
        let _ = wordpress::parse(&text);
        let _ = redis::reply(&mut std::io::Cursor::new(bytes.clone()), &mut 4096);
        for h in [
            format!("$1${text}"),
            format!("$P${text}"),
            format!("*{text}"),
        ] {
            if let Some(s) = hashes::Scheme::of(&h) {
                let _ = hashes::verify(s, &h, "guess");
            }
        }
    }
}
