#!/usr/bin/env bash
# Times `vigil scan logins` against fail2ban-regex (sshd filter) on the same generated
# 1,000,000-line auth.log. Installs Debian's fail2ban and time if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v fail2ban-regex >/dev/null || need+=(fail2ban)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cargo build --release -q -p vigil -p vigil-bench
exec target/release/vigil-bench logins "$@"
