#!/usr/bin/env bash
# Installs what dirconn's build and tests need and is missing: Go modules always; Debian packages (for the
# race detector, the real keyring test and, later, the GUI build and the LDAP test servers) through
# apt-get on Debian/Ubuntu. On other systems it says what to install.
#   scripts/deps.sh test   packages for `make test`
#   scripts/deps.sh build  packages for `make build`
set -euo pipefail
what=${1:-test}

need_go() {
	if ! command -v go >/dev/null 2>&1; then
		echo "dirconn needs Go 1.26 or newer: https://go.dev/dl/ (Debian's golang package is too old)." >&2
		exit 1
	fi
	local v
	v=$(go env GOVERSION | sed 's/^go//')
	case "$v" in
	1.2[6-9]* | 1.[3-9]* | [2-9].*) ;;
	*) echo "dirconn needs Go 1.26 or newer; this is go$v: https://go.dev/dl/" >&2; exit 1 ;;
	esac
}

# packages lists the Debian packages for $what; each line "package command-or-file-that-proves-it".
packages() {
	echo "gcc gcc"                       # cgo, for go test -race
	echo "libc6-dev /usr/include/stdio.h"
	if [ "$what" = test ]; then
		echo "dbus-daemon dbus-run-session" # a private session bus for the real keyring test
		echo "gnome-keyring gnome-keyring-daemon"
	fi
}

missing=()
while read -r pkg probe; do
	if [[ "$probe" == /* ]]; then
		[ -e "$probe" ] || missing+=("$pkg")
	else
		command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg")
	fi
done < <(packages)

if [ ${#missing[@]} -gt 0 ]; then
	if command -v apt-get >/dev/null 2>&1; then
		sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		echo "Installing Debian packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		$sudo apt-get update -qq
		# never dbus-x11: it autolaunches session buses that outlive the tests
		$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "Missing packages: ${missing[*]}." >&2
		echo "This system has no apt-get: install the equivalents with your package manager" >&2
		echo "(a C compiler for the race detector; dbus and gnome-keyring for the keyring test), then retry." >&2
		exit 1
	fi
fi

need_go
go mod download
