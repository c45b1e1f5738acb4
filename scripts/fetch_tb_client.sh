#!/usr/bin/env bash
# Obtains the official TigerBeetle C client library (libtb_client.so, release pinned in
# tigerbeetle/VERSION) for the server and the tests. Order: $TB_CLIENT_LIB when it names an
# existing file; else tigerbeetle/lib/libtb_client.so when already fetched; else the official
# PyPI wheel `tigerbeetle==<version>`, from which only the x86_64 glibc library is extracted.
# Nothing is built here. Prints the library's path on success.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(tr -d '[:space:]' < "$root/tigerbeetle/VERSION")"
target="$root/tigerbeetle/lib/libtb_client.so"
wheel_member="tigerbeetle/lib/x86_64-linux-gnu.2.27/libtb_client.so"

if [[ -n "${TB_CLIENT_LIB:-}" ]]; then
    if [[ -f "${TB_CLIENT_LIB}" ]]; then
        echo "${TB_CLIENT_LIB}"
        exit 0
    fi
    echo "fetch_tb_client: TB_CLIENT_LIB=${TB_CLIENT_LIB} does not exist; using $target" >&2
fi
if [[ -f "$target" ]]; then
    echo "$target"
    exit 0
fi

# `pip` may be missing or belong to another interpreter: try it, then the system Python.
pip_download() {
    local into="$1"
    local spec="tigerbeetle==$version"
    if command -v pip > /dev/null 2>&1 &&
        pip download --quiet --no-deps --dest "$into" "$spec" >&2; then
        return 0
    fi
    /usr/bin/python3 -m pip download --quiet --no-deps --dest "$into" "$spec" >&2
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! pip_download "$work"; then
    echo "fetch_tb_client: cannot download tigerbeetle==$version from PyPI" >&2
    exit 1
fi
wheel="$(ls "$work"/tigerbeetle-"$version"-*.whl)"
mkdir -p "$(dirname "$target")"
/usr/bin/python3 - "$wheel" "$wheel_member" "$target.tmp" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(out, "wb") as sink:
    shutil.copyfileobj(source, sink)
PY
# The wheel's library must be the one the project pinned (tigerbeetle/libtb_client.sha256).
expected="$(cut -d' ' -f1 "$root/tigerbeetle/libtb_client.sha256")"
actual="$(sha256sum "$target.tmp" | cut -d' ' -f1)"
if [[ "$actual" != "$expected" ]]; then
    rm -f "$target.tmp"
    echo "fetch_tb_client: the wheel's libtb_client.so has sha256 $actual, pinned $expected" >&2
    exit 1
fi
mv "$target.tmp" "$target"
echo "$target"
