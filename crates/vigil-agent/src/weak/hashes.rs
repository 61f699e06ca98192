//! Password hash schemes the weak-password checks verify guesses against: the crypt(3) forms
//! of `/etc/shadow` (yescrypt, sha512crypt, sha256crypt, md5crypt, bcrypt), WordPress's
//! phpass and its newer bcrypt form, MySQL's native password, and Redis ACL SHA-256.

use md5::{Digest, Md5};
use ring::{digest, hmac};
use sha_crypt::PasswordVerifier as _;

/// A hash scheme by its marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scheme {
    Yescrypt,
    Sha512Crypt,
    Sha256Crypt,
    Md5Crypt,
    Bcrypt,
    /// `$P$`/`$H$` portable hashes (WordPress before 6.8, phpBB).
    Phpass,
    /// `$wp$2y$…`: WordPress 6.8's bcrypt of an HMAC-SHA-384 of the password.
    WordPressBcrypt,
    /// `*` and 40 hex digits: SHA1(SHA1(password)).
    MysqlNative,
    /// 64 hex digits: Redis ACL `#` passwords.
    Sha256Hex,
}

impl Scheme {
    /// The scheme of a stored hash, or `None` for one we cannot verify (or a locked field).
    pub fn of(hash: &str) -> Option<Scheme> {
        let h = hash.trim();
        Some(if h.starts_with("$y$") {
            Scheme::Yescrypt
        } else if h.starts_with("$6$") {
            Scheme::Sha512Crypt
        } else if h.starts_with("$5$") {
            Scheme::Sha256Crypt
        } else if h.starts_with("$1$") {
            Scheme::Md5Crypt
        } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| h.starts_with(p)) {
            Scheme::Bcrypt
        } else if (h.starts_with("$P$") || h.starts_with("$H$")) && h.len() == 34 {
            Scheme::Phpass
        } else if h.starts_with("$wp$2") {
            Scheme::WordPressBcrypt
        } else if h.len() == 41 && h.starts_with('*') && hex_digits(&h[1..]) {
            Scheme::MysqlNative
        } else if h.len() == 64 && hex_digits(h) {
            Scheme::Sha256Hex
        } else {
            return None;
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Yescrypt => "yescrypt",
            Scheme::Sha512Crypt => "sha512crypt",
            Scheme::Sha256Crypt => "sha256crypt",
            Scheme::Md5Crypt => "md5crypt",
            Scheme::Bcrypt => "bcrypt",
            Scheme::Phpass => "phpass",
            Scheme::WordPressBcrypt => "wordpress-bcrypt",
            Scheme::MysqlNative => "mysql_native_password",
            Scheme::Sha256Hex => "sha256",
        }
    }

    /// True for schemes made slow on purpose, whose guesses the budget must pace.
    pub fn slow(self) -> bool {
        !matches!(self, Scheme::MysqlNative | Scheme::Sha256Hex)
    }
}

fn hex_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True when `guess` is the password of `hash` (of scheme `scheme`). A malformed hash is never
/// matched.
pub fn verify(scheme: Scheme, hash: &str, guess: &str) -> bool {
    let hash = hash.trim();
    match scheme {
        Scheme::Yescrypt => yescrypt::Yescrypt::default()
            .verify_password(guess.as_bytes(), hash)
            .is_ok(),
        Scheme::Sha512Crypt | Scheme::Sha256Crypt => sha_crypt::ShaCrypt::default()
            .verify_password(guess.as_bytes(), hash)
            .is_ok(),
        Scheme::Md5Crypt => md5_crypt(guess.as_bytes(), hash).is_some_and(|h| h == hash),
        Scheme::Bcrypt => bcrypt::verify(guess, hash).unwrap_or(false),
        Scheme::Phpass => phpass(guess.as_bytes(), hash).is_some_and(|h| h == hash),
        Scheme::WordPressBcrypt => {
            let key = hmac::Key::new(hmac::HMAC_SHA384, b"wp-sha384");
            let tag = hmac::sign(&key, guess.as_bytes());
            let pre = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, tag);
            bcrypt::verify(pre, &hash[3..]).unwrap_or(false)
        }
        Scheme::MysqlNative => {
            let once = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, guess.as_bytes());
            let twice = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, once.as_ref());
            hash[1..].eq_ignore_ascii_case(&hex::encode(twice))
        }
        Scheme::Sha256Hex => {
            let d = digest::digest(&digest::SHA256, guess.as_bytes());
            hash.eq_ignore_ascii_case(&hex::encode(d))
        }
    }
}

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The crypt(3) `$1$` hash of `pw` with the salt of `setting` (poul-henning kamp's md5crypt).
fn md5_crypt(pw: &[u8], setting: &str) -> Option<String> {
    let rest = setting.strip_prefix("$1$")?;
    let salt = rest.split('$').next()?;
    let salt = &salt.as_bytes()[..salt.len().min(8)];
    let alt = md5(&[pw, salt, pw]);
    let mut ctx = Md5::new();
    ctx.update(pw);
    ctx.update(b"$1$");
    ctx.update(salt);
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = pw.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&pw[..1]);
        }
        i >>= 1;
    }
    let mut fin: [u8; 16] = ctx.finalize().into();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(pw);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(pw);
        }
        if round & 1 == 1 {
            c.update(fin);
        } else {
            c.update(pw);
        }
        fin = c.finalize().into();
    }
    let mut out = format!("$1${}$", std::str::from_utf8(salt).ok()?);
    let mut put = |v: u32, n: usize| {
        let mut v = v;
        for _ in 0..n {
            out.push(ITOA64[(v & 0x3f) as usize] as char);
            v >>= 6;
        }
    };
    let b = |i: usize| u32::from(fin[i]);
    for (x, y, z) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        put((b(x) << 16) | (b(y) << 8) | b(z), 4);
    }
    put(b(11), 2);
    Some(out)
}

/// The phpass portable hash of `pw` with the cost and salt of `setting`.
fn phpass(pw: &[u8], setting: &str) -> Option<String> {
    let s = setting.as_bytes();
    let marker = *s.get(3)?;
    let log2 = ITOA64.iter().position(|&c| c == marker)?;
    if !(7..=30).contains(&log2) {
        return None;
    }
    let salt = s.get(4..12)?;
    let mut hash = md5(&[salt, pw]);
    for _ in 0..(1u64 << log2) {
        hash = md5(&[&hash, pw]);
    }
    let mut out = std::str::from_utf8(&s[..12]).ok()?.to_string();
    // phpass's encode64: little-endian 6-bit groups of 3 bytes.
    let mut i = 0;
    while i < 16 {
        let mut v = u32::from(hash[i]);
        i += 1;
        out.push(ITOA64[(v & 0x3f) as usize] as char);
        if i < 16 {
            v |= u32::from(hash[i]) << 8;
        }
        out.push(ITOA64[((v >> 6) & 0x3f) as usize] as char);
        if i >= 16 {
            break;
        }
        i += 1;
        if i < 16 {
            v |= u32::from(hash[i]) << 16;
        }
        out.push(ITOA64[((v >> 12) & 0x3f) as usize] as char);
        if i >= 16 {
            break;
        }
        i += 1;
        out.push(ITOA64[((v >> 18) & 0x3f) as usize] as char);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes made by other implementations (OpenSSL's `passwd`, glibc/libxcrypt's `mkpasswd`,
    /// passlib, PHP's `password_hash`, MySQL's `PASSWORD()`), never by this file.
    const KNOWN: &[(&str, &str)] = &[
        // openssl passwd -1 -salt saltsalt password
        ("$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", "password"),
        // openssl passwd -5 -salt saltsalt password
        (
            "$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC.",
            "password",
        ),
        // openssl passwd -6 -salt saltsalt password
        (
            "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",
            "password",
        ),
        // libxcrypt's crypt("password", "$y$j9T$saltsaltsaltsalt$")
        (
            "$y$j9T$saltsaltsaltsalt$Uxvkjnhdr/2B6SINV1mXACdXVbd5kc899ms5aqhxMQD",
            "password",
        ),
        // libxcrypt's crypt("password", "$2b$05$abcdefghijklmnopqrstuu"), and the $2y$ form
        (
            "$2b$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu",
            "password",
        ),
        (
            "$2y$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu",
            "password",
        ),
        // passlib's phpass (salt "saltsalt", 2^8 rounds; salt "abcdefgh", 2^13 as WordPress)
        ("$P$6saltsaltRxaFvRrkynTitytVBZApo0", "password"),
        ("$P$BabcdefghdV/ZccqPqA4JLR6jKFuSJ0", "admin123"),
        // WordPress 6.8: "$wp" + bcrypt(base64(HMAC-SHA-384("wp-sha384", password))), made with
        // Python's hmac and libxcrypt
        (
            "$wp$2y$05$abcdefghijklmnopqrstuu18AhBggyMMMw64ek0wmg0gpU4Sq05Gu",
            "password",
        ),
        // MariaDB: SELECT PASSWORD('password')
        ("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", "password"),
        // printf password | sha256sum
        (
            "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
            "password",
        ),
    ];

    #[test]
    fn every_scheme_verifies_hashes_made_elsewhere() {
        for (hash, pw) in KNOWN {
            let scheme = Scheme::of(hash).unwrap_or_else(|| panic!("no scheme for {hash}"));
            assert!(verify(scheme, hash, pw), "{} {hash}", scheme.name());
            assert!(
                !verify(scheme, hash, "passwore"),
                "{} {hash}",
                scheme.name()
            );
            assert!(
                !verify(scheme, hash, "admin1234"),
                "{} {hash}",
                scheme.name()
            );
            assert!(!verify(scheme, hash, ""), "{} {hash}", scheme.name());
        }
    }

    #[test]
    fn locked_and_malformed_fields_are_never_matched() {
        for h in [
            "*",
            "!",
            "!!",
            "x",
            "",
            "!$6$abc$def",
            "$6$",
            "$1$",
            "$y$j9T$",
            "$P$",
        ] {
            if let Some(s) = Scheme::of(h) {
                assert!(!verify(s, h, ""), "{h}");
                assert!(!verify(s, h, "password"), "{h}");
            }
        }
        assert_eq!(Scheme::of("!$6$abc$def"), None);
        assert_eq!(phpass(b"x", "$P$Zsaltsalt0000000000000000000000"), None);
    }
}
