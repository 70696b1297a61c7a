// Package gui is dirconn's desktop app (Fyne): a login screen, the Dashboard, Settings and More tabs, a tray
// menu, interval syncs that survive hiding the window and restarting the app, and desktop notifications.
//
// The app drives a Service (a subset of *connector.Service, so tests pass a fake) and never does network or
// disk I/O on the UI goroutine: long and blocking calls run on goroutines started through UI.spawn, and
// their results reach widgets through fyne.Do. One goroutine owned by the window copies each immutable
// connector.Status from Service.Subscribe into the widgets; it stops when the app quits.
package gui

import (
	"context"

	"errors"
	"fyne.io/fyne/v2"
	"log/slog"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/engine"
	"github.com/dirconn/dirconn/internal/secret"
	"github.com/dirconn/dirconn/internal/state"
)

// Service is what the desktop app needs from the connector; *connector.Service implements it.
type Service interface {
	Status() connector.Status
	Subscribe(ctx context.Context) <-chan connector.Status
	Start()
	Stop()
	SyncNow()
	Approve()
	Cancel()
	Test(ctx context.Context, sinceLast bool) (*engine.TestResult, error)
	Plan(ctx context.Context) (*engine.Result, error)
	Login(ctx context.Context, clientID string, clientSecret secret.Secret) (*connector.LoginResult, error)
	Logout() error
	ClearCache(ctx context.Context) error
	History() ([]state.Run, error)
	EditConfig(fn func(cfg *config.Config, secrets secret.Store) error) error
}

var _ Service = (*connector.Service)(nil)

// Options configure the app.
type Options struct {
	// Registry lists the directory adapters the Settings tab offers.
	Registry *directory.Registry
	// DataDir holds config.json, state.json, the app's gui.json and logs/.
	DataDir string
	// LogDir is the folder "Open log folder" opens; empty means DataDir/logs.
	LogDir string
	// Version is shown on the More tab.
	Version string
	// Demo marks the window as a demo (bundled data and an emulated organization).
	Demo bool
	// Env reads environment variables for the directory test of unsaved settings; nil means none.
	Env    func(string) string
	Logger *slog.Logger
	// Tray says a system tray can be used (a desktop.App with a session bus: see cmd/dirconn-gui).
	Tray bool
	// OpenFolder opens a folder in the file manager; nil uses the app's OpenURL with a file:// URL.
	OpenFolder func(path string) error
	// IsMinimized reports whether the window is minimized (iconified), for minimize-to-tray; nil turns
	// that detection off (the driver gives no such event, so cmd/dirconn-gui asks the window system).
	IsMinimized func(w fyne.Window) bool
	// TryDemo is the login screen's "Try with Demo Data" path; nil hides the button.
	TryDemo DemoSwitch
}

// errView makes EditConfig skip its save: viewConfig only reads.
var errView = errors.New("view only")

// viewConfig runs fn with the settings locked, without saving them. It may do disk I/O (secret lookups):
// call it off the UI goroutine.
func viewConfig(svc Service, fn func(cfg *config.Config, secrets secret.Store) error) error {
	err := svc.EditConfig(func(cfg *config.Config, secrets secret.Store) error {
		if err := fn(cfg, secrets); err != nil {
			return err
		}
		return errView
	})
	if errors.Is(err, errView) {
		return nil
	}
	return err
}
