#!/usr/bin/env bash
# Compares the baseline with OpenSCAP's SCAP Security Guide rules on this machine, rule by rule
# (see scripts/compare-openscap.py). Installs openscap-scanner, ssg-debian and ssg-debderived when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v oscap >/dev/null || need+=(openscap-scanner)
[ -s /usr/share/xml/scap/ssg/content/ssg-debian11-oval.xml ] || need+=(ssg-debian)
[ -s /usr/share/xml/scap/ssg/content/ssg-ubuntu2204-oval.xml ] || need+=(ssg-debderived)
if [ ${#need[@]} -gt 0 ]; then
  echo "compare-openscap: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cargo build --release -q -p vigil
exec python3 scripts/compare-openscap.py --vigil target/release/vigil "$@"
