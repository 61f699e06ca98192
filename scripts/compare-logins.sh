#!/usr/bin/env bash
# Failed tries counted by `vigil scan logins` and fail2ban-regex (sshd filter, normal and
# aggressive) on our own corpus: the parsers' message table and generated sessions. Prints the
# counts and every line a peer counts that Vigil does not cover, with Vigil's reason.
# Installs Debian's fail2ban if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v fail2ban-regex >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends fail2ban >/dev/null
fi
cargo build --release -q -p vigil -p vigil-bench
exec target/release/vigil-bench compare-logins "$@"
