#!/usr/bin/env bash
# Failed tries counted by `vigil scan logins`, fail2ban-regex (sshd filter, normal and
# aggressive) and CrowdSec's replay on our own corpus: the parsers' message table and generated
# sessions. Prints the counts and every line a peer counts that Vigil does not cover, with
# Vigil's reason.
# Installs Debian's fail2ban and crowdsec if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/login-peers.sh
cargo build --release -q -p vigil -p vigil-bench
exec target/release/vigil-bench compare-logins "$@"
