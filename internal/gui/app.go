package gui

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dirconn/dirconn/internal/connector"
)

// Window sizes: the anchor's default and minimum.
var (
	DefaultSize = fyne.NewSize(800, 600)
	MinSize     = fyne.NewSize(680, 500)
)

// DemoSwitch starts the demo for the "Try with demo data" path: it returns the demo's service, the
// options to show it with, and a function that stops the demo.
type DemoSwitch func(ctx context.Context) (Service, Options, func(), error)

// UI is the desktop app: one window that shows the login screen or the three tabs.
type UI struct {
	app   fyne.App
	win   fyne.Window
	svc   Service
	opts  Options
	log   *slog.Logger
	prefs Prefs
	// spawn runs f off the UI goroutine (tests make it synchronous).
	spawn func(f func())
	// applied is called after each status from the subscription is shown (tests).
	applied func()

	ctx     context.Context // ends on Quit
	cancel  context.CancelFunc
	subCtx  context.Context // ends when the service is replaced
	subEnd  context.CancelFunc
	closers []func()

	status   connector.Status
	statusOK bool // status holds at least one snapshot
	shown    string
	visible  bool

	notifiedErr  time.Time
	notifiedHeld time.Time

	root     *fyne.Container
	header   *header
	login    *loginView
	dash     *dashboardView
	settings *settingsView
	more     *moreView
	tabs     *container.AppTabs
	tray     *trayMenu
}

// New builds the app's window for svc. Call Show to start it.
func New(a fyne.App, svc Service, o Options, prefs Prefs) *UI {
	ui := &UI{app: a, svc: svc, prefs: prefs, spawn: background, visible: true}
	ui.ctx, ui.cancel = context.WithCancel(context.Background())
	a.Settings().SetTheme(newTheme())
	ui.setOptions(o)
	ui.win = a.NewWindow(ui.title())
	ui.win.Resize(DefaultSize)
	ui.win.SetCloseIntercept(ui.onCloseRequest)
	ui.tray = newTrayMenu(ui)
	ui.build()
	return ui
}

func (ui *UI) setOptions(o Options) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Env == nil {
		o.Env = func(string) string { return "" }
	}
	if o.LogDir == "" && o.DataDir != "" {
		o.LogDir = filepath.Join(o.DataDir, "logs")
	}
	ui.opts, ui.log = o, o.Logger
}

func (ui *UI) title() string {
	if ui.opts.Demo {
		return "dirconn — DEMO"
	}
	return "dirconn"
}

// Window returns the app's window.
func (ui *UI) Window() fyne.Window { return ui.win }

// build makes every screen for the current service and starts following its status.
func (ui *UI) build() {
	ui.header = newHeader(ui)
	ui.login = newLoginView(ui)
	ui.dash = newDashboardView(ui)
	ui.settings = newSettingsView(ui)
	ui.more = newMoreView(ui)
	ui.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Dashboard", theme.HomeIcon(), ui.dash.build()),
		container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), ui.settings.build()),
		container.NewTabItemWithIcon("More", theme.MoreHorizontalIcon(), ui.more.build()),
	)
	ui.tabs.OnSelected = func(t *container.TabItem) {
		switch t.Text {
		case "Settings":
			ui.settings.onShown()
		case "More":
			ui.more.onShown()
		}
	}
	floor := canvas.NewRectangle(nil)
	floor.SetMinSize(MinSize)
	ui.root = container.NewStack(floor)
	ui.win.SetContent(ui.root)
	ui.shown = ""
	ui.statusOK = false
	ui.subCtx, ui.subEnd = context.WithCancel(ui.ctx)
	ui.apply(ui.svc.Status())
}

// Show starts following the service, resumes interval syncs that were on when the app last ran, and
// shows the window.
func (ui *UI) Show() {
	ui.resume()
	ui.tray.install(Icon)
	ui.tray.apply(ui.status)
	ui.win.Show()
	if ui.opts.IsMinimized != nil {
		ui.app.Lifecycle().SetOnExitedForeground(ui.onExitedForeground)
	}
	// Last: from here on status updates reach the widgets (through fyne.Do, which the headless test driver
	// runs inline on the status goroutine, so nothing above may run concurrently with it).
	ui.follow()
}

// follow copies every status the service publishes into the widgets until the service is replaced or
// the app quits.
func (ui *UI) follow() {
	ch := ui.svc.Subscribe(ui.subCtx)
	ctx := ui.subCtx
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case st, ok := <-ch:
				if !ok {
					return
				}
				fyne.Do(func() {
					if ctx.Err() == nil {
						ui.apply(st)
						if ui.applied != nil {
							ui.applied()
						}
					}
				})
			}
		}
	}()
}

// resume starts interval syncs again when they were on at the last exit.
func (ui *UI) resume() {
	st := ui.svc.Status()
	if ui.prefs.Syncing && st.LoggedIn && !st.Scheduled {
		ui.log.Info("resuming interval syncs that were on when the app last ran")
		ui.svc.Start()
	}
}

// apply shows a status snapshot. It runs on the UI goroutine.
func (ui *UI) apply(st connector.Status) {
	first := !ui.statusOK
	ui.status, ui.statusOK = st, true
	want := "login"
	if st.LoggedIn {
		want = "main"
	}
	if want != ui.shown {
		ui.show(want)
	}
	ui.header.apply(st)
	ui.dash.apply(st)
	ui.more.apply(st)
	ui.tray.apply(st)
	ui.notify(st, first)
}

func (ui *UI) show(which string) {
	ui.shown = which
	var content fyne.CanvasObject
	if which == "login" {
		ui.login.reset()
		content = ui.login.build()
	} else {
		content = container.NewBorder(ui.header.build(), nil, nil, nil, ui.tabs)
		ui.tabs.SelectIndex(0)
	}
	ui.root.Objects = []fyne.CanvasObject{ui.root.Objects[0], content}
	ui.root.Refresh()
}

// notify sends a desktop notification when a sync fails or removals are newly held. Failures and holds
// that were there when the app started are shown on the Dashboard, not notified again.
func (ui *UI) notify(st connector.Status, first bool) {
	if st.LastError != "" && st.LastErrorAt.After(ui.notifiedErr) {
		if !first {
			ui.app.SendNotification(fyne.NewNotification("dirconn: sync failed", oneLine(st.LastError, 200)))
		}
		ui.notifiedErr = st.LastErrorAt
	}
	if st.Held != nil && st.Held.At.After(ui.notifiedHeld) {
		if !first {
			ui.app.SendNotification(fyne.NewNotification("dirconn: removals held",
				fmt.Sprintf("%s wait for approval on the Dashboard. Nobody was removed.", plural(len(st.Held.Removals), "removal", "removals"))))
		}
		ui.notifiedHeld = st.Held.At
	}
}

// SwitchService replaces the service (the demo path): every screen is built again for svc.
func (ui *UI) SwitchService(svc Service, o Options, closer func()) {
	ui.subEnd()
	ui.svc = svc
	ui.setOptions(o)
	if closer != nil {
		ui.closers = append(ui.closers, closer)
	}
	ui.win.SetTitle(ui.title())
	ui.build()
	ui.follow()
}

// startDemo runs the first-run demo path.
func (ui *UI) startDemo(done func(error)) {
	try := ui.opts.TryDemo
	if try == nil {
		return
	}
	ui.spawn(func() {
		svc, o, closer, err := try(ui.ctx)
		fyne.Do(func() {
			if err == nil {
				ui.SwitchService(svc, o, closer)
			}
			done(err)
		})
	})
}

// onCloseRequest handles the window's close button: to the tray when that is on and a tray exists,
// else quit.
func (ui *UI) onCloseRequest() {
	if ui.opts.Tray && ui.prefs.CloseToTray {
		ui.hide()
		return
	}
	ui.Quit()
}

// onExitedForeground hides the window to the tray when it was minimized and minimize-to-tray is on.
// The driver has no minimize event, so this asks Options.IsMinimized shortly after the window lost focus.
func (ui *UI) onExitedForeground() {
	if !ui.opts.Tray || !ui.prefs.MinimizeToTray || ui.opts.IsMinimized == nil {
		return
	}
	ui.spawn(func() {
		time.Sleep(300 * time.Millisecond) // let the window manager finish iconifying
		if ui.opts.IsMinimized(ui.win) {
			fyne.Do(ui.hide)
		}
	})
}

func (ui *UI) hide() {
	ui.win.Hide()
	ui.visible = false
	ui.tray.apply(ui.status)
}

func (ui *UI) showWindow() {
	ui.win.Show()
	ui.win.RequestFocus()
	ui.visible = true
	ui.tray.apply(ui.status)
}

// Close stops following the service and runs the closers of services the app switched to (the demo).
// Call it after the app's Run returns; Quit calls it too.
func (ui *UI) Close() {
	ui.cancel()
	for _, c := range ui.closers {
		c()
	}
	ui.closers = nil
}

// Quit stops following the service and quits the app. The interval-sync preference is kept, so syncs
// resume at the next start.
func (ui *UI) Quit() {
	ui.Close()
	ui.app.Quit()
}

// setSyncing starts or stops interval syncs and remembers the choice for the next start.
func (ui *UI) setSyncing(on bool) {
	if on {
		ui.svc.Start()
	} else {
		ui.svc.Stop()
	}
	ui.prefs.Syncing = on
	ui.savePrefs()
	ui.apply(ui.svc.Status())
}

func (ui *UI) savePrefs() {
	p, dir := ui.prefs, ui.opts.DataDir
	if dir == "" {
		return
	}
	ui.spawn(func() {
		if err := SavePrefs(dir, p); err != nil {
			ui.log.Error("saving the app preferences", "err", err)
		}
	})
}

// showError shows err in a dialog.
func (ui *UI) showError(err error) { dialog.ShowError(err, ui.win) }

// openFolder opens a folder in the file manager.
func (ui *UI) openFolder(path string) error {
	if ui.opts.OpenFolder != nil {
		return ui.opts.OpenFolder(path)
	}
	return ui.app.OpenURL(&url.URL{Scheme: "file", Path: filepath.ToSlash(path)})
}

// header is the bar above the tabs: the product, the organization and the sync state in words and colour.
type header struct {
	ui    *UI
	org   *widget.Label
	state *widget.Label
	dot   *canvas.Circle
	obj   fyne.CanvasObject
}

func newHeader(ui *UI) *header {
	h := &header{ui: ui,
		org:   widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{}),
		state: widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Bold: true}),
		dot:   canvas.NewCircle(theme.Color(theme.ColorNameDisabled)),
	}
	h.org.Importance = widget.LowImportance
	return h
}

func (h *header) build() fyne.CanvasObject {
	if h.obj != nil {
		return h.obj
	}
	icon := appIcon(h.ui.app.Icon(), 36)
	name := widget.NewLabelWithStyle("dirconn", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.SizeName = theme.SizeNameSubHeadingText
	tag := widget.NewLabel("Directory Connector for Bitwarden")
	tag.Importance = widget.LowImportance
	left := container.NewHBox(icon, container.New(layout.NewCustomPaddedVBoxLayout(-14), name, tag))
	if h.ui.opts.Demo {
		left.Add(container.NewCenter(demoBadge()))
	}
	dot := container.NewCenter(container.NewGridWrap(fyne.NewSize(10, 10), h.dot))
	right := container.New(layout.NewCustomPaddedVBoxLayout(-14), container.NewHBox(layout.NewSpacer(), dot, h.state), h.org)
	bar := container.NewBorder(nil, nil, left, right)
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameHeaderBackground))
	objs := []fyne.CanvasObject{container.NewStack(bg, container.NewPadded(bar)), widget.NewSeparator()}
	if h.ui.opts.Demo {
		note := wrapped("Demo mode: a sample company and an emulated Bitwarden organization. Nothing real is touched.")
		note.Importance = widget.WarningImportance
		objs = append(objs, note, widget.NewSeparator())
	}
	h.obj = container.NewVBox(objs...)
	return h.obj
}

// demoBadge is the amber DEMO mark.
func demoBadge() fyne.CanvasObject {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameWarning))
	bg.CornerRadius = 4
	t := canvas.NewText("DEMO", theme.Color(theme.ColorNameForegroundOnWarning))
	t.TextStyle = fyne.TextStyle{Bold: true}
	return container.NewStack(bg, container.NewPadded(t))
}

func (h *header) apply(st connector.Status) {
	word, imp := syncState(st)
	h.state.SetText(word)
	h.state.Importance = imp
	h.state.Refresh()
	h.dot.FillColor = importanceColor(imp)
	h.dot.Refresh()
	org := "Not logged in"
	if st.ClientID != "" {
		org = "Organization " + shortOrg(st.ClientID)
	}
	h.org.SetText(org)
}
