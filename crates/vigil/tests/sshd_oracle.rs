//! The baseline's reading of sshd_config against sshd itself: for each configuration, every
//! keyword the checks judge has the value `sshd -T` prints (globally, and with `-C` for a
//! `Match` that applies). sshd is installed by scripts/setup.sh and never started.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use vigil_detect::baseline::sshd::SshdConfig;
use vigil_detect::baseline::{Facts, FileFact};

const SSHD: &str = "/usr/sbin/sshd";
const KEYWORDS: &[&str] = &[
    "permitrootlogin",
    "permitemptypasswords",
    "passwordauthentication",
    "maxauthtries",
    "x11forwarding",
    "ignorerhosts",
    "hostbasedauthentication",
    "permituserenvironment",
    "logingracetime",
    "clientaliveinterval",
    "clientalivecountmax",
    "maxstartups",
    "maxsessions",
    "loglevel",
    "ciphers",
    "macs",
    "kexalgorithms",
    "banner",
    "usepam",
    "strictmodes",
    "gatewayports",
    "permittunnel",
];

/// What sshd prints for `main` (and the connection `spec`, when given).
fn sshd_t(main: &Path, spec: Option<&str>) -> BTreeMap<String, String> {
    assert!(
        Path::new(SSHD).exists(),
        "{SSHD} is missing: run scripts/setup.sh (it installs openssh-server, not started)"
    );
    // sshd insists on its privilege-separation directory even for -T.
    fs::create_dir_all("/run/sshd").unwrap();
    let mut cmd = Command::new(SSHD);
    cmd.arg("-T").arg("-f").arg(main);
    if let Some(s) = spec {
        cmd.arg("-C").arg(s);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "sshd -T -f {}: {}",
        main.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The facts for a configuration written under `dir`: `main` stands at /etc/ssh/sshd_config,
/// the other files at their real (absolute) paths, as their `Include`s name them.
fn facts_of(dir: &Path, main: &str, others: &[(&str, &str)]) -> Facts {
    let mut f = Facts::default();
    let file = |text: &str| FileFact::File {
        text: text.to_string(),
        mode: 0o644,
        uid: 0,
        gid: 0,
    };
    f.files.insert("/etc/ssh/sshd_config".into(), file(main));
    let mut dirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (rel, text) in others {
        let p = dir.join(rel);
        f.files.insert(p.display().to_string(), file(text));
        dirs.entry(p.parent().unwrap().display().to_string())
            .or_default()
            .push(p.file_name().unwrap().to_string_lossy().into_owned());
    }
    for (d, entries) in dirs {
        f.files.insert(
            d,
            FileFact::Dir {
                mode: 0o755,
                uid: 0,
                gid: 0,
                entries,
            },
        );
    }
    f
}

fn case(name: &str, main: &str, others: &[(&str, &str)]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let main = main.replace("{DIR}", &dir.display().to_string());
    for (rel, text) in others {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    let main_path = dir.join("sshd_config");
    fs::write(&main_path, &main).unwrap();
    let truth = sshd_t(&main_path, None);
    let ours = SshdConfig::read(&facts_of(dir, &main, others)).unwrap();
    let mut differ = Vec::new();
    for k in KEYWORDS {
        let (v, at) = ours
            .value(k)
            .unwrap_or_else(|| panic!("{name}: no value for {k}"));
        let want = truth
            .get(*k)
            .unwrap_or_else(|| panic!("{name}: sshd -T prints no {k}"));
        // sshd -T prints prohibit-password by its old name.
        let want = if want == "without-password" {
            "prohibit-password"
        } else {
            want
        };
        if !v.eq_ignore_ascii_case(want) {
            differ.push(format!("{k}: ours {v:?} ({at}), sshd {want:?}"));
        }
    }
    assert!(differ.is_empty(), "{name}:\n{}", differ.join("\n"));
}

#[test]
fn defaults_match_sshd() {
    case("empty", "# nothing set\n", &[]);
}

#[test]
fn first_value_wins_and_units_and_case_are_read_as_sshd_does() {
    case(
        "plain",
        "permitrootlogin No\nPermitRootLogin yes\nLoginGraceTime 1m30s\nClientAliveInterval=5m\nMaxStartups 3:50:10\nLogLevel VERBOSE\nBanner /etc/issue.net\nUsePAM yes\nX11Forwarding yes\nMaxAuthTries 2\n",
        &[],
    );
}

#[test]
fn includes_expand_in_place_and_a_match_ends_with_its_file() {
    case(
        "includes",
        "Include {DIR}/conf.d/*.conf\nPermitRootLogin no\nPasswordAuthentication no\nMaxSessions 4\n",
        &[
            ("conf.d/50-cloud.conf", "PermitRootLogin prohibit-password\nMatch User backup\n  PasswordAuthentication yes\n"),
            ("conf.d/10-first.conf", "MaxSessions 2\n"),
            ("conf.d/README", "MaxAuthTries 1\n"),
        ],
    );
}

#[test]
fn algorithm_lists_with_plus_minus_and_caret() {
    case(
        "lists",
        "Ciphers +aes128-cbc,3des-cbc\nMACs -umac-64@openssh.com,hmac-sha1\nKexAlgorithms ^curve25519-sha256\n",
        &[],
    );
    case(
        "explicit lists",
        "Ciphers aes256-gcm@openssh.com,aes128-ctr\nMACs hmac-sha2-512-etm@openssh.com\nKexAlgorithms curve25519-sha256\n",
        &[],
    );
}

#[test]
fn a_matching_block_is_what_sshd_applies_for_that_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let main = "PasswordAuthentication no\nMatch User backup\n  PasswordAuthentication yes\n";
    let path = tmp.path().join("sshd_config");
    fs::write(&path, main).unwrap();
    let applied = sshd_t(&path, Some("user=backup,host=h,addr=10.0.0.1"));
    let ours = SshdConfig::read(&facts_of(tmp.path(), main, &[])).unwrap();
    let m = &ours.matched["passwordauthentication"][0];
    assert_eq!(m.condition, "User backup");
    assert_eq!(applied["passwordauthentication"], m.value);
    assert_eq!(ours.value("PasswordAuthentication").unwrap().0, "no");
}
