//go:build !(linux && cgo && !ci && !wayland)

package main

import "fyne.io/fyne/v2"

// windowMinimized is nil where the app cannot ask the window system: minimize-to-tray is then off (close
// to tray and Hide in the tray menu still work).
var windowMinimized func(w fyne.Window) bool
