//! Connecting the operator CLI to a server: the token, and how to trust it (plain HTTP, or
//! HTTPS pinned to the server's CA); the calls themselves are `vigil-client`'s.

use crate::cli::ApiOpts;
use anyhow::{bail, Context, Result};
use std::path::Path;
use vigil_client::Client;

/// A typed client of the server `opts` names.
pub fn connect(opts: &ApiOpts) -> Result<Client> {
    let token = match &opts.token {
        Some(t) => t.trim().to_string(),
        None => {
            let file = Path::new("vigil-data/admin.token");
            std::fs::read_to_string(file)
                .map(|s| s.trim().to_string())
                .with_context(|| {
                    "no API token: pass --token or set VIGIL_TOKEN (vigil up writes it to DATA/admin.token)"
                })?
        }
    };
    let base = opts.server.trim_end_matches('/').to_string();
    let http = if base.starts_with("https://") {
        let fp = opts.ca_fingerprint.as_deref().context(
            "an https:// server needs --ca-fingerprint (SHA-256 of its CA, shown in install commands)",
        )?;
        vigil_agent::client::pinned_client(fp)?
    } else if base.starts_with("http://") {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?
    } else {
        bail!("--server must be an http:// or https:// URL (got {base:?})");
    };
    Ok(Client::new(http, &base, &token))
}
