// Package clitest runs the real dirconn CLI in-process for end-to-end tests of the directory adapters: a
// temporary data dir, the Bitwarden emulator over real HTTP on loopback, a memory secret store, an
// environment map and a registry of adapters. It is imported by tests only.
//
// The cli package's own end-to-end tests keep their harness: they are internal tests of cli, and cli
// cannot be imported from there.
package clitest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/cli"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/secret"
)

// World is one end-to-end setup: every Run is one dirconn invocation with the data dir, environment,
// secret store, retry policy and registry below. Tests may change Env and Retry between runs.
type World struct {
	T *testing.T
	// Dir is the data dir (--data-dir), a fresh temporary directory.
	Dir string
	// Emu is the emulated Bitwarden server and organization, served at URL.
	Emu *emulator.Server
	URL string
	// Secrets is the secret store dirconn keeps its secrets in (in memory).
	Secrets secret.Store
	// Env is the environment dirconn sees; a missing key reads as "".
	Env map[string]string
	// Registry is the adapters dirconn runs with (nil: dirconn's default registry).
	Registry *directory.Registry
	// Retry overrides the HTTP retry policy (nil: dirconn's default).
	Retry *httpx.Policy
}

// Registry returns a registry holding the given adapters.
func Registry(adapters ...directory.Adapter) *directory.Registry {
	r := &directory.Registry{}
	for _, a := range adapters {
		r.Register(a)
	}
	return r
}

// New starts the Bitwarden emulator with o on loopback (closed when the test ends) and returns a World
// running dirconn with reg. The emulator's token rate limit is off unless o sets it: every run logs in.
func New(t *testing.T, reg *directory.Registry, o emulator.Options) *World {
	t.Helper()
	if o.TokenRateLimit == nil {
		off := false
		o.TokenRateLimit = &off
	}
	emu := emulator.New(o)
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	return &World{T: t, Dir: t.TempDir(), Emu: emu, URL: srv.URL, Secrets: secret.Memory(), Env: map[string]string{}, Registry: reg}
}

// Run runs dirconn --data-dir Dir args... with empty stdin and returns what it wrote and its exit code.
func (w *World) Run(args ...string) (stdout, stderr string, code int) {
	w.T.Helper()
	var out, errOut bytes.Buffer
	code = cli.Main(context.Background(), append([]string{"--data-dir", w.Dir}, args...), cli.IO{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Env:     func(k string) string { return w.Env[k] },
		Secrets: w.Secrets, Retry: w.Retry, Registry: w.Registry,
	})
	return out.String(), errOut.String(), code
}

// Must runs dirconn like Run and stops the test unless it exits with want; it returns the standard output.
func (w *World) Must(want int, args ...string) string {
	w.T.Helper()
	out, errOut, code := w.Run(args...)
	if code != want {
		w.T.Fatalf("dirconn %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// JSON runs dirconn --json args..., which must exit 0, decodes its standard output into v (stopping the
// test if it does not decode) and returns that output.
func (w *World) JSON(v any, args ...string) string {
	w.T.Helper()
	out := w.Must(0, append([]string{"--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		w.T.Fatalf("%s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Login sets the server to the emulator and logs in with the organization's API key, given in
// BW_CLIENTID and BW_CLIENTSECRET; both stay in Env.
func (w *World) Login() {
	w.T.Helper()
	w.Must(0, "config", "set", "server", w.URL)
	w.Env["BW_CLIENTID"], w.Env["BW_CLIENTSECRET"] = w.Emu.ClientID(), w.Emu.APIKey()
	w.Must(0, "login")
}

// Members returns the emulated organization's members other than owners (the synced ones) as
// externalId -> email.
func (w *World) Members() map[string]string {
	out := map[string]string{}
	for _, m := range w.Emu.Snapshot().Members {
		if m.Type != emulator.TypeOwner {
			out[m.ExternalID] = m.Email
		}
	}
	return out
}

// Groups returns the emulated organization's groups as name -> sorted member externalIds (an empty,
// non-nil slice for a group without members).
func (w *World) Groups() map[string][]string {
	st := w.Emu.Snapshot()
	ext := map[string]string{}
	for _, m := range st.Members {
		ext[m.ID] = m.ExternalID
	}
	out := map[string][]string{}
	for _, g := range st.Groups {
		ms := []string{}
		for _, id := range g.MemberIDs {
			ms = append(ms, ext[id])
		}
		slices.Sort(ms)
		out[g.Name] = ms
	}
	return out
}

// Imports returns every import request the emulator received so far, oldest first.
func (w *World) Imports() []emulator.Import {
	return w.Emu.Imports()
}
