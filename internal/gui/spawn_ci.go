//go:build ci

package gui

// background runs f at once under Fyne's ci build tag: the headless test driver runs fyne.Do inline on
// the calling goroutine, so work started on another goroutine would touch widgets concurrently with the
// test. The real app (without the tag) uses a goroutine.
func background(f func()) { f() }
