package gui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// appTheme is Fyne's theme in the light or dark variant the desktop asks for, with dirconn's blue as the
// primary colour and secondary text (labels of low importance, disabled text) dark enough to read.
type appTheme struct{ fyne.Theme }

func newTheme() fyne.Theme { return appTheme{theme.DefaultTheme()} }

func (t appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	dark := v == theme.VariantDark
	switch n {
	case theme.ColorNamePrimary:
		if dark {
			return color.NRGBA{R: 0x4c, G: 0x8d, B: 0xf6, A: 0xff}
		}
		return color.NRGBA{R: 0x17, G: 0x5d, B: 0xdc, A: 0xff}
	case theme.ColorNameDisabled:
		if dark {
			return color.NRGBA{R: 0x8e, G: 0x8e, B: 0x93, A: 0xff}
		}
		return color.NRGBA{R: 0x8a, G: 0x8a, B: 0x8e, A: 0xff}
	case theme.ColorNameForeground:
		if !dark {
			return color.NRGBA{R: 0x22, G: 0x24, B: 0x28, A: 0xff}
		}
	case theme.ColorNameSuccess:
		if !dark {
			return color.NRGBA{R: 0x1e, G: 0x8e, B: 0x3e, A: 0xff}
		}
	case theme.ColorNameWarning:
		if !dark {
			return color.NRGBA{R: 0xc2, G: 0x6a, B: 0x00, A: 0xff}
		}
	case theme.ColorNameError:
		if !dark {
			return color.NRGBA{R: 0xc6, G: 0x28, B: 0x28, A: 0xff}
		}
	}
	return t.Theme.Color(n, v)
}
