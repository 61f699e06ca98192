//! Command-line grammar and dispatch.

use crate::client::{connect, resolve_host, resolve_opt};
use crate::{output, up};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use vigil_proto::api::{AlertQuery, CreateInstallCode, HandleAlerts, HostQuery};

#[derive(Debug, Parser)]
#[command(
    name = "vigil",
    version,
    about = "Vigil: a self-hosted host security center (server, agent and CLI in one binary)",
    long_about = "Vigil: a self-hosted host security center.\n\n\
        Start here:   vigil up            (server + agent for this host, console on http://127.0.0.1:8600)\n\
        Add a host:   vigil install-code create --group web   (prints a one-line install command)\n\
        Look around:  vigil hosts list, vigil alerts list"
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the management server on an embedded SQLite database plus an agent protecting this
    /// host. Everything lives under --data; running it again on the same directory resumes.
    Up(UpArgs),
    /// Run the management server only (SQLite by default, PostgreSQL with --db postgres://…).
    Server(ServerArgs),
    /// Install, run or remove the host agent.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Create, list and revoke install codes (the one-line commands that enroll hosts).
    #[command(subcommand, name = "install-code")]
    InstallCode(InstallCodeCommand),
    /// List hosts and show their fingerprints.
    #[command(subcommand)]
    Hosts(HostsCommand),
    /// List, show and handle alerts.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// List and remove whitelist rules (create them with `vigil alerts handle --action whitelist`).
    #[command(subcommand)]
    Whitelist(WhitelistCommand),
    /// The fleet's security baseline results (each agent runs the checks on its host), and
    /// ignoring a failed check with a reason. `vigil scan baseline` runs them here, offline.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Notification channels, the mail relay, the outbox and the inbox.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Scan files offline with the agent's parsers and engines (no server needed).
    #[command(subcommand)]
    Scan(ScanCommand),
    /// The vulnerability advisory database that `vigil scan vulns` checks packages against:
    /// build it from the host's apt security suite or import OSV advisories, see its state.
    #[command(subcommand)]
    Vulndb(VulndbCommand),
    /// The IP policy library: block addresses on hosts with nftables, list and disable blocks.
    #[command(subcommand, name = "ip-policy")]
    IpPolicy(IpPolicyCommand),
    /// Detection content (rule packs, lists): check an override tree, see what is in force.
    #[command(subcommand)]
    Content(crate::content::ContentCommand),
    /// The security score of the fleet and of each host.
    Score {
        #[command(flatten)]
        api: ApiOpts,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Read login logs (auth.log, secure, journalctl -o json output, FTP and MySQL logs; `.gz`
    /// too; `-` for stdin) and report login attempts and the brute-force alerts the agent would
    /// raise with these settings. Like fail2ban-regex, but for every login service at once.
    Logins {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// One JSON object per line: every login line ({"record":"login"}), each try counted
        /// once ({"record":"try"}, with the line it was counted from), then the alerts.
        #[arg(long)]
        json: bool,
        /// Reference time for year-less syslog dates, RFC 3339 (default: now).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// Zone of the logs' local times, minutes east of UTC (default: this machine's).
        #[arg(long, value_name = "MINUTES", allow_hyphen_values = true)]
        utc_offset: Option<i32>,
        /// Brute-force window: 1, 2, 5, 10 or 15 minutes.
        #[arg(long, default_value_t = 10)]
        span_mins: u32,
        /// Brute force is more than this many failures in the window: 2, 3, 4, 5, 10, 50, 80 or 100.
        #[arg(long, default_value_t = 80)]
        max_failures: u32,
        /// Block minutes: 5, 15, 30, 60, 120, 360, 720, 1440, 10080, or 0 for permanent.
        #[arg(long, default_value_t = 360)]
        block_mins: u32,
    },
    /// Look for known-bad files (by the MD5 and SHA-256 of lists/malware-hashes.txt, the EICAR
    /// test file among them) and leaked credentials in files and trees, offline: cloud access-key pairs
    /// (Alibaba Cloud, AWS), Google service-account keys, Azure storage keys, GitHub, GitLab and
    /// Slack tokens, private keys outside their usual places, JWT signing secrets and database
    /// URLs with passwords. Values are printed masked. Symbolic links below a path are never
    /// followed; special, oversized and unreadable files are skipped and counted.
    /// Exits 0 when nothing was found, 3 when something was, 1 on an error.
    Files {
        /// Files or directories to scan.
        #[arg(required_unless_present = "webroots", value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Also scan the web roots configured on this host (nginx root/alias, Apache
        /// DocumentRoot/Alias, Tomcat appBase/docBase, includes followed).
        #[arg(long)]
        webroots: bool,
        /// A directory whose secrets.toml replaces the shipped credential rules (checked first:
        /// a rule that does not compile is an error naming it).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// One JSON object per line: {"record":"finding","kind":"secret",…} for each finding,
        /// then {"record":"summary",…} with files, bytes and skips by reason.
        #[arg(long)]
        json: bool,
        /// Files larger than this many MiB are skipped (counted).
        #[arg(long, default_value_t = 16, value_name = "MIB")]
        max_size_mib: u64,
    },
    /// Check this host's packages (or those of a mounted system tree) and application lock
    /// files against the advisory database, offline.
    ///
    /// OS packages come from ROOT/etc/os-release and the package database of that system
    /// (var/lib/dpkg/status, lib/apk/db/installed, or the rpm database through `rpm`); lock
    /// files (requirements*.txt, poetry.lock, package-lock.json, Cargo.lock) are searched under
    /// each --app-path, up to 8 levels deep, never following symbolic links. Symbolic links
    /// inside ROOT are resolved within ROOT.
    ///
    /// Exit status: 0 when the scan ran, with or without findings; 1 on errors (no or damaged
    /// advisory database, unreadable or damaged package database: the findings that could be
    /// computed are still printed first).
    Vulns {
        /// Root of the system to scan: / for this host, or a mounted image or container tree.
        #[arg(long, default_value = "/", value_name = "DIR")]
        root: PathBuf,
        /// Directory (repeatable) searched for lock files; a lock file path works too.
        #[arg(long = "app-path", value_name = "DIR")]
        app_paths: Vec<PathBuf>,
        /// One JSON object per finding: {"record":"vuln","ecosystem","package","installed",
        /// "fixed","ids","level","fix",…}.
        #[arg(long)]
        json: bool,
        /// Advisories: a compiled database (see `vigil vulndb`), or an OSV directory, .zip or
        /// .json read directly [default: DATA/vulndb.bin].
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Data directory holding vulndb.bin, as for `vigil up`.
        #[arg(
            long,
            default_value = "./vigil-data",
            env = "VIGIL_DATA",
            value_name = "DIR"
        )]
        data: PathBuf,
    },
    /// Check this host (or a mounted system tree) against the security baseline: SSH, kernel
    /// and network settings, file modes, accounts and password policy, unneeded services and
    /// exposed ports, audit and logging, kernel modules, mount options.
    ///
    /// Each check says passed, failed (with the evidence, the file and line, and how to fix
    /// it), not_applicable or error. On `/` the running kernel's settings, loaded modules and
    /// listening sockets count too; a tree is judged on its files alone, symbolic links
    /// resolved inside it. Exit status 0 when the checks ran, whatever they found.
    Baseline {
        /// Root of the system to check: / for this host, or a mounted image or container tree.
        #[arg(long, default_value = "/", value_name = "DIR")]
        root: PathBuf,
        /// Only these checks (repeatable; a family prefix such as `ssh.` selects all of it).
        #[arg(long = "check", value_name = "ID")]
        checks: Vec<String>,
        /// One JSON object per check: {"record":"check","id","title","category","level",
        /// "status","evidence","file","remediation","refs"}, then a summary record.
        #[arg(long)]
        json: bool,
        /// A content tree whose baseline/ files replace or add to the shipped checks (as
        /// DATA/content on a server).
        #[arg(long, value_name = "DIR")]
        content: Option<PathBuf>,
        /// Also guess weak passwords, for at most SECS seconds (60 without a value) on a whole
        /// core: system accounts (/etc/shadow), Redis, MySQL/MariaDB and WordPress
        /// administrators. On / it asks the local servers; a tree is judged on its files. No
        /// password found is printed, only why it is weak.
        #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "60")]
        passwords: Option<u64>,
        /// The share of one core the password guessing may use, in percent (the agent's
        /// scheduled runs use 3).
        #[arg(long, value_name = "PERCENT", default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100))]
        cpu: u8,
    },
}

#[derive(Debug, Subcommand)]
pub enum VulndbCommand {
    /// Build or refresh one source of advisories in the database, keeping the others.
    ///
    /// `--source apt` needs no internet, only the host's apt mirror: every installed package
    /// whose version is below the one in the configured security suite (its Packages index under
    /// /var/lib/apt/lists) misses a security fix; the CVE ids come from the changelog.Debian.gz
    /// of the suite's .deb (`apt-get download`), entries newer than the installed version. A
    /// source whose changelog cannot be fetched still gets an advisory without CVE ids.
    Update {
        /// Where advisories come from. apt: the host's Debian or Ubuntu security suite.
        #[arg(long, value_parser = ["apt"])]
        source: String,
        /// Run `apt-get update` first (needs root and the mirror); by default the lists apt
        /// already has are used.
        #[arg(long)]
        refresh: bool,
        /// Fetch at most N changelogs, smallest packages first; the other pending sources get
        /// advisories without CVE ids.
        #[arg(long, value_name = "N")]
        max_downloads: Option<usize>,
        #[command(flatten)]
        db: VulnDbOpts,
    },
    /// Import OSV advisories: a directory tree of .json files, an osv.dev all.zip, or one .json.
    ///
    /// Each ecosystem family becomes one source (osv:Debian, osv:PyPI, …) that replaces the
    /// previous import of that family; other sources are kept. A failed import leaves the
    /// database as it was.
    Import {
        /// OSV records: a directory (searched recursively), a .zip or a .json file.
        #[arg(value_name = "OSV_PATH")]
        path: PathBuf,
        #[command(flatten)]
        db: VulnDbOpts,
    },
    /// Sources in the database with their import time and age, counts, file size and format.
    Status {
        /// One JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: VulnDbOpts,
    },
}

/// Where the advisory database file is.
#[derive(Debug, Args, Clone)]
pub struct VulnDbOpts {
    /// Data directory, as for `vigil up`; the database is DATA/vulndb.bin.
    #[arg(
        long,
        default_value = "./vigil-data",
        env = "VIGIL_DATA",
        value_name = "DIR"
    )]
    pub data: PathBuf,
    /// The database file itself [default: DATA/vulndb.bin].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

impl VulnDbOpts {
    pub fn path(&self) -> PathBuf {
        crate::vulns::db_path(&self.data, self.db.as_deref())
    }
}

#[derive(Debug, Subcommand)]
pub enum IpPolicyCommand {
    /// Rules, newest first, with their state on each host.
    List {
        /// active, disabled or expired
        #[arg(long)]
        status: Option<String>,
        /// Only rules that apply to this host.
        #[arg(long)]
        host: Option<String>,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Block an address or network. Each agent applies it in its own nftables table, with the
    /// timeout in the kernel, so the block ends on time even if the agent is down. The server,
    /// the proxy and access-whitelisted addresses are refused by the agent.
    Block {
        /// IP address or CIDR network, e.g. 192.0.2.7 or 198.51.100.0/24.
        target: String,
        /// How long: 30m, 12h, 7d or permanent.
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Host ids (repeatable); default: every host.
        #[arg(long)]
        host: Vec<String>,
        /// Drop traffic to the address instead of from it.
        #[arg(long)]
        outbound: bool,
        #[arg(long, default_value = "")]
        reason: String,
        /// Confirm a network wider than the server's limit (by default /8 for IPv4, /32 for IPv6).
        #[arg(long)]
        confirm_wide: bool,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Disable a rule: every host it reached unblocks at once.
    Disable {
        id: i64,
        #[command(flatten)]
        api: ApiOpts,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Add a channel: the inbox, email recipients, or a webhook.
    Add {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// Send to the console inbox.
        #[arg(long, conflicts_with_all = ["email", "webhook"])]
        inbox: bool,
        /// Email recipients (repeatable).
        #[arg(long, conflicts_with = "webhook")]
        email: Vec<String>,
        /// Webhook URL.
        #[arg(long)]
        webhook: Option<String>,
        /// Webhook message shape: generic, dingtalk, slack or feishu.
        #[arg(long, default_value = "generic")]
        shape: String,
        /// Levels that notify, comma-separated.
        #[arg(long, default_value = "urgent,suspicious,reminder")]
        levels: String,
        /// Only these alert kinds, comma-separated (default: all).
        #[arg(long)]
        kinds: Option<String>,
        /// Local time window, e.g. 08:00-22:00 (default: any time).
        #[arg(long)]
        window: Option<String>,
        /// At most this many alert notifications a day (0: no limit).
        #[arg(long, default_value_t = 5)]
        max_per_day: u32,
        /// At most this many a day for one host (0: no limit).
        #[arg(long, default_value_t = 1)]
        max_per_host_per_day: u32,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// List channels.
    List {
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Delete a channel.
    Remove {
        id: i64,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Set the operators' UTC offset and the SMTP relay used by email channels.
    Settings {
        /// Minutes east of UTC (e.g. 480 for UTC+8), for time windows and daily limits.
        #[arg(long, default_value_t = 0)]
        utc_offset_minutes: i32,
        #[arg(long)]
        smtp_host: Option<String>,
        #[arg(long, default_value_t = 587)]
        smtp_port: u16,
        /// none, start_tls or tls
        #[arg(long, default_value = "start_tls")]
        smtp_tls: String,
        #[arg(long)]
        smtp_user: Option<String>,
        /// Read from the environment rather than the command line.
        #[arg(long, env = "VIGIL_SMTP_PASSWORD", hide_env_values = true)]
        smtp_password: Option<String>,
        #[arg(long, default_value = "")]
        smtp_from: String,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Queued and sent notifications with their delivery attempts.
    Outbox {
        #[command(flatten)]
        api: ApiOpts,
    },
    /// The console inbox.
    Inbox {
        #[command(flatten)]
        api: ApiOpts,
    },
}

#[derive(Debug, Subcommand)]
pub enum WhitelistCommand {
    /// List whitelist rules.
    List {
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Delete a rule: the alerts it covered return to the list.
    Remove {
        id: i64,
        #[command(flatten)]
        api: ApiOpts,
    },
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Results, failed and most severe first: one host or all, one status, one check or family.
    List {
        #[arg(long)]
        host: Option<String>,
        /// failed (default), ignored, error, passed, not_applicable or all
        #[arg(long, default_value = "failed")]
        status: String,
        /// A check id, or a family prefix such as `ssh.`
        #[arg(long)]
        check: Option<String>,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Ignore a failed check on a host: it stays listed as ignored and costs no score.
    Ignore {
        host: String,
        check: String,
        /// Why it does not matter on this host (required).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Undo an ignore.
    Unignore {
        host: String,
        check: String,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Ask a host to run its baseline now (after fixing something): the check shows as
    /// verifying until the run arrives, then passes or fails on what the host now has.
    Verify {
        host: String,
        /// The check being verified (all of them without one).
        check: Option<String>,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// When agents run the baseline: show it, or set every N days (1, 2, 3, 7 or 30) and the
    /// local-time window, for the fleet, a group or a host; --inherit drops a group's or host's
    /// own schedule.
    Schedule {
        #[arg(long, conflicts_with = "group")]
        host: Option<String>,
        #[arg(long)]
        group: Option<String>,
        #[arg(long, value_name = "N")]
        every_days: Option<u32>,
        /// The window as HOUR-HOUR of the host's local day, e.g. 0-6 (the default).
        #[arg(long, value_name = "FROM-TO")]
        window: Option<String>,
        #[arg(long, conflicts_with_all = ["every_days", "window"])]
        inherit: bool,
        #[command(flatten)]
        api: ApiOpts,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ServerOpts {
    /// Data directory: TLS identity, SQLite database, admin token.
    #[arg(long, default_value = "./vigil-data", env = "VIGIL_DATA")]
    pub data: PathBuf,
    /// Console and REST API (plain HTTP; keep it on loopback or behind a TLS proxy).
    #[arg(long, default_value = "127.0.0.1:8600")]
    pub listen: SocketAddr,
    /// Agent channel (TLS, pinned CA); also serves the API over HTTPS.
    #[arg(long, default_value = "0.0.0.0:8601")]
    pub agent_listen: SocketAddr,
    /// URL agents use to reach this server, written into install commands
    /// [default: https://FIRST-HOST-IP:AGENT-PORT]
    #[arg(long)]
    pub public_url: Option<String>,
    /// Seconds between agent heartbeats.
    #[arg(long, default_value_t = 10)]
    pub heartbeat_secs: u64,
    /// A host is shown offline after this many seconds without a heartbeat.
    #[arg(long, default_value_t = 35)]
    pub offline_after_secs: u64,
    /// Allow --listen on a non-loopback address: passwords and tokens then cross the network
    /// unencrypted. Prefer the console over HTTPS on the agent port (--agent-listen), or a TLS
    /// proxy in front of a loopback --listen.
    #[arg(long)]
    pub insecure_http: bool,
    /// An address no IP rule may cover besides the server's own (a proxy, a jump host); repeat
    /// for more.
    #[arg(long = "never-block", value_name = "IP")]
    pub never_block: Vec<std::net::IpAddr>,
    /// Open connections at once on each listener.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// Open connections at once from one address (--never-block addresses, such as a proxy
    /// that many agents come through, are exempt).
    #[arg(long, default_value_t = 256)]
    pub max_connections_per_source: usize,
    /// Blocks of IPv4 networks wider than this prefix need --confirm-wide.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(0..=32))]
    pub max_block_prefix_v4: u8,
    /// Blocks of IPv6 networks wider than this prefix need --confirm-wide.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u8).range(0..=128))]
    pub max_block_prefix_v6: u8,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub server: ServerOpts,
    /// Do not run the local agent (server only, on SQLite).
    #[arg(long)]
    pub no_agent: bool,
    /// Seconds between the local agent's fingerprint collections.
    #[arg(long, default_value_t = 60)]
    pub collect_secs: u64,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(flatten)]
    pub server: ServerOpts,
    /// Database: sqlite://PATH or postgres://USER@HOST:PORT/DB [default: sqlite://DATA/vigil.db]
    #[arg(long, env = "VIGIL_DB")]
    pub db: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Enroll this host with an install code and start the agent as a service.
    Install {
        /// The server's agent URL, e.g. https://10.0.0.5:8601
        #[arg(long)]
        server: String,
        /// Install code from `vigil install-code create`; `-` reads it from standard input,
        /// which keeps it off the command line other local users can see (the install script
        /// does that).
        #[arg(long, env = "VIGIL_INSTALL_CODE", hide_env_values = true)]
        code: String,
        /// SHA-256 of the server's CA certificate (in the install command).
        #[arg(long)]
        ca_fingerprint: String,
        #[arg(long, default_value = "/var/lib/vigil-agent")]
        data: PathBuf,
        /// Enroll only; do not install or start a systemd service.
        #[arg(long)]
        no_service: bool,
    },
    /// Run the agent in the foreground.
    Run {
        #[arg(long, default_value = "/var/lib/vigil-agent")]
        data: PathBuf,
        /// Seconds between fingerprint collections.
        #[arg(long, default_value_t = 60)]
        collect_secs: u64,
    },
    /// Tell the server this host is uninstalled, remove the service and the agent's data.
    /// The server keeps the host's history.
    Uninstall {
        #[arg(long, default_value = "/var/lib/vigil-agent")]
        data: PathBuf,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ApiOpts {
    /// Server console/API URL.
    #[arg(
        long,
        env = "VIGIL_SERVER",
        default_value = "http://127.0.0.1:8600",
        global = true
    )]
    pub server: String,
    /// API token [default: contents of ./vigil-data/admin.token]
    #[arg(long, env = "VIGIL_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// For an https:// server: SHA-256 of its CA certificate.
    #[arg(long, env = "VIGIL_CA_FINGERPRINT", global = true)]
    pub ca_fingerprint: Option<String>,
    /// One JSON object per line instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum InstallCodeCommand {
    /// Create a code and print the install command to run as root on new hosts.
    Create {
        /// Group the hosts join (created if missing).
        #[arg(long, default_value = "default")]
        group: String,
        #[arg(long, default_value = "linux")]
        os: String,
        /// Validity: 30m, 24h, 7d (at most 30d).
        #[arg(long, default_value = "24h")]
        expires: String,
        /// Label the hosts get, KEY=VALUE (repeatable).
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Server provider shown on the hosts (aws, idc, …).
        #[arg(long, default_value = "")]
        provider: String,
        /// Enroll at most this many hosts with the code (1: single use) [default: no limit
        /// until it expires].
        #[arg(long, value_name = "N")]
        max_hosts: Option<i64>,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// List codes with their state and number of uses.
    List {
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Revoke a code: hosts can no longer enroll with it.
    Revoke {
        id: String,
        #[command(flatten)]
        api: ApiOpts,
    },
}

#[derive(Debug, Subcommand)]
pub enum HostsCommand {
    /// List hosts with their state.
    List {
        /// online, offline or uninstalled
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Save the host's printable security report (HTML): score, pending alerts, exposure.
    Report {
        /// The host: its id, the start of its id, or its hostname.
        #[arg(value_name = "HOST")]
        id: String,
        /// Write here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Show one host; --section prints one fingerprint table.
    Show {
        /// The host: its id, the start of its id, or its hostname.
        #[arg(value_name = "HOST")]
        id: String,
        /// system, processes, ports, accounts or packages
        #[arg(long)]
        section: Option<String>,
        #[command(flatten)]
        api: ApiOpts,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, newest first.
    List {
        /// urgent, suspicious or reminder
        #[arg(long)]
        level: Option<String>,
        /// unhandled, handled, ignored, whitelisted, blocked, in_progress, expired
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// Only this host's alerts: its id, the start of its id, or its hostname.
        #[arg(long)]
        host: Option<String>,
        /// Text the alert's name contains.
        #[arg(long)]
        search: Option<String>,
        /// Only alerts seen in the last DURATION (30m, 24h, 7d).
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// newest, oldest or level
        #[arg(long, default_value = "newest")]
        sort: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Show one alert with its evidence.
    Show {
        id: i64,
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Handle alerts: ignore, handled, whitelist (a rule keyed by the alert type's fields, for the
    /// alert's host, its group or all hosts), unwhitelist, or act on the host: kill_process,
    /// quarantine, kill_and_quarantine, block_ip (the alert's source address, for --duration).
    Handle {
        /// Alert ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// ignore, handled, whitelist, unwhitelist, kill_process, quarantine,
        /// kill_and_quarantine or block_ip
        #[arg(long)]
        action: String,
        /// For block_ip: 30m, 12h, 7d or permanent.
        #[arg(long)]
        duration: Option<String>,
        /// Why (kept with the alert or the rule).
        #[arg(long, default_value = "")]
        note: String,
        /// For whitelist: host, group or all.
        #[arg(long, default_value = "host")]
        scope: String,
        /// Also act on related alerts (same process or file on the host).
        #[arg(long)]
        related: bool,
        #[command(flatten)]
        api: ApiOpts,
    },
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,vigil_server=info,vigil_agent=info,vigil_store=info",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn parse_labels(labels: &[String]) -> Result<BTreeMap<String, String>> {
    labels
        .iter()
        .map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .with_context(|| format!("label {l:?} is not KEY=VALUE"))
        })
        .collect()
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Up(a) => up::up(a).await,
        Command::Server(a) => up::server(a).await,
        Command::Agent(cmd) => agent(cmd).await,
        Command::Whitelist(cmd) => whitelist(cmd).await,
        Command::Baseline(cmd) => baseline(cmd).await,
        Command::Notify(cmd) => notify(cmd).await,
        Command::IpPolicy(cmd) => ip_policy(cmd).await,
        Command::Scan(cmd) => scan(cmd),
        Command::Vulndb(cmd) => vulndb(cmd),
        Command::Content(cmd) => crate::content::run(cmd).await,
        Command::Score { api } => {
            let v = connect(&api)?.score().await?;
            output::score(&v, api.json)
        }
        Command::InstallCode(cmd) => match cmd {
            InstallCodeCommand::Create {
                group,
                os,
                expires,
                labels,
                provider,
                max_hosts,
                api,
            } => {
                let req = CreateInstallCode {
                    group,
                    os,
                    expires,
                    labels: parse_labels(&labels)?,
                    provider,
                    proxy_cluster: None,
                    max_hosts,
                };
                let created = connect(&api)?.create_install_code(&req).await?;
                output::created_code(&created, api.json)
            }
            InstallCodeCommand::List { api } => {
                let list = connect(&api)?.install_codes().await?;
                output::codes(&list, api.json)
            }
            InstallCodeCommand::Revoke { id, api } => {
                let v = connect(&api)?.revoke_install_code(&id).await?;
                output::one(&v, api.json, &format!("install code {id} revoked"))
            }
        },
        Command::Hosts(cmd) => match cmd {
            HostsCommand::List { state, group, api } => {
                let list = connect(&api)?.hosts(&HostQuery { state, group }).await?;
                output::hosts(&list, api.json)
            }
            HostsCommand::Report { id, output, api } => {
                let c = connect(&api)?;
                let id = resolve_host(&c, &id).await?;
                let html = c.host_report(&id).await?;
                match output {
                    Some(path) => {
                        std::fs::write(&path, html)
                            .with_context(|| format!("writing {}", path.display()))?;
                        println!(
                            "report written to {} (open it in a browser to print)",
                            path.display()
                        );
                    }
                    None => print!("{html}"),
                }
                Ok(())
            }
            HostsCommand::Show { id, section, api } => {
                let c = connect(&api)?;
                let id = resolve_host(&c, &id).await?;
                let host = c.host(&id).await?;
                let inv = match c.fingerprints(&id).await {
                    Ok(v) => Some(v),
                    Err(e) if section.is_none() => {
                        eprintln!("vigil: {e:#}");
                        None
                    }
                    Err(e) => return Err(e.into()),
                };
                output::host(&host, inv.as_ref(), section.as_deref(), api.json)
            }
        },
        Command::Alerts(cmd) => match cmd {
            AlertsCommand::List {
                level,
                status,
                kind,
                host,
                search,
                since,
                sort,
                limit,
                api,
            } => {
                let since = match since {
                    None => None,
                    Some(d) => {
                        let secs = vigil_proto::api::parse_duration(&d).with_context(|| {
                            format!("--since {d:?} is not a duration such as 30m, 24h or 7d")
                        })?;
                        Some(chrono::Utc::now().timestamp() - secs)
                    }
                };
                let c = connect(&api)?;
                let q = AlertQuery {
                    host: resolve_opt(&c, host).await?,
                    level,
                    status,
                    kind,
                    since,
                    until: None,
                    q: search,
                    sort: Some(sort),
                    limit: Some(limit),
                    offset: None,
                };
                let list = c.alerts(&q).await?;
                output::alerts(&list, api.json)
            }
            AlertsCommand::Handle {
                ids,
                action,
                duration,
                note,
                scope,
                related,
                api,
            } => {
                if action == "block_ip" && duration.is_none() {
                    bail!("--action block_ip needs --duration (30m, 12h, 7d or permanent)");
                }
                let req = HandleAlerts {
                    ids,
                    action: wire_name("--action", &action)?,
                    note,
                    scope: wire_name("--scope", &scope)?,
                    include_related: related,
                    duration,
                };
                let v = connect(&api)?.handle_alerts(&req).await?;
                output::handled(&v, api.json)
            }
            AlertsCommand::Show { id, api } => {
                let a = connect(&api)?.alert(id).await?;
                output::alert(&a, api.json)
            }
        },
    }
}

fn scan(cmd: ScanCommand) -> Result<()> {
    use vigil_detect::bruteforce::{BlockDuration, BruteForceConfig, BruteForceRule};
    use vigil_model::LoginProtocol;
    match cmd {
        ScanCommand::Logins {
            files,
            json,
            now,
            utc_offset,
            span_mins,
            max_failures,
            block_mins,
        } => {
            let now = match now {
                Some(t) => chrono::DateTime::parse_from_rfc3339(&t)
                    .with_context(|| format!("--now {t:?} is not an RFC 3339 time"))?
                    .timestamp(),
                None => chrono::Utc::now().timestamp(),
            };
            let utc_offset_secs = match utc_offset {
                Some(m) => m * 60,
                None => chrono::Local::now().offset().local_minus_utc(),
            };
            let block = if block_mins == 0 {
                BlockDuration::Permanent
            } else {
                BlockDuration::minutes(block_mins)?
            };
            let rule = BruteForceRule::new(
                span_mins,
                max_failures,
                block,
                [LoginProtocol::Ssh, LoginProtocol::Ftp, LoginProtocol::Mysql],
                true,
            )?;
            let opts = crate::scan::ScanOptions {
                files,
                json,
                now,
                utc_offset_secs,
                config: BruteForceConfig {
                    rule,
                    ..BruteForceConfig::default()
                },
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
            match crate::scan::logins(&opts, &mut out) {
                Ok(_) => Ok(()),
                // A closed pipe (`| head`) is not an error worth a message.
                Err(e)
                    if e.downcast_ref::<std::io::Error>()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
                {
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        ScanCommand::Vulns {
            root,
            app_paths,
            json,
            db,
            data,
        } => crate::vulns::scan(&crate::vulns::ScanOptions {
            root,
            app_paths,
            json,
            db: crate::vulns::db_path(&data, db.as_deref()),
        }),
        ScanCommand::Files {
            mut paths,
            webroots,
            rules,
            json,
            max_size_mib,
        } => {
            if webroots {
                for w in vigil_agent::webroots::discover(std::path::Path::new("/")) {
                    eprintln!("web root {} ({}, {})", w.path, w.server, w.source);
                    paths.push(PathBuf::from(w.path));
                }
                if paths.is_empty() {
                    eprintln!("no web root is configured on this host (nginx, Apache, Tomcat)");
                }
            }
            let found = crate::files::scan(
                &crate::files::FilesScan {
                    paths,
                    rules,
                    json,
                    max_size: max_size_mib.saturating_mul(1024 * 1024),
                },
                &mut std::io::stdout().lock(),
            )?;
            if found > 0 {
                std::process::exit(3);
            }
            Ok(())
        }
        ScanCommand::Baseline {
            root,
            checks,
            json,
            content,
            passwords,
            cpu,
        } => crate::baseline::scan(
            &root,
            &checks,
            json,
            content.as_deref(),
            passwords.map(|secs| (secs, f64::from(cpu) / 100.0)),
        ),
    }
}

fn vulndb(cmd: VulndbCommand) -> Result<()> {
    match cmd {
        VulndbCommand::Update {
            source: _,
            refresh,
            max_downloads,
            db,
        } => crate::vulns::update_apt(&crate::vulns::AptUpdate {
            db: db.path(),
            refresh,
            max_downloads,
        }),
        VulndbCommand::Import { path, db } => crate::vulns::import(&path, &db.path()),
        VulndbCommand::Status { json, db } => crate::vulns::status(&db.path(), json),
    }
}

async fn agent(cmd: AgentCommand) -> Result<()> {
    match cmd {
        AgentCommand::Install {
            server,
            code,
            ca_fingerprint,
            data,
            no_service,
        } => {
            crate::private::secure_and_report(&data)?;
            if let Some(existing) = vigil_agent::Identity::load(&data)? {
                bail!(
                    "this host is already enrolled as {} on {} (data in {}); run `vigil agent uninstall` first",
                    existing.host_id,
                    existing.server,
                    data.display()
                );
            }
            let code = if code == "-" {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the install code from standard input")?;
                line.trim().to_string()
            } else {
                code
            };
            if code.is_empty() {
                bail!("no install code (pass --code CODE, or --code - with the code on stdin)");
            }
            let id = vigil_agent::enroll(&server, &code, &ca_fingerprint, &data).await?;
            println!(
                "enrolled: host {} in group {} on {}",
                id.host_id, id.group, id.server
            );
            let exe = std::env::current_exe().context("locating this binary")?;
            if no_service {
                println!(
                    "start it with: {} agent run --data {}",
                    exe.display(),
                    data.display()
                );
            } else if vigil_agent::service::systemd_present() {
                vigil_agent::service::install(&exe, &data)?;
                println!(
                    "service {} installed and started",
                    vigil_agent::service::UNIT_NAME
                );
            } else {
                println!(
                    "systemd is not running here; start the agent with your init system: {} agent run --data {}",
                    exe.display(),
                    data.display()
                );
            }
            Ok(())
        }
        AgentCommand::Run { data, collect_secs } => {
            crate::private::secure_and_report(&data)?;
            let mut cfg = vigil_agent::AgentConfig::new(data);
            cfg.collect_secs = collect_secs;
            let (tx, rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                up::stop_signal().await;
                let _ = tx.send(true);
            });
            vigil_agent::run(cfg, rx).await
        }
        AgentCommand::Uninstall { data } => {
            if vigil_agent::service::systemd_present() {
                vigil_agent::service::remove()?;
            }
            let id = vigil_agent::uninstall(&data).await?;
            println!(
                "host {} uninstalled; the server keeps its history ({})",
                id.host_id, id.server
            );
            if let Ok(exe) = std::env::current_exe() {
                let exe = exe.display();
                println!("the vigil binary is left at {exe}; remove it with: rm {exe}");
            }
            Ok(())
        }
    }
}

mod operator;
use operator::{baseline, ip_policy, notify, whitelist, wire_name};
#[cfg(test)]
mod tests;
