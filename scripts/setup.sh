#!/usr/bin/env bash
# Installs what Vigil's build and tests need from Debian's packages; does nothing when present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v curl >/dev/null || need+=(curl)
command -v psql >/dev/null || need+=(postgresql-client)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
command -v utmpdump >/dev/null || need+=(util-linux)
[ -x /lib/systemd/systemd-journal-remote ] || need+=(systemd-journal-remote)
/usr/bin/python3 -c 'import rpm' 2>/dev/null || need+=(python3-rpm)
# john-data's password.lst: the weak-password checks try it after Vigil's own list.
[ -f /usr/share/john/password.lst ] || need+=(john-data)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# sshd is the oracle of the baseline's reading of sshd_config (`sshd -T`); it is installed with
# starting services refused (policy-rc.d), and never started by the tests.
if [ ! -x /usr/sbin/sshd ]; then
  echo "setup: installing openssh-server (sshd -T is the oracle of the baseline tests; not started)"
  export DEBIAN_FRONTEND=noninteractive
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
  if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
fi
python3 -c 'import aiosmtpd' 2>/dev/null || { echo "setup: installing aiosmtpd (the SMTP server the notification tests send to)"; python3 -m pip install -q aiosmtpd; }
python3 -c 'import packaging.version' 2>/dev/null || { echo "setup: installing packaging (the PEP 440 oracle of the version tests)"; python3 -m pip install -q packaging; }
# The IP geolocation database the server tests use (kept out of git under target/).
[ -s target/geoip/dbip-country.mmdb ] || { echo "setup: fetching the IP geolocation database"; scripts/fetch-geoip.sh target/geoip/dbip-country.mmdb; }
