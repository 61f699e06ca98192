//! Operating system and hardware facts: os-release, `/proc/meminfo`, `/proc/cpuinfo`, `/proc/stat`.

use crate::{excerpt, Parsed};

/// The identifying fields of an os-release file (`/etc/os-release`, `/usr/lib/os-release`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsRelease {
    pub id: String,
    pub version_id: String,
    pub pretty_name: String,
    /// `VERSION_CODENAME`, else `UBUNTU_CODENAME`, else the parenthesised part of `VERSION`.
    pub codename: String,
    pub id_like: Vec<String>,
}

/// Parses an os-release file: shell-style `KEY=value` assignments, one a line.
///
/// Follows os-release(5): values may be unquoted, double-quoted (with `\"`, `\\`, `` \` `` and
/// `\$` escapes) or single-quoted; `#` lines and blank lines are ignored. A later assignment wins,
/// as it would when the file is sourced by a shell.
pub fn os_release(text: &str) -> Parsed<OsRelease> {
    let mut out = Parsed::new(OsRelease::default());
    let mut version_codename = String::new();
    let mut ubuntu_codename = String::new();
    let mut version = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, rest)) = line.split_once('=') else {
            out.skip(line_no, format_args!("no '=' in '{}'", excerpt(line)));
            continue;
        };
        let key = key.trim_end();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            out.skip(line_no, format_args!("invalid key '{}'", excerpt(key)));
            continue;
        }
        let value = match unquote(rest.trim_start()) {
            Ok(v) => v,
            Err(why) => {
                out.skip(line_no, format_args!("{}: {why}", excerpt(key)));
                continue;
            }
        };
        match key {
            "ID" => out.value.id = value,
            "VERSION_ID" => out.value.version_id = value,
            "PRETTY_NAME" => out.value.pretty_name = value,
            "ID_LIKE" => {
                out.value.id_like = value.split_whitespace().map(str::to_owned).collect();
            }
            "VERSION_CODENAME" => version_codename = value,
            "UBUNTU_CODENAME" => ubuntu_codename = value,
            "VERSION" => version = value,
            _ => {}
        }
    }
    out.value.codename = if !version_codename.is_empty() {
        version_codename
    } else if !ubuntu_codename.is_empty() {
        ubuntu_codename
    } else {
        codename_from_version(&version).to_owned()
    };
    out
}

/// `12 (bookworm)` → `bookworm`; older Debian and CentOS releases carry the codename only there.
fn codename_from_version(version: &str) -> &str {
    let Some(open) = version.rfind('(') else {
        return "";
    };
    let inner = &version[open + 1..];
    match inner.find(')') {
        Some(close) => inner[..close].trim(),
        None => "",
    }
}

/// Decodes one shell-style value. Text after a closing quote is ignored rather than rejected:
/// a stray comment after a value is more likely than deliberate shell concatenation.
fn unquote(v: &str) -> Result<String, &'static str> {
    let mut chars = v.chars();
    match chars.next() {
        None => Ok(String::new()),
        Some('"') => {
            let mut out = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Ok(out),
                    '\\' => match chars.next() {
                        Some(e @ ('"' | '\\' | '`' | '$')) => out.push(e),
                        Some(other) => {
                            out.push('\\');
                            out.push(other);
                        }
                        None => break,
                    },
                    _ => out.push(c),
                }
            }
            Err("unterminated double quote")
        }
        Some('\'') => {
            let body = chars.as_str();
            match body.find('\'') {
                Some(end) => Ok(body[..end].to_owned()),
                None => Err("unterminated single quote"),
            }
        }
        Some(_) => {
            let mut out = String::new();
            let mut chars = v.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    }
                    _ => out.push(c),
                }
            }
            Ok(out.trim_end().to_owned())
        }
    }
}

/// `MemTotal:` of `/proc/meminfo`, in kB.
pub fn meminfo_total_kb(text: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("MemTotal:")?;
        let mut words = rest.split_whitespace();
        let n = words.next()?.parse().ok()?;
        // The kernel has always written kB here; another unit means this is not meminfo.
        match words.next() {
            None | Some("kB") => Some(n),
            Some(_) => None,
        }
    })
}

/// CPU model name and logical CPU count from `/proc/cpuinfo`.
///
/// x86 writes `model name` per CPU. arm64 usually writes only `CPU implementer` and `CPU part`,
/// so those are mapped to a core name; older 32-bit ARM kernels write `Processor` and boards add
/// `Hardware`; POWER writes `cpu`. The count is the number of numbered `processor` entries.
pub fn cpuinfo(text: &str) -> (String, u32) {
    let mut count: u32 = 0;
    let mut model_name = None;
    let mut arm_processor = None;
    let mut implementer = None;
    let mut part = None;
    let mut hardware = None;
    let mut power_cpu = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        let value = value.trim();
        match key {
            "processor" if value.parse::<u64>().is_ok() => count = count.saturating_add(1),
            "model name" if model_name.is_none() && !value.is_empty() => model_name = Some(value),
            // Old ARM kernels: `Processor : ARMv7 Processor rev 4 (v7l)`.
            "Processor" if arm_processor.is_none() && !value.is_empty() => {
                arm_processor = Some(value)
            }
            "CPU implementer" if implementer.is_none() => implementer = Some(value),
            "CPU part" if part.is_none() && !value.is_empty() => part = Some(value),
            "Hardware" if hardware.is_none() && !value.is_empty() => hardware = Some(value),
            "cpu" if power_cpu.is_none() && !value.is_empty() => power_cpu = Some(value),
            _ => {}
        }
    }
    let model = model_name
        .or(arm_processor)
        .map(str::to_owned)
        .or_else(|| part.map(|p| arm_core_name(implementer.unwrap_or(""), p)))
        .or(hardware.map(str::to_owned))
        .or(power_cpu.map(str::to_owned))
        .unwrap_or_default();
    (model, count)
}

/// A readable name for an arm64 `CPU implementer`/`CPU part` pair; the raw ids when unknown.
fn arm_core_name(implementer: &str, part: &str) -> String {
    let parse = |s: &str| {
        let s = s.trim();
        let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
        u32::from_str_radix(hex, 16).ok()
    };
    let known = match (parse(implementer), parse(part)) {
        (Some(0x41), Some(p)) => match p {
            0xd03 => Some("ARM Cortex-A53"),
            0xd04 => Some("ARM Cortex-A35"),
            0xd05 => Some("ARM Cortex-A55"),
            0xd07 => Some("ARM Cortex-A57"),
            0xd08 => Some("ARM Cortex-A72"),
            0xd09 => Some("ARM Cortex-A73"),
            0xd0a => Some("ARM Cortex-A75"),
            0xd0b => Some("ARM Cortex-A76"),
            0xd0c => Some("ARM Neoverse-N1"),
            0xd0d => Some("ARM Cortex-A77"),
            0xd40 => Some("ARM Neoverse-V1"),
            0xd41 => Some("ARM Cortex-A78"),
            0xd49 => Some("ARM Neoverse-N2"),
            0xd4f => Some("ARM Neoverse-V2"),
            _ => None,
        },
        _ => None,
    };
    match known {
        Some(name) => name.to_owned(),
        None if implementer.is_empty() => format!("CPU part {}", excerpt(part)),
        None => format!(
            "CPU implementer {} part {}",
            excerpt(implementer),
            excerpt(part)
        ),
    }
}

/// Boot time in seconds since the epoch, from the `btime` line of `/proc/stat`.
pub fn boot_time(proc_stat: &str) -> Option<i64> {
    proc_stat.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != "btime" {
            return None;
        }
        words.next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_escapes() {
        let text = "# comment\n\nID=\"my\\\"distro\\\\\"\nVERSION_ID='1.0 \"x\"'\n\
                    PRETTY_NAME=plain\\ text\nID_LIKE=\"a  b\tc\"\nVERSION=\"2 (cool name)\"\n";
        let p = os_release(text);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        assert_eq!(p.value.id, "my\"distro\\");
        assert_eq!(p.value.version_id, "1.0 \"x\"");
        assert_eq!(p.value.pretty_name, "plain text");
        assert_eq!(p.value.id_like, ["a", "b", "c"]);
        assert_eq!(p.value.codename, "cool name");
    }

    #[test]
    fn other_escapes_are_kept_literally_inside_double_quotes() {
        let p = os_release("PRETTY_NAME=\"a\\nb\"\n");
        assert_eq!(p.value.pretty_name, "a\\nb");
    }

    #[test]
    fn bad_lines_are_skipped_with_line_numbers() {
        let p = os_release("ID=ok\nnot an assignment\nBAD KEY=x\nNAME=\"open\nVERSION_ID='x\n");
        assert_eq!(p.value.id, "ok");
        let lines: Vec<usize> = p.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 3, 4, 5]);
        assert_eq!(p.skipped_total, 4);
        assert!(p.skipped[2].reason.contains("unterminated double quote"));
    }

    #[test]
    fn codename_precedence() {
        let both = os_release("VERSION_CODENAME=a\nUBUNTU_CODENAME=b\nVERSION=\"1 (c)\"\n");
        assert_eq!(both.value.codename, "a");
        let ubuntu = os_release("VERSION_CODENAME=\nUBUNTU_CODENAME=b\nVERSION=\"1 (c)\"\n");
        assert_eq!(ubuntu.value.codename, "b");
        let version = os_release("VERSION=\"7 (Core)\"\n");
        assert_eq!(version.value.codename, "Core");
        assert_eq!(os_release("VERSION=\"7 (Core\"\n").value.codename, "");
        assert_eq!(os_release("VERSION=7\n").value.codename, "");
    }

    #[test]
    fn later_assignment_wins() {
        assert_eq!(os_release("ID=a\nID=b\n").value.id, "b");
    }

    #[test]
    fn meminfo_units() {
        assert_eq!(meminfo_total_kb("MemTotal:  1024 kB\n"), Some(1024));
        assert_eq!(meminfo_total_kb("MemFree: 5 kB\nMemTotal: 7\n"), Some(7));
        assert_eq!(meminfo_total_kb("MemTotal: 7 MB\n"), None);
        assert_eq!(meminfo_total_kb("MemTotal: lots kB\n"), None);
        assert_eq!(meminfo_total_kb(""), None);
    }

    #[test]
    fn cpuinfo_arm64_without_model_name() {
        let text = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n\
                    CPU architecture: 8\nCPU part\t: 0xd0c\n\nprocessor\t: 1\n\
                    CPU implementer\t: 0x41\nCPU part\t: 0xd0c\n";
        assert_eq!(cpuinfo(text), ("ARM Neoverse-N1".to_owned(), 2));
        let unknown = "processor : 0\nCPU implementer : 0x61\nCPU part : 0x022\n";
        assert_eq!(
            cpuinfo(unknown),
            ("CPU implementer 0x61 part 0x022".to_owned(), 1)
        );
    }

    #[test]
    fn cpuinfo_old_arm_and_raspberry_pi() {
        let text = "Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\nprocessor\t: 1\n\
                    Hardware\t: BCM2835\n";
        assert_eq!(cpuinfo(text), ("ARMv7 Processor rev 4 (v7l)".to_owned(), 2));
        let pi = "processor\t: 0\nmodel name\t: ARMv7 Processor rev 3 (v7l)\nHardware\t: BCM2711\n";
        assert_eq!(cpuinfo(pi).0, "ARMv7 Processor rev 3 (v7l)");
        let board = "processor : 0\nHardware : Allwinner sun8i Family\n";
        assert_eq!(cpuinfo(board).0, "Allwinner sun8i Family");
    }

    #[test]
    fn cpuinfo_power() {
        let text = "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\n\
                    processor\t: 1\ncpu\t\t: POWER9 (architected), altivec supported\n";
        assert_eq!(
            cpuinfo(text),
            ("POWER9 (architected), altivec supported".to_owned(), 2)
        );
    }

    #[test]
    fn boot_time_line() {
        assert_eq!(
            boot_time("cpu 1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
        assert_eq!(boot_time("btimex 5\n"), None);
        assert_eq!(boot_time("btime\n"), None);
        assert_eq!(boot_time("btime abc\n"), None);
    }
}
