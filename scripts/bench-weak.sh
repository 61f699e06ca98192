#!/usr/bin/env bash
# The weak-password checks' hash verification rate per scheme, against glibc's libxcrypt (via
# Python's crypt module) on the same hashes in the same run; the CPU share of a paced run; and
# the whole baseline's wall time and peak RSS on this host without the password work.
#   bash scripts/bench-weak.sh [SECONDS-PER-SCHEME]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
cargo build --release -q -p vigil
vigil=target/release/vigil
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "scheme        vigil/s   libxcrypt/s   ratio"
for scheme in yescrypt sha512crypt sha256crypt md5crypt bcrypt; do
  tree="$work/$scheme"
  mkdir -p "$tree/etc"
  echo bench > "$tree/etc/hostname"
  python3 -W ignore - "$scheme" "$tree/etc/shadow" <<'PY'
import crypt, sys
salts = {"yescrypt": "$y$j9T$saltsaltsaltsalt$", "sha512crypt": "$6$saltsaltsaltsalt$",
         "sha256crypt": "$5$saltsaltsaltsalt$", "md5crypt": "$1$saltsalt$",
         "bcrypt": "$2b$10$abcdefghijklmnopqrstuu"}
h = crypt.crypt("k7#Qm2!vZ9@pL4w-not-in-any-list", salts[sys.argv[1]])
open(sys.argv[2], "w").write(f"bench:{h}:19000:0:99999:7:::\n")
PY
  ours=$("$vigil" scan baseline --root "$tree" --check passwords.system --passwords "$secs" --json \
    | python3 -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l)
    if r["record"] == "summary":
        print(int(next(iter(r["hashes"].values()))["per_second"]))')
  theirs=$(python3 -W ignore - "$tree/etc/shadow" "$secs" <<'PY'
import crypt, sys, time
h = open(sys.argv[1]).read().split(":")[1]
n, t = 0, time.time()
while time.time() - t < float(sys.argv[2]):
    crypt.crypt("guess%d" % n, h); n += 1
print(round(n / (time.time() - t)))
PY
)
  python3 -c "print(f'{\"$scheme\":<12} {$ours:>8} {$theirs:>13}   {$ours/$theirs:.2f}x')"
done

echo
echo "paced run (yescrypt, --cpu 3, 60 s):"
/usr/bin/time -f '%U %S %e' -o "$work/time" "$vigil" scan baseline --root "$work/yescrypt" \
  --check passwords.system --passwords 60 --cpu 3 >/dev/null
read -r user sys wall < "$work/time"
python3 -c "print(f'  cpu {($user+$sys):.2f} s over {$wall:.1f} s wall = {100*($user+$sys)/$wall:.1f} % of one core')"

echo
echo "whole default pack on / (no password guessing):"
/usr/bin/time -f '%e %M' -o "$work/time" "$vigil" scan baseline --json >/dev/null
read -r wall rss < "$work/time"
echo "  ${wall} s wall, ${rss} KiB peak RSS"
