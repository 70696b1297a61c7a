package gui

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/connector"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/engine"
	"github.com/dirconn/dirconn/internal/secret"
	"github.com/dirconn/dirconn/internal/state"
)

// fakeService is a Service for tests: it records calls, returns canned results, and publishes statuses
// pushed with set. Its settings are a real config in a temp dir with an in-memory secret store.
type fakeService struct {
	mu     sync.Mutex
	calls  []string
	status connector.Status
	subs   []chan connector.Status

	cfg     *config.Config
	secrets secret.Store

	testResult *engine.TestResult
	planResult *engine.Result
	err        error // returned by Test, Plan, Login
	history    []state.Run
	loginIDs   []string
}

var _ Service = (*fakeService)(nil)

func newFake(t *testing.T) *fakeService {
	t.Helper()
	cfg, err := config.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &fakeService{cfg: cfg, secrets: secret.Memory(), status: connector.Status{LoggedIn: true,
		ClientID: "organization.3e0f2a44-1b6c-4d55-9a0e-5b7f2f0c9a11", Interval: 5 * time.Minute}}
}

func (f *fakeService) record(c string) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

// called returns the recorded calls.
func (f *fakeService) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// set changes the status and publishes it.
func (f *fakeService) set(fn func(*connector.Status)) {
	f.mu.Lock()
	fn(&f.status)
	st := f.status
	subs := append([]chan connector.Status(nil), f.subs...)
	f.mu.Unlock()
	for _, ch := range subs {
		select {
		case <-ch:
		default:
		}
		ch <- st
	}
}

func (f *fakeService) Status() connector.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeService) Subscribe(ctx context.Context) <-chan connector.Status {
	ch := make(chan connector.Status, 1)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	ch <- f.status
	f.mu.Unlock()
	return ch
}

func (f *fakeService) Start() {
	f.record("Start")
	f.set(func(s *connector.Status) { s.Scheduled = true })
}

func (f *fakeService) Stop() {
	f.record("Stop")
	f.set(func(s *connector.Status) { s.Scheduled = false })
}

func (f *fakeService) SyncNow() { f.record("SyncNow") }
func (f *fakeService) Approve() { f.record("Approve") }
func (f *fakeService) Cancel()  { f.record("Cancel") }

func (f *fakeService) Test(ctx context.Context, sinceLast bool) (*engine.TestResult, error) {
	if sinceLast {
		f.record("Test(sinceLast)")
	} else {
		f.record("Test")
	}
	return f.testResult, f.err
}

func (f *fakeService) Plan(ctx context.Context) (*engine.Result, error) {
	f.record("Plan")
	return f.planResult, f.err
}

func (f *fakeService) Login(ctx context.Context, id string, s secret.Secret) (*connector.LoginResult, error) {
	f.record("Login")
	f.mu.Lock()
	f.loginIDs = append(f.loginIDs, id)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.set(func(st *connector.Status) { st.LoggedIn, st.ClientID = true, id })
	return &connector.LoginResult{}, nil
}

func (f *fakeService) Logout() error {
	f.record("Logout")
	f.set(func(st *connector.Status) { st.LoggedIn, st.ClientID, st.Scheduled = false, "", false })
	return nil
}

func (f *fakeService) ClearCache(ctx context.Context) error {
	f.record("ClearCache")
	return nil
}

func (f *fakeService) History() ([]state.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.history, nil
}

func (f *fakeService) EditConfig(fn func(*config.Config, secret.Store) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := fn(f.cfg, f.secrets); err != nil {
		return err
	}
	return f.cfg.Save()
}

// fakeAdapter has an option of every Kind, a secret, a required option, an advanced one and filters.
func fakeAdapter() directory.Adapter {
	return directory.Adapter{
		Name: "fake", Title: "Fake directory", Number: -1,
		Options: []directory.Option{
			{Name: "host", Label: "Host", Kind: directory.KindString, Required: true, Help: "the server"},
			{Name: "notes", Label: "Notes", Kind: directory.KindText},
			{Name: "port", Label: "Port", Kind: directory.KindInt, Default: "389", Min: 1, Max: 65535},
			{Name: "tls", Label: "Use TLS", Kind: directory.KindBool, Default: "false"},
			{Name: "mode", Label: "Mode", Kind: directory.KindChoice, Default: "a", Choices: []string{"a", "b"}},
			{Name: "ca", Label: "CA file", Kind: directory.KindPath},
			{Name: "timeout", Label: "Timeout", Kind: directory.KindDuration, Default: "30s", Advanced: true},
			{Name: "attrs", Label: "Attributes", Kind: directory.KindList},
			{Name: "password", Label: "Password", Kind: directory.KindString, Secret: true, Required: true},
		},
		UserFilterHelp:  "an LDAP filter such as (objectClass=person)",
		GroupFilterHelp: "an LDAP filter",
		CheckFilters: func(f directory.Filters) error {
			if f.User != "" && f.User[0] != '(' {
				return errors.New("a filter starts with (")
			}
			return nil
		},
		New: func(cfg directory.Config) (directory.Source, error) {
			return fakeSource{cfg.Values}, nil
		},
	}
}

type fakeSource struct{ vals directory.Values }

func (s fakeSource) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	if s.vals["password"] != "hunter2" {
		return nil, directory.ErrAuth
	}
	return &directory.Snapshot{Users: []directory.User{{ID: "u1", Email: "a@example.com"}}}, nil
}

// newTestUI builds the app on a test driver with a synchronous spawn.
func newTestUI(t *testing.T, svc Service, reg *directory.Registry) *UI {
	t.Helper()
	a := test.NewTempApp(t)
	a.SetIcon(Icon)
	if reg == nil {
		reg = &directory.Registry{}
	}
	o := Options{Registry: reg, DataDir: t.TempDir(), Version: "v1.2.3", Tray: true}
	ui := New(a, svc, o, defaultPrefs())
	ui.spawn = func(f func()) { f() }
	ui.win.Resize(DefaultSize)
	t.Cleanup(ui.Close)
	return ui
}

var _ = fyne.NewSize
