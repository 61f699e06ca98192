//! Install commands and what they fetch: the script, this very binary and its checksum, the CA.

pub(crate) mod routes;

use crate::alerts::raised::rfc3339;
use crate::state::SharedState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use vigil_proto::agent::{PATH_DOWNLOAD, PATH_DOWNLOAD_SHA256, PATH_INSTALL_SCRIPT};
use vigil_store::EnrollRefusal;

/// The one line an operator runs as root on a new host.
pub fn command(curl_pin: &str, public_url: &str, code: &str) -> String {
    format!("curl -fsSk --pinnedpubkey '{curl_pin}' '{public_url}{PATH_INSTALL_SCRIPT}?code={code}' | sh")
}

pub async fn ca_pem(State(st): State<SharedState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        st.pki.ca_pem.clone(),
    )
        .into_response()
}

async fn load_binary(st: &SharedState) -> std::io::Result<&(Bytes, String)> {
    st.binary
        .get_or_try_init(|| async {
            let path = match &st.config.agent_binary {
                Some(p) => p.clone(),
                None => std::env::current_exe()?,
            };
            let data = tokio::fs::read(&path).await?;
            let sum = hex::encode(Sha256::digest(&data));
            Ok((Bytes::from(data), sum))
        })
        .await
}

pub async fn binary(State(st): State<SharedState>) -> Response {
    match load_binary(&st).await {
        Ok((data, _)) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            data.clone(),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the agent binary to serve");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("agent binary unavailable: {e}\n"),
            )
                .into_response()
        }
    }
}

pub async fn binary_sha256(State(st): State<SharedState>) -> Response {
    match load_binary(&st).await {
        Ok((_, sum)) => format!("{sum}\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("agent binary unavailable: {e}\n"),
        )
            .into_response(),
    }
}

/// Shell-quotes a value for a single-quoted context.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The install script. A bad code still gets a script (HTTP 200), one that says why and exits 1,
/// because `curl -f | sh` would otherwise swallow the reason.
pub async fn script(
    State(st): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let code = q
        .get("code")
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let refusal = if code.is_empty() {
        Some("no install code in the URL".to_string())
    } else {
        let hash = hex::encode(Sha256::digest(code.as_bytes()));
        match st.store.install_code(&hash).await {
            Err(e) => Some(format!("the server could not check the code: {e}")),
            Ok(None) => Some(refusal(EnrollRefusal::Unknown).1),
            Ok(Some(c)) => vigil_store::check_code(&c, st.now())
                .err()
                .map(|r| refusal(r).1),
        }
    };
    let body = match refusal {
        Some(why) => format!(
            "#!/bin/sh\necho {} >&2\nexit 1\n",
            sq(&format!("vigil: install refused: {why}"))
        ),
        None => render_script(
            &st.public_url,
            &st.pki.curl_pin,
            &st.pki.ca_fingerprint,
            &code,
        ),
    };
    ([(header::CONTENT_TYPE, "text/x-shellscript")], body).into_response()
}

/// Why an install code enrolls no host: the agent's error code and the words for a person.
pub fn refusal(r: EnrollRefusal) -> (&'static str, String) {
    use vigil_proto::agent::codes;
    match r {
        EnrollRefusal::Unknown => (
            codes::UNKNOWN_CODE,
            "the install code is not known to this server (mistyped, or made on another server)"
                .into(),
        ),
        EnrollRefusal::Expired { at } => (
            codes::EXPIRED_CODE,
            format!(
                "the install code expired at {}; create a new one",
                rfc3339(at)
            ),
        ),
        EnrollRefusal::Revoked { at } => (
            codes::REVOKED_CODE,
            format!(
                "the install code was revoked at {}; create a new one",
                rfc3339(at)
            ),
        ),
        EnrollRefusal::UsedUp { max } => (
            codes::EXPIRED_CODE,
            format!(
                "the install code has enrolled the {max} host(s) it was made for; create a new one"
            ),
        ),
    }
}

fn render_script(public_url: &str, pin: &str, fingerprint: &str, code: &str) -> String {
    format!(
        r#"#!/bin/sh
# Vigil agent installer: fetches the agent from its server, checks it, installs it, enrolls.
set -eu
SERVER={server}
PIN={pin}
CODE={code}
CA_FINGERPRINT={fp}
BIN_DIR="${{VIGIL_BIN_DIR:-/usr/local/bin}}"
DATA_DIR="${{VIGIL_AGENT_DIR:-/var/lib/vigil-agent}}"
if [ "$(id -u)" -ne 0 ]; then
  echo "vigil: the agent installs as root; run the same command with: ... | sudo sh" >&2
  exit 1
fi
case "$(uname -s)-$(uname -m)" in
  Linux-{arch}) ;;
  *) echo "vigil: this server ships a Linux {arch} agent; this host is $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "vigil: downloading the agent from $SERVER"
curl -fsSk --pinnedpubkey "$PIN" -o "$tmp/vigil" "$SERVER{download}"
curl -fsSk --pinnedpubkey "$PIN" -o "$tmp/vigil.sha256" "$SERVER{download_sum}"
expected="$(cut -c1-64 "$tmp/vigil.sha256")"
actual="$(sha256sum "$tmp/vigil" | cut -c1-64)"
if [ "$expected" != "$actual" ]; then
  echo "vigil: checksum mismatch (expected $expected, got $actual); nothing installed" >&2
  exit 1
fi
mkdir -p "$BIN_DIR"
install -m 0755 "$tmp/vigil" "$BIN_DIR/vigil"
# The code goes on stdin, not the command line, where any local user could read it.
printf '%s\n' "$CODE" | "$BIN_DIR/vigil" agent install --server "$SERVER" --code - --ca-fingerprint "$CA_FINGERPRINT" --data "$DATA_DIR" ${{VIGIL_NO_SERVICE:+--no-service}}
"#,
        server = sq(public_url),
        pin = sq(pin),
        code = sq(code),
        fp = sq(fingerprint),
        arch = std::env::consts::ARCH,
        download = PATH_DOWNLOAD,
        download_sum = PATH_DOWNLOAD_SHA256,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_hostile_values() {
        assert_eq!(sq("a'b"), r"'a'\''b'");
        let s = render_script("https://h:1", "sha256//x", "ab", "c'; rm -rf /; '");
        assert!(s.contains(r"CODE='c'\''; rm -rf /; '\'''"));
    }

    #[test]
    fn command_names_pin_url_and_code() {
        let c = command("sha256//AAA=", "https://10.0.0.5:8601", "abc");
        assert_eq!(
            c,
            "curl -fsSk --pinnedpubkey 'sha256//AAA=' 'https://10.0.0.5:8601/agent/v1/install.sh?code=abc' | sh"
        );
    }

    #[test]
    fn the_code_reaches_the_agent_on_stdin_not_its_command_line() {
        let s = render_script("https://h:1", "sha256//x", "ab", "SECRETCODE");
        assert_eq!(s.matches("SECRETCODE").count(), 1, "{s}");
        let enroll = s.lines().find(|l| l.contains("--ca-fingerprint")).unwrap();
        assert!(
            enroll.starts_with("printf '%s\\n' \"$CODE\" | "),
            "{enroll}"
        );
        assert!(enroll.contains("--code -"), "{enroll}");
    }
}
