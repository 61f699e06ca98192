//! `vigil-bench`: measures Vigil's foundation on this machine — ingest throughput of the real
//! server, the server's memory with many connected agents, an idle agent's cost, and the alert
//! list's query latency with a million alerts, and notification throughput through the outbox.
//!
//! Every subcommand prints readable lines and ends with one JSON line (`{"bench":"...",...}`)
//! that scripts can collect. Child processes are killed when the bench ends, fails or is
//! interrupted.

mod agent_idle;
mod alerts;
mod block_latency;
mod compare_logins;
mod dos;
mod events;
mod ingest;
mod logins;
mod notify;
mod procfs;
mod server_rss;
mod util;
mod vulns;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "vigil-bench", about = "Benchmarks for Vigil's foundation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Event ingest through the real server (in-process, real TLS, signed gzip batches).
    Ingest(ingest::Args),
    /// Memory and CPU of a `vigil server` child with many agents on keep-alive connections.
    ServerRss(server_rss::Args),
    /// Memory and CPU of an idle `vigil agent run` child.
    AgentIdle(agent_idle::Args),
    /// Alert-list query latency (first page and total) with a million alerts in the store.
    Alerts(alerts::Args),
    /// Notification throughput through the outbox: webhook and SMTP deliveries of alerts sent
    /// through the agent API, exactly once, with an SMTP outage leg.
    Notify(notify::Args),
    /// `vigil scan logins` against `fail2ban-regex` on the same generated auth.log.
    Logins(logins::LoginsArgs),
    /// Failed tries counted by `vigil scan logins` and `fail2ban-regex` (sshd, normal and
    /// aggressive) on our own corpus; the lines a peer counts that Vigil does not cover.
    CompareLogins(compare_logins::Args),
    /// From an appended failing log line to the source's nftables block (netns; needs root).
    BlockLatency(block_latency::BlockLatencyArgs),
    /// Advisory DB import, build, load and matching time for a large generated OSV set.
    Vulns(vulns::VulnsArgs),
    /// A `vigil server` child under unauthenticated attacks: slow clients, parallel wrong
    /// sign-ins, an enrollment flood with gzip bombs.
    Dos(dos::Args),
}

/// The `vigil` binary beside this one (`target/release/vigil` for a release build).
pub fn default_vigil_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("vigil")))
        .unwrap_or_else(|| PathBuf::from("target/release/vigil"))
}

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let outcome = match cli.command {
        // The ingest bench builds its own runtimes (server and simulated agents apart).
        Command::Ingest(args) => ingest::main(args),
        Command::ServerRss(args) => util::run_async(server_rss::run(args)),
        Command::AgentIdle(args) => util::run_async(agent_idle::run(args)),
        // Builds its own runtime, to drop the PostgreSQL schema even when interrupted.
        Command::Alerts(args) => alerts::main(args),
        // Builds its own runtimes (server and receivers apart).
        Command::Notify(args) => notify::main(args),
        Command::Logins(args) => logins::run(args),
        Command::CompareLogins(args) => compare_logins::run(args),
        Command::BlockLatency(args) => block_latency::run(args),
        Command::Vulns(args) => vulns::run(args),
        Command::Dos(args) => util::run_async(dos::run(args)),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigil-bench: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
