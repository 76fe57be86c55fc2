#!/usr/bin/env bash
# Installs the tools .ci/run's C ABI steps need, from Debian's packages:
# cbindgen (the header check of crates/baton-ffi) and valgrind (memcheck of
# the C test program and the collections stress test).
#
# Idempotent: installs only what is missing. Needs root (apt-get); without it,
# or without apt-get, it says what is missing and fails.
set -euo pipefail

missing=()
command -v cbindgen >/dev/null || missing+=(cbindgen)
command -v valgrind >/dev/null || missing+=(valgrind)
if [ ${#missing[@]} -eq 0 ]; then
    echo "cbindgen $(cbindgen --version | awk '{print $2}'), valgrind $(valgrind --version): already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install-ci-tools.sh: no apt-get here; install ${missing[*]} yourself" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-ci-tools.sh: needs root for apt-get (try: sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
