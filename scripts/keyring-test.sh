#!/bin/sh
# keyring-test.sh: the real OS keyring round trip of internal/secret (tests tagged 'integration'), in a
# private D-Bus session with a throwaway gnome-keyring (specs/fyne-notes.md section 5):
#
#   XDG_DATA_HOME=$(mktemp -d) dbus-run-session -- sh -c \
#     'printf ci | gnome-keyring-daemon --unlock >/dev/null && go test -tags integration ./internal/secret/'
#
# Installs dbus-daemon and gnome-keyring with apt-get when they are missing (never dbus-x11: with it, godbus
# autolaunches buses that outlive the test). Exits non-zero whenever the test did not run and pass: in CI a
# missing keyring is a failure, not a skip.
set -eu

cd "$(dirname "$0")/.."

fail() {
	echo "keyring-test: FAIL: $*" >&2
	exit 1
}

have_tools() {
	command -v dbus-run-session >/dev/null 2>&1 && command -v gnome-keyring-daemon >/dev/null 2>&1
}

if ! have_tools; then
	if command -v apt-get >/dev/null 2>&1; then
		echo "keyring-test: installing dbus-daemon gnome-keyring with apt-get" >&2
		sudo=
		if [ "$(id -u)" -ne 0 ]; then
			command -v sudo >/dev/null 2>&1 || fail "dbus-daemon and gnome-keyring are missing and installing them needs root: run apt-get install -y --no-install-recommends dbus-daemon gnome-keyring"
			sudo=sudo
		fi
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
			fail "apt-get update failed"
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dbus-daemon gnome-keyring ||
			fail "apt-get install dbus-daemon gnome-keyring failed"
	else
		fail "dbus-run-session and gnome-keyring-daemon are required and apt-get is not available: install your system's dbus-daemon (dbus-run-session) and gnome-keyring packages, not dbus-x11"
	fi
fi
have_tools || fail "dbus-run-session or gnome-keyring-daemon is still missing after installing"
command -v go >/dev/null 2>&1 || fail "go is not on PATH"

keyrings=$(mktemp -d)
out=$(mktemp)
trap 'rm -rf "$keyrings" "$out"' EXIT

# -count=1: a cached result would not have touched the keyring. -v: so the check below can see the test ran.
status=0
XDG_DATA_HOME="$keyrings" dbus-run-session -- sh -c \
	'printf ci | gnome-keyring-daemon --unlock >/dev/null && go test -count=1 -v -tags integration -run "^TestKeyringIntegration$" ./internal/secret/' \
	>"$out" 2>&1 || status=$?
cat "$out"

[ "$status" -eq 0 ] || fail "the keyring round trip failed (exit status $status)"
grep -q -- '^--- PASS: TestKeyringIntegration' "$out" ||
	fail "TestKeyringIntegration did not run (build tag 'integration' or test name changed?)"
echo "keyring-test: ok: real Secret Service round trip passed"
