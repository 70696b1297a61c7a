package connector

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dirconn/dirconn/internal/config"
	"github.com/dirconn/dirconn/internal/engine"
	"github.com/dirconn/dirconn/internal/schedule"
	"github.com/dirconn/dirconn/internal/secret"
	"github.com/dirconn/dirconn/internal/state"
)

// Status is an immutable snapshot of a Service for front ends.
type Status struct {
	LoggedIn  bool
	ClientID  string
	Directory string
	// Scheduled is true while interval syncs are on; Next is when the next one starts.
	Scheduled bool
	Next      time.Time
	Interval  time.Duration
	// Running is true while a sync runs; Stage, Message, Done and Total report its progress.
	Running        bool
	Stage, Message string
	Done, Total    int
	LastUserSync   *time.Time
	LastGroupSync  *time.Time
	// LastResult is the last sync's result (nil before the first one).
	LastResult *engine.Result
	// LastError is the last failure; it stays until a sync succeeds.
	LastError   string
	LastErrorAt time.Time
	Failures    int
	// Held lists removals the guard holds until approved.
	Held *state.Held
}

// Service runs one connector for a long-lived front end (the desktop app, dirconn serve): interval syncs
// through a scheduler, manual runs, approval of held removals, cancellation, and status updates to
// subscribers. Its methods are safe from any goroutine; long operations (Test, Plan) block, so front ends
// call them off their UI goroutine.
type Service struct {
	c     *Connector
	sched *schedule.Scheduler

	cfgMu sync.Mutex // guards the connector's settings: runs read them while a front end edits them

	mu      sync.Mutex
	status  Status
	subs    map[chan Status]struct{}
	approve bool // the next run may remove held users
}

// NewService opens the data dir and starts the scheduler (disabled until Start).
func NewService(o Options) (*Service, error) {
	c, err := Open(o)
	if err != nil {
		return nil, err
	}
	s := &Service{c: c, subs: map[chan Status]struct{}{}}
	s.sched = schedule.New(schedule.Config{
		Interval: s.interval,
		Run:      s.run,
		OnChange: s.onSchedule,
	})
	s.refresh(nil)
	return s, nil
}

// Close stops the scheduler, cancelling a run in progress.
func (s *Service) Close() { s.sched.Close() }

// Connector returns the underlying connector. Use EditConfig to change settings while the service runs.
func (s *Service) Connector() *Connector { return s.c }

// EditConfig runs fn with the settings locked, then saves them.
func (s *Service) EditConfig(fn func(cfg *config.Config, secrets secret.Store) error) error {
	s.cfgMu.Lock()
	err := fn(s.c.cfg, s.c.secrets)
	if err == nil {
		err = s.c.cfg.Save()
	}
	s.cfgMu.Unlock()
	s.refresh(nil)
	return err
}

// Reload re-reads config.json (after another process changed it).
func (s *Service) Reload() error {
	s.cfgMu.Lock()
	cfg, err := config.Load(s.c.opts.DataDir)
	if err == nil {
		s.c.cfg = cfg
	}
	s.cfgMu.Unlock()
	s.refresh(nil)
	return err
}

func (s *Service) interval() time.Duration {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.c.cfg.SyncValues().Duration("interval")
}

// Status returns the current status.
func (s *Service) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Subscribe returns a channel that receives the status after every change, until ctx ends. A slow reader
// only misses intermediate states: it always gets the latest.
func (s *Service) Subscribe(ctx context.Context) <-chan Status {
	ch := make(chan Status, 1)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	st := s.status
	s.mu.Unlock()
	ch <- st
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	return ch
}

// publish changes the status with f and sends it to every subscriber.
func (s *Service) publish(f func(*Status)) {
	s.mu.Lock()
	f(&s.status)
	st := s.status
	for ch := range s.subs {
		select {
		case <-ch: // drop the stale one
		default:
		}
		ch <- st
	}
	s.mu.Unlock()
}

// refresh reloads what the status shows from settings and state; res is a finished run's result or nil.
func (s *Service) refresh(res *engine.Result) {
	s.cfgMu.Lock()
	loggedIn, clientID, dir := s.c.LoggedIn(), s.c.ClientID(), s.c.cfg.Directory()
	iv := s.c.cfg.SyncValues().Duration("interval")
	s.cfgMu.Unlock()
	st, _ := s.c.State()
	s.publish(func(x *Status) {
		x.LoggedIn, x.ClientID, x.Directory, x.Interval = loggedIn, clientID, dir, iv
		if res != nil {
			x.LastResult = res
		}
		if st != nil {
			x.LastUserSync, x.LastGroupSync, x.Held = st.LastUserSync, st.LastGroupSync, st.Held
		}
	})
}

func (s *Service) onSchedule(st schedule.State) {
	s.publish(func(x *Status) {
		x.Scheduled, x.Running, x.Next, x.Failures = st.Enabled, st.Running, st.Next, st.Failures
		if !st.Running {
			x.Stage, x.Message, x.Done, x.Total = "", "", 0, 0
		}
	})
}

// run is the scheduler's Run: one sync with progress reported into the status.
func (s *Service) run(ctx context.Context, t schedule.Trigger) error {
	s.mu.Lock()
	approve := s.approve
	s.approve = false
	s.mu.Unlock()
	report := func(ev engine.Event) {
		s.publish(func(x *Status) { x.Stage, x.Message, x.Done, x.Total = ev.Stage, ev.Message, ev.Done, ev.Total })
	}
	s.cfgMu.Lock()
	e, err := s.c.Engine(true, report)
	s.cfgMu.Unlock()
	var res *engine.Result
	if err == nil {
		res, err = e.Sync(ctx, engine.SyncOptions{AllowDeletes: approve, Trigger: "gui-" + string(t)})
	}
	s.refresh(res)
	switch {
	case err == nil:
		s.publish(func(x *Status) { x.LastError, x.LastErrorAt = "", time.Time{} })
	case !errors.Is(err, context.Canceled):
		now := time.Now()
		s.publish(func(x *Status) { x.LastError, x.LastErrorAt = err.Error(), now })
	}
	return err
}

// Start turns interval syncs on; the first sync starts at once.
func (s *Service) Start() { s.sched.Start() }

// Stop turns interval syncs off; a sync in progress finishes.
func (s *Service) Stop() { s.sched.Stop() }

// SyncNow starts a sync now unless one is running.
func (s *Service) SyncNow() { s.sched.RunNow() }

// Approve starts a sync that may remove the held users (the explicit approval of the guard's hold).
func (s *Service) Approve() {
	s.mu.Lock()
	s.approve = true
	s.mu.Unlock()
	s.sched.RunNow()
}

// Cancel cancels the sync in progress.
func (s *Service) Cancel() { s.sched.Cancel() }

// Test reads the directory (nothing is sent). It blocks.
func (s *Service) Test(ctx context.Context, sinceLast bool) (*engine.TestResult, error) {
	s.cfgMu.Lock()
	e, err := s.c.Engine(false, nil)
	s.cfgMu.Unlock()
	if err != nil {
		return nil, err
	}
	return e.Test(ctx, sinceLast)
}

// Plan shows what a sync would do (nothing is sent). It blocks.
func (s *Service) Plan(ctx context.Context) (*engine.Result, error) {
	s.cfgMu.Lock()
	e, err := s.c.Engine(true, nil)
	s.cfgMu.Unlock()
	if err != nil {
		return nil, err
	}
	return e.Sync(ctx, engine.SyncOptions{DryRun: true})
}

// Login checks and saves an organization API key.
func (s *Service) Login(ctx context.Context, clientID string, clientSecret secret.Secret) (*LoginResult, error) {
	s.cfgMu.Lock()
	res, err := s.c.Login(ctx, clientID, clientSecret, "")
	s.cfgMu.Unlock()
	s.refresh(nil)
	return res, err
}

// Logout stops interval syncs and forgets the API key.
func (s *Service) Logout() error {
	s.sched.Stop()
	s.cfgMu.Lock()
	err := s.c.Logout()
	s.cfgMu.Unlock()
	s.refresh(nil)
	return err
}

// ClearCache forgets what was synced.
func (s *Service) ClearCache(ctx context.Context) error {
	err := s.c.ClearCache(ctx)
	s.refresh(nil)
	return err
}

// History returns the recent runs, newest last.
func (s *Service) History() ([]state.Run, error) {
	st, err := s.c.State()
	if err != nil {
		return nil, err
	}
	return st.History, nil
}
