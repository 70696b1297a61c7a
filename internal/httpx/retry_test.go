package httpx_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
	"github.com/google/go-cmp/cmp"
)

// clock is the shared fake clock of httpxtest.
type clock = httpxtest.Clock

func newClock() *clock { return httpxtest.NewClock() }

type reply struct {
	status int
	header map[string]string
	body   string
}

// scripted is a server that gives the replies in order, then 200 "ok". It records request bodies.
type scripted struct {
	*httptest.Server
	mu      sync.Mutex
	replies []reply
	bodies  []string
}

func newScripted(t *testing.T, replies ...reply) *scripted {
	t.Helper()
	s := &scripted{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.bodies)
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
		if n >= len(s.replies) {
			_, _ = io.WriteString(w, "ok")
			return
		}
		rep := s.replies[n]
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func post(url string) func(ctx context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("payload"))
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestDoRetryAfterSeconds(t *testing.T) {
	for _, status := range []int{429, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newScripted(t, reply{status: status, header: map[string]string{"Retry-After": "7"}})
			clk := newClock()
			resp, err := httpx.Do(t.Context(), srv.Client(), clk.Policy(httpx.Policy{}), post(srv.URL), nil)
			if err != nil {
				t.Fatalf("Do = %v", err)
			}
			if got := readAll(t, resp); resp.StatusCode != 200 || got != "ok" {
				t.Errorf("Do = %d %q, want 200 ok", resp.StatusCode, got)
			}
			if diff := cmp.Diff([]time.Duration{7 * time.Second}, clk.Sleeps()); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if diff := cmp.Diff([]string{"payload", "payload"}, srv.bodies); diff != "" {
				t.Errorf("request bodies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDoRetryAfterDate(t *testing.T) {
	clk := newClock()
	when := clk.Now().Add(30 * time.Second).Format(http.TimeFormat)
	srv := newScripted(t, reply{status: 503, header: map[string]string{"Retry-After": when}})
	resp, err := httpx.Do(t.Context(), srv.Client(), clk.Policy(httpx.Policy{}), post(srv.URL), nil)
	if err != nil {
		t.Fatalf("Do = %v", err)
	}
	resp.Body.Close()
	if diff := cmp.Diff([]time.Duration{30 * time.Second}, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestDoBackoffCapped(t *testing.T) {
	var replies []reply
	for range 6 {
		replies = append(replies, reply{status: 500, body: `{"message":"boom"}`})
	}
	srv := newScripted(t, replies...)
	clk := newClock()
	p := clk.Policy(httpx.Policy{MaxAttempts: 6, BaseDelay: time.Second, MaxDelay: 4 * time.Second, MaxWait: time.Hour})
	resp, err := httpx.Do(t.Context(), srv.Client(), p, post(srv.URL), nil)
	if resp != nil {
		t.Errorf("Do returned a response (%d) when giving up", resp.StatusCode)
	}
	sleeps := clk.Sleeps()
	if len(sleeps) != 5 {
		t.Fatalf("sleeps = %v, want 5 of them", sleeps)
	}
	var total time.Duration
	for i, d := range sleeps {
		ceil := min(time.Second<<i, 4*time.Second)
		if d < ceil/2 || d > ceil {
			t.Errorf("sleep %d = %v, want within [%v, %v]", i, d, ceil/2, ceil)
		}
		total += d
	}
	var re *httpx.RetryError
	if !errors.As(err, &re) {
		t.Fatalf("Do = %v, want a *RetryError", err)
	}
	if re.Attempts != 6 || re.Elapsed != total {
		t.Errorf("RetryError = %d attempts over %v, want 6 over %v", re.Attempts, re.Elapsed, total)
	}
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.StatusCode != 500 || string(se.Body) != `{"message":"boom"}` || se.Method != "POST" {
		t.Errorf("last failure = %#v, want the 500 answer with its body", se)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "gave up after 6 attempts over ") || !strings.Contains(msg, "HTTP 500") {
		t.Errorf("error = %q, want \"gave up after 6 attempts over ...: ... HTTP 500 ...\"", msg)
	}
	if n := srv.Requests(); n != 6 {
		t.Errorf("server saw %d requests, want 6", n)
	}
}

func TestDoRetryAfterBeyondWaitLimit(t *testing.T) {
	srv := newScripted(t, reply{status: 429, header: map[string]string{"Retry-After": "600"}})
	clk := newClock()
	_, err := httpx.Do(t.Context(), srv.Client(), clk.Policy(httpx.Policy{MaxWait: time.Minute}), post(srv.URL), nil)
	var re *httpx.RetryError
	if !errors.As(err, &re) || re.Attempts != 1 {
		t.Fatalf("Do = %v, want a RetryError after 1 attempt", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "retry after 10m0s") || !strings.Contains(msg, "wait limit") ||
		!strings.Contains(msg, "HTTP 429") {
		t.Errorf("error = %q, want it to name the Retry-After, the wait limit and the 429", msg)
	}
	if len(clk.Sleeps()) != 0 || srv.Requests() != 1 {
		t.Errorf("sleeps %v, requests %d; want none and 1", clk.Sleeps(), srv.Requests())
	}
}

func TestDoWaitLimitIsCumulative(t *testing.T) {
	ra := map[string]string{"Retry-After": "40"}
	srv := newScripted(t, reply{status: 429, header: ra}, reply{status: 429, header: ra})
	clk := newClock()
	_, err := httpx.Do(t.Context(), srv.Client(), clk.Policy(httpx.Policy{MaxWait: time.Minute}), post(srv.URL), nil)
	if err == nil || !strings.Contains(err.Error(), "20s left") {
		t.Errorf("Do = %v, want giving up with 20s left", err)
	}
	if diff := cmp.Diff([]time.Duration{40 * time.Second}, clk.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestDoBackoffShortenedToWaitLimit(t *testing.T) {
	var replies []reply
	for range 10 {
		replies = append(replies, reply{status: 502})
	}
	srv := newScripted(t, replies...)
	clk := newClock()
	p := clk.Policy(httpx.Policy{MaxAttempts: 10, BaseDelay: 10 * time.Second, MaxDelay: 10 * time.Second, MaxWait: 12 * time.Second})
	_, err := httpx.Do(t.Context(), srv.Client(), p, post(srv.URL), nil)
	var total time.Duration
	for _, d := range clk.Sleeps() {
		total += d
	}
	if total != 12*time.Second {
		t.Errorf("waited %v in total (%v), want exactly the 12s limit", total, clk.Sleeps())
	}
	if err == nil || !strings.Contains(err.Error(), "wait limit is used up") {
		t.Errorf("Do = %v, want giving up because the wait limit is used up", err)
	}
}

func TestDoCancelDuringWait(t *testing.T) {
	srv := newScripted(t, reply{status: 429, header: map[string]string{"Retry-After": "3600"}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	// Real Sleep: it must give up when ctx ends.
	_, err := httpx.Do(ctx, srv.Client(), httpx.Policy{MaxWait: 2 * time.Hour}, post(srv.URL), nil)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Do returned after %v, want right after the cancel", d)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.StatusCode != 429 {
		t.Errorf("Do = %v, want the last failure (429) kept", err)
	}
	if srv.Requests() != 1 {
		t.Errorf("server saw %d requests, want 1", srv.Requests())
	}
}

func TestDoCancelDuringRequest(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	clk := newClock()
	_, err := httpx.Do(ctx, srv.Client(), clk.Policy(httpx.Policy{}), post(srv.URL), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 1 || len(clk.Sleeps()) != 0 {
		t.Errorf("requests %d, sleeps %v; want 1 and none", requests, clk.Sleeps())
	}
}

func TestDoContextAlreadyDone(t *testing.T) {
	srv := newScripted(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := httpx.Do(ctx, srv.Client(), httpx.Policy{}, post(srv.URL), nil)
	if !errors.Is(err, context.Canceled) || srv.Requests() != 0 {
		t.Errorf("Do = %v after %d requests, want context.Canceled and none", err, srv.Requests())
	}
}

func TestDoNotRetryable(t *testing.T) {
	srv := newScripted(t, reply{status: 400, body: "bad request body"})
	clk := newClock()
	resp, err := httpx.Do(t.Context(), srv.Client(), clk.Policy(httpx.Policy{}), post(srv.URL), nil)
	if err != nil {
		t.Fatalf("Do = %v", err)
	}
	if got := readAll(t, resp); resp.StatusCode != 400 || got != "bad request body" {
		t.Errorf("Do = %d %q, want the 400 with its body", resp.StatusCode, got)
	}
	if srv.Requests() != 1 || len(clk.Sleeps()) != 0 {
		t.Errorf("requests %d, sleeps %v; want 1 and none", srv.Requests(), clk.Sleeps())
	}
}

func TestDoCustomRetryable(t *testing.T) {
	srv := newScripted(t, reply{status: 409}, reply{status: 500})
	clk := newClock()
	only409 := func(resp *http.Response, err error) bool { return err == nil && resp.StatusCode == 409 }
	resp, err := httpx.Do(t.Context(), srv.Client(), clk.Policy(httpx.Policy{}), post(srv.URL), only409)
	if err != nil {
		t.Fatalf("Do = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || srv.Requests() != 2 {
		t.Errorf("Do = %d after %d requests, want the 500 after 2", resp.StatusCode, srv.Requests())
	}
}

// trackingTransport records, for every response body, whether it was read to the end and closed.
type trackingTransport struct {
	mu     sync.Mutex
	bodies []*trackedBody
}

type trackedBody struct {
	io.ReadCloser
	mu          sync.Mutex
	eof, closed bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
	}
	return n, err
}

func (b *trackedBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.ReadCloser.Close()
}

func (tt *trackingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b := &trackedBody{ReadCloser: resp.Body}
	resp.Body = b
	tt.mu.Lock()
	tt.bodies = append(tt.bodies, b)
	tt.mu.Unlock()
	return resp, nil
}

func TestDoDrainsAndClosesRetriedBodies(t *testing.T) {
	srv := newScripted(t, reply{status: 500, body: strings.Repeat("x", 100000)}, reply{status: 502, body: "gateway"})
	tr := &trackingTransport{}
	clk := newClock()
	resp, err := httpx.Do(t.Context(), &http.Client{Transport: tr}, clk.Policy(httpx.Policy{}), post(srv.URL), nil)
	if err != nil {
		t.Fatalf("Do = %v", err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.bodies) != 3 {
		t.Fatalf("%d responses, want 3", len(tr.bodies))
	}
	for i, b := range tr.bodies[:2] {
		if !b.eof || !b.closed {
			t.Errorf("retried body %d: read to end %v, closed %v; want both", i, b.eof, b.closed)
		}
	}
	if tr.bodies[2].closed {
		t.Errorf("the returned body was closed by Do")
	}
	if got := readAll(t, resp); got != "ok" {
		t.Errorf("body = %q, want ok", got)
	}
}

func TestDoNetworkErrorRetried(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // no answer at all
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	clk := newClock()
	resp, err := httpx.Do(t.Context(), srv.Client(), clk.Policy(httpx.Policy{}), post(srv.URL), nil)
	if err != nil {
		t.Fatalf("Do = %v, want success on the second attempt", err)
	}
	if got := readAll(t, resp); got != "ok" || len(clk.Sleeps()) != 1 {
		t.Errorf("Do = %q after sleeps %v, want ok after one wait", got, clk.Sleeps())
	}
}

func TestDoConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close()
	clk := newClock()
	_, err = httpx.Do(t.Context(), &http.Client{}, clk.Policy(httpx.Policy{MaxAttempts: 3}), post(url), nil)
	var re *httpx.RetryError
	if !errors.As(err, &re) || re.Attempts != 3 || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Do = %v, want giving up after 3 refused connections", err)
	}
}

func TestDoNewRequestError(t *testing.T) {
	boom := errors.New("boom")
	_, err := httpx.Do(t.Context(), &http.Client{}, httpx.Policy{},
		func(context.Context) (*http.Request, error) { return nil, boom }, nil)
	if !errors.Is(err, boom) {
		t.Errorf("Do = %v, want the newReq error", err)
	}
}

func TestDoOnRetry(t *testing.T) {
	srv := newScripted(t, reply{status: 429, header: map[string]string{"Retry-After": "3"}}, reply{status: 503})
	clk := newClock()
	type call struct {
		Attempt int
		Wait    time.Duration
		Status  int
	}
	var calls []call
	p := clk.Policy(httpx.Policy{BaseDelay: 2 * time.Second, MaxDelay: 2 * time.Second})
	p.OnRetry = func(attempt int, wait time.Duration, err error) {
		var se *httpx.StatusError
		errors.As(err, &se)
		calls = append(calls, call{attempt, wait, se.StatusCode})
	}
	resp, err := httpx.Do(t.Context(), srv.Client(), p, post(srv.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(calls) != 2 || calls[0] != (call{1, 3 * time.Second, 429}) || calls[1].Attempt != 2 || calls[1].Status != 503 {
		t.Errorf("OnRetry calls = %+v", calls)
	}
}

func TestDefaultRetryable(t *testing.T) {
	status := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: "https://x", Err: err} }
	tests := []struct {
		name string
		resp *http.Response
		err  error
		want bool
	}{
		{"200", status(200), nil, false},
		{"204", status(204), nil, false},
		{"400", status(400), nil, false},
		{"401", status(401), nil, false},
		{"403", status(403), nil, false},
		{"404", status(404), nil, false},
		{"429", status(429), nil, true},
		{"500", status(500), nil, true},
		{"501", status(501), nil, false},
		{"502", status(502), nil, true},
		{"503", status(503), nil, true},
		{"504", status(504), nil, true},
		{"canceled", nil, urlErr(context.Canceled), false},
		{"deadline", nil, urlErr(context.DeadlineExceeded), true},
		{"refused", nil, urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"reset", nil, urlErr(syscall.ECONNRESET), true},
		{"eof", nil, urlErr(io.EOF), true},
		{"unexpected eof", nil, urlErr(io.ErrUnexpectedEOF), true},
		{"no such host", nil, urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}), false},
		{"dns timeout", nil, urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}}), true},
		{"unknown authority", nil, urlErr(x509.UnknownAuthorityError{}), false},
		{"hostname", nil, urlErr(x509.HostnameError{Host: "x"}), false},
		{"other", nil, urlErr(errors.New("unsupported protocol scheme")), false},
		{"nothing", nil, nil, false},
	}
	for _, tt := range tests {
		if got := httpx.DefaultRetryable(tt.resp, tt.err); got != tt.want {
			t.Errorf("DefaultRetryable(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999999999999", 0, false},
		{"999999999999", time.Duration(1<<63 - 1), true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Thu, 20 Aug 2026 12:01:00 GMT", time.Minute, true},
		{"Thursday, 20-Aug-26 12:00:30 GMT", 30 * time.Second, true}, // RFC 850, still allowed
	}
	for _, tt := range tests {
		got, ok := httpx.ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRetryErrorMessage(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		err  *httpx.RetryError
		want string
	}{
		{&httpx.RetryError{Attempts: 3, Elapsed: 7 * time.Second, Err: boom}, "gave up after 3 attempts over 7s: boom"},
		{&httpx.RetryError{Attempts: 1, Elapsed: 1234567 * time.Microsecond, Err: boom}, "gave up after 1 attempt over 1.2s: boom"},
		{&httpx.RetryError{Attempts: 2, Elapsed: 90 * time.Second, Reason: "why", Err: boom}, "gave up after 2 attempts over 1m30s (why): boom"},
		{&httpx.RetryError{Attempts: 2, Err: boom, Canceled: context.Canceled}, "stopped waiting to retry after 2 attempts over 0s: context canceled; last error: boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, boom) {
			t.Errorf("errors.Is(%v, boom) = false", tt.err)
		}
	}
}
