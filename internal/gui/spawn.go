//go:build !ci

package gui

// background runs f on a goroutine of its own: I/O never runs on the UI goroutine, and results come back
// through fyne.Do.
func background(f func()) { go f() }
