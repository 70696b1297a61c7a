package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// widthLayout gives its objects a fixed minimum width (wrapped text inside wraps at that width).
type widthLayout struct{ width float32 }

func (l widthLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

func (l widthLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(l.width, h)
}

// fixedWidth lays obj out at width w.
func fixedWidth(w float32, obj fyne.CanvasObject) fyne.CanvasObject {
	return container.New(widthLayout{w}, obj)
}

// minHeight makes obj at least h tall.
func minHeight(h float32, obj fyne.CanvasObject) fyne.CanvasObject {
	r := canvas.NewRectangle(nil)
	r.SetMinSize(fyne.NewSize(0, h))
	return container.NewStack(r, obj)
}

// wrapped returns a word-wrapped label.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// hint returns a wrapped, subdued label for help text.
func hint(text string) *widget.Label {
	l := wrapped(text)
	l.Importance = widget.LowImportance
	l.SizeName = theme.SizeNameCaptionText
	return l
}

// fieldError returns a hidden label that shows a field's validation message in the error colour.
func fieldError() *widget.Label {
	l := wrapped("")
	l.Importance = widget.DangerImportance
	l.SizeName = theme.SizeNameCaptionText
	l.Hide()
	return l
}

// setMessage shows text in l, or hides l when text is empty.
func setMessage(l *widget.Label, text string) {
	l.SetText(text)
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// section is a titled block of a tab: a bold title, an optional subtitle and the content.
func section(title, subtitle string, content ...fyne.CanvasObject) fyne.CanvasObject {
	t := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	t.SizeName = theme.SizeNameSubHeadingText
	objs := []fyne.CanvasObject{t}
	if subtitle != "" {
		s := wrapped(subtitle)
		s.Importance = widget.LowImportance
		objs = append(objs, s)
	}
	return card(append(objs, content...)...)
}

// card is a block of a tab on a subtle background.
func card(objs ...fyne.CanvasObject) fyne.CanvasObject {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.CornerRadius = theme.InputRadiusSize()
	bg.StrokeColor = theme.Color(theme.ColorNameSeparator)
	bg.StrokeWidth = 1
	return container.NewStack(bg, container.NewPadded(container.NewVBox(objs...)))
}

// banner is a coloured notice: a bar in the importance's colour, a bold title and the content.
func banner(imp widget.Importance, title *widget.Label, content ...fyne.CanvasObject) fyne.CanvasObject {
	bar := canvas.NewRectangle(importanceColor(imp))
	bar.SetMinSize(fyne.NewSize(5, 0))
	title.TextStyle = fyne.TextStyle{Bold: true}
	title.Importance = imp
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.CornerRadius = theme.InputRadiusSize()
	body := container.NewVBox(append([]fyne.CanvasObject{title}, content...)...)
	return container.NewStack(bg, container.NewBorder(nil, nil, bar, nil, container.NewPadded(body)))
}

// pairs lays out label/value rows in two aligned columns.
func pairs(objs ...fyne.CanvasObject) *fyne.Container {
	return container.New(layout.NewFormLayout(), objs...)
}

// key returns the label of a pairs row; keys share one width so that separate pairs blocks align.
func key(text string) fyne.CanvasObject {
	l := widget.NewLabel(text)
	l.Importance = widget.LowImportance
	return fixedWidth(130, l)
}

// appIcon shows the app's icon at size x size.
func appIcon(res fyne.Resource, size float32) *canvas.Image {
	icon := canvas.NewImageFromResource(res)
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSize(size, size))
	return icon
}
