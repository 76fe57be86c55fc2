#!/usr/bin/env bash
# Installs wrk (the HTTP load generator of the lab's `http` experiment) and
# taskset (util-linux: pins the server to one core and wrk to the other)
# from Debian's packages. Prints the path of the `wrk` binary on its last line.
#
# Idempotent: installs only what is missing. Needs root (apt-get); without it,
# or without apt-get, it says what is missing and fails.
set -euo pipefail

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -eq 0 ]; then
    command -v wrk
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install-wrk.sh: no apt-get here; install ${missing[*]} yourself (https://github.com/wg/wrk)" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-wrk.sh: needs root for apt-get (try: sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || true
echo "install-wrk.sh: installing ${missing[*]}" >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
if command -v wrk >/dev/null; then
    command -v wrk
else
    echo "install-wrk.sh: installed ${missing[*]} but found no wrk on PATH" >&2
    exit 1
fi
