//! Installed packages from dpkg's status file, apk's installed database and rpm (query output or
//! raw headers from the sqlite rpmdb).

use vigil_model::{Package, PackageFormat};

use crate::deb822::{self, Stanza};
use crate::{excerpt, Parsed};

/// `rpm -qa --queryformat` argument whose output [`rpm_qa`] parses: one tab-separated line per
/// package. rpm expands the `\t` and `\n` escapes itself, so pass the string as it is.
pub const RPM_QUERYFORMAT: &str =
    r"%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n";

/// Parses `/var/lib/dpkg/status`, keeping packages whose files are installed and configured
/// (`install ok installed`, `hold ok installed`).
///
/// Stanzas in other states (removed with config files left, half-installed, …) are filtered out
/// silently. Stanzas that are installed but lack `Package` or `Version`, or whose `Status` is not
/// three words, are skipped with the stanza's first line number.
pub fn dpkg_status(text: &str) -> Parsed<Vec<Package>> {
    let mut out = Parsed::new(Vec::new());
    for item in deb822::items(text) {
        match item {
            deb822::Item::Stanza(s) => finish_dpkg(&s, &mut out),
            deb822::Item::Skip { line, reason } => out.skip(line, reason),
        }
    }
    out
}

fn finish_dpkg(s: &Stanza<'_>, out: &mut Parsed<Vec<Package>>) {
    let Some(status) = s.get("Status") else {
        out.skip(s.first_line, "stanza without Status");
        return;
    };
    let words: Vec<&str> = status.split_whitespace().take(4).collect();
    let [want, flag, state] = words[..] else {
        out.skip(
            s.first_line,
            format_args!("bad Status '{}'", excerpt(status)),
        );
        return;
    };
    if !(matches!(want, "install" | "hold") && flag == "ok" && state == "installed") {
        return;
    }
    let (Some(name), Some(version)) = (
        s.get("Package").filter(|p| !p.is_empty()),
        s.get("Version").filter(|v| !v.is_empty()),
    ) else {
        out.skip(s.first_line, "installed stanza without Package or Version");
        return;
    };
    let (source, source_version) = match s.get("Source").filter(|v| !v.is_empty()) {
        None => (name, version),
        Some(v) => deb822::split_source(v, version),
    };
    out.value.push(Package {
        format: PackageFormat::Dpkg,
        name: name.to_owned(),
        version: version.to_owned(),
        arch: s.get("Architecture").unwrap_or("").to_owned(),
        source: source.to_owned(),
        source_version: source_version.to_owned(),
    });
}

/// Parses apk's `/lib/apk/db/installed`: blank-line separated records of `X:value` lines.
///
/// `P` is the name, `V` the version, `A` the architecture and `o` the origin (the APKBUILD the
/// package came from, which shares its version). Records without `P` or `V` are skipped with
/// their first line number; lines that are not `X:value` are skipped on their own.
pub fn apk_installed(text: &str) -> Parsed<Vec<Package>> {
    #[derive(Default)]
    struct Record<'a> {
        first_line: usize,
        name: Option<&'a str>,
        version: Option<&'a str>,
        arch: Option<&'a str>,
        origin: Option<&'a str>,
    }
    fn finish(r: Record, out: &mut Parsed<Vec<Package>>) {
        let (Some(name), Some(version)) = (
            r.name.filter(|n| !n.is_empty()),
            r.version.filter(|v| !v.is_empty()),
        ) else {
            out.skip(r.first_line, "record without P: or V:");
            return;
        };
        let source = r.origin.filter(|o| !o.is_empty()).unwrap_or(name);
        out.value.push(Package {
            format: PackageFormat::Apk,
            name: name.to_owned(),
            version: version.to_owned(),
            arch: r.arch.unwrap_or("").to_owned(),
            source: source.to_owned(),
            source_version: version.to_owned(),
        });
    }

    let mut out = Parsed::new(Vec::new());
    let mut record: Option<Record> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            if let Some(r) = record.take() {
                finish(r, &mut out);
            }
            continue;
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || !bytes[0].is_ascii_alphanumeric() || bytes[1] != b':' {
            out.skip(
                line_no,
                format_args!("not a X:value line: '{}'", excerpt(line)),
            );
            continue;
        }
        // Both leading bytes are ASCII, so byte 2 is a character boundary.
        let value = line[2..].trim();
        let r = record.get_or_insert_with(|| Record {
            first_line: line_no,
            ..Record::default()
        });
        let slot = match bytes[0] {
            b'P' => &mut r.name,
            b'V' => &mut r.version,
            b'A' => &mut r.arch,
            b'o' => &mut r.origin,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    if let Some(r) = record {
        finish(r, &mut out);
    }
    out
}

/// Parses the output of `rpm -qa --queryformat` with [`RPM_QUERYFORMAT`].
///
/// rpm prints `(none)` for absent tags: an absent epoch counts as 0, an absent arch as empty
/// (the `gpg-pubkey` pseudo-packages have none) and an absent source rpm as the package itself.
pub fn rpm_qa(text: &str) -> Parsed<Vec<Package>> {
    let mut out = Parsed::new(Vec::new());
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.splitn(7, '\t').collect();
        let [name, epoch, version, release, arch, sourcerpm] = fields[..] else {
            out.skip(
                line_no,
                format_args!("expected 6 tab-separated fields: '{}'", excerpt(line)),
            );
            continue;
        };
        let (name, version, release) = (none(name), none(version), none(release));
        if name.is_empty() || version.is_empty() {
            out.skip(
                line_no,
                format_args!("no name or version: '{}'", excerpt(line)),
            );
            continue;
        }
        let epoch = match none(epoch) {
            "" => 0,
            e => match e.parse::<u32>() {
                Ok(e) => e,
                Err(_) => {
                    out.skip(line_no, format_args!("bad epoch '{}'", excerpt(e)));
                    continue;
                }
            },
        };
        out.value.push(rpm_package(
            name,
            epoch,
            version,
            release,
            none(arch),
            none(sourcerpm),
        ));
    }
    out
}

/// rpm's placeholder for an absent tag, as the empty string.
fn none(s: &str) -> &str {
    if s == "(none)" {
        ""
    } else {
        s
    }
}

fn rpm_package(
    name: &str,
    epoch: u32,
    version: &str,
    release: &str,
    arch: &str,
    sourcerpm: &str,
) -> Package {
    let full = evr(epoch, version, release);
    let (source, source_version) = match split_srpm(sourcerpm) {
        Some((n, v, r)) => (n.to_owned(), evr(epoch, v, r)),
        None => (name.to_owned(), full.clone()),
    };
    Package {
        format: PackageFormat::Rpm,
        name: name.to_owned(),
        version: full,
        arch: arch.to_owned(),
        source,
        source_version,
    }
}

/// `EPOCH:VERSION-RELEASE`, leaving out a zero epoch and an empty release.
fn evr(epoch: u32, version: &str, release: &str) -> String {
    let mut s = String::with_capacity(version.len() + release.len() + 12);
    if epoch != 0 {
        s.push_str(&epoch.to_string());
        s.push(':');
    }
    s.push_str(version);
    if !release.is_empty() {
        s.push('-');
        s.push_str(release);
    }
    s
}

/// `openssl-3.0.7-27.el9.src.rpm` → (`openssl`, `3.0.7`, `27.el9`). Names may contain dashes;
/// versions and releases may not, so split from the right.
fn split_srpm(srpm: &str) -> Option<(&str, &str, &str)> {
    let base = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = base.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name, version, release))
}

/// Magic of a header inside an `.rpm` file; the rpmdb stores headers without it.
const RPM_HEADER_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
/// rpm's own limits on index entries and data size (`HEADER_I_MAX`, `HEADER_D_MAX`).
const RPM_MAX_INDEX: usize = 0x1_0000;
const RPM_MAX_DATA: usize = 256 * 1024 * 1024;
/// Longest tag string accepted; rpm names, versions and file names are far shorter.
const RPM_MAX_STRING: usize = 4096;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// Parses one rpm header blob, as stored in the `blob` column of the `Packages` table of
/// `/var/lib/rpm/rpmdb.sqlite` (a leading `.rpm` header magic is accepted too).
///
/// Layout: big-endian index entry count and data length, that many 16-byte entries
/// (tag, type, offset into the data store, count), then the data store. Returns `None` when
/// NAME, VERSION or RELEASE cannot be read; every offset is bounds-checked, so any byte string
/// is safe to pass.
pub fn rpm_header(blob: &[u8]) -> Option<Package> {
    let blob = blob.strip_prefix(&RPM_HEADER_MAGIC[..]).unwrap_or(blob);
    let entries = usize::try_from(be32(blob, 0)?).ok()?;
    let data_len = usize::try_from(be32(blob, 4)?).ok()?;
    if entries == 0 || entries > RPM_MAX_INDEX || data_len > RPM_MAX_DATA {
        return None;
    }
    let index_end = entries.checked_mul(16)?.checked_add(8)?;
    let index = blob.get(8..index_end)?;
    let data = blob.get(index_end..)?;
    let data = &data[..data_len.min(data.len())];

    let mut name = None;
    let mut version = None;
    let mut release = None;
    let mut epoch = None;
    let mut arch = None;
    let mut sourcerpm = None;
    for entry in index.chunks_exact(16) {
        let (Some(tag), Some(kind), Some(offset), Some(count)) = (
            be32(entry, 0),
            be32(entry, 4),
            be32(entry, 8),
            be32(entry, 12),
        ) else {
            continue;
        };
        let Ok(offset) = usize::try_from(offset) else {
            continue;
        };
        let slot = match tag {
            TAG_EPOCH => {
                if epoch.is_none() && kind == TYPE_INT32 && count >= 1 {
                    epoch = be32(data, offset);
                }
                continue;
            }
            TAG_NAME => &mut name,
            TAG_VERSION => &mut version,
            TAG_RELEASE => &mut release,
            TAG_ARCH => &mut arch,
            TAG_SOURCERPM => &mut sourcerpm,
            _ => continue,
        };
        if slot.is_none()
            && count >= 1
            && matches!(kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING)
        {
            *slot = c_string(data, offset);
        }
    }
    let name = name.filter(|n| !n.is_empty())?;
    let version = version.filter(|v| !v.is_empty())?;
    let release = release?;
    Some(rpm_package(
        &name,
        epoch.unwrap_or(0),
        &version,
        &release,
        arch.as_deref().unwrap_or(""),
        sourcerpm.as_deref().unwrap_or(""),
    ))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

/// The NUL-terminated string at `offset`; `None` when unterminated within the limit.
fn c_string(data: &[u8], offset: usize) -> Option<String> {
    let tail = data.get(offset..)?;
    let tail = &tail[..tail.len().min(RPM_MAX_STRING + 1)];
    let end = tail.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&tail[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, version, arch, source, source version) of each package, for compact asserts.
    fn fields(pkgs: &[Package]) -> Vec<(&str, &str, &str, &str, &str)> {
        pkgs.iter()
            .map(|p| {
                (
                    &*p.name,
                    &*p.version,
                    &*p.arch,
                    &*p.source,
                    &*p.source_version,
                )
            })
            .collect()
    }

    #[test]
    fn dpkg_source_forms() {
        let text = "Package: a\nStatus: install ok installed\nVersion: 1.0-1+b2\n\
                    Source: a-src (1.0-1)\nArchitecture: amd64\n\n\
                    Package: b\nStatus: hold ok installed\nVersion: 2:3\nSource: bsrc\n\n\
                    Package: c\nstatus: install ok installed\nversion: 4\n\
                    Description: x\n more\n\tmore\n";
        let p = dpkg_status(text);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        let got = fields(&p.value);
        assert_eq!(
            got,
            [
                ("a", "1.0-1+b2", "amd64", "a-src", "1.0-1"),
                ("b", "2:3", "", "bsrc", "2:3"),
                ("c", "4", "", "c", "4"),
            ]
        );
    }

    #[test]
    fn dpkg_filters_states_and_skips_broken_stanzas() {
        let text = "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n\
                    Package: purged\nStatus: purge ok not-installed\n\n\
                    Package: half\nStatus: install reinstreq half-installed\nVersion: 1\n\n\
                    Status: install ok installed\nVersion: 1\n\n\
                    Package: nover\nStatus: install ok installed\n\n\
                    Package: nostatus\nVersion: 1\n\n\
                    Package: weird\nStatus: installed\nVersion: 1\n\n\
                    \x20orphan continuation\n\
                    garbage line\nPackage: ok\nStatus: install ok installed\nVersion: 9\n";
        let p = dpkg_status(text);
        assert_eq!(p.value.len(), 1);
        assert_eq!(p.value[0].name, "ok");
        let lines: Vec<usize> = p.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [12, 15, 18, 21, 25, 26], "{:?}", p.skipped);
    }

    #[test]
    fn apk_records() {
        let text = "C:Q1abc=\nP:musl\nV:1.2.4-r4\nA:x86_64\no:musl\n\n\
                    P:libcrypto3\nV:3.1.4-r5\no:openssl\n\n\
                    P:noversion\n\nnonsense\nP:x\nV:1\n";
        let p = apk_installed(text);
        let got: Vec<(&str, &str, &str)> = p
            .value
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.source.as_str(),
                    p.source_version.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("musl", "musl", "1.2.4-r4"),
                ("libcrypto3", "openssl", "3.1.4-r5"),
                ("x", "x", "1"),
            ]
        );
        let lines: Vec<usize> = p.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [11, 13]);
    }

    #[test]
    fn rpm_qa_lines() {
        let text = "openssl-libs\t1\t3.0.7\t27.el9\tx86_64\topenssl-3.0.7-27.el9.src.rpm\n\
                    bash\t0\t5.1.8\t9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm\n\
                    gpg-pubkey\t(none)\t350d275d\t6279464b\t(none)\t(none)\n\
                    tz\t0\t2024a\t1\tnoarch\tweird.rpm\n\
                    short\tline\n\
                    bad\tx\t1\t1\tnoarch\t(none)\n";
        let p = rpm_qa(text);
        let got = fields(&p.value);
        assert_eq!(
            got,
            [
                (
                    "openssl-libs",
                    "1:3.0.7-27.el9",
                    "x86_64",
                    "openssl",
                    "1:3.0.7-27.el9"
                ),
                ("bash", "5.1.8-9.el9", "x86_64", "bash", "5.1.8-9.el9"),
                (
                    "gpg-pubkey",
                    "350d275d-6279464b",
                    "",
                    "gpg-pubkey",
                    "350d275d-6279464b"
                ),
                ("tz", "2024a-1", "noarch", "tz", "2024a-1"),
            ]
        );
        let lines: Vec<usize> = p.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [5, 6]);
    }

    #[test]
    fn srpm_names() {
        assert_eq!(
            split_srpm("openssl-3.0.7-27.el9.src.rpm"),
            Some(("openssl", "3.0.7", "27.el9"))
        );
        assert_eq!(
            split_srpm("python-dateutil-2.8.1-7.el9.nosrc.rpm"),
            Some(("python-dateutil", "2.8.1", "7.el9"))
        );
        assert_eq!(split_srpm("foo-1.src.rpm"), None);
        assert_eq!(split_srpm("-1-2.src.rpm"), None);
        assert_eq!(split_srpm("(none)"), None);
    }

    /// Builds a header from (tag, type, data) entries, as rpm lays it out.
    fn header(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, kind, bytes) in entries {
            while *kind == TYPE_INT32 && data.len() % 4 != 0 {
                data.push(0);
            }
            for w in [*tag, *kind, data.len() as u32, 1] {
                index.extend_from_slice(&w.to_be_bytes());
            }
            data.extend_from_slice(bytes);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    #[test]
    fn synthetic_header() {
        let blob = header(&[
            (TAG_NAME, TYPE_STRING, b"curl\0"),
            (TAG_VERSION, TYPE_STRING, b"7.76.1\0"),
            (TAG_RELEASE, TYPE_STRING, b"26.el9\0"),
            (TAG_EPOCH, TYPE_INT32, &3u32.to_be_bytes()),
            (TAG_ARCH, TYPE_STRING, b"x86_64\0"),
            (TAG_SOURCERPM, TYPE_STRING, b"curl-7.76.1-26.el9.src.rpm\0"),
        ]);
        let want = Package {
            format: PackageFormat::Rpm,
            name: "curl".into(),
            version: "3:7.76.1-26.el9".into(),
            arch: "x86_64".into(),
            source: "curl".into(),
            source_version: "3:7.76.1-26.el9".into(),
        };
        assert_eq!(rpm_header(&blob), Some(want.clone()));
        let mut with_magic = RPM_HEADER_MAGIC.to_vec();
        with_magic.extend_from_slice(&blob);
        assert_eq!(rpm_header(&with_magic), Some(want));
    }

    #[test]
    fn broken_headers() {
        assert_eq!(rpm_header(b""), None);
        assert_eq!(rpm_header(&[0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(rpm_header(&[0xff; 64]), None);
        // Unterminated name.
        let blob = header(&[
            (TAG_VERSION, TYPE_STRING, b"1\0"),
            (TAG_RELEASE, TYPE_STRING, b"1\0"),
            (TAG_NAME, TYPE_STRING, b"abc"),
        ]);
        assert_eq!(rpm_header(&blob), None);
        // Name stored with the wrong type.
        let blob = header(&[
            (TAG_NAME, TYPE_INT32, &[0, 0, 0, 1]),
            (TAG_VERSION, TYPE_STRING, b"1\0"),
            (TAG_RELEASE, TYPE_STRING, b"1\0"),
        ]);
        assert_eq!(rpm_header(&blob), None);
        // Offset past the data store.
        let mut blob = header(&[
            (TAG_NAME, TYPE_STRING, b"a\0"),
            (TAG_VERSION, TYPE_STRING, b"1\0"),
            (TAG_RELEASE, TYPE_STRING, b"1\0"),
        ]);
        blob[8 + 8..8 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(rpm_header(&blob), None);
        // An epoch that runs off the end is ignored rather than fatal.
        let mut blob = header(&[
            (TAG_NAME, TYPE_STRING, b"a\0"),
            (TAG_VERSION, TYPE_STRING, b"1\0"),
            (TAG_RELEASE, TYPE_STRING, b"1\0"),
            (TAG_EPOCH, TYPE_INT32, &[0, 0, 0, 5]),
        ]);
        let len = blob.len();
        blob.truncate(len - 2);
        assert_eq!(rpm_header(&blob).map(|p| p.version), Some("1-1".into()));
    }
}
