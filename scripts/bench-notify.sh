#!/usr/bin/env bash
# Builds vigil-bench and measures notification throughput through the outbox, end to end:
# alerts sent through the agent API of an in-process server, delivered by its dispatcher to a
# webhook receiver and to aiosmtpd, each exactly once, then a leg with the SMTP server killed
# for a few seconds. Runs on SQLite and on PostgreSQL (2,000 + 500 alerts each, several minutes
# per backend with the server's 2 s dispatcher interval).
# Output goes to target/bench-notify.txt and is printed as it runs. Extra arguments are passed
# to `vigil-bench notify` (e.g. --alerts 500, --poll-secs 1).
#
# Needs python3 with aiosmtpd (`pip install aiosmtpd`) and PostgreSQL at
# postgres://postgres@127.0.0.1:5432/test (VIGIL_TEST_PG_URL overrides).
# Exits non-zero when a notification is lost, duplicated or left unsent.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=target/bench-notify.txt
BENCH=target/release/vigil-bench

cargo build --release -p vigil-bench

mkdir -p target
: >"$OUT"
log() { echo "$*" | tee -a "$OUT"; }

log "# Vigil notification benchmark"
log "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
log "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
log "postgres: ${VIGIL_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
log ""
log "\$ $BENCH notify --pg $*"
"$BENCH" notify --pg "$@" 2>&1 | tee -a "$OUT"
