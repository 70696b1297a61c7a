// Package schedule runs syncs on an interval for the desktop app and the service: one run at a time
// (single flight), manual runs on demand, backoff after failures, and cancellation of the run in progress.
//
// A Scheduler owns one goroutine. Its methods only send it requests, so they are safe from any goroutine
// (a GUI's included) and never block on a run. State changes are reported through OnChange, called on
// the scheduler's goroutine.
package schedule

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Trigger says who asked for a run.
type Trigger string

const (
	TriggerSchedule Trigger = "schedule"
	TriggerManual   Trigger = "manual"
)

// State is a snapshot of the scheduler.
type State struct {
	// Enabled is true while interval syncs are on.
	Enabled bool
	// Running is true while a run is in progress.
	Running bool
	// Next is when the next scheduled run starts (zero when disabled or running).
	Next time.Time
	// Failures counts consecutive failed runs; the next scheduled run is delayed by a backoff.
	Failures int
	// LastErr is the error of the last run, nil after a success.
	LastErr error
	// LastRun is when the last run finished.
	LastRun time.Time
}

// Config sets a Scheduler up.
type Config struct {
	// Interval returns the time between runs; it is read again after each run, so a changed setting takes
	// effect. A value <= 0 means "no scheduled runs" (manual runs still work).
	Interval func() time.Duration
	// Run does one sync. Its error counts as a failure unless it is a cancellation.
	Run func(ctx context.Context, t Trigger) error
	// OnChange receives every state change (may be nil). It runs on the scheduler's goroutine and must
	// not call the Scheduler's methods.
	OnChange func(State)
	// MinBackoff is the first delay after a failure (default 1 minute); it doubles per failure, capped at
	// the interval.
	MinBackoff time.Duration
}

// Scheduler runs Config.Run on an interval.
type Scheduler struct {
	cfg  Config
	reqs chan request
	done chan struct{}

	mu    sync.Mutex
	state State
}

type reqKind int

const (
	reqStart reqKind = iota
	reqStop
	reqRunNow
	reqCancel
	reqClose
)

type request struct {
	kind  reqKind
	reply chan struct{}
}

// New starts a scheduler's goroutine; it is disabled until Start. Close stops it.
func New(cfg Config) *Scheduler {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Minute
	}
	s := &Scheduler{cfg: cfg, reqs: make(chan request), done: make(chan struct{})}
	go s.loop()
	return s
}

// State returns the current state.
func (s *Scheduler) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *Scheduler) send(k reqKind) {
	r := request{kind: k, reply: make(chan struct{})}
	select {
	case s.reqs <- r:
		<-r.reply
	case <-s.done:
	}
}

// Start enables interval runs; the first one starts at once (like the Directory Connector's Start Sync).
func (s *Scheduler) Start() { s.send(reqStart) }

// Stop disables interval runs; a run in progress finishes.
func (s *Scheduler) Stop() { s.send(reqStop) }

// RunNow starts a run now unless one is in progress (then it does nothing).
func (s *Scheduler) RunNow() { s.send(reqRunNow) }

// Cancel cancels the run in progress, if any.
func (s *Scheduler) Cancel() { s.send(reqCancel) }

// Close cancels any run, waits for it to end and stops the goroutine.
func (s *Scheduler) Close() {
	s.send(reqClose)
	<-s.done
}

func (s *Scheduler) update(f func(*State)) {
	s.mu.Lock()
	f(&s.state)
	st := s.state
	s.mu.Unlock()
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(st)
	}
}

func (s *Scheduler) interval() time.Duration {
	if s.cfg.Interval == nil {
		return 0
	}
	return s.cfg.Interval()
}

// delay is how long to wait before the next scheduled run after failures consecutive failures.
func (s *Scheduler) delay(failures int) time.Duration {
	iv := s.interval()
	if failures == 0 {
		return iv
	}
	d := s.cfg.MinBackoff << min(failures-1, 20)
	if d > iv {
		d = iv
	}
	return d
}

func (s *Scheduler) loop() {
	defer close(s.done)
	var (
		enabled  bool
		timer    *time.Timer
		timerC   <-chan time.Time
		cancel   context.CancelFunc
		finished chan error
		failures int
		closing  bool
	)
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer, timerC = nil, nil
		}
	}
	// arm sets the timer for the next scheduled run and returns when it fires (zero: none).
	arm := func(d time.Duration) time.Time {
		stopTimer()
		if !enabled || d <= 0 {
			return time.Time{}
		}
		timer = time.NewTimer(d)
		timerC = timer.C
		return time.Now().Add(d)
	}
	start := func(t Trigger) {
		if finished != nil {
			return // single flight
		}
		stopTimer()
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		finished = make(chan error, 1)
		s.update(func(st *State) { st.Running, st.Next = true, time.Time{} })
		go func() { finished <- s.cfg.Run(ctx, t) }()
	}
	for {
		select {
		case r := <-s.reqs:
			switch r.kind {
			case reqStart:
				if !enabled {
					enabled = true
					s.update(func(st *State) { st.Enabled = true })
					start(TriggerSchedule)
				}
			case reqStop:
				enabled = false
				stopTimer()
				s.update(func(st *State) { st.Enabled, st.Next = false, time.Time{} })
			case reqRunNow:
				start(TriggerManual)
			case reqCancel:
				if cancel != nil {
					cancel()
				}
			case reqClose:
				closing, enabled = true, false
				stopTimer()
				if cancel != nil {
					cancel()
				}
			}
			close(r.reply)
			if closing && finished == nil {
				return
			}
		case err := <-finished:
			cancel()
			cancel, finished = nil, nil
			canceled := errors.Is(err, context.Canceled)
			switch {
			case err == nil:
				failures = 0
			case !canceled:
				failures++
			}
			now := time.Now()
			var next time.Time
			if !closing {
				next = arm(s.delay(failures))
			}
			// One update, so observers never see a finished run without its next start.
			s.update(func(st *State) {
				st.Running, st.LastRun, st.Failures, st.Next = false, now, failures, next
				if !canceled {
					st.LastErr = err
				}
			})
			if closing {
				return
			}
		case <-timerC:
			timer, timerC = nil, nil
			start(TriggerSchedule)
		}
	}
}
