#!/usr/bin/env bash
# Smoke-runs the real desktop app under Xvfb: it must show its window and exit 0 when it quits by itself
# (DIRCONN_GUI_QUIT_AFTER) and on SIGTERM, without a D-Bus session (no tray: fyne-io/fyne#6403 guard) and
# with one (tray host missing), and log no Fyne threading error.
#   scripts/gui-smoke.sh [BINARY]
set -euo pipefail
bin=${1:-bin/dirconn-gui}
export LANG=en_US.UTF-8
xvfb=(xvfb-run -a -s "-screen 0 1280x800x24")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

check() { # check NAME EXIT LOG
	if [ "$2" -ne 0 ]; then
		echo "gui-smoke: $1: exit status $2, want 0" >&2
		tail -20 "$3" >&2
		fail=1
	elif grep -q "Error in Fyne call thread\|panic:" "$3"; then
		echo "gui-smoke: $1: the log shows a threading error or a panic" >&2
		grep -m5 "Error in Fyne call thread\|panic:" "$3" >&2
		fail=1
	else
		echo "gui-smoke: $1: ok"
	fi
}

# 1. Quits by itself, no session bus: the tray is skipped and Quit must not panic.
set +e
env -u DBUS_SESSION_BUS_ADDRESS DIRCONN_HOME="$tmp/a" DIRCONN_GUI_QUIT_AFTER=3s "${xvfb[@]}" "$bin" --demo >"$tmp/1.log" 2>&1
check "quit, no D-Bus session" $? "$tmp/1.log"

# 2. Quits by itself inside a private session bus without a tray host.
if command -v dbus-run-session >/dev/null; then
	DIRCONN_HOME="$tmp/b" DIRCONN_GUI_QUIT_AFTER=3s dbus-run-session -- "${xvfb[@]}" "$bin" >"$tmp/2.log" 2>&1
	check "quit, D-Bus session without a tray host" $? "$tmp/2.log"
fi

# 3. SIGTERM, no session bus.
env -u DBUS_SESSION_BUS_ADDRESS DIRCONN_HOME="$tmp/c" "${xvfb[@]}" sh -c '"$0" --demo & p=$!; sleep 3; kill -TERM $p; wait $p' "$bin" >"$tmp/3.log" 2>&1
check "SIGTERM, no D-Bus session" $? "$tmp/3.log"
set -e
exit $fail
