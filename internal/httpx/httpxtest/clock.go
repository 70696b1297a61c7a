package httpxtest

import (
	"context"
	"sync"
	"time"

	"github.com/dirconn/dirconn/internal/httpx"
)

// Clock is a fake clock for retry tests: Sleep records the wait and moves time forward at once, so a test
// can assert on Retry-After and backoff without waiting. Use its Now and Sleep in an httpx.Policy.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// NewClock returns a clock set to a fixed time.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep records d and advances the clock by it, or returns ctx's error when ctx is done.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

// Sleeps returns every wait so far.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// Policy returns p with the clock's Now and Sleep.
func (c *Clock) Policy(p httpx.Policy) httpx.Policy {
	p.Sleep = c.Sleep
	p.Now = c.Now
	return p
}
