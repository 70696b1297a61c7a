// Command dirconn-gui is dirconn's desktop app (Fyne, cgo): it wires the data dir, the log file, the
// connector service and the tray guard, and hands them to internal/gui.
//
//	dirconn-gui [--data-dir DIR] [--demo] [--verbose]
//
// --demo opens straight into the demo: the bundled directory of a sample company synced to a Bitwarden
// emulator in a throw-away data dir. SIGINT, SIGTERM and Quit exit with status 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"
	"github.com/godbus/dbus/v5"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/demo"
	"github.com/dirconn/dirconn/internal/directory/all"
	"github.com/dirconn/dirconn/internal/gui"
	"github.com/dirconn/dirconn/internal/version"
)

// AppID is the desktop app's unique id (preferences, notifications, the .desktop file).
const AppID = "io.github.dirconn"

// SmokeEnv makes the app quit by itself after a duration (make test's GUI smoke run).
const SmokeEnv = "DIRCONN_GUI_QUIT_AFTER"

// logMax caps the log file; one older file is kept as dirconn-gui.log.1.
const logMax = 5 << 20

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("dirconn-gui", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "the data directory (default $DIRCONN_HOME, else the user config dir + /dirconn)")
	demoMode := fs.Bool("demo", false, "open the demo: sample directory, emulated organization, throw-away data dir")
	verbose := fs.Bool("verbose", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	var quitAfter time.Duration
	if s := os.Getenv(SmokeEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dirconn-gui: %s=%q: %v\n", SmokeEnv, s, err)
			return 2
		}
		quitAfter = d
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := all.Registry()
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}

	var (
		opts   connector.Options
		closer func()
		err    error
	)
	logger, closeLog := openLog("", level) // stderr until the data dir is known
	if *demoMode {
		var d *demo.Demo
		d, err = demo.Start(ctx, demo.Options{Registry: reg, Logger: logger})
		if err == nil {
			closer = d.Close
			opts = d.ConnectorOptions()
		}
	} else {
		var dir string
		dir, err = config.DataDir(*dataDir, os.Getenv)
		opts = connector.Options{DataDir: dir, Registry: reg}
	}
	if err != nil {
		logger.Error("dirconn-gui could not start", "err", err)
		fmt.Fprintln(os.Stderr, "dirconn-gui:", err)
		return 1
	}
	if closer != nil {
		defer closer()
	}
	logger, closeLog = openLog(filepath.Join(opts.DataDir, "logs"), level)
	defer closeLog()
	opts.Logger = logger
	logger.Info("dirconn-gui starting", "version", version.String(), "dataDir", opts.DataDir, "demo", *demoMode)

	svc, err := connector.NewService(opts)
	if err != nil {
		logger.Error("opening the data dir", "err", err)
		fmt.Fprintln(os.Stderr, "dirconn-gui:", err)
		return 1
	}
	defer svc.Close()
	prefs, err := gui.LoadPrefs(opts.DataDir)
	if err != nil {
		logger.Warn("the app preferences could not be read; using defaults", "err", err)
	}

	a := app.NewWithID(AppID)
	a.SetIcon(gui.Icon)
	tray := trayUsable(a, logger)
	o := guiOptions(opts, *demoMode, tray, logger)
	if !*demoMode {
		o.TryDemo = func(ctx context.Context) (gui.Service, gui.Options, func(), error) {
			d, err := demo.Start(ctx, demo.Options{Registry: reg, Logger: logger})
			if err != nil {
				return nil, gui.Options{}, nil, err
			}
			co := d.ConnectorOptions()
			s, err := connector.NewService(co)
			if err != nil {
				d.Close()
				return nil, gui.Options{}, nil, err
			}
			logger.Info("demo started", "dataDir", d.Dir)
			return s, guiOptions(co, true, tray, logger), func() { s.Close(); d.Close() }, nil
		}
	}
	ui := gui.New(a, svc, o, prefs)
	ui.Show()
	if quitAfter > 0 {
		go func() {
			time.Sleep(quitAfter)
			logger.Info("quitting by " + SmokeEnv)
			fyne.Do(ui.Quit)
		}()
	}
	a.Run()
	ui.Close()
	logger.Info("dirconn-gui stopped")
	return 0
}

func guiOptions(co connector.Options, demoMode, tray bool, logger *slog.Logger) gui.Options {
	return gui.Options{
		Registry: co.Registry,
		DataDir:  co.DataDir,
		LogDir:   filepath.Join(co.DataDir, "logs"),
		Version:  version.String(),
		Demo:     demoMode,
		Env:      co.Env,
		Logger:   logger,
		Tray:     tray,
		// IsMinimized asks the window system (X11) whether the window is iconified; nil elsewhere.
		IsMinimized: windowMinimized,
	}
}

// openLog returns a logger that writes to dir/dirconn-gui.log (size-capped) and to stderr; with dir empty
// or unusable, to stderr only.
func openLog(dir string, level slog.Level) (*slog.Logger, func()) {
	var w io.Writer = os.Stderr
	closeFn := func() {}
	if dir != "" {
		if f, err := gui.OpenLogFile(dir, "dirconn-gui.log", logMax); err == nil {
			w = io.MultiWriter(f, os.Stderr)
			closeFn = func() { f.Close() }
		} else {
			fmt.Fprintln(os.Stderr, "dirconn-gui: log file:", err)
		}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closeFn
}

// trayUsable reports whether the system tray can be used. Fyne 2.7.1's tray panics on Quit (and so on
// SIGTERM) when there is no D-Bus session bus (fyne-io/fyne#6403, unfixed in every released systray), so
// on Linux and the BSDs the tray is set up only when the session bus answers; without one the app runs
// window-only and still exits 0.
func trayUsable(a fyne.App, log *slog.Logger) bool {
	if _, ok := a.(desktop.App); !ok {
		return false
	}
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		if _, err := dbus.SessionBus(); err != nil { // the shared connection: never close it
			log.Info("no D-Bus session bus: running without a tray icon", "err", err)
			return false
		}
	}
	return true
}
