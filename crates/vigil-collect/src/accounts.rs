//! Local accounts from `/etc/passwd`, with password state from `/etc/shadow` and admin rights
//! from `/etc/group`.

use std::collections::{HashMap, HashSet};

use vigil_model::{Account, AccountPassword};

use crate::{excerpt, Parsed};

/// Groups whose members can become root through sudo or su on the common distributions.
const ADMIN_GROUPS: [&str; 3] = ["sudo", "wheel", "admin"];

/// Shell suffixes that refuse an interactive login.
const NO_LOGIN_SHELLS: [&str; 5] = ["nologin", "false", "sync", "halt", "shutdown"];

/// Parses `/etc/passwd`, joining each account with its `/etc/shadow` entry and its admin groups.
///
/// `shadow` and `group` are optional because an unprivileged agent may not read shadow, and a
/// minimal container may lack group. Skip line numbers refer to passwd; skips from the other two
/// files say so in their reason. NIS compat lines (`+`, `-`) are skipped: their accounts live
/// elsewhere and their fields are overrides, not values.
pub fn accounts(passwd: &str, shadow: Option<&str>, group: Option<&str>) -> Parsed<Vec<Account>> {
    let mut out = Parsed::new(Vec::new());
    let hashes = shadow.map(|text| shadow_hashes(text, &mut out));
    let admins = group
        .map(|text| admin_groups(text, &mut out))
        .unwrap_or_default();

    for (i, raw) in passwd.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('+') || line.starts_with('-') {
            out.skip(line_no, "NIS compat entry");
            continue;
        }
        // At most one more field than expected, so a line of colons stays cheap.
        let fields: Vec<&str> = line.splitn(8, ':').collect();
        let [name, _pw, uid, gid, _gecos, home, shell] = fields[..] else {
            out.skip(
                line_no,
                format_args!("expected 7 fields, got {}", line.matches(':').count() + 1),
            );
            continue;
        };
        if name.is_empty() {
            out.skip(line_no, "empty account name");
            continue;
        }
        let (Ok(uid), Ok(gid)) = (uid.parse::<u32>(), gid.parse::<u32>()) else {
            out.skip(
                line_no,
                format_args!("bad uid or gid for '{}'", excerpt(name)),
            );
            continue;
        };
        let password = match &hashes {
            None => AccountPassword::Unknown,
            Some(map) => map
                .get(name)
                .map_or(AccountPassword::Unknown, |h| password_state(h)),
        };
        let admin = uid == 0 || admins.gids.contains(&gid) || admins.members.contains(name);
        out.value.push(Account {
            name: name.to_owned(),
            uid,
            gid,
            home: home.to_owned(),
            shell: shell.to_owned(),
            password,
            admin,
            login_shell: is_login_shell(shell),
        });
    }
    out
}

/// Name → hash field of `/etc/shadow`. The first entry for a name wins, as with `getspnam`.
fn shadow_hashes<'a, T>(text: &'a str, out: &mut Parsed<T>) -> HashMap<&'a str, &'a str> {
    let mut map = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('+') || line.starts_with('-') {
            out.skip(i + 1, "shadow: NIS compat entry");
            continue;
        }
        let mut fields = line.split(':');
        match (fields.next(), fields.next()) {
            (Some(name), Some(hash)) if !name.is_empty() => {
                map.entry(name).or_insert(hash);
            }
            _ => out.skip(i + 1, "shadow: expected name:hash:…"),
        }
    }
    map
}

/// Who the admin groups grant root to: their gids (primary group) and their listed members.
#[derive(Default)]
struct Admins<'a> {
    gids: HashSet<u32>,
    members: HashSet<&'a str>,
}

fn admin_groups<'a, T>(text: &'a str, out: &mut Parsed<T>) -> Admins<'a> {
    let mut admins = Admins::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('+') || line.starts_with('-') {
            out.skip(i + 1, "group: NIS compat entry");
            continue;
        }
        let fields: Vec<&str> = line.splitn(5, ':').collect();
        let [name, _pw, gid, members] = fields[..] else {
            out.skip(
                i + 1,
                format_args!(
                    "group: expected 4 fields, got {}",
                    line.matches(':').count() + 1
                ),
            );
            continue;
        };
        if !ADMIN_GROUPS.contains(&name) {
            continue;
        }
        match gid.parse() {
            Ok(gid) => {
                admins.gids.insert(gid);
            }
            Err(_) => out.skip(i + 1, format_args!("group: bad gid for {name}")),
        }
        admins
            .members
            .extend(members.split(',').map(str::trim).filter(|m| !m.is_empty()));
    }
    admins
}

/// Classifies a shadow hash field. `!` and `*` prefixes cover `!`, `!!`, `!*`, `*`, `*LK*` and
/// hashes locked by `passwd -l`, none of which any password can match.
fn password_state(hash: &str) -> AccountPassword {
    if hash.is_empty() {
        AccountPassword::NoPassword
    } else if hash.starts_with('!') || hash.starts_with('*') {
        AccountPassword::Locked
    } else {
        AccountPassword::HasPassword
    }
}

fn is_login_shell(shell: &str) -> bool {
    let shell = shell.trim();
    !shell.is_empty() && !NO_LOGIN_SHELLS.iter().any(|s| shell.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_states() {
        assert_eq!(password_state(""), AccountPassword::NoPassword);
        for locked in ["!", "!!", "*", "!*", "*LK*", "!$6$salt$hash"] {
            assert_eq!(password_state(locked), AccountPassword::Locked, "{locked}");
        }
        assert_eq!(password_state("$6$salt$hash"), AccountPassword::HasPassword);
        assert_eq!(password_state("$y$j9T$x$y"), AccountPassword::HasPassword);
    }

    #[test]
    fn shells() {
        assert!(is_login_shell("/bin/bash"));
        assert!(is_login_shell("/usr/bin/zsh"));
        for s in [
            "",
            "/usr/sbin/nologin",
            "/sbin/nologin",
            "/bin/false",
            "/usr/bin/false",
            "/bin/sync",
            "/sbin/halt",
            "/sbin/shutdown",
        ] {
            assert!(!is_login_shell(s), "{s:?}");
        }
    }

    #[test]
    fn admin_by_membership_primary_group_and_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      alice:x:1000:1000::/home/alice:/bin/bash\n\
                      bob:x:1001:10::/home/bob:/bin/zsh\n\
                      carol:x:1002:1002::/home/carol:/bin/sh\n\
                      dave:x:1003:1003::/home/dave:/bin/sh\n\
                      toor:x:0:0::/root:/bin/sh\n";
        let group = "root:x:0:\nwheel:x:10:\nsudo:x:27:alice, dave\n\
                     admin:x:118:\nalice:x:1000:\nusers:x:100:carol\n";
        let p = accounts(passwd, None, Some(group));
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        let admin: Vec<(&str, bool)> = p.value.iter().map(|a| (a.name.as_str(), a.admin)).collect();
        assert_eq!(
            admin,
            [
                ("root", true),
                ("alice", true),
                ("bob", true),
                ("carol", false),
                ("dave", true),
                ("toor", true),
            ]
        );
        assert!(p
            .value
            .iter()
            .all(|a| a.password == AccountPassword::Unknown));
    }

    #[test]
    fn nis_and_malformed_lines_are_skipped() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n+@netgroup::::::\n-baduser\n\
                      short:x:1\n:x:5:5::/:/bin/sh\nneg:x:-1:0::/:/bin/sh\n\n#c\n";
        let shadow = "root::1::::::\n+::::::::\nbroken\n";
        let group = "+:::\nwheel:x:ten:root\nodd:x\n";
        let p = accounts(passwd, Some(shadow), Some(group));
        assert_eq!(p.value.len(), 1);
        assert_eq!(p.value[0].password, AccountPassword::NoPassword);
        assert_eq!(p.skipped_total, 10);
        let reasons: Vec<&str> = p.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert!(reasons.contains(&"shadow: NIS compat entry"), "{reasons:?}");
        assert!(reasons.contains(&"group: NIS compat entry"), "{reasons:?}");
        assert!(reasons.contains(&"group: bad gid for wheel"), "{reasons:?}");
        assert!(reasons.contains(&"NIS compat entry"), "{reasons:?}");
    }

    #[test]
    fn first_shadow_entry_wins_and_missing_entry_is_unknown() {
        let passwd = "a:x:1:1::/:/bin/sh\nb:x:2:2::/:/bin/sh\n";
        let shadow = "a:$6$x$y:1::::::\na::1::::::\n";
        let p = accounts(passwd, Some(shadow), None);
        assert_eq!(p.value[0].password, AccountPassword::HasPassword);
        assert_eq!(p.value[1].password, AccountPassword::Unknown);
    }
}
