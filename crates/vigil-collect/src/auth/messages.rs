//! The table of login messages the parsers know: each program's failed, refused and accepted
//! authentications as its source code writes them (OpenSSH `auth.c`, `auth2.c`, `auth-pam.c`,
//! `sshd.c`/`sshd-session.c` and `packet.c` across 5.x–9.x; dropbear's `svr-auth*.c`; Linux-PAM's
//! `pam_unix`; vsftpd, proftpd, pure-ftpd; MySQL and MariaDB), one real-looking line each, with
//! what the line counts as. It is the source of truth the tests check row by row.

/// What a line counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// A failed (or refused) try by `user` from `source` with `reason` (see [`super::reason`]).
    Failure {
        user: &'static str,
        source: Option<&'static str>,
        reason: &'static str,
    },
    Success {
        user: &'static str,
        source: Option<&'static str>,
    },
    /// Not a login try.
    Not,
}

/// One message: which program writes it, in which versions, an example line, what it counts as.
#[derive(Debug, Clone, Copy)]
pub struct Message {
    pub program: &'static str,
    pub versions: &'static str,
    pub line: &'static str,
    pub counted: Counted,
}

const fn fail(user: &'static str, source: &'static str, reason: &'static str) -> Counted {
    Counted::Failure {
        user,
        source: Some(source),
        reason,
    }
}

const fn ok(user: &'static str, source: &'static str) -> Counted {
    Counted::Success {
        user,
        source: Some(source),
    }
}

use super::reason::*;

/// Every message, by program.
pub const MESSAGES: &[Message] = &[
    // ---- OpenSSH: auth.c auth_log() "%s %s%s%s for %s%.100s from %.200s port %d ssh2%s%s".
    Message {
        program: "openssh",
        versions: "6.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed password for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "openssh",
        versions: "5.x (protocol 1 still built)",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed password for root from 203.0.113.5 port 40022 ssh1",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "openssh",
        versions: "3.x–4.x and distribution builds without the port",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed password for root from 203.0.113.5",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "openssh",
        versions: "6.x–9.x, IPv6",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed password for invalid user admin from 2001:db8::7 port 51000 ssh2",
        counted: fail("admin", "2001:db8::7", INVALID_USER),
    },
    Message {
        program: "openssh",
        versions: "3.x–4.x, IPv6 without a port",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed password for invalid user admin from ::ffff:203.0.113.5",
        counted: fail("admin", "203.0.113.5", INVALID_USER),
    },
    Message {
        program: "openssh",
        versions: "6.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed keyboard-interactive/pam for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "openssh",
        versions: "5.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed hostbased for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", BAD_KEY),
    },
    Message {
        program: "openssh",
        versions: "5.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed none for invalid user test from 203.0.113.5 port 40022 ssh2",
        counted: fail("test", "203.0.113.5", INVALID_USER),
    },
    Message {
        program: "openssh",
        versions: "5.x–6.x (an unknown method name)",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed unknown for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", AUTH_FAILED),
    },
    Message {
        program: "openssh",
        versions: "6.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Failed publickey for git from 203.0.113.5 port 40022 ssh2: RSA SHA256:AAAAB3NzaC1yc2E",
        counted: fail("git", "203.0.113.5", BAD_KEY),
    },
    Message {
        program: "openssh",
        versions: "5.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Accepted publickey for deploy from 198.51.100.7 port 50500 ssh2: ED25519 SHA256:abc",
        counted: ok("deploy", "198.51.100.7"),
    },
    Message {
        program: "openssh",
        versions: "9.8+ (sshd-session)",
        line: "Nov 23 10:00:01 web1 sshd-session[4242]: Failed password for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    // ---- OpenSSH: auth2.c input_userauth_request / auth.c getpwnamallow().
    Message {
        program: "openssh",
        versions: "7.5–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Invalid user oracle from 203.0.113.5 port 40022",
        counted: fail("oracle", "203.0.113.5", INVALID_USER),
    },
    Message {
        program: "openssh",
        versions: "5.x–7.4",
        line: "Nov 23 10:00:01 web1 sshd[101]: Invalid user oracle from 203.0.113.5",
        counted: fail("oracle", "203.0.113.5", INVALID_USER),
    },
    // ---- OpenSSH: auth.c allowed_user().
    Message {
        program: "openssh",
        versions: "5.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: User root from 203.0.113.5 not allowed because not listed in AllowUsers",
        counted: fail("root", "203.0.113.5", NOT_ALLOWED),
    },
    Message {
        program: "openssh",
        versions: "5.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: User bob from 203.0.113.5 not allowed because listed in DenyUsers",
        counted: fail("bob", "203.0.113.5", NOT_ALLOWED),
    },
    Message {
        program: "openssh",
        versions: "5.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: User bob from 203.0.113.5 not allowed because none of user's groups are listed in AllowGroups",
        counted: fail("bob", "203.0.113.5", NOT_ALLOWED),
    },
    Message {
        program: "openssh",
        versions: "5.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: User bob from 203.0.113.5 not allowed because a group is listed in DenyGroups",
        counted: fail("bob", "203.0.113.5", NOT_ALLOWED),
    },
    Message {
        program: "openssh",
        versions: "5.x–9.x (no source on this line)",
        line: "Nov 23 10:00:01 web1 sshd[101]: User bob not allowed because account is locked",
        counted: Counted::Failure {
            user: "bob",
            source: None,
            reason: NOT_ALLOWED,
        },
    },
    // ---- OpenSSH: auth.c auth_root_allowed().
    Message {
        program: "openssh",
        versions: "3.x–7.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: ROOT LOGIN REFUSED FROM 203.0.113.5",
        counted: fail("root", "203.0.113.5", NOT_ALLOWED),
    },
    Message {
        program: "openssh",
        versions: "6.x–7.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: ROOT LOGIN REFUSED FROM 203.0.113.5 port 40022",
        counted: fail("root", "203.0.113.5", NOT_ALLOWED),
    },
    // ---- OpenSSH: auth.c auth_maxtries_exceeded(), packet_disconnect(AUTH_FAIL_MSG).
    Message {
        program: "openssh",
        versions: "7.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: error: maximum authentication attempts exceeded for root from 203.0.113.5 port 40022 ssh2 [preauth]",
        counted: fail("root", "203.0.113.5", MAX_ATTEMPTS),
    },
    Message {
        program: "openssh",
        versions: "8.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Disconnecting authenticating user root 203.0.113.5 port 40022: Too many authentication failures [preauth]",
        counted: fail("root", "203.0.113.5", MAX_ATTEMPTS),
    },
    Message {
        program: "openssh",
        versions: "5.x–7.x (the user only; the source is the connection's)",
        line: "Nov 23 10:00:01 web1 sshd[101]: Disconnecting: Too many authentication failures for root [preauth]",
        counted: Counted::Failure {
            user: "root",
            source: None,
            reason: MAX_ATTEMPTS,
        },
    },
    // ---- OpenSSH: packet.c / sshd.c, the end of a connection.
    Message {
        program: "openssh",
        versions: "7.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Connection closed by authenticating user root 203.0.113.5 port 40022 [preauth]",
        counted: fail("root", "203.0.113.5", PREAUTH_DISCONNECT),
    },
    Message {
        program: "openssh",
        versions: "7.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Connection reset by invalid user admin 203.0.113.5 port 40022 [preauth]",
        counted: fail("admin", "203.0.113.5", PREAUTH_DISCONNECT),
    },
    Message {
        program: "openssh",
        versions: "7.x–9.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: Disconnected from invalid user admin 203.0.113.5 port 40022 [preauth]",
        counted: fail("admin", "203.0.113.5", PREAUTH_DISCONNECT),
    },
    Message {
        program: "openssh",
        versions: "5.x–9.x (the client's own reason)",
        line: "Nov 23 10:00:01 web1 sshd[101]: Received disconnect from 203.0.113.5: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
        counted: Counted::Failure {
            user: "",
            source: Some("203.0.113.5"),
            reason: PREAUTH_DISCONNECT,
        },
    },
    Message {
        program: "openssh",
        versions: "7.x–9.x (a client that simply left)",
        line: "Nov 23 10:00:01 web1 sshd[101]: Received disconnect from 203.0.113.5 port 40022:11: Bye Bye [preauth]",
        counted: Counted::Not,
    },
    Message {
        program: "openssh",
        versions: "7.x–9.x (no account tried)",
        line: "Nov 23 10:00:01 web1 sshd[101]: Connection closed by 203.0.113.5 port 40022 [preauth]",
        counted: Counted::Not,
    },
    // ---- OpenSSH: auth-pam.c (BSD, macOS, illumos/Solaris).
    Message {
        program: "openssh",
        versions: "5.x–9.x with PAM (FreeBSD, macOS)",
        line: "Nov 23 10:00:01 bsd1 sshd[101]: error: PAM: Authentication failure for root from 203.0.113.5",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "openssh",
        versions: "5.x–9.x with PAM",
        line: "Nov 23 10:00:01 bsd1 sshd[101]: error: PAM: Authentication failure for illegal user admin from 203.0.113.5",
        counted: fail("admin", "203.0.113.5", INVALID_USER),
    },
    Message {
        program: "openssh",
        versions: "FreeBSD with UseDNS: the host name, then the address",
        line: "Nov 23 10:00:01 bsd1 sshd[101]: error: PAM: authentication error for root from scanner.example.net via 203.0.113.5",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "openssh",
        versions: "illumos/Solaris, with the message id tag",
        line: "Nov 23 10:00:01 sol1 sshd[101]: [ID 800047 auth.info] Failed password for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    // ---- tcp-wrappers (libwrap) in sshd.
    Message {
        program: "openssh",
        versions: "built with libwrap",
        line: "Nov 23 10:00:01 web1 sshd[101]: refused connect from 203.0.113.5 (203.0.113.5)",
        counted: Counted::Failure {
            user: "",
            source: Some("203.0.113.5"),
            reason: NOT_ALLOWED,
        },
    },
    // ---- Syslog shapes around an sshd line.
    Message {
        program: "syslog",
        versions: "RFC 5424 with structured data",
        line: "<38>1 2026-11-23T10:00:01.123+01:00 web1 sshd 101 - [origin ip=\"10.0.0.2\"] Failed password for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "syslog",
        versions: "RFC 5424 without structured data",
        line: "<38>1 2026-11-23T09:00:01Z web1 sshd 101 - - Failed password for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "syslog",
        versions: "RFC 3164 without a host name (local socket, BSD syslogd)",
        line: "Nov 23 10:00:01 sshd[101]: Failed password for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "syslog",
        versions: "rsyslog high-precision (RFC 3339) timestamps",
        line: "2026-11-23T10:00:01.123456+01:00 web1 sshd[101]: Failed password for root from 203.0.113.5 port 40022 ssh2",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    // ---- dropbear: svr-authpasswd.c, svr-auth.c, svr-session.c.
    Message {
        program: "dropbear",
        versions: "2013.x–2024.x",
        line: "Nov 23 10:00:01 ap1 dropbear[55]: Bad password attempt for 'root' from 203.0.113.5:40022",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "dropbear",
        versions: "2013.x–2024.x built with PAM",
        line: "Nov 23 10:00:01 ap1 dropbear[55]: Bad PAM password attempt for 'root' from 203.0.113.5:40022",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "dropbear",
        versions: "2013.x–2019.x",
        line: "Nov 23 10:00:01 ap1 dropbear[55]: Login attempt for nonexistent user from 203.0.113.5:40022",
        counted: fail("", "203.0.113.5", INVALID_USER),
    },
    Message {
        program: "dropbear",
        versions: "2013.x–2024.x",
        line: "Nov 23 10:00:01 ap1 dropbear[55]: Password auth succeeded for 'root' from 198.51.100.7:50500",
        counted: ok("root", "198.51.100.7"),
    },
    Message {
        program: "dropbear",
        versions: "2016.x–2024.x (the tries were logged one by one before)",
        line: "Nov 23 10:00:01 ap1 dropbear[55]: Exit before auth from <203.0.113.5:40022>: (user 'root', 10 fails): Max auth tries reached - user 'root'",
        counted: fail("root", "203.0.113.5", MAX_ATTEMPTS),
    },
    Message {
        program: "dropbear",
        versions: "2013.x–2015.x",
        line: "Nov 23 10:00:01 ap1 dropbear[55]: Exit before auth (user 'root', 10 fails): Max auth tries reached - user 'root' from 203.0.113.5:40022",
        counted: fail("root", "203.0.113.5", MAX_ATTEMPTS),
    },
    Message {
        program: "dropbear",
        versions: "2013.x–2024.x (a client that left before any try)",
        line: "Nov 23 10:00:01 ap1 dropbear[55]: Exit before auth from <203.0.113.5:40022>: Exited normally",
        counted: Counted::Not,
    },
    // ---- Linux-PAM pam_unix, in any program.
    Message {
        program: "pam_unix",
        versions: "Linux-PAM 1.x",
        line: "Nov 23 10:00:01 web1 sshd[101]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=root",
        counted: fail("root", "203.0.113.5", PAM_FAILURE),
    },
    Message {
        program: "pam_unix",
        versions: "Linux-PAM 0.7x (RHEL 4 era)",
        line: "Nov 23 10:00:01 web1 sshd[101]: (pam_unix) authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=203.0.113.5  user=root",
        counted: fail("root", "203.0.113.5", PAM_FAILURE),
    },
    Message {
        program: "pam_unix",
        versions: "Linux-PAM, rhost as a host name",
        line: "Nov 23 10:00:01 mail1 dovecot[77]: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=alice rhost=scanner.example.net  user=alice",
        counted: fail("alice", "scanner.example.net", PAM_FAILURE),
    },
    Message {
        program: "pam_unix",
        versions: "Linux-PAM, vsftpd",
        line: "Nov 23 10:00:01 ftp1 vsftpd[88]: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=bob rhost=203.0.113.5  user=bob",
        counted: fail("bob", "203.0.113.5", PAM_FAILURE),
    },
    Message {
        program: "pam_unix",
        versions: "Linux-PAM, pure-ftpd",
        line: "Nov 23 10:00:01 ftp1 pure-ftpd[89]: pam_unix(pure-ftpd:auth): authentication failure; logname= uid=0 euid=0 tty=pure-ftpd ruser=bob rhost=203.0.113.5",
        counted: fail("bob", "203.0.113.5", PAM_FAILURE),
    },
    // ---- FTP servers' own logs.
    Message {
        program: "vsftpd",
        versions: "3.x (vsftpd.log)",
        line: "Mon Nov 23 10:00:01 2026 [pid 12] [bob] FAIL LOGIN: Client \"203.0.113.5\"",
        counted: fail("bob", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "vsftpd",
        versions: "3.x with the reason appended",
        line: "Mon Nov 23 10:00:01 2026 [pid 12] [bob] FAIL LOGIN: Client \"203.0.113.5\", \"Login incorrect.\"",
        counted: fail("bob", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "vsftpd",
        versions: "3.x (log_ftp_protocol)",
        line: "Mon Nov 23 10:00:01 2026 [pid 12] [bob] FTP response: Client \"203.0.113.5\", \"530 Login incorrect.\"",
        counted: Counted::Not,
    },
    Message {
        program: "proftpd",
        versions: "1.3.x (syslog, unknown user)",
        line: "Nov 23 10:00:01 ftp1 proftpd[90]: ftp1 (203.0.113.5[203.0.113.5]) - USER admin: no such user found from 203.0.113.5 [203.0.113.5] to 10.0.0.1:21",
        counted: fail("admin", "203.0.113.5", INVALID_USER),
    },
    Message {
        program: "proftpd",
        versions: "1.3.x (syslog)",
        line: "Nov 23 10:00:01 ftp1 proftpd[90]: ftp1 (203.0.113.5[203.0.113.5]) - USER bob (Login failed): Incorrect password",
        counted: fail("bob", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "pure-ftpd",
        versions: "1.0.x",
        line: "Nov 23 10:00:01 ftp1 pure-ftpd: (?@203.0.113.5) [WARNING] Authentication failed for user [bob]",
        counted: fail("bob", "203.0.113.5", BAD_PASSWORD),
    },
    // ---- MySQL and MariaDB error logs.
    Message {
        program: "mysql",
        versions: "8.x",
        line: "2026-11-23T09:00:01.123456Z 9 [Note] [MY-010926] [Server] Access denied for user 'root'@'203.0.113.5' (using password: YES)",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "mysql",
        versions: "5.7",
        line: "2026-11-23T09:00:01.123456Z 9 [Note] Access denied for user 'root'@'203.0.113.5' (using password: YES)",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "mysql",
        versions: "5.7–8.x general query log",
        line: "2026-11-23T09:00:01.123456Z\t   9 Connect\tAccess denied for user 'root'@'203.0.113.5' (using password: YES)",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "mariadb",
        versions: "10.x",
        line: "2026-11-23 10:00:01 9 [Warning] Access denied for user 'root'@'203.0.113.5' (using password: YES)",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
    Message {
        program: "mariadb",
        versions: "5.5–10.0 (YYMMDD)",
        line: "261123 10:00:01 [Warning] Access denied for user 'root'@'203.0.113.5' (using password: YES)",
        counted: fail("root", "203.0.113.5", BAD_PASSWORD),
    },
];

#[cfg(test)]
mod tests {
    use super::super::{parse_line, LineContext, LineResult};
    use super::*;
    use vigil_model::LoginOutcome;

    #[test]
    fn every_message_counts_as_the_table_says() {
        let mut wrong = Vec::new();
        for m in MESSAGES {
            let mut ctx = LineContext::new(1_795_442_400, 3_600);
            let got = parse_line(m.line.as_bytes(), &mut ctx);
            let seen = match &got {
                LineResult::Login(e) if e.outcome == LoginOutcome::Failure => Counted::Failure {
                    user: Box::leak(e.user.clone().into_boxed_str()),
                    source: e.source.clone().map(|s| &*Box::leak(s.into_boxed_str())),
                    reason: Box::leak(e.reason.clone().unwrap_or_default().into_boxed_str()),
                },
                LineResult::Login(e) => Counted::Success {
                    user: Box::leak(e.user.clone().into_boxed_str()),
                    source: e.source.clone().map(|s| &*Box::leak(s.into_boxed_str())),
                },
                LineResult::NotLogin => Counted::Not,
                LineResult::Skipped(r) => {
                    wrong.push(format!(
                        "{} ({}): skipped ({r}): {}",
                        m.program, m.versions, m.line
                    ));
                    continue;
                }
            };
            if seen != m.counted {
                wrong.push(format!(
                    "{} ({}): {:?}, expected {:?}: {}",
                    m.program, m.versions, seen, m.counted, m.line
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {}:\n{}",
            wrong.len(),
            MESSAGES.len(),
            wrong.join("\n")
        );
    }

    /// Every prefix of every message, and each with bytes changed, never panics (the new frames
    /// and forms included: RFC 5424 structured data, Solaris tags, PAM errors).
    #[test]
    fn cut_and_mutated_messages_never_panic() {
        let mut x: u64 = 0x51ed_270b_2a3f_91c5;
        for m in MESSAGES {
            let b = m.line.as_bytes();
            for cut in 0..=b.len() {
                let mut ctx = LineContext::new(1_795_442_400, 0);
                let _ = parse_line(&b[..cut], &mut ctx);
            }
            for _ in 0..50 {
                let mut v = b.to_vec();
                for _ in 0..3 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let at = (x as usize) % v.len();
                    v[at] = b"[]\\\" :-0\xff\x00"[(x >> 32) as usize % 10];
                }
                let mut ctx = LineContext::new(1_795_442_400, 0);
                let _ = parse_line(&v, &mut ctx);
            }
        }
    }
}
