#!/usr/bin/env bash
# Installs the login-detection peers the benches compare against (Debian's fail2ban, crowdsec
# and time) when missing. Sourced by bench-logins.sh and compare-logins.sh.
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
