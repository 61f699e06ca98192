#!/usr/bin/env bash
# Times `vigil scan logins` against fail2ban-regex (sshd filter) on the same generated
# 1,000,000-line auth.log, and CrowdSec's replay against vigil on its first 200,000 lines.
# Installs Debian's fail2ban, crowdsec and time if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v fail2ban-regex >/dev/null || need+=(fail2ban)
[ -x /usr/bin/crowdsec ] || need+=(crowdsec)
[ -x /usr/bin/time ] || need+=(time)
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
exec target/release/vigil-bench logins "$@"
