//! Asset fingerprints: OS, kernel, hardware, processes, listening sockets, accounts, packages.

use crate::Timestamp;

/// Everything the agent knows about its host at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Inventory {
    pub collected_at: Timestamp,
    pub os: OsInfo,
    pub processes: Vec<ProcessInfo>,
    pub sockets: Vec<ListeningSocket>,
    pub accounts: Vec<Account>,
    pub packages: Vec<Package>,
}

/// Operating system, kernel and hardware facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct OsInfo {
    /// `ID` from os-release, e.g. `debian`.
    pub id: String,
    /// `VERSION_ID`, e.g. `12`.
    pub version_id: String,
    /// `PRETTY_NAME`, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub pretty_name: String,
    /// `VERSION_CODENAME`, e.g. `bookworm`.
    pub codename: String,
    /// `ID_LIKE`, split on white space.
    pub id_like: Vec<String>,
    /// Kernel release (`uname -r`, `/proc/sys/kernel/osrelease`).
    pub kernel: String,
    pub arch: String,
    pub hostname: String,
    pub cpu_model: String,
    pub cpu_count: u32,
    pub memory_total_kb: u64,
    /// Non-loopback addresses, as text.
    pub ips: Vec<String>,
    pub boot_time: Timestamp,
}

/// One running process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ProcessInfo {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub user: String,
    /// The comm name from `/proc/PID/stat`.
    pub name: String,
    /// Target of `/proc/PID/exe`; empty for kernel threads or when unreadable.
    pub exe: String,
    /// Arguments joined by single spaces.
    pub cmdline: String,
    /// SHA-256 of the executable, hex; empty when it could not be read.
    pub exe_sha256: String,
    pub start_time: Timestamp,
    /// Start time in clock ticks since boot (field 22 of `/proc/PID/stat`): with the pid, it
    /// names this process and no later one that reuses the pid. 0 when unknown.
    pub start_ticks: u64,
}

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Protocol {
    #[default]
    Tcp,
    Tcp6,
    Udp,
    Udp6,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Tcp6 => "tcp6",
            Protocol::Udp => "udp",
            Protocol::Udp6 => "udp6",
        }
    }
}

/// A listening TCP socket or a bound UDP socket, with its owner when known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ListeningSocket {
    pub protocol: Protocol,
    /// Local address as text (`0.0.0.0`, `::`, `127.0.0.1`, …).
    pub address: String,
    pub port: u16,
    pub inode: u64,
    pub uid: u32,
    /// Owning process, found through `/proc/PID/fd` links; 0 when unknown.
    pub pid: u32,
    pub process: String,
    /// The owning process's executable, when known.
    pub exe: String,
    /// The owning process's start time in clock ticks since boot; 0 when unknown.
    pub start_ticks: u64,
}

impl ListeningSocket {
    /// True when the socket accepts connections on every interface.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.address.as_str(), "0.0.0.0" | "::" | "*")
    }
}

/// Password state of an account, from `/etc/shadow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum AccountPassword {
    /// A usable password hash is set.
    HasPassword,
    /// The hash field is empty: login without a password.
    NoPassword,
    /// Locked (`!`, `*`, `!!` or a hash prefixed with `!`).
    Locked,
    /// No shadow entry, or shadow unreadable.
    #[default]
    Unknown,
}

/// One local account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
    pub password: AccountPassword,
    /// Member of `sudo`, `wheel` or `admin`, or uid 0.
    pub admin: bool,
    /// The shell lets the account log in (not `nologin` / `false`).
    pub login_shell: bool,
}

/// Which package manager a package came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum PackageFormat {
    #[default]
    Dpkg,
    Rpm,
    Apk,
}

impl PackageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageFormat::Dpkg => "dpkg",
            PackageFormat::Rpm => "rpm",
            PackageFormat::Apk => "apk",
        }
    }
}

/// One installed package, with its source package when the format records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Package {
    pub format: PackageFormat,
    pub name: String,
    /// Full version as the package manager writes it (`1:2.3-4+deb12u1`, `2.3-4.el9`).
    pub version: String,
    pub arch: String,
    /// Source package name (dpkg `Source:`, rpm `SOURCERPM` name, apk origin); the package's own
    /// name when the database does not say.
    pub source: String,
    /// Source package version; the package's own version when the database does not say.
    pub source_version: String,
}
