//! The `vigil` binary: parses the command line and hands over to the command's module.

mod baseline;
mod cli;
mod client;
mod content;
mod files;
mod output;
mod private;
mod scan;
mod up;
mod vulns;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    // One crypto provider for every TLS user in the process (server, agent, CLI).
    let _ = rustls::crypto::ring::default_provider().install_default();
    cli::init_logging(args.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vigil: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigil: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
