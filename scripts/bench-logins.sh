#!/usr/bin/env bash
# Times `vigil scan logins` against fail2ban-regex (sshd filter) on the same generated
# 1,000,000-line auth.log, and CrowdSec's replay against vigil on its first 200,000 lines.
# Installs Debian's fail2ban, crowdsec and time if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/login-peers.sh
cargo build --release -q -p vigil -p vigil-bench
exec target/release/vigil-bench logins "$@"
