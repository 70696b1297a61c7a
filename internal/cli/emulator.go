package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
)

// startEmulator serves a new emulator on addr until ctx ends; it returns the server and its base URL.
func startEmulator(ctx context.Context, addr string, o emulator.Options) (*emulator.Server, string, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", nil, fmt.Errorf("emulator: %w", err)
	}
	emu := emulator.New(o)
	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	return emu, "http://" + ln.Addr().String(), done, nil
}

func runEmulator(ctx context.Context, a *app, args []string) error {
	fs := a.flags("emulator")
	listen := fs.String("listen", "127.0.0.1:8087", "")
	profile := fs.String("profile", "cloud", "")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	p, err := emulator.ParseProfile(*profile)
	if err != nil {
		return usageErr("emulator: %v", err)
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return usageErr("emulator: --listen %q: %v", *listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(a.Stderr, "warning: the emulator listens on %s, not only on this machine; it is a test server with a printed API key\n", host)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	emu, url, done, err := startEmulator(ctx, *listen, emulator.Options{Profile: p, OrgName: "Emulated Org"})
	if err != nil {
		return err
	}
	if a.json {
		a.writeJSON(map[string]any{"object": "emulator", "url": url, "profile": string(p),
			"organizationId": emu.OrgID(), "clientId": emu.ClientID(), "clientSecret": emu.APIKey()})
	} else {
		a.printf("Bitwarden emulator (%s profile) listening on %s\n\n", p, url)
		a.printf("  Organization id: %s\n  Client id:       %s\n  Client secret:   %s\n\n", emu.OrgID(), emu.ClientID(), emu.APIKey())
		a.printf("Point dirconn at it (in another terminal):\n")
		a.printf("  dirconn config set server %s\n", url)
		a.printf("  BW_CLIENTID=%s BW_CLIENTSECRET=%s dirconn login\n\n", emu.ClientID(), emu.APIKey())
		a.printf("Its state: %s/__emulator/state   Stop with Ctrl+C. Everything is kept in memory only.\n", url)
	}
	select {
	case <-ctx.Done():
		<-done
		return nil
	case err := <-done:
		return err
	}
}
