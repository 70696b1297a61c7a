package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/dirconn/dirconn/internal/connector"
)

// trayMenu is the system tray's menu: Show/Hide, Sync Now, Start/Stop Sync, Quit. It is built and updated
// as a plain *fyne.Menu, so tests run its actions without a tray.
type trayMenu struct {
	ui                          *UI
	menu                        *fyne.Menu
	showHide, syncNow, schedule *fyne.MenuItem
	quit                        *fyne.MenuItem
	installed                   bool
}

func newTrayMenu(ui *UI) *trayMenu {
	t := &trayMenu{ui: ui}
	t.showHide = fyne.NewMenuItem("Hide dirconn", t.onShowHide)
	t.syncNow = fyne.NewMenuItem("Sync Now", func() { t.ui.svc.SyncNow() })
	t.schedule = fyne.NewMenuItem("Start Sync", t.onSchedule)
	t.quit = fyne.NewMenuItem("Quit", func() { t.ui.Quit() })
	t.quit.IsQuit = true
	t.menu = fyne.NewMenu("dirconn", t.showHide, fyne.NewMenuItemSeparator(), t.syncNow, t.schedule,
		fyne.NewMenuItemSeparator(), t.quit)
	return t
}

func (t *trayMenu) onShowHide() {
	if t.ui.visible {
		t.ui.hide()
	} else {
		t.ui.showWindow()
	}
}

func (t *trayMenu) onSchedule() {
	t.ui.setSyncing(!t.ui.status.Scheduled)
}

// install puts the menu into the system tray (only when Options.Tray says a tray can be used).
func (t *trayMenu) install(icon fyne.Resource) {
	desk, ok := t.ui.app.(desktop.App)
	if !ok || !t.ui.opts.Tray {
		return
	}
	desk.SetSystemTrayMenu(t.menu)
	if icon != nil {
		desk.SetSystemTrayIcon(icon)
	}
	t.installed = true
}

// apply updates the labels and enabled items to a status snapshot.
func (t *trayMenu) apply(st connector.Status) {
	if t.ui.visible {
		t.showHide.Label = "Hide dirconn"
	} else {
		t.showHide.Label = "Show dirconn"
	}
	t.syncNow.Disabled = !st.LoggedIn || st.Running
	t.schedule.Disabled = !st.LoggedIn
	if st.Scheduled {
		t.schedule.Label = "Stop Sync"
	} else {
		t.schedule.Label = "Start Sync"
	}
	if t.installed {
		t.menu.Refresh()
	}
}
