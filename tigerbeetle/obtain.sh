#!/usr/bin/env bash
# Prints the path of a TigerBeetle server binary of the pinned release (tigerbeetle/VERSION):
# $TIGERBEETLE_BIN when set, else tigerbeetle/tigerbeetle, else tigerbeetle/bin/tigerbeetle.
# Finding none, it fails with one line on stderr and exit code 1, unless called as
# `tigerbeetle/obtain.sh --download`: then it fetches the official release zip from GitHub and
# unpacks it into tigerbeetle/bin/ (only when a person asks: the services, the tests and the
# benchmarks never download anything). Nothing is built here.
set -euo pipefail

download=false
case "${1:-}" in
    --download) download=true ;;
    "") ;;
    *) echo "usage: tigerbeetle/obtain.sh [--download]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(tr -d '[:space:]' < "$here/VERSION")"
releases="https://github.com/tigerbeetle/tigerbeetle/releases/download"
url="$releases/$version/tigerbeetle-x86_64-linux.zip"
bin_dir="$here/bin"

if [[ -n "${TIGERBEETLE_BIN:-}" ]]; then
    if [[ ! -x "$TIGERBEETLE_BIN" ]]; then
        echo "obtain.sh: TIGERBEETLE_BIN=$TIGERBEETLE_BIN is not an executable" >&2
        exit 1
    fi
    echo "$TIGERBEETLE_BIN"
    exit 0
fi
for candidate in "$here/tigerbeetle" "$bin_dir/tigerbeetle"; do
    if [[ -x "$candidate" ]]; then
        echo "$candidate"
        exit 0
    fi
done

if ! $download; then
    echo "obtain.sh: no TigerBeetle $version server binary: set TIGERBEETLE_BIN, or put one at" \
        "tigerbeetle/tigerbeetle, or run tigerbeetle/obtain.sh --download" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! curl --fail --silent --show-error --location --max-time 120 --output "$work/tb.zip" \
    "$url" 2> "$work/curl.log"; then
    reason="$(tail -n 1 "$work/curl.log")"
    echo "obtain.sh: cannot download TigerBeetle $version from $url ($reason)" >&2
    exit 1
fi
mkdir -p "$bin_dir"
extract='import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("tigerbeetle", sys.argv[2])'
/usr/bin/python3 -c "$extract" "$work/tb.zip" "$work"
install -m 0755 "$work/tigerbeetle" "$bin_dir/tigerbeetle"
echo "$bin_dir/tigerbeetle"
