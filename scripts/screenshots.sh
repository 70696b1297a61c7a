#!/usr/bin/env bash
# Takes the README's screenshots of the real desktop app under Xvfb: the login screen (fresh data dir) and
# the Dashboard, Settings and More tabs of the demo (after Sync Now and Test Now), into docs/screenshots/.
# Needs: xvfb xauth x11-apps netpbm xdotool (scripts/deps.sh screenshots) and bin/dirconn-gui.
#   scripts/screenshots.sh [BINARY] [OUTDIR]
set -euo pipefail
bin=${1:-bin/dirconn-gui}
out=${2:-docs/screenshots}
mkdir -p "$out"
export LANG=en_US.UTF-8
export FYNE_THEME=${FYNE_THEME:-light}

if [ -z "${DIRCONN_SHOTS_IN_XVFB:-}" ]; then
	DIRCONN_SHOTS_IN_XVFB=1 exec xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$bin" "$out"
fi

tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# window waits for the app's window and prints its id.
window() {
	for _ in $(seq 1 300); do
		id=$(xdotool search --onlyvisible --name '^dirconn' 2>/dev/null | head -1 || true)
		if [ -n "$id" ]; then
			echo "$id"
			return 0
		fi
		sleep 0.2
	done
	echo "screenshots: the app's window did not appear" >&2
	return 1
}

# shot WINDOW NAME writes NAME.png of the window.
shot() {
	sleep "${3:-1.5}"
	xwd -id "$1" -silent | xwdtopnm 2>/dev/null | pnmtopng >"$out/$2.png"
	echo "wrote $out/$2.png"
}

# click WINDOW X Y clicks at window coordinates.
click() {
	xdotool mousemove --window "$1" "$2" "$3" click 1
}

# 1. The login screen, on an empty data dir.
DIRCONN_HOME="$tmp/home" "$bin" >"$tmp/login.log" 2>&1 &
pid=$!
w=$(window)
shot "$w" login
kill "$pid"; wait "$pid" || true; pid=""

# 2. The demo: Sync Now, Test Now, then each tab.
"$bin" --demo >"$tmp/demo.log" 2>&1 &
pid=$!
w=$(window)
sleep 1
click "$w" "${DIRCONN_SHOT_SYNC_X:-735}" "${DIRCONN_SHOT_SYNC_Y:-195}"   # Sync Now
sleep 3
click "$w" "${DIRCONN_SHOT_TEST_X:-65}" "${DIRCONN_SHOT_TEST_Y:-466}"    # Test Now
shot "$w" dashboard 3
xdotool mousemove --window "$w" 400 450 click 5 click 5 click 5 click 5 click 5 click 5   # scroll to the results
shot "$w" dashboard-test
click "$w" 175 "${DIRCONN_SHOT_TAB_Y:-145}"                             # Settings tab
shot "$w" settings
click "$w" 265 "${DIRCONN_SHOT_TAB_Y:-145}"                             # More tab
shot "$w" more
kill "$pid"; wait "$pid" || true; pid=""
