#!/usr/bin/env bash
# Failed tries counted by `vigil scan logins`, fail2ban-regex (sshd filter, normal and
# aggressive) and CrowdSec's replay on our own corpus: the parsers' message table and generated
# sessions. Prints the counts and every line a peer counts that Vigil does not cover, with
# Vigil's reason.
# Installs Debian's fail2ban and crowdsec if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v fail2ban-regex >/dev/null || need+=(fail2ban)
[ -x /usr/bin/crowdsec ] || need+=(crowdsec)
if [ ${#need[@]} -gt 0 ]; then
  # CrowdSec's postinst registers to its Central API unless this file is there already; the
  # machine is offline, and the replay needs only the local API it starts itself.
  mkdir -p /etc/crowdsec
  [ -s /etc/crowdsec/online_api_credentials.yaml ] ||
    echo "# offline: no Central API registration" > /etc/crowdsec/online_api_credentials.yaml
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cargo build --release -q -p vigil -p vigil-bench
exec target/release/vigil-bench compare-logins "$@"
