package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes the emulator misbehave on one route: "token", "import", "members" or "groups". Faults for the
// same route run one after another in the order injected: the first lets Skip matching requests through,
// then answers Count of them (0 means 1) with Status and Body; then the next fault takes over.
//
// Status 0 with a Delay only delays: the request is then served normally. Body defaults to the server's
// usual error for the status on that route (empty for 401, 403, 413 and 415).
//
// JSON form (POST /__emulator/faults): {"route":"import","skip":0,"count":2,"status":503,"body":"",
// "retryAfter":"30s","delay":"1.5s"}; retryAfter and delay take a Go duration string or a number of seconds.
type Fault struct {
	Route      string        // "token", "import", "members", "groups"
	Skip       int           // let this many matching requests through first
	Count      int           // then answer this many with the fault (0 = 1)
	Status     int           // e.g. 500, 429, 503; 0 = only Delay, then serve normally
	Body       string        // optional body (default: the server's usual error for that status)
	RetryAfter time.Duration // sets Retry-After (whole seconds, rounded up) when > 0
	Delay      time.Duration // sleep before answering (for timeout tests)
}

type pendingFault struct {
	Fault
	seen int
}

// seconds is a duration in JSON: a Go duration string ("1.5s") or a number of seconds.
type seconds time.Duration

func (d seconds) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *seconds) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*d = 0
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case float64:
		*d = seconds(v * float64(time.Second))
		return nil
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			*d = seconds(f * float64(time.Second))
			return nil
		}
		dur, err := time.ParseDuration(v)
		*d = seconds(dur)
		return err
	}
	return fmt.Errorf("duration must be a string like \"1.5s\" or a number of seconds, not %s", b)
}

type faultJSON struct {
	Route      string  `json:"route"`
	Skip       int     `json:"skip"`
	Count      int     `json:"count"`
	Status     int     `json:"status"`
	Body       string  `json:"body,omitempty"`
	RetryAfter seconds `json:"retryAfter,omitempty"`
	Delay      seconds `json:"delay,omitempty"`
}

// MarshalJSON writes the JSON form described on Fault (durations as Go duration strings).
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{f.Route, f.Skip, f.Count, f.Status, f.Body, seconds(f.RetryAfter), seconds(f.Delay)})
}

// UnmarshalJSON reads the JSON form described on Fault.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{j.Route, j.Skip, j.Count, j.Status, j.Body, time.Duration(j.RetryAfter), time.Duration(j.Delay)}
	return nil
}

// InjectFault queues a fault (see Fault).
func (s *Server) InjectFault(f Fault) {
	f.Route = strings.ToLower(strings.TrimSpace(f.Route))
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &pendingFault{Fault: f})
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// fault counts a request against the first pending fault of its route; ok is true when the fault answers it.
func (s *Server) fault(r *http.Request, route string) (reply, bool) {
	s.mu.Lock()
	var hit *Fault
	for i, p := range s.faults {
		if p.Route != route {
			continue
		}
		p.seen++
		if p.seen > p.Skip {
			f := p.Fault
			hit = &f
			if p.seen >= p.Skip+p.Count {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		break
	}
	s.mu.Unlock()
	if hit == nil {
		return reply{}, false
	}
	if hit.Delay > 0 {
		t := time.NewTimer(hit.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
	}
	if hit.Status == 0 {
		return reply{}, false
	}
	rp := s.defaultError(r, route, hit.Status)
	if hit.Body != "" {
		rp = reply{status: hit.Status, body: []byte(hit.Body)}
		if t := strings.TrimSpace(hit.Body); !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
			rp = rp.with("Content-Type", "text/plain; charset=utf-8")
		}
	}
	if hit.RetryAfter > 0 {
		rp = rp.with("Retry-After", strconv.Itoa(int(math.Ceil(hit.RetryAfter.Seconds()))))
	}
	return rp, true
}

// defaultError is the answer the server itself gives with that status on that route.
func (s *Server) defaultError(r *http.Request, route string, status int) reply {
	if s.profile == Vaultwarden {
		if route != "token" {
			return rocketCatcher(r, status)
		}
		msg := http.StatusText(status)
		if status == http.StatusTooManyRequests {
			msg = "Too many login requests"
		}
		return vaultwardenError(status, msg)
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return empty(status)
	case http.StatusTooManyRequests:
		return internalError(status, rateLimitMessage)
	}
	if route == "token" {
		if status == http.StatusBadRequest {
			return oauthError("invalid_request")
		}
		return internalError(status, http.StatusText(status))
	}
	switch status {
	case http.StatusNotFound:
		return publicError(status, "Resource not found.")
	case http.StatusInternalServerError:
		return publicError(status, "An unhandled server error has occurred.")
	}
	return publicError(status, http.StatusText(status))
}
