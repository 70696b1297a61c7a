//go:build linux && cgo && !ci && !wayland

package main

/*
#cgo LDFLAGS: -lX11
#include <X11/Xlib.h>
#include <X11/Xatom.h>

// dc_iconic reports whether win is in ICCCM IconicState (minimized): 1 yes, 0 no, -1 no display.
static int dc_iconic(unsigned long win) {
	static Display *d = NULL;
	if (!d) d = XOpenDisplay(NULL);
	if (!d) return -1;
	Atom wmState = XInternAtom(d, "WM_STATE", True);
	if (wmState == None) return 0;
	Atom type; int format; unsigned long n, after; unsigned char *data = NULL;
	int iconic = 0;
	if (XGetWindowProperty(d, (Window)win, wmState, 0, 2, False, wmState, &type, &format, &n, &after, &data) == Success && data) {
		if (n >= 1 && format == 32) iconic = ((long *)data)[0] == 3; // IconicState
		XFree(data);
	}
	return iconic;
}
*/
import "C"

import (
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
)

var x11mu sync.Mutex

// windowMinimized asks the X server whether w is minimized. Fyne has no minimize event; the app asks this
// after the window lost focus, from a goroutine.
func windowMinimized(w fyne.Window) bool {
	var handle uintptr
	fyne.DoAndWait(func() {
		if nw, ok := w.(driver.NativeWindow); ok {
			nw.RunNative(func(ctx any) {
				if x, ok := ctx.(driver.X11WindowContext); ok {
					handle = x.WindowHandle
				}
			})
		}
	})
	if handle == 0 {
		return false
	}
	x11mu.Lock()
	defer x11mu.Unlock()
	return C.dc_iconic(C.ulong(handle)) == 1
}
