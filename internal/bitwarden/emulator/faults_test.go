package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFaults(t *testing.T) {
	t.Run("skip, count, retry-after, default body", func(t *testing.T) {
		h := newHarness(t, Options{})
		tok := h.token()
		h.s.InjectFault(Fault{Route: "import", Skip: 1, Count: 2, Status: 503, RetryAfter: 2500 * time.Millisecond})
		body := importJSON(nil, nil, false)
		var got []string
		for range 4 {
			res := h.do(h.importRequest("/public/organization/import", tok, body))
			got = append(got, res.header.Get("Retry-After")+" "+strconv.Itoa(res.status)+" "+res.body)
		}
		want := []string{
			" 200 ",
			`3 503 {"object":"error","message":"Service Unavailable","errors":null}`,
			`3 503 {"object":"error","message":"Service Unavailable","errors":null}`,
			" 200 ",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answers (-want +got):\n%s", diff)
		}
		var statuses []int
		for _, imp := range h.s.Imports() {
			statuses = append(statuses, imp.Status)
			if !imp.Parsed || imp.Body != body || imp.At != epoch {
				t.Errorf("import record %+v", imp)
			}
		}
		if diff := cmp.Diff([]int{200, 503, 503, 200}, statuses); diff != "" {
			t.Errorf("recorded statuses (-want +got):\n%s", diff)
		}
	})
	t.Run("faults on a route run in order", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.s.InjectFault(Fault{Route: "token", Status: 500})
		h.s.InjectFault(Fault{Route: "members", Status: 429})
		h.s.InjectFault(Fault{Route: "token", Skip: 1, Status: 400, Body: `{"error":"custom"}`})
		var got []string
		for range 4 {
			res := h.postToken("/connect/token", h.tokenForm())
			if res.status == http.StatusOK {
				res.body = "token"
			}
			got = append(got, strconv.Itoa(res.status)+" "+res.body)
		}
		want := []string{
			`500 {"message":"Internal Server Error","validationErrors":null,"exceptionMessage":null,"exceptionStackTrace":null,"innerExceptionMessage":null,"object":"error"}`,
			"200 token",
			`400 {"error":"custom"}`,
			"200 token",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answers (-want +got):\n%s", diff)
		}
		res := h.get("/public/members", h.token())
		if res.status != 429 || !strings.Contains(res.body, "Slow down!") {
			t.Errorf("members fault: HTTP %d %s", res.status, res.body)
		}
		if h.s.TokenRequests() != 5 {
			t.Errorf("TokenRequests() = %d, want 5", h.s.TokenRequests())
		}
	})
	t.Run("delay", func(t *testing.T) {
		h := newHarness(t, Options{})
		srv := httptest.NewServer(h.s.Handler())
		defer srv.Close()
		h.s.InjectFault(Fault{Route: "groups", Delay: time.Second, Status: 500})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/public/groups", nil)
		req.Header.Set("Authorization", "Bearer "+h.token())
		if _, err := srv.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want a timeout", err)
		}
		h.s.InjectFault(Fault{Route: "groups", Delay: 20 * time.Millisecond})
		start := time.Now()
		res := h.get("/api/public/groups", h.token())
		if res.status != http.StatusOK || time.Since(start) < 20*time.Millisecond {
			t.Errorf("delay only: HTTP %d after %v", res.status, time.Since(start))
		}
	})
}

func TestControlRoutes(t *testing.T) {
	h := newHarness(t, Options{})
	post := func(path, body string) response {
		return h.do(httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	}
	if res := post("/__emulator/faults", `[{"route":"import","status":502,"retryAfter":1.5},{"route":"import","status":504,"delay":"1ms","skip":0}]`); res.status != http.StatusNoContent {
		t.Fatalf("faults: HTTP %d %s", res.status, res.body)
	}
	tok := h.token()
	for _, want := range []int{502, 504, 200} {
		res := h.do(h.importRequest("/public/organization/import", tok, importJSON(nil, []mem{active("c@example.com", "c")}, false)))
		if res.status != want {
			t.Errorf("HTTP %d, want %d", res.status, want)
		}
	}
	var st State
	if err := json.Unmarshal([]byte(h.get("/__emulator/state", "").body), &st); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(h.s.Snapshot(), st); diff != "" || len(st.Members) != 2 {
		t.Errorf("state route (-snapshot +route):\n%s", diff)
	}
	var imports []Import
	if err := json.Unmarshal([]byte(h.get("/__emulator/imports", "").body), &imports); err != nil || len(imports) != 3 {
		t.Errorf("imports route: %d records, %v", len(imports), err)
	}
	if res := post("/__emulator/revoke-tokens", ""); res.status != http.StatusNoContent {
		t.Errorf("revoke: HTTP %d", res.status)
	}
	if res := h.do(h.importRequest("/public/organization/import", tok, importJSON(nil, nil, false))); res.status != http.StatusUnauthorized {
		t.Errorf("after revoke: HTTP %d", res.status)
	}
	post("/__emulator/faults", `{"route":"token","status":500,"count":5}`)
	h.do(httptest.NewRequest(http.MethodDelete, "/__emulator/faults", nil))
	if res := post("/__emulator/reset", ""); res.status != http.StatusNoContent {
		t.Errorf("reset: HTTP %d", res.status)
	}
	if st := h.s.Snapshot(); len(st.Members) != 1 || len(h.s.Imports()) != 0 || h.s.TokenRequests() != 0 {
		t.Errorf("after reset: %d members, %d imports, %d token requests", len(st.Members), len(h.s.Imports()), h.s.TokenRequests())
	}
	if res := h.postToken("/connect/token", h.tokenForm()); res.status != http.StatusOK {
		t.Errorf("faults survived DELETE and reset: HTTP %d", res.status)
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/__emulator/reset", 405},
		{http.MethodGet, "/__emulator/nothing", 404},
		{http.MethodPost, "/__emulator/state", 405},
	} {
		if res := h.do(httptest.NewRequest(c.method, c.path, nil)); res.status != c.status {
			t.Errorf("%s %s: HTTP %d, want %d", c.method, c.path, res.status, c.status)
		}
	}
	if res := post("/__emulator/faults", `{"route":"import","delay":"soon"}`); res.status != http.StatusBadRequest {
		t.Errorf("bad duration: HTTP %d", res.status)
	}
}

func TestFaultJSON(t *testing.T) {
	f := Fault{Route: "import", Skip: 1, Count: 2, Status: 429, Body: "{}", RetryAfter: 30 * time.Second, Delay: 1500 * time.Millisecond}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"route":"import","skip":1,"count":2,"status":429,"body":"{}","retryAfter":"30s","delay":"1.5s"}`
	if string(b) != want {
		t.Errorf("marshal %s, want %s", b, want)
	}
	var back Fault
	if err := json.Unmarshal(b, &back); err != nil || back != f {
		t.Errorf("round trip %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"retryAfter":2,"delay":"0.25"}`), &back); err != nil || back.RetryAfter != 2*time.Second || back.Delay != 250*time.Millisecond {
		t.Errorf("seconds: %+v, %v", back, err)
	}
}
