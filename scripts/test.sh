#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test on both storage backends.
# PostgreSQL is required (VIGIL_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test);
# the run fails when it is unreachable rather than testing one backend only.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url="${VIGIL_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! psql "$pg_url" -qAtc 'select 1' >/dev/null 2>&1; then
  echo "error: PostgreSQL is not reachable at $pg_url (set VIGIL_TEST_PG_URL); both backends are always tested" >&2
  exit 1
fi
export VIGIL_TEST_PG_URL="$pg_url"

scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
