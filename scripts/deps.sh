#!/usr/bin/env bash
# Installs what dirconn's build and tests need and is missing: Go modules always; Debian packages (for the
# race detector, the real keyring test, the desktop app's cgo build and its run under Xvfb, and the LDAP
# test servers OpenLDAP and Samba) through apt-get on Debian/Ubuntu. On other systems it says what to install.
#   scripts/deps.sh test         packages for `make test`
#   scripts/deps.sh build        packages for `make build` and `make build-gui`
#   scripts/deps.sh run          packages for `make run` (the desktop app)
#   scripts/deps.sh screenshots  packages for `make screenshots`
#   scripts/deps.sh bench        packages for `make bench`
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

# packages lists the Debian packages for $what; each line "package command-or-file-that-proves-it", or
# "package dpkg" when only dpkg can tell.
packages() {
	echo "gcc gcc"                       # cgo, for go test -race and the desktop app
	echo "libc6-dev /usr/include/stdio.h"
	# the desktop app (Fyne: GLFW on X11 and OpenGL), built by make build-gui, run and test
	echo "pkg-config pkg-config"
	echo "libgl1-mesa-dev /usr/include/GL/gl.h"
	echo "libx11-dev /usr/include/X11/Xlib.h"
	echo "libxcursor-dev /usr/include/X11/Xcursor/Xcursor.h"
	echo "libxrandr-dev /usr/include/X11/extensions/Xrandr.h"
	echo "libxinerama-dev /usr/include/X11/extensions/Xinerama.h"
	echo "libxi-dev /usr/include/X11/extensions/XInput2.h"
	echo "libxxf86vm-dev /usr/include/X11/extensions/xf86vmode.h"
	if [ "$what" = test ] || [ "$what" = screenshots ]; then
		echo "xvfb Xvfb"   # a virtual display for the desktop app's smoke run and screenshots
		echo "xauth xauth" # xvfb-run needs it (only a Recommends of xvfb)
	fi
	if [ "$what" = test ]; then
		echo "dbus-daemon dbus-run-session" # a private session bus for the real keyring test
		echo "gnome-keyring gnome-keyring-daemon"
		# a real Samba Active Directory DC for the LDAP adapter's tests (runs on 127.0.0.1:389/636, as root)
		echo "samba /usr/sbin/samba"
		echo "samba-ad-dc dpkg"
		echo "samba-ad-provision /usr/share/samba/setup/ad-schema"
		echo "samba-dsdb-modules dpkg"
		echo "winbind /usr/sbin/winbindd"
		echo "python3-samba /usr/lib/python3/dist-packages/samba/__init__.py"
	fi
	if [ "$what" = test ] || [ "$what" = bench ]; then
		# a real OpenLDAP slapd for the LDAP adapter's tests and benchmark, and ldapsearch to compare with
		echo "slapd /usr/sbin/slapd"
		echo "ldap-utils ldapsearch"
	fi
	if [ "$what" = screenshots ]; then
		echo "x11-apps xwd"      # xwd | xwdtopnm | pnmtopng takes the screenshots
		echo "netpbm pnmtopng"
		echo "xdotool xdotool" # clicks the buttons and tabs
	fi
}

missing=()
while read -r pkg probe; do
	if [ "$probe" = dpkg ]; then
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
	elif [[ "$probe" == /* ]]; then
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
		# slapd and samba must not start their system services (on 389/636, where the tests run their own
		# servers): a policy-rc.d that refuses every start, for the time of the install
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
			$sudo chmod +x /usr/sbin/policy-rc.d
			trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
		fi
		$sudo apt-get update -qq
		# never dbus-x11: it autolaunches session buses that outlive the tests
		$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "Missing packages: ${missing[*]}." >&2
		echo "This system has no apt-get: install the equivalents with your package manager" >&2
		echo "(a C compiler for the race detector; OpenGL and X11 development headers for the desktop app;" >&2
		echo "Xvfb for its smoke test; dbus and gnome-keyring for the keyring test; OpenLDAP's slapd and" >&2
		echo "ldapsearch, and a Samba AD DC, for the LDAP tests), then retry." >&2
		exit 1
	fi
fi

need_go
go mod download
