//! MySQL/MariaDB: a small client of the wire protocol (handshake v10, `mysql_native_password`,
//! text queries), enough to read `mysql.user` when the scan can log in (Debian's maintenance
//! account, or root without a password, which is itself a finding) and guess the stored hashes
//! offline; otherwise a few paced login tries as `root`, stopping before the server's lock-out
//! (`max_connect_errors`, `max_password_errors`) and at the first answer that is not "access
//! denied".

use super::Scanner;
use ring::digest;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;
use vigil_detect::baseline::{AccountScan, CredentialScan};

const CONFIGS: &[&str] = &[
    "/etc/mysql/my.cnf",
    "/etc/mysql/mariadb.cnf",
    "/etc/mysql/conf.d/*.cnf",
    "/etc/mysql/mariadb.conf.d/*.cnf",
    "/etc/mysql/mysql.conf.d/*.cnf",
    "/etc/my.cnf",
];
const TIMEOUT: Duration = Duration::from_secs(5);
/// A packet larger than this ends the session.
const MAX_PACKET: usize = 1 << 20;
const MAX_ROWS: usize = 10_000;
/// The accounts: user, host, plugin, stored hash, locked (newest server layout first).
const ACCOUNT_QUERIES: &[&str] = &[
    "SELECT User, Host, IFNULL(JSON_VALUE(Priv, '$.plugin'), 'mysql_native_password'), \
     IFNULL(JSON_VALUE(Priv, '$.authentication_string'), ''), JSON_VALUE(Priv, '$.account_locked') \
     FROM mysql.global_priv",
    "SELECT user, host, plugin, authentication_string, account_locked FROM mysql.user",
    "SELECT user, host, plugin, authentication_string, NULL FROM mysql.user",
];
/// "Access denied": a wrong password, the one answer a login try goes on after.
pub(super) const ACCESS_DENIED: u16 = 1045;

const CLIENT_LONG_PASSWORD: u32 = 1;
const CLIENT_CONNECT_WITH_DB: u32 = 8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_TRANSACTIONS: u32 = 0x2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_PLUGIN_AUTH: u32 = 0x80000;

/// Where the server listens.
#[derive(Debug, Clone)]
pub(super) enum Addr {
    Tcp(SocketAddr),
    Unix(String),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Why a session failed: the server's error (code and message) or the transport's.
#[derive(Debug)]
pub(super) enum Error {
    Server(u16, String),
    Io(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Server(code, m) => write!(f, "error {code}: {m}"),
            Error::Io(m) => f.write_str(m),
        }
    }
}

fn io(e: std::io::Error) -> Error {
    Error::Io(e.to_string())
}

/// A logged-in session.
pub(super) struct Conn {
    s: Stream,
    seq: u8,
}

impl Conn {
    fn read_packet(&mut self) -> Result<Vec<u8>, Error> {
        let mut head = [0u8; 4];
        self.s.io().read_exact(&mut head).map_err(io)?;
        let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
        if len > MAX_PACKET {
            return Err(Error::Io(format!("a {len}-byte packet")));
        }
        self.seq = head[3].wrapping_add(1);
        let mut body = vec![0; len];
        self.s.io().read_exact(&mut body).map_err(io)?;
        Ok(body)
    }

    fn write_packet(&mut self, body: &[u8]) -> Result<(), Error> {
        let len = body.len() as u32;
        let mut p = Vec::with_capacity(body.len() + 4);
        p.extend_from_slice(&len.to_le_bytes()[..3]);
        p.push(self.seq);
        p.extend_from_slice(body);
        self.seq = self.seq.wrapping_add(1);
        self.s.io().write_all(&p).map_err(io)
    }

    /// Connects and logs in as `user` with `password` (into `db`, if given).
    pub(super) fn open(
        addr: &Addr,
        user: &str,
        password: &str,
        db: Option<&str>,
    ) -> Result<Conn, Error> {
        let s = match addr {
            Addr::Tcp(a) => {
                let t = TcpStream::connect_timeout(a, TIMEOUT).map_err(io)?;
                t.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
                t.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
                Stream::Tcp(t)
            }
            Addr::Unix(p) => {
                let u = UnixStream::connect(p).map_err(io)?;
                u.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
                u.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
                Stream::Unix(u)
            }
        };
        let mut c = Conn { s, seq: 0 };
        let hello = c.read_packet()?;
        if hello.first() == Some(&0xff) {
            return Err(server_error(&hello));
        }
        let scramble =
            handshake_scramble(&hello).ok_or_else(|| Error::Io("not a MySQL handshake".into()))?;
        let mut caps = CLIENT_LONG_PASSWORD
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH;
        if db.is_some() {
            caps |= CLIENT_CONNECT_WITH_DB;
        }
        let token = native_token(password, &scramble);
        let mut r = Vec::new();
        r.extend_from_slice(&caps.to_le_bytes());
        r.extend_from_slice(&(16u32 << 20).to_le_bytes());
        r.push(45); // utf8mb4
        r.extend_from_slice(&[0; 23]);
        r.extend_from_slice(user.as_bytes());
        r.push(0);
        r.push(token.len() as u8);
        r.extend_from_slice(&token);
        if let Some(db) = db {
            r.extend_from_slice(db.as_bytes());
            r.push(0);
        }
        r.extend_from_slice(b"mysql_native_password\0");
        c.write_packet(&r)?;
        loop {
            let p = c.read_packet()?;
            match p.first() {
                Some(0x00) => return Ok(c),
                Some(0xff) => return Err(server_error(&p)),
                Some(0xfe) => {
                    // An auth switch: only to mysql_native_password, with a new scramble.
                    let rest = &p[1..];
                    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                    let plugin = String::from_utf8_lossy(&rest[..end]).into_owned();
                    if plugin != "mysql_native_password" {
                        return Err(Error::Io(format!(
                            "the account uses {plugin}, which this check does not speak"
                        )));
                    }
                    let data = rest.get(end + 1..).unwrap_or(&[]);
                    let data: Vec<u8> = data.iter().copied().take_while(|&b| b != 0).collect();
                    c.write_packet(&native_token(password, &data))?;
                }
                _ => {
                    return Err(Error::Io(
                        "an authentication step this check does not speak".into(),
                    ))
                }
            }
        }
    }

    /// Runs a query and returns its rows (NULL as `None`), at most [`MAX_ROWS`].
    pub(super) fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, Error> {
        self.seq = 0;
        let mut q = vec![0x03];
        q.extend_from_slice(sql.as_bytes());
        self.write_packet(&q)?;
        let first = self.read_packet()?;
        match first.first() {
            Some(0xff) => return Err(server_error(&first)),
            Some(0x00) => return Ok(Vec::new()),
            _ => {}
        }
        let mut at = 0;
        let columns = lenenc(&first, &mut at).ok_or_else(|| Error::Io("bad result".into()))?;
        for _ in 0..columns {
            self.read_packet()?;
        }
        let eof = self.read_packet()?;
        if eof.first() != Some(&0xfe) {
            return Err(Error::Io("bad result".into()));
        }
        let mut rows = Vec::new();
        loop {
            let p = self.read_packet()?;
            match p.first() {
                Some(0xfe) if p.len() < 9 => return Ok(rows),
                Some(0xff) => return Err(server_error(&p)),
                _ => {}
            }
            let mut at = 0;
            let mut row = Vec::with_capacity(columns as usize);
            for _ in 0..columns {
                if p.get(at) == Some(&0xfb) {
                    at += 1;
                    row.push(None);
                    continue;
                }
                let n = lenenc(&p, &mut at).ok_or_else(|| Error::Io("bad row".into()))? as usize;
                let v = p
                    .get(at..at + n)
                    .ok_or_else(|| Error::Io("bad row".into()))?;
                at += n;
                row.push(Some(String::from_utf8_lossy(v).into_owned()));
            }
            if rows.len() < MAX_ROWS {
                rows.push(row);
            }
        }
    }
}

fn server_error(p: &[u8]) -> Error {
    let code = u16::from_le_bytes([*p.get(1).unwrap_or(&0), *p.get(2).unwrap_or(&0)]);
    let mut msg = p.get(3..).unwrap_or(&[]);
    if msg.first() == Some(&b'#') && msg.len() >= 6 {
        msg = &msg[6..];
    }
    Error::Server(
        code,
        String::from_utf8_lossy(msg).chars().take(200).collect(),
    )
}

/// A length-encoded integer at `*at`.
fn lenenc(p: &[u8], at: &mut usize) -> Option<u64> {
    let first = *p.get(*at)?;
    let n = match first {
        0..=0xfa => {
            *at += 1;
            return Some(u64::from(first));
        }
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        _ => return None,
    };
    let bytes = p.get(*at + 1..*at + 1 + n)?;
    *at += 1 + n;
    Some(
        bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| acc << 8 | u64::from(b)),
    )
}

/// The 20-byte scramble of a v10 handshake.
fn handshake_scramble(p: &[u8]) -> Option<Vec<u8>> {
    if *p.first()? != 10 {
        return None;
    }
    let ver_end = 1 + p.get(1..)?.iter().position(|&b| b == 0)?;
    let mut at = ver_end + 1 + 4; // connection id
    let mut scramble = p.get(at..at + 8)?.to_vec();
    at += 8 + 1 + 2 + 1 + 2 + 2; // filler, caps, charset, status, caps
    let data_len = usize::from(*p.get(at)?);
    at += 1 + 10;
    let more = data_len.saturating_sub(8).max(13);
    let part2 = p.get(at..at + more)?;
    scramble.extend(part2.iter().take_while(|&&b| b != 0));
    Some(scramble)
}

/// `mysql_native_password`'s answer: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))).
fn native_token(password: &str, scramble: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let sha1 = |parts: &[&[u8]]| {
        let mut c = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        for p in parts {
            c.update(p);
        }
        c.finish()
    };
    let one = sha1(&[password.as_bytes()]);
    let two = sha1(&[one.as_ref()]);
    let mix = sha1(&[scramble, two.as_ref()]);
    one.as_ref()
        .iter()
        .zip(mix.as_ref())
        .map(|(a, b)| a ^ b)
        .collect()
}

/// The server's address and lock-out settings, from its configuration.
pub(super) struct Server {
    pub addrs: Vec<Addr>,
    /// The lowest of `max_connect_errors` and `max_password_errors` set in the files.
    pub lockout: Option<u64>,
    /// `[client]` accounts the files name (Debian's `debian.cnf`): user and password.
    pub clients: Vec<(String, String)>,
}

fn ini_values<'t>(text: &'t str, keys: &[&str]) -> Vec<(&'t str, &'t str, &'t str)> {
    let mut section = "";
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']);
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let k = k.trim();
            if keys
                .iter()
                .any(|x| x.eq_ignore_ascii_case(k) || x.replace('_', "-") == k)
            {
                out.push((section, k, v.trim().trim_matches(['"', '\''])));
            }
        }
    }
    out
}

pub(super) fn server(s: &Scanner<'_>) -> Option<Server> {
    let mut texts = Vec::new();
    for pattern in CONFIGS {
        match pattern.rsplit_once("/*") {
            Some((dir, ext)) => {
                for name in s.list(dir) {
                    if name.ends_with(ext) {
                        texts.extend(s.read(&format!("{dir}/{name}")));
                    }
                }
            }
            None => texts.extend(s.read(pattern)),
        }
    }
    let debian = s.read("/etc/mysql/debian.cnf");
    if texts.is_empty() && debian.is_none() {
        return None;
    }
    let (mut port, mut socket, mut lockout) =
        (3306u16, "/run/mysqld/mysqld.sock".to_string(), None::<u64>);
    for t in &texts {
        for (section, k, v) in ini_values(
            t,
            &[
                "port",
                "socket",
                "max_connect_errors",
                "max_password_errors",
            ],
        ) {
            let server_side = matches!(section, "mysqld" | "mariadb" | "server" | "mariadbd");
            match k.replace('-', "_").as_str() {
                "port" if server_side => port = v.parse().unwrap_or(port),
                "socket" if server_side => socket = v.to_string(),
                "max_connect_errors" | "max_password_errors" if server_side => {
                    if let Ok(n) = v.parse::<u64>() {
                        lockout = Some(lockout.map_or(n, |l| l.min(n)));
                    }
                }
                _ => {}
            }
        }
    }
    let mut clients = Vec::new();
    if let Some(d) = &debian {
        let vals = ini_values(d, &["user", "password"]);
        let get = |key: &str| {
            vals.iter()
                .find(|(sec, k, _)| *sec == "client" && *k == key)
                .map(|v| v.2.to_string())
        };
        if let Some(u) = get("user") {
            clients.push((u, get("password").unwrap_or_default()));
        }
    }
    let mut addrs = Vec::new();
    if s.opts.network && s.root == std::path::Path::new("/") {
        addrs.push(Addr::Unix(socket));
    }
    addrs.push(Addr::Tcp(SocketAddr::from(([127, 0, 0, 1], port))));
    Some(Server {
        addrs,
        lockout,
        clients,
    })
}

fn is_local_host(h: &str) -> bool {
    matches!(h, "localhost" | "127.0.0.1" | "::1")
}

/// The accounts, and the root accounts that may log in from elsewhere; `None` without a server.
pub(super) fn scan(s: &mut Scanner<'_>) -> Option<(CredentialScan, Option<CredentialScan>)> {
    let srv = server(s)?;
    let location = match srv.addrs.last() {
        Some(Addr::Tcp(a)) => format!("mysql {a}"),
        _ => "mysql".into(),
    };
    let mut scan = CredentialScan {
        location: location.clone(),
        ..CredentialScan::default()
    };
    if !s.opts.network {
        scan.error = Some("a tree: the server is not asked".into());
        return Some((scan, None));
    }
    // Who the scan can read mysql.user as: the maintenance account, then root with no password.
    let mut logins: Vec<(String, String)> = srv.clients.clone();
    logins.push(("root".into(), String::new()));
    let mut session = None;
    let mut last_err = None;
    'outer: for (user, pw) in &logins {
        for addr in &srv.addrs {
            match Conn::open(addr, user, pw, None) {
                Ok(c) => {
                    session = Some((c, user.clone(), pw.is_empty()));
                    break 'outer;
                }
                Err(e) => last_err = Some(e),
            }
        }
    }
    let Some((mut conn, as_user, empty)) = session else {
        if let Some(Error::Io(e)) = &last_err {
            scan.error = Some(format!("the server does not answer: {e}"));
            return Some((scan, None));
        }
        scan.accounts.push(try_logins(s, &srv, "root"));
        return Some((scan, None));
    };
    // MariaDB 10.4+ keeps accounts in mysql.global_priv; MySQL 5.7+ has account_locked.
    let mut result = Err(Error::Io("no query".into()));
    for q in ACCOUNT_QUERIES {
        result = conn.query(q);
        if result.is_ok() {
            break;
        }
    }
    let rows = match result {
        Ok(r) => r,
        Err(e) => {
            scan.error = Some(format!("reading mysql.user as {as_user}: {e}"));
            return Some((scan, None));
        }
    };
    let mut remote = CredentialScan {
        location,
        ..CredentialScan::default()
    };
    for row in rows {
        let get = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        let (user, host, plugin, auth) = (get(0), get(1), get(2), get(3));
        if matches!(get(4).as_str(), "1" | "Y" | "true") {
            continue; // a locked account (MariaDB's mariadb.sys)
        }
        let account = format!("{user}@{host}");
        if user == "root" {
            remote.accounts.push(AccountScan {
                account: account.clone(),
                weak: (!is_local_host(&host))
                    .then(|| "root may log in from other hosts".to_string()),
                guesses: 0,
                of: 0,
            });
        }
        match plugin.as_str() {
            "mysql_native_password" | "" if auth.is_empty() => {
                let note = if empty && user == as_user {
                    " (the scan logged in with it)"
                } else {
                    ""
                };
                scan.accounts.push(AccountScan {
                    account,
                    weak: Some(format!("empty password{note}")),
                    guesses: 0,
                    of: 0,
                });
            }
            "mysql_native_password" => {
                if auth.eq_ignore_ascii_case("invalid") {
                    continue; // a locked account (MariaDB's `mysql` and `mariadb.sys`)
                }
                let (a, note) = s.guess_hash("mysql", &user, &auth);
                scan.accounts.push(AccountScan { account, ..a });
                if let Some(n) = note {
                    scan.error = Some(n);
                }
            }
            _ => {} // unix_socket, auth_socket and the like: no password to guess
        }
    }
    Some((scan, Some(remote)))
}

/// Paced login tries as `user`, stopping before the lock-out and at any answer but "denied".
fn try_logins(s: &mut Scanner<'_>, srv: &Server, user: &str) -> AccountScan {
    let guesses = super::words::candidates(user, &s.host, s.common);
    let mut limit = s.opts.login_tries.min(guesses.len() as u64);
    if let Some(l) = srv.lockout {
        limit = limit.min(l.saturating_sub(1));
    }
    let tcp: Vec<&Addr> = srv
        .addrs
        .iter()
        .filter(|a| matches!(a, Addr::Tcp(_)))
        .collect();
    let mut out = AccountScan {
        account: user.to_string(),
        of: guesses.len() as u64,
        ..AccountScan::default()
    };
    for (w, r) in guesses.iter().take(limit as usize) {
        if s.out_of_time() {
            break;
        }
        let Some(addr) = tcp.first() else { break };
        out.guesses += 1;
        match Conn::open(addr, user, w, None) {
            Ok(_) => {
                out.weak = Some(r.text().to_string());
                break;
            }
            Err(Error::Server(ACCESS_DENIED, _)) => std::thread::sleep(s.opts.login_pause),
            Err(_) => break,
        }
    }
    out
}

/// Login tries as `user` against `addr` (a test's hook into the paced path).
#[cfg(test)]
pub(super) fn try_user(
    s: &mut Scanner<'_>,
    port: u16,
    user: &str,
    lockout: Option<u64>,
) -> AccountScan {
    let srv = Server {
        addrs: vec![Addr::Tcp(SocketAddr::from(([127, 0, 0, 1], port)))],
        lockout,
        clients: Vec::new(),
    };
    try_logins(s, &srv, user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_pieces_are_bounded() {
        let mut at = 0;
        assert_eq!(lenenc(&[0xfc, 0x01, 0x02], &mut at), Some(0x0201));
        assert_eq!(at, 3);
        let mut at = 0;
        assert_eq!(lenenc(&[0xfe, 1], &mut at), None);
        assert_eq!(handshake_scramble(&[10, b'x']), None);
        assert_eq!(handshake_scramble(&[]), None);
        assert!(native_token("", b"01234567890123456789").is_empty());
        assert_eq!(native_token("pw", b"01234567890123456789").len(), 20);
        match server_error(&[
            0xff, 0x15, 0x04, b'#', b'2', b'8', b'0', b'0', b'0', b'n', b'o',
        ]) {
            Error::Server(1045, m) => assert_eq!(m, "no"),
            e => panic!("{e}"),
        }
    }

    /// A "server" that answers with random bytes (some of them framed as packets) never makes
    /// the client panic or hang.
    #[test]
    fn random_servers_are_refused_not_trusted() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = Addr::Tcp(listener.local_addr().unwrap());
        let rounds = 300;
        std::thread::spawn(move || {
            let mut x: u64 = 0x2545_f491_4f6c_dd1d;
            for mut c in listener.incoming().flatten().take(rounds) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let len = (x % 120) as usize;
                let mut body: Vec<u8> = (0..len).map(|i| (x >> (i % 56)) as u8).collect();
                if x.is_multiple_of(3) && !body.is_empty() {
                    // A plausible frame: a length that fits, sequence 0, protocol 10.
                    body[0] = 10;
                    let mut framed = (body.len() as u32).to_le_bytes()[..3].to_vec();
                    framed.push(0);
                    framed.extend(body);
                    body = framed;
                }
                let _ = c.write_all(&body);
            }
        });
        for _ in 0..rounds {
            assert!(Conn::open(&addr, "root", "pw", Some("db")).is_err());
        }
    }
}
