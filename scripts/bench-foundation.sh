#!/usr/bin/env bash
# Builds the release binaries and runs Vigil's foundation benchmarks with their defaults:
#   ingest on SQLite and on PostgreSQL (1,000 agents, 20 s, 100-event batches),
#   server memory with 1,000 connected agents (30 s), an idle agent (60 s), and alert-list
#   query latency with 1,000,000 alerts on SQLite and on PostgreSQL (a few minutes each).
# Everything is written to target/bench-foundation.txt and printed as it runs.
#
# Run from the repository root. PostgreSQL is required for the PostgreSQL ingest and alerts runs:
# postgres://postgres@127.0.0.1:5432/test by default, VIGIL_TEST_PG_URL overrides.
# Exits non-zero when any bench fails (the others still run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=target/bench-foundation.txt
BENCH=target/release/vigil-bench
AGENTS=1000

# 1,000 agents each on their own connection need about as many descriptors in the bench and in
# the server; raise the soft limit towards the hard one when it is lower.
want=$((AGENTS * 2 + 512))
soft=$(ulimit -Sn)
if [[ "$soft" != unlimited && "$soft" -lt "$want" ]]; then
    hard=$(ulimit -Hn)
    if [[ "$hard" == unlimited || "$hard" -ge "$want" ]]; then
        ulimit -Sn "$want"
    else
        ulimit -Sn "$hard"
        echo "bench-foundation: warning: open-file limit is only $hard; server-rss may fail (raise the hard limit)" >&2
    fi
fi

cargo build --release -p vigil -p vigil-bench

mkdir -p target
: >"$OUT"
log() { echo "$*" | tee -a "$OUT"; }

log "# Vigil foundation benchmarks"
log "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
log "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
log "kernel:   $(uname -r); open-file limit $(ulimit -Sn)"
log "postgres: ${VIGIL_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"

failed=()
run() {
    log ""
    log "\$ $BENCH $*"
    if ! "$BENCH" "$@" 2>&1 | tee -a "$OUT"; then
        failed+=("$*")
        log "bench-foundation: FAILED: $BENCH $*"
    fi
}

run ingest --db sqlite --agents "$AGENTS"
run ingest --db postgres --agents "$AGENTS"
run server-rss --agents "$AGENTS"
run agent-idle --seconds 60
run alerts --db sqlite
run alerts --db postgres

log ""
if ((${#failed[@]})); then
    log "bench-foundation: ${#failed[@]} bench(es) failed: ${failed[*]}"
    log "results in $OUT"
    exit 1
fi
log "bench-foundation: all benches ran; results in $OUT"
