#!/usr/bin/env bash
# Installs a Go toolchain from Debian's packages, for the lab's Go peers and (later)
# the Go binding's tests. Prefers the newest golang-1.2x-go the package index offers
# (bookworm-backports carries newer ones than bookworm's Go 1.19), falls back to
# golang-go. Prints the path of the `go` binary on its last line.
#
# Idempotent: does nothing when a Go >= 1.21 is already installed.
# Needs root (it calls apt-get); on a machine without apt-get it explains and fails.
set -euo pipefail

find_go() {
    # Debian's versioned packages install to /usr/lib/go-1.NN/bin without touching PATH.
    local best="" v
    for g in /usr/lib/go-1.*/bin/go /usr/local/go/bin/go "$(command -v go 2>/dev/null || true)"; do
        [ -x "$g" ] || continue
        v=$("$g" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
        [ -n "$v" ] && [ "$v" -ge 21 ] || continue
        best="$g"
    done
    [ -n "$best" ] && echo "$best"
}

if g=$(find_go); then
    echo "$g"
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    echo "install-go.sh: no apt-get here; install Go >= 1.21 yourself (https://go.dev/dl) and put it on PATH" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-go.sh: needs root for apt-get (try: sudo $0)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ -n "$codename" ] && [ -d /etc/apt/sources.list.d ] && ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    if . /etc/os-release && [ "${ID:-}" = debian ]; then
        cat >/etc/apt/sources.list.d/baton-backports.sources <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${codename}-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
fi
apt-get update -qq >&2 || true
pkg=$(apt-cache search --names-only '^golang-1\.[0-9]+-go$' 2>/dev/null | awk '{print $1}' | sort -t. -k2 -n | tail -n 1)
if [ -z "$pkg" ]; then pkg=golang-go; fi
echo "install-go.sh: installing $pkg" >&2
apt-get install -y -qq --no-install-recommends "$pkg" >&2

if g=$(find_go); then
    echo "$g"
else
    echo "install-go.sh: installed $pkg but found no Go >= 1.21 (Go peers need 1.21+)" >&2
    exit 1
fi
