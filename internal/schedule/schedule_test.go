package schedule

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a Run function whose result the test sets, recording when each run started.
type recorder struct {
	mu      sync.Mutex
	starts  []time.Time
	trigger []Trigger
	fail    error
	block   chan struct{} // when set, runs wait for it (or their ctx)
}

func (r *recorder) run(ctx context.Context, t Trigger) error {
	r.mu.Lock()
	r.starts = append(r.starts, time.Now())
	r.trigger = append(r.trigger, t)
	fail, block := r.fail, r.block
	r.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fail
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.starts)
}

func TestIntervalRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		s := New(Config{Interval: func() time.Duration { return 5 * time.Minute }, Run: r.run})
		defer s.Close()
		t0 := time.Now()
		s.Start()
		synctest.Wait()
		if r.count() != 1 {
			t.Fatalf("Start ran %d times at once, want 1", r.count())
		}
		time.Sleep(31 * time.Minute)
		synctest.Wait()
		if r.count() != 7 {
			t.Errorf("after 31 minutes of 5-minute syncs: %d runs, want 7", r.count())
		}
		if got := r.starts[1].Sub(t0); got != 5*time.Minute {
			t.Errorf("second run after %v, want 5m", got)
		}
		if st := s.State(); !st.Enabled || st.Running || st.Next.IsZero() {
			t.Errorf("state = %+v", st)
		}
		s.Stop()
		time.Sleep(time.Hour)
		synctest.Wait()
		if r.count() != 7 {
			t.Errorf("runs after Stop: %d, want still 7", r.count())
		}
	})
}

func TestBackoffAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{fail: errors.New("directory unreachable")}
		s := New(Config{Interval: func() time.Duration { return 10 * time.Minute }, Run: r.run, MinBackoff: time.Minute})
		defer s.Close()
		s.Start()
		time.Sleep(40 * time.Minute)
		synctest.Wait()
		var gaps []time.Duration
		for i := 1; i < len(r.starts); i++ {
			gaps = append(gaps, r.starts[i].Sub(r.starts[i-1]))
		}
		want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
		if len(gaps) < len(want) {
			t.Fatalf("gaps = %v, want at least %v", gaps, want)
		}
		for i, w := range want {
			if gaps[i] != w {
				t.Errorf("gap %d = %v, want %v (all: %v)", i, gaps[i], w, gaps)
			}
		}
		if st := s.State(); st.Failures < 6 || st.LastErr == nil {
			t.Errorf("state = %+v, want the failures counted and the error kept", st)
		}
		r.mu.Lock()
		r.fail = nil
		r.mu.Unlock()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if st := s.State(); st.Failures != 0 || st.LastErr != nil {
			t.Errorf("after a success: %+v, want failures reset and no error", st)
		}
	})
}

func TestSingleFlightManualAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{block: make(chan struct{})}
		var states []State
		var mu sync.Mutex
		s := New(Config{Interval: func() time.Duration { return 0 }, Run: r.run, OnChange: func(st State) {
			mu.Lock()
			states = append(states, st)
			mu.Unlock()
		}})
		defer s.Close()
		s.RunNow()
		s.RunNow() // coalesced: a run is in progress
		synctest.Wait()
		if r.count() != 1 || !s.State().Running {
			t.Fatalf("runs = %d, running = %v; want one run in progress", r.count(), s.State().Running)
		}
		s.Cancel()
		synctest.Wait()
		if st := s.State(); st.Running || st.LastErr != nil || st.Failures != 0 {
			t.Errorf("after Cancel: %+v; want not running, a cancellation not counted as a failure", st)
		}
		if r.trigger[0] != TriggerManual {
			t.Errorf("trigger = %v, want manual", r.trigger[0])
		}
		// Interval 0: no scheduled runs even when enabled.
		close(r.block)
		r.block = nil
		s.Start()
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if r.count() != 2 {
			t.Errorf("runs with interval 0 = %d, want only Start's immediate one", r.count())
		}
		mu.Lock()
		defer mu.Unlock()
		if len(states) == 0 {
			t.Error("OnChange was never called")
		}
	})
}

func TestCloseCancelsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{block: make(chan struct{})}
		s := New(Config{Interval: func() time.Duration { return time.Minute }, Run: r.run})
		s.Start()
		synctest.Wait()
		s.Close() // returns only after the run saw its cancellation
		s.RunNow()
		synctest.Wait()
		if r.count() != 1 {
			t.Errorf("runs = %d after Close, want 1", r.count())
		}
	})
}
