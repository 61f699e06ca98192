//! The operator CLI's REST client: bearer token, JSON, errors carried as the server worded them.

use crate::cli::ApiOpts;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;

pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl ApiClient {
    pub fn new(opts: &ApiOpts) -> Result<ApiClient> {
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
        Ok(ApiClient { http, base, token })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value> {
        let resp = req.bearer_auth(&self.token).send().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach {}: {}",
                self.base,
                vigil_agent::client::error_chain(&e)
            )
        })?;
        let status = resp.status();
        let text = resp.text().await?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
        if !status.is_success() {
            let msg = value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or(text.as_str());
            bail!("{} ({})", msg, status);
        }
        Ok(value)
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(self.http.put(format!("{}{path}", self.base)).json(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Result<Value> {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }
}
