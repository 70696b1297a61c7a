// Package connector is the facade the CLI and the desktop app share: it turns the settings in a data dir
// into a directory source, a Bitwarden client and a sync engine, and offers the operations both front ends
// need (login, test, plan, sync, clear cache, history).
package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden"
	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/engine"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/plan"
	"github.com/dirconn/dirconn/internal/secret"
	"github.com/dirconn/dirconn/internal/state"
	"github.com/dirconn/dirconn/internal/version"
)

// Options configure a Connector.
type Options struct {
	// DataDir holds config.json, state.json and dirconn.lock.
	DataDir  string
	Registry *directory.Registry
	// Env reads environment variables (secrets, proxy); nil means os.Getenv.
	Env func(string) string
	// Secrets overrides the secret store chosen from the environment (tests, the demo).
	Secrets secret.Store
	Logger  *slog.Logger
	// LockWait is how long a sync waits for another run on the same data dir.
	LockWait time.Duration
	// Retry overrides the HTTP retry policy (tests).
	Retry *httpx.Policy
}

// Connector operates one data dir.
type Connector struct {
	opts    Options
	cfg     *config.Config
	secrets secret.Store
	log     *slog.Logger
}

// Open loads the settings of a data dir.
func Open(o Options) (*Connector, error) {
	if o.Env == nil {
		o.Env = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := config.Load(o.DataDir)
	if err != nil {
		return nil, err
	}
	c := &Connector{opts: o, cfg: cfg, log: o.Logger}
	c.secrets = o.Secrets
	if c.secrets == nil {
		c.secrets = cfg.Secrets(o.Env)
	}
	return c, nil
}

// SetLockWait sets how long a sync waits for another run on the same data dir.
func (c *Connector) SetLockWait(d time.Duration) { c.opts.LockWait = d }

// Config returns the settings.
func (c *Connector) Config() *config.Config { return c.cfg }

// Registry returns the adapter registry.
func (c *Connector) Registry() *directory.Registry { return c.opts.Registry }

// Secrets returns the secret store in use.
func (c *Connector) Secrets() secret.Store { return c.secrets }

// Env returns the environment lookup in use.
func (c *Connector) Env() func(string) string { return c.opts.Env }

// DataDir returns the data dir.
func (c *Connector) DataDir() string { return c.opts.DataDir }

// Store returns the state store.
func (c *Connector) Store() *state.Store { return state.NewStore(c.opts.DataDir) }

// ErrNotLoggedIn means no organization API key is configured.
var ErrNotLoggedIn = errors.New("not logged in: run dirconn login with the organization's API key")

// LoggedIn reports whether a client id is set.
func (c *Connector) LoggedIn() bool { return c.cfg.GlobalValues()[config.KeyClientID] != "" }

// ClientID returns the configured client id.
func (c *Connector) ClientID() string { return c.cfg.GlobalValues()[config.KeyClientID] }

// environment returns the Bitwarden environment from the settings.
func (c *Connector) environment() bitwarden.Environment {
	g := c.cfg.GlobalValues()
	return bitwarden.Environment{
		Server:      g[config.KeyServer],
		APIURL:      g[config.KeyAPIURL],
		IdentityURL: g[config.KeyIdentityURL],
		WebVaultURL: g[config.KeyWebVaultURL],
	}
}

// HTTPClient returns an HTTP client built from the proxy, CA file and timeout settings.
func (c *Connector) HTTPClient() (*http.Client, error) {
	g := c.cfg.GlobalValues()
	return httpx.NewClient(httpx.Options{
		Timeout:   g.Duration(config.KeyTimeout),
		Proxy:     g[config.KeyProxy],
		CAFile:    c.caFile(),
		UserAgent: "dirconn/" + version.String(),
	})
}

// caFile is the global caFile setting, relative paths resolved against the data dir.
func (c *Connector) caFile() string {
	f := c.cfg.GlobalValues()[config.KeyCAFile]
	if f != "" && !filepath.IsAbs(f) {
		f = filepath.Join(c.opts.DataDir, f)
	}
	return f
}

// client builds a Bitwarden client for the given credentials.
func (c *Connector) client(clientID string, clientSecret secret.Secret) (*bitwarden.Client, error) {
	hc, err := c.HTTPClient()
	if err != nil {
		return nil, err
	}
	o := bitwarden.Options{
		Env:          c.environment(),
		ClientID:     clientID,
		ClientSecret: clientSecret.Reveal(),
		DeviceID:     c.cfg.DeviceID(),
		Version:      version.String(),
		HTTP:         hc,
		Logger:       c.log,
	}
	if c.opts.Retry != nil {
		o.Retry = *c.opts.Retry
	}
	return bitwarden.New(o)
}

// Client returns a Bitwarden client for the configured API key.
func (c *Connector) Client() (*bitwarden.Client, error) {
	id := c.ClientID()
	if id == "" {
		return nil, ErrNotLoggedIn
	}
	s, err := c.cfg.Secret(c.opts.Registry, config.KeyClientSecret, c.secrets, c.opts.Env)
	if err != nil {
		return nil, fmt.Errorf("the client secret of %s: %w", id, err)
	}
	return c.client(id, s)
}

// LoginResult says how a login stored its credentials.
type LoginResult struct {
	OrgID string `json:"organizationId"`
	// Stored says where the client secret lives ("keyring", "file ...", "environment variable X").
	Stored string `json:"secretStoredIn"`
}

// Login checks the API key against the server and saves it: the client id in config.json, the secret in
// the secret store. When the secret store is unusable and the secret came from the environment variable
// envName, the setting refers to that variable instead, so headless runs keep working.
func (c *Connector) Login(ctx context.Context, clientID string, clientSecret secret.Secret, envName string) (*LoginResult, error) {
	clientID = strings.TrimSpace(clientID)
	if clientID == "" {
		return nil, errors.New("the client id is required")
	}
	if clientSecret.Reveal() == "" {
		return nil, errors.New("the client secret is required")
	}
	bw, err := c.client(clientID, clientSecret)
	if err != nil {
		return nil, err
	}
	if err := bw.Login(ctx); err != nil {
		return nil, err
	}
	reg := c.opts.Registry
	if err := c.cfg.Set(reg, config.KeyClientID, clientID, c.secrets); err != nil {
		return nil, err
	}
	res := &LoginResult{OrgID: bw.OrgID(), Stored: c.secrets.Name()}
	err = c.cfg.Set(reg, config.KeyClientSecret, clientSecret.Reveal(), c.secrets)
	if errors.Is(err, secret.ErrNoKeyring) && envName != "" {
		if err = c.cfg.SetRef(reg, config.KeyClientSecret, "env:"+envName); err == nil {
			res.Stored = "environment variable " + envName + " (no keyring: it must be set for every run)"
		}
	}
	if err != nil {
		return nil, err
	}
	if err := c.cfg.Save(); err != nil {
		return nil, err
	}
	return res, nil
}

// Logout forgets the API key (client id and secret). Settings and the sync cache stay.
func (c *Connector) Logout() error {
	if !c.LoggedIn() {
		return ErrNotLoggedIn
	}
	reg := c.opts.Registry
	if err := c.cfg.Unset(reg, config.KeyClientSecret, c.secrets); err != nil && !errors.Is(err, secret.ErrNotFound) {
		return err
	}
	if err := c.cfg.Unset(reg, config.KeyClientID, c.secrets); err != nil {
		return err
	}
	return c.cfg.Save()
}

// Source builds the configured directory source.
func (c *Connector) Source() (directory.Source, *directory.Adapter, error) {
	reg := c.opts.Registry
	name := c.cfg.Directory()
	a, ok := reg.Lookup(name)
	if !ok || name == "" {
		return nil, nil, fmt.Errorf("no directory is configured: run dirconn config set directory <%s>", strings.Join(reg.Names(), "|"))
	}
	if err := c.cfg.Validate(reg); err != nil {
		return nil, nil, fmt.Errorf("the settings need fixing: %w", err)
	}
	vals, err := c.cfg.Values(reg, a.Name, c.secrets, c.opts.Env)
	if err != nil {
		return nil, nil, err
	}
	g := c.cfg.GlobalValues()
	src, err := a.New(directory.Config{Values: vals, BaseDir: c.opts.DataDir, Logger: c.log, Version: version.String(),
		Proxy: g[config.KeyProxy], CAFile: c.caFile()})
	if err != nil {
		return nil, nil, err
	}
	return src, a, nil
}

// Settings returns the engine settings from the sync section.
func (c *Connector) Settings() engine.Settings {
	v := c.cfg.SyncValues()
	s := engine.Settings{
		Plan: plan.Options{
			Users:                        v.Bool("users"),
			Groups:                       v.Bool("groups"),
			RemoveDisabled:               v.Bool("removeDisabled"),
			OverwriteExisting:            v.Bool("overwriteExisting"),
			LargeImport:                  v.Bool("largeImport"),
			InviteUsersAfterProvisioning: v.Bool("inviteUsersAfterProvisioning"),
			DeleteLimit:                  v.Int("deleteLimit"),
			DeleteLimitPercent:           v.Int("deleteLimitPercent"),
		},
		Normalize: plan.NormalizeOptions{
			UseEmailPrefixSuffix: v.Bool("useEmailPrefixSuffix"),
			EmailSuffix:          v.String("emailSuffix"),
		},
		Filters:          directory.Filters{User: v.String("userFilter"), Group: v.String("groupFilter")},
		FullSyncInterval: v.Duration("fullSyncInterval"),
		Directory:        c.cfg.Directory(),
	}
	if id := c.ClientID(); id != "" {
		s.OrgID = strings.TrimPrefix(id, "organization.")
	}
	if api, _, _, err := c.environment().Resolve(); err == nil {
		s.APIURL = api
	}
	return s
}

// Engine builds a sync engine. Test needs no login; plan and sync do.
func (c *Connector) Engine(needOrg bool, report func(engine.Event)) (*engine.Engine, error) {
	src, _, err := c.Source()
	if err != nil {
		return nil, err
	}
	e := &engine.Engine{
		Source:   src,
		Store:    c.Store(),
		DataDir:  c.opts.DataDir,
		Settings: c.Settings(),
		Report:   report,
		Logger:   c.log,
		LockWait: c.opts.LockWait,
	}
	if needOrg {
		bw, err := c.Client()
		if err != nil {
			return nil, err
		}
		e.Org = bw
	}
	return e, nil
}

// Test reads the directory and reports what it holds; nothing is sent to Bitwarden.
func (c *Connector) Test(ctx context.Context, sinceLast bool, report func(engine.Event)) (*engine.TestResult, error) {
	e, err := c.Engine(false, report)
	if err != nil {
		return nil, err
	}
	return e.Test(ctx, sinceLast)
}

// Sync plans and (unless o.DryRun) pushes.
func (c *Connector) Sync(ctx context.Context, o engine.SyncOptions, report func(engine.Event)) (*engine.Result, error) {
	e, err := c.Engine(true, report)
	if err != nil {
		return nil, err
	}
	return e.Sync(ctx, o)
}

// State loads the state file.
func (c *Connector) State() (*state.State, error) { return c.Store().Load() }

// ClearCache forgets what was synced so the next run resends everything. It takes the lock, so it never
// races a running sync.
func (c *Connector) ClearCache(ctx context.Context) error {
	lock, err := state.Acquire(ctx, c.opts.DataDir, "dirconn clear-cache", c.opts.LockWait)
	if err != nil {
		return err
	}
	defer lock.Release()
	st, err := c.Store().Load()
	if errors.Is(err, state.ErrCorrupt) {
		st, err = state.New(), nil
	}
	if err != nil {
		return err
	}
	st.ClearCache()
	return c.Store().Save(st)
}
