#!/usr/bin/env bash
# Installs what TigerFans needs on Debian 12, and only what is missing: the compiler and
# libraries from Debian's packages, PostgreSQL and Redis, and the official TigerBeetle client
# library (libtb_client.so 0.17.8, from the tigerbeetle package on PyPI), for the browser
# tests Chromium with playwright-core from npm (tests/browser), for the fuzz targets clang with its
# libFuzzer and sanitizer runtimes, and clang-format and clang-tidy for the checks CI runs. Safe
# to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    build-essential cmake ninja-build ccache pkg-config
    libboost1.81-dev libboost-system1.81-dev libpqxx-dev libhiredis-dev nlohmann-json3-dev libspdlog-dev
    libgtest-dev libgmock-dev libbenchmark-dev libssl-dev libqrencode-dev zlib1g-dev libjemalloc-dev
    postgresql redis-server python3 python3-pip python3-prometheus-client python3-yaml unzip procps iproute2 curl
    chromium fonts-dejavu-core nodejs
    clang-14 libclang-rt-14-dev clang-format-14 clang-tidy-14
)
# The machine's Node.js may bundle npm; Debian's nodejs does not.
if ! command -v npm >/dev/null; then
    packages+=(npm)
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "setup: Debian packages present"
fi

scripts/fetch_tb_client.sh

# playwright-core only drives Debian's Chromium; it downloads no browser of its own.
wanted=$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' tests/browser/package.json)
installed=tests/browser/node_modules/playwright-core/package.json
if [ ! -f "$installed" ] || ! grep -q "\"version\": \"$wanted\"" "$installed"; then
    echo "setup: installing the browser test driver (npm ci in tests/browser)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
