// Package demo sets up dirconn's demo: a throw-away data dir holding the bundled directory of Example Corp
// (assets.DemoDirectory), a Bitwarden emulator served in-process on loopback, the settings that point the
// file source and the Bitwarden client at them, and a login with the emulator's API key. Secrets live in
// memory only. Nothing on the machine or in any real organization is touched. The CLI's `dirconn demo`
// and the desktop app's demo mode both start here. It never imports Fyne.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dirconn/dirconn/assets"
	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/secret"
)

// OrgName is the emulated organization's name.
const OrgName = "Example Corp (demo)"

// FileName is the demo directory's file name in the data dir.
const FileName = "demo.json"

// Options configure a demo.
type Options struct {
	Registry *directory.Registry
	Logger   *slog.Logger
	// Dir is the data dir to use; empty makes a new temporary one, removed by Close unless Keep is set.
	Dir  string
	Keep bool
	// Emulator overrides the emulator's options; the zero value means the cloud profile named OrgName.
	Emulator *emulator.Options
}

// Demo is a running demo. Close it when done.
type Demo struct {
	// Dir is the data dir; File the demo directory file in it.
	Dir, File string
	// URL is the emulator's base URL (the "server" setting).
	URL      string
	Emulator *emulator.Server
	// Secrets is the in-memory secret store holding the demo's client secret: pass it to every
	// connector or service opened on Dir.
	Secrets   secret.Store
	Connector *connector.Connector

	registry *directory.Registry
	logger   *slog.Logger
	srv      *http.Server
	done     chan struct{}
	remove   bool
	once     sync.Once
}

// Start sets up and starts a demo: data dir, emulator, demo directory, settings and login.
func Start(ctx context.Context, o Options) (d *Demo, err error) {
	if o.Registry == nil {
		return nil, errors.New("demo: no adapter registry")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d = &Demo{Dir: o.Dir, Secrets: secret.Memory(), registry: o.Registry, logger: o.Logger, done: make(chan struct{})}
	if d.Dir == "" {
		if d.Dir, err = os.MkdirTemp("", "dirconn-demo-"); err != nil {
			return nil, err
		}
		d.remove = !o.Keep
	} else if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()

	eo := emulator.Options{Profile: emulator.Cloud, OrgName: OrgName}
	if o.Emulator != nil {
		eo = *o.Emulator
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	d.Emulator = emulator.New(eo)
	d.URL = "http://" + ln.Addr().String()
	d.srv = &http.Server{Handler: d.Emulator.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(d.done)
		d.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()

	d.File = filepath.Join(d.Dir, FileName)
	if err := os.WriteFile(d.File, assets.DemoDirectory, 0o600); err != nil {
		return nil, err
	}
	d.Connector, err = connector.Open(d.ConnectorOptions())
	if err != nil {
		return nil, err
	}
	cfg := d.Connector.Config()
	for _, kv := range [][2]string{{config.KeyServer, d.URL}, {config.KeyDirectory, "file"}, {"file.path", FileName}} {
		if err := cfg.Set(o.Registry, kv[0], kv[1], d.Secrets); err != nil {
			return nil, fmt.Errorf("demo settings: %w", err)
		}
	}
	if err := cfg.Save(); err != nil {
		return nil, err
	}
	if _, err := d.Connector.Login(ctx, d.Emulator.ClientID(), secret.Secret(d.Emulator.APIKey()), ""); err != nil {
		return nil, fmt.Errorf("demo login: %w", err)
	}
	return d, nil
}

// ConnectorOptions returns the options that open the demo's data dir (connector.Open, connector.NewService):
// no environment, the in-memory secrets.
func (d *Demo) ConnectorOptions() connector.Options {
	return connector.Options{DataDir: d.Dir, Registry: d.registry, Env: func(string) string { return "" },
		Secrets: d.Secrets, Logger: d.logger}
}

// Close stops the emulator and removes the data dir when Start made it (and Keep was not set).
func (d *Demo) Close() {
	d.once.Do(func() {
		if d.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			d.srv.Shutdown(ctx)
			cancel()
			<-d.done
		}
		if d.remove {
			os.RemoveAll(d.Dir)
		}
	})
}
