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

/// The id of the host an operator named: an id, the unique host with that hostname (ASCII case
/// ignored), or the unique host whose id starts with it. An unknown or ambiguous name is an
/// error that lists the candidates.
pub async fn resolve_host(c: &Client, given: &str) -> Result<String> {
    let list = c.hosts(&vigil_proto::api::HostQuery::default()).await?;
    let hosts: Vec<Named> = list
        .hosts
        .into_iter()
        .map(|h| Named {
            id: h.id,
            hostname: h.hostname,
            ips: h.ips,
        })
        .collect();
    pick_host(&hosts, given)
}

/// What naming a host goes by.
struct Named {
    id: String,
    hostname: String,
    ips: Vec<String>,
}

fn pick_host(hosts: &[Named], given: &str) -> Result<String> {
    let given = given.trim();
    if hosts.iter().any(|h| h.id == given) {
        return Ok(given.to_string());
    }
    let named: Vec<_> = hosts
        .iter()
        .filter(|h| h.hostname.eq_ignore_ascii_case(given))
        .collect();
    let prefixed: Vec<_> = hosts.iter().filter(|h| h.id.starts_with(given)).collect();
    let found = if named.is_empty() && !given.is_empty() {
        prefixed
    } else {
        named
    };
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => bail!(
            "no host is named {given:?} (an id, its start, or a hostname; see `vigil hosts list`)"
        ),
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|h| format!("{} ({}, {})", h.id, h.hostname, h.ips.join(" ")))
                .collect();
            bail!(
                "{given:?} names {} hosts: {}; give the id",
                many.len(),
                list.join("; ")
            )
        }
    }
}

/// [`resolve_host`] for an optional `--host`.
pub async fn resolve_opt(c: &Client, given: Option<String>) -> Result<Option<String>> {
    match given {
        Some(g) => Ok(Some(resolve_host(c, &g).await?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(id: &str, name: &str) -> Named {
        Named {
            id: id.into(),
            hostname: name.into(),
            ips: vec!["10.0.0.1".into()],
        }
    }

    #[test]
    fn hosts_by_id_name_or_prefix() {
        let hosts = [
            host("a1b2c3", "web01"),
            host("a1ffff", "web02"),
            host("d4e5f6", "db"),
            host("0707aa", "db"),
        ];
        assert_eq!(pick_host(&hosts, "a1b2c3").unwrap(), "a1b2c3");
        assert_eq!(pick_host(&hosts, "WEB02").unwrap(), "a1ffff");
        assert_eq!(pick_host(&hosts, "d4").unwrap(), "d4e5f6");
        let e = pick_host(&hosts, "a1").unwrap_err().to_string();
        assert!(
            e.contains("names 2 hosts") && e.contains("a1b2c3 (web01"),
            "{e}"
        );
        let e = pick_host(&hosts, "db").unwrap_err().to_string();
        assert!(e.contains("names 2 hosts"), "{e}");
        let e = pick_host(&hosts, "mail").unwrap_err().to_string();
        assert!(e.contains("no host is named \"mail\""), "{e}");
        assert!(pick_host(&hosts, "").is_err());
    }
}
