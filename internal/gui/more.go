package gui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/state"
)

// moreView is the More tab: about and updates, the organization (log out, clear the sync cache), window
// behaviour, logs and the run history.
type moreView struct {
	ui *UI

	clientID      *widget.Label
	updateButton  *widget.Button
	logoutButton  *widget.Button
	clearButton   *widget.Button
	logsButton    *widget.Button
	minimizeCheck *widget.Check
	closeCheck    *widget.Check
	trayNote      *widget.Label
	message       *widget.Label
	history       *rowList
	historyNote   *widget.Label
	lastResult    *time.Time
	obj           fyne.CanvasObject
}

func newMoreView(ui *UI) *moreView {
	v := &moreView{ui: ui, clientID: widget.NewLabel("—"), message: wrapped(""), trayNote: hint(""),
		history: newRowList("No runs yet."), historyNote: hint("")}
	v.clientID.Selectable = true
	v.message.Hide()
	v.updateButton = widget.NewButtonWithIcon("Check for Updates", theme.DownloadIcon(), nil)
	v.updateButton.Disable()
	v.logoutButton = widget.NewButtonWithIcon("Log Out", theme.LogoutIcon(), v.onLogout)
	v.clearButton = widget.NewButtonWithIcon("Clear Sync Cache", theme.DeleteIcon(), v.onClearCache)
	v.logsButton = widget.NewButtonWithIcon("Open Log Folder", theme.FolderOpenIcon(), v.onOpenLogs)
	v.minimizeCheck = widget.NewCheck("Minimize to tray", func(on bool) { v.ui.prefs.MinimizeToTray = on; v.ui.savePrefs() })
	v.closeCheck = widget.NewCheck("Close to tray (syncs go on while the window is closed)", func(on bool) {
		v.ui.prefs.CloseToTray = on
		v.ui.savePrefs()
	})
	return v
}

func (v *moreView) build() fyne.CanvasObject {
	if v.obj != nil {
		return v.obj
	}
	icon := appIcon(v.ui.app.Icon(), 48)
	ver := v.ui.opts.Version
	if ver == "" {
		ver = "dev"
	}
	name := widget.NewLabelWithStyle("dirconn", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	about := section("About", "",
		container.NewBorder(nil, nil, icon, nil, container.NewVBox(
			name,
			widget.NewLabel("Version "+ver),
			hint(fmt.Sprintf("© 2025–%d the dirconn authors · Apache License 2.0", max(time.Now().Year(), 2026))),
		)),
		container.NewHBox(v.updateButton),
		hint("Automatic update checks are not available in this build: updates come with your package manager or installer."))

	org := section("Organization", "",
		pairs(key("Client ID"), v.clientID),
		container.NewHBox(v.logoutButton, v.clearButton),
		hint("Log out forgets the API key; settings and the sync cache stay. Clearing the sync cache makes the next sync resend the whole directory."),
		v.message)

	v.minimizeCheck.SetChecked(v.ui.prefs.MinimizeToTray)
	v.closeCheck.SetChecked(v.ui.prefs.CloseToTray)
	if !v.ui.opts.Tray {
		v.minimizeCheck.Disable()
		v.closeCheck.Disable()
		v.trayNote.SetText("No system tray is available in this desktop session, so closing the window quits dirconn.")
	} else {
		v.trayNote.SetText("The tray menu shows the window, syncs now, and starts or stops interval syncs.")
	}
	window := section("Window", "", v.minimizeCheck, v.closeCheck, v.trayNote)

	logDir := v.ui.opts.LogDir
	logPath := widget.NewLabel(logDir)
	logPath.Selectable = true
	logPath.Truncation = fyne.TextTruncateEllipsis
	logs := section("Logs", "", container.NewBorder(nil, nil, nil, v.logsButton, logPath))

	hist := section("Run history", "The most recent runs, newest first.",
		minHeight(220, v.history.obj), v.historyNote)

	v.obj = container.NewVScroll(container.NewPadded(container.NewVBox(
		about, org, window, logs, hist, layout.NewSpacer())))
	return v.obj
}

// apply shows a status snapshot; a new sync result reloads the history.
func (v *moreView) apply(st connector.Status) {
	if st.ClientID != "" {
		v.clientID.SetText(st.ClientID)
		v.logoutButton.Enable()
	} else {
		v.clientID.SetText("Not logged in")
		v.logoutButton.Disable()
	}
	if st.Running {
		v.clearButton.Disable()
	} else {
		v.clearButton.Enable()
	}
	if st.LastResult != nil && (v.lastResult == nil || !st.LastResult.Finished.Equal(*v.lastResult)) {
		t := st.LastResult.Finished
		v.lastResult = &t
		if v.obj != nil {
			v.loadHistory()
		}
	}
}

func (v *moreView) onShown() { v.loadHistory() }

// loadHistory reads the run history off the UI goroutine.
func (v *moreView) loadHistory() {
	svc := v.ui.svc
	v.ui.spawn(func() {
		runs, err := svc.History()
		fyne.Do(func() {
			if err != nil {
				setMessage(v.historyNote, "The history could not be read: "+err.Error())
				return
			}
			v.showHistory(runs)
		})
	})
}

func (v *moreView) showHistory(runs []state.Run) {
	runs = slices.Clone(runs)
	slices.Reverse(runs)
	now := time.Now()
	rows := make([]row, len(runs))
	for i, r := range runs {
		rows[i] = row{fmt.Sprintf("%s · %s · %s", formatTime(&r.Started, now), runKind(r), runResult(r.Result)), runDetail(r)}
	}
	v.history.set(rows)
	setMessage(v.historyNote, "")
}

func runKind(r state.Run) string {
	k := "Sync"
	if r.Kind == "dry-run" {
		k = "Preview"
	}
	switch {
	case r.Trigger == "schedule" || strings.HasSuffix(r.Trigger, "-schedule"):
		k += " (interval)"
	case strings.HasPrefix(r.Trigger, "gui"):
		k += " (app)"
	case r.Trigger != "":
		k += " (" + r.Trigger + ")"
	}
	return k
}

func runResult(s string) string {
	switch s {
	case "ok":
		return "OK"
	case "held":
		return "Removals held"
	case "failed":
		return "Failed"
	case "cancelled":
		return "Cancelled"
	}
	return s
}

func runDetail(r state.Run) string {
	if r.Error != "" {
		return oneLine(r.Error, 160)
	}
	c := r.Counts
	s := fmt.Sprintf("%s, %s, %s", plural(c.Invites, "invite", "invites"), plural(c.Removals, "removal", "removals"),
		plural(c.GroupCreates+c.GroupUpdates, "group change", "group changes"))
	if c.Held > 0 {
		s += fmt.Sprintf(", %d held", c.Held)
	}
	return s
}

func (v *moreView) onLogout() {
	dialog.ShowConfirm("Log out", "Are you sure you want to log out?\nInterval syncs stop until you log in again.", func(ok bool) {
		if !ok {
			return
		}
		svc := v.ui.svc
		v.ui.prefs.Syncing = false
		v.ui.savePrefs()
		v.ui.spawn(func() {
			err := svc.Logout()
			fyne.Do(func() {
				if err != nil {
					v.ui.showError(err)
					return
				}
				v.ui.log.Info("logged out")
			})
		})
	}, v.ui.win)
}

func (v *moreView) onClearCache() {
	dialog.ShowConfirm("Clear sync cache", "Clear the sync cache?\nThe next sync resends the whole directory to the organization. Nobody is removed by clearing it.", func(ok bool) {
		if !ok {
			return
		}
		svc, ctx := v.ui.svc, v.ui.ctx
		v.clearButton.Disable()
		v.ui.spawn(func() {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := svc.ClearCache(ctx)
			cancel()
			fyne.Do(func() {
				v.clearButton.Enable()
				if err != nil {
					v.message.Importance = widget.DangerImportance
					setMessage(v.message, "The sync cache was not cleared: "+err.Error())
				} else {
					v.ui.log.Info("sync cache cleared")
					v.message.Importance = widget.SuccessImportance
					setMessage(v.message, "The sync cache was cleared. The next sync resends everything.")
				}
				v.message.Refresh()
			})
		})
	}, v.ui.win)
}

func (v *moreView) onOpenLogs() {
	dir := v.ui.opts.LogDir
	v.ui.spawn(func() {
		if err := v.ui.openFolder(dir); err != nil {
			fyne.Do(func() { v.ui.showError(fmt.Errorf("opening %s: %w", dir, err)) })
		}
	})
}
