package gui

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// Icon is the app icon (window, tray, notifications, the About box).
var Icon fyne.Resource = fyne.NewStaticResource("dirconn.png", iconPNG)
