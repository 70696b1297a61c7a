package bitwarden_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
	"github.com/google/go-cmp/cmp"
)

func wantDevice() (string, string) {
	switch runtime.GOOS {
	case "windows":
		return "6", "windows"
	case "darwin":
		return "7", "macos"
	default:
		return "8", "linux"
	}
}

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*bitwarden.Options)
		wantErr string
	}{
		{"ok", func(o *bitwarden.Options) {}, ""},
		{"ok with spaces", func(o *bitwarden.Options) { o.ClientID = " organization." + testOrg + "\n" }, ""},
		{"upper-case guid", func(o *bitwarden.Options) { o.ClientID = "organization." + strings.ToUpper(testOrg) }, ""},
		{"empty id", func(o *bitwarden.Options) { o.ClientID = "" }, "the client id is required"},
		{"user key", func(o *bitwarden.Options) { o.ClientID = "user." + testOrg },
			"the client id must belong to an organization: organization.<GUID>"},
		{"prefix case", func(o *bitwarden.Options) { o.ClientID = "Organization." + testOrg },
			"the client id must belong to an organization: organization.<GUID>"},
		{"not a guid", func(o *bitwarden.Options) { o.ClientID = "organization.1234" }, "must be a GUID"},
		{"extra dot", func(o *bitwarden.Options) { o.ClientID = "organization." + testOrg + ".x" }, "must be a GUID"},
		{"no secret", func(o *bitwarden.Options) { o.ClientSecret = "  " }, "the client secret is required"},
		{"bad url", func(o *bitwarden.Options) { o.Env = bitwarden.Environment{Server: "ftp://x"} }, "server URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := bitwarden.Options{ClientID: "organization." + testOrg, ClientSecret: testSecret,
				HTTP: http.DefaultClient}
			tt.mod(&o)
			c, err := bitwarden.New(o)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New = %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New = %v, want error containing %q", err, tt.wantErr)
			case err == nil && !strings.EqualFold(c.OrgID(), testOrg):
				t.Errorf("OrgID() = %q, want %q", c.OrgID(), testOrg)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := bitwarden.New(bitwarden.Options{ClientID: "organization." + testOrg, ClientSecret: testSecret})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	if c.APIURL() != "https://api.bitwarden.com" || c.IdentityURL() != "https://identity.bitwarden.com" ||
		c.WebVaultURL() != "https://vault.bitwarden.com" {
		t.Errorf("URLs = %s %s %s, want the US cloud", c.APIURL(), c.IdentityURL(), c.WebVaultURL())
	}
}

func TestLoginSendsDeviceFieldsAndHeaders(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f)
	if err := c.Login(t.Context()); err != nil {
		t.Fatalf("Login = %v", err)
	}
	calls := f.callsTo("/connect/token")
	if len(calls) != 1 {
		t.Fatalf("%d token requests, want 1", len(calls))
	}
	devType, devName := wantDevice()
	got := form(t, calls[0])
	want := map[string][]string{
		"grant_type":       {"client_credentials"},
		"scope":            {"api.organization"},
		"client_id":        {"organization." + testOrg},
		"client_secret":    {testSecret},
		"deviceType":       {devType},
		"deviceIdentifier": {testDevice},
		"deviceName":       {devName},
	}
	if diff := cmp.Diff(want, map[string][]string(got)); diff != "" {
		t.Errorf("token form (-want +got):\n%s", diff)
	}
	wantHeaders := map[string]string{
		"Content-Type":             "application/x-www-form-urlencoded; charset=utf-8",
		"Accept":                   "application/json",
		"Device-Type":              devType,
		"Bitwarden-Client-Name":    "connector",
		"Bitwarden-Client-Version": testVersion,
		"User-Agent":               "dirconn/" + testVersion + " (" + runtime.GOOS + ")",
	}
	for k, v := range wantHeaders {
		if g := calls[0].Header.Get(k); g != v {
			t.Errorf("token request header %s = %q, want %q", k, g, v)
		}
	}
	if calls[0].Header.Get("Authorization") != "" {
		t.Errorf("token request has an Authorization header")
	}
}

func TestImportRequestShape(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f)
	req := &bitwarden.ImportRequest{
		Groups: []bitwarden.ImportGroup{{Name: "R&D <core>", ExternalID: "g1"}},
		// Members nil on purpose.
		OverwriteExisting: false,
	}
	if err := c.Import(t.Context(), req); err != nil {
		t.Fatalf("Import = %v", err)
	}
	calls := f.callsTo("/public/organization/import")
	if len(calls) != 1 {
		t.Fatalf("%d import requests, want 1", len(calls))
	}
	var got map[string]any
	if err := json.Unmarshal(calls[0].Body, &got); err != nil {
		t.Fatalf("import body %q: %v", calls[0].Body, err)
	}
	want := map[string]any{
		"groups":                       []any{map[string]any{"name": "R&D <core>", "externalId": "g1", "memberExternalIds": []any{}}},
		"members":                      []any{},
		"overwriteExisting":            false,
		"largeImport":                  false,
		"inviteUsersAfterProvisioning": false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("import body (-want +got):\n%s", diff)
	}
	devType, _ := wantDevice()
	h := calls[0].Header
	for k, v := range map[string]string{
		"Content-Type":             "application/json; charset=utf-8",
		"Device-Type":              devType,
		"Bitwarden-Client-Name":    "connector",
		"Bitwarden-Client-Version": testVersion,
		"User-Agent":               "dirconn/" + testVersion + " (" + runtime.GOOS + ")",
	} {
		if g := h.Get(k); g != v {
			t.Errorf("import header %s = %q, want %q", k, g, v)
		}
	}
	if !strings.HasPrefix(h.Get("Authorization"), "Bearer ey") {
		t.Errorf("import Authorization = %q, want the bearer JWT", h.Get("Authorization"))
	}
	if req.Members != nil || req.Groups[0].MemberExternalIDs != nil {
		t.Errorf("Import modified the caller's request")
	}
}

func TestImportEmptyRequestSendsArrays(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	if err := c.Import(t.Context(), &bitwarden.ImportRequest{OverwriteExisting: true, InviteUsersAfterProvisioning: true}); err != nil {
		t.Fatalf("Import = %v", err)
	}
	body := string(f.callsTo("/public/organization/import")[0].Body)
	want := `{"groups":[],"members":[],"overwriteExisting":true,"largeImport":false,"inviteUsersAfterProvisioning":true}`
	if body != want {
		t.Errorf("body = %s\nwant   %s", body, want)
	}
}

func TestTokenReusedThenRenewedBeforeExpiry(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f)
	imp := func() {
		t.Helper()
		if err := c.Import(t.Context(), &bitwarden.ImportRequest{}); err != nil {
			t.Fatalf("Import = %v", err)
		}
	}
	imp()
	clk.Advance(54 * time.Minute) // 6 minutes left: keep the token
	imp()
	if n := f.count("/connect/token"); n != 1 {
		t.Errorf("after 54 min: %d logins, want 1", n)
	}
	clk.Advance(90 * time.Second) // 4.5 minutes left: renew before calling
	imp()
	if n := f.count("/connect/token"); n != 2 {
		t.Errorf("after 55.5 min: %d logins, want 2", n)
	}
	if n := f.count("/public/organization/import"); n != 3 {
		t.Errorf("%d imports, want 3 (no refused request)", n)
	}
}

func TestTokenExpiryFromExpiresIn(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	f.opaqueTokens = true
	f.tokenLife = 10 * time.Minute
	c, _ := newClient(t, f)
	for _, step := range []struct {
		advance    time.Duration
		wantLogins int
	}{{0, 1}, {4 * time.Minute, 1}, {2 * time.Minute, 2}} {
		clk.Advance(step.advance)
		if _, err := c.Members(t.Context()); err != nil {
			t.Fatalf("Members = %v", err)
		}
		if n := f.count("/connect/token"); n != step.wantLogins {
			t.Errorf("after +%v: %d logins, want %d", step.advance, n, step.wantLogins)
		}
	}
}

func TestTokenWithSkewedClock(t *testing.T) {
	// This machine's clock is 2 hours ahead of the server's: every JWT looks expired on arrival. Trusting
	// exp would mean a login before every call; the client falls back to expires_in and warns.
	clk := newClock()
	f := newFake(t, clk, false)
	c, logs := newClient(t, f, func(o *bitwarden.Options) {
		o.Now = func() time.Time { return clk.Now().Add(2 * time.Hour) }
	})
	for range 3 {
		if err := c.Import(t.Context(), &bitwarden.ImportRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count("/connect/token"); n != 1 {
		t.Errorf("%d logins for 3 imports, want 1", n)
	}
	if !strings.Contains(logs.String(), "check the clock") {
		t.Errorf("no clock warning logged")
	}
}

func Test401LogsInAgainOnce(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f)
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.revokeAll() // e.g. the server restarted with a new signing key
	if err := c.Import(t.Context(), &bitwarden.ImportRequest{}); err != nil {
		t.Fatalf("Import = %v, want success after one re-login", err)
	}
	if l, i := f.count("/connect/token"), f.count("/public/organization/import"); l != 2 || i != 2 {
		t.Errorf("%d logins and %d imports, want 2 and 2", l, i)
	}
	imports := f.callsTo("/public/organization/import")
	if a, b := imports[0].Header.Get("Authorization"), imports[1].Header.Get("Authorization"); a == b {
		t.Errorf("the retry reused the refused token")
	}
	if string(imports[0].Body) != string(imports[1].Body) {
		t.Errorf("the retry sent a different body")
	}
}

func Test401TwiceIsUnauthorized(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f)
	f.then("/public/organization/import", status(401, nil), status(401, nil), status(200, nil))
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	if !errors.Is(err, bitwarden.ErrUnauthorized) {
		t.Errorf("Import = %v, want ErrUnauthorized", err)
	}
	var he *bitwarden.HTTPError
	if !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("Import = %v, want an *HTTPError with status 401", err)
	}
	if l, i := f.count("/connect/token"), f.count("/public/organization/import"); l != 2 || i != 2 {
		t.Errorf("%d logins and %d imports, want 2 and 2", l, i)
	}
}

func Test403IsNotRetried(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f)
	f.then("/public/organization/import", status(403, nil))
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	var he *bitwarden.HTTPError
	if !errors.As(err, &he) || he.Status != 403 || !errors.Is(err, bitwarden.ErrUnauthorized) {
		t.Errorf("Import = %v, want a 403 HTTPError matching ErrUnauthorized", err)
	}
	if l, i := f.count("/connect/token"), f.count("/public/organization/import"); l != 1 || i != 1 {
		t.Errorf("%d logins and %d imports, want 1 and 1", l, i)
	}
}

func Test429WaitsRetryAfter(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, logs := newClient(t, f)
	f.then("/public/organization/import", status(429,
		map[string]any{"message": "Slow down! Too many requests. Try again in 1m.", "validationErrors": nil},
		"Retry-After", "60"))
	if err := c.Import(t.Context(), &bitwarden.ImportRequest{}); err != nil {
		t.Fatalf("Import = %v", err)
	}
	if diff := cmp.Diff([]time.Duration{time.Minute}, clk.Sleeps()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if n := f.count("/public/organization/import"); n != 2 {
		t.Errorf("%d imports, want 2", n)
	}
	if !strings.Contains(logs.String(), "bitwarden: retrying") {
		t.Errorf("the retry was not logged:\n%s", logs)
	}
}

func Test429OnLoginWaitsRetryAfter(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f)
	f.then("/connect/token", status(429, map[string]any{"message": "Slow down!"}, "Retry-After", "5"))
	if err := c.Login(t.Context()); err != nil {
		t.Fatalf("Login = %v", err)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Second}, clk.Sleeps()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func Test429BeyondWaitLimit(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f)
	f.then("/public/organization/import", status(429,
		map[string]any{"message": "Slow down! Too many requests. Try again in 1h."}, "Retry-After", "3600"))
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	var he *bitwarden.HTTPError
	if !errors.As(err, &he) || he.Status != 429 || he.RetryAfter != time.Hour {
		t.Fatalf("Import = %v, want a 429 HTTPError with RetryAfter 1h", err)
	}
	msg := err.Error()
	for _, want := range []string{"gave up after 1 attempt", "wait limit", "Slow down! Too many requests. Try again in 1h."} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

func Test500ThenSuccess(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f)
	f.then("/public/organization/import",
		status(500, map[string]any{"object": "error", "message": "An unhandled server error has occurred.", "errors": nil}))
	if err := c.Import(t.Context(), &bitwarden.ImportRequest{}); err != nil {
		t.Fatalf("Import = %v", err)
	}
	if s := clk.Sleeps(); len(s) != 1 || s[0] <= 0 || s[0] > time.Second {
		t.Errorf("waits = %v, want one backoff of at most 1s", s)
	}
	if n := f.count("/public/organization/import"); n != 2 {
		t.Errorf("%d imports, want 2", n)
	}
}

func Test500GivesUpWithServerMessage(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, _ := newClient(t, f, func(o *bitwarden.Options) { o.Retry.MaxAttempts = 3 })
	e500 := status(500, map[string]any{"object": "error", "message": "An unhandled server error has occurred.", "errors": nil})
	f.then("/public/organization/import", e500, e500, e500)
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	var he *bitwarden.HTTPError
	var re *httpx.RetryError
	if !errors.As(err, &he) || he.Status != 500 || !errors.As(err, &re) || re.Attempts != 3 {
		t.Fatalf("Import = %v, want a RetryError over a 500 HTTPError after 3 attempts", err)
	}
	if !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "An unhandled server error has occurred.") {
		t.Errorf("error = %q, want the attempts and the server message", err)
	}
}

func Test204IsAnError(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	f.then("/public/organization/import", status(204, nil))
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	var he *bitwarden.HTTPError
	if !errors.As(err, &he) || he.Status != 204 {
		t.Errorf("Import = %v, want an HTTPError with status 204", err)
	}
	if n := f.count("/public/organization/import"); n != 1 {
		t.Errorf("%d imports, want 1", n)
	}
}

func TestHTMLPageIsNotSuccess(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	f.then("/public/organization/import", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><html><head><title>Bitwarden Web Vault</title></head></html>")
	})
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	if err == nil || !strings.Contains(err.Error(), "web page") {
		t.Errorf("Import = %v, want an error about a web page", err)
	}
}

func TestModelStateErrorDetails(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	f.then("/public/organization/import", status(400, map[string]any{
		"object":  "error",
		"message": "The request's model state is invalid.",
		"errors": map[string]any{
			"Members[0].Email":      []string{"The Email field is not a valid e-mail address."},
			"Groups[2].Name":        []string{"The field Name must be a string with a maximum length of 100."},
			"$.members[3].deleted":  "The JSON value could not be converted to System.Boolean.",
			"ignored because empty": []string{},
		},
	}))
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	var he *bitwarden.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("Import = %v, want an *HTTPError", err)
	}
	want := &bitwarden.HTTPError{
		Method: "POST", URL: f.srv.URL + "/public/organization/import", Status: 400,
		Message: "The request's model state is invalid.",
		Details: map[string][]string{
			"Members[0].Email":     {"The Email field is not a valid e-mail address."},
			"Groups[2].Name":       {"The field Name must be a string with a maximum length of 100."},
			"$.members[3].deleted": {"The JSON value could not be converted to System.Boolean."},
		},
	}
	if diff := cmp.Diff(want, he, cmpHTTPError); diff != "" {
		t.Errorf("HTTPError (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "Members[0].Email: The Email field is not a valid e-mail address.") {
		t.Errorf("error text %q lacks the field detail", err)
	}
	if errors.Is(err, bitwarden.ErrUnauthorized) {
		t.Errorf("a 400 model-state error matches ErrUnauthorized")
	}
}

var cmpHTTPError = cmp.Comparer(func(a, b *bitwarden.HTTPError) bool {
	return a.Method == b.Method && a.URL == b.URL && a.Status == b.Status && a.Message == b.Message &&
		a.RetryAfter == b.RetryAfter && a.Code == b.Code && cmp.Equal(a.Details, b.Details)
})

func TestVaultwardenErrorShape(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	f.then("/public/organization/import", status(400, map[string]any{
		"message":          "Error sending invite: SMTP down",
		"validationErrors": map[string]any{"": []string{"Error sending invite: SMTP down"}},
		"errorModel":       map[string]any{"message": "Error sending invite: SMTP down", "object": "error"},
		"error":            "", "error_description": "", "object": "error",
	}))
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	var he *bitwarden.HTTPError
	if !errors.As(err, &he) || he.Message != "Error sending invite: SMTP down" || he.Details != nil {
		t.Errorf("Import = %v (%+v), want the message once and no repeated details", err, he)
	}
	// Only errorModel.message, and PascalCase keys.
	f.then("/public/organization/import", status(400, map[string]any{
		"ErrorModel":       map[string]any{"Message": "from the error model"},
		"ValidationErrors": map[string]any{"Email": []string{"bad"}},
	}))
	err = c.Import(t.Context(), &bitwarden.ImportRequest{})
	if !errors.As(err, &he) || he.Message != "from the error model" || !cmp.Equal(he.Details, map[string][]string{"Email": {"bad"}}) {
		t.Errorf("Import = %v (%+v), want errorModel.message and ValidationErrors", err, he)
	}
}

func TestPlainAndHTMLErrorBodies(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f, func(o *bitwarden.Options) { o.Retry.MaxAttempts = 1 })
	f.then("/public/organization/import", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		fmt.Fprint(w, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
	})
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	if err == nil || !strings.Contains(err.Error(), "HTTP 502: 502 Bad Gateway") {
		t.Errorf("Import = %v, want the page title as message", err)
	}
	f.then("/public/organization/import", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(413)
		fmt.Fprint(w, "Request body\ntoo large")
	})
	err = c.Import(t.Context(), &bitwarden.ImportRequest{})
	if err == nil || !strings.Contains(err.Error(), "HTTP 413: Request body too large") {
		t.Errorf("Import = %v, want the plain-text body as message", err)
	}
}

func TestLoginInvalidClient(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f, func(o *bitwarden.Options) { o.ClientSecret = "wrongwrongwrongwrongwrongwrong" })
	err := c.Login(t.Context())
	if !errors.Is(err, bitwarden.ErrUnauthorized) {
		t.Errorf("Login = %v, want ErrUnauthorized", err)
	}
	if err == nil || !strings.Contains(err.Error(), "the client id or client secret is wrong") ||
		!strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("Login = %v, want it to say the client id or secret is wrong", err)
	}
	if strings.Contains(err.Error(), "wrongwrong") {
		t.Errorf("Login error %q contains the secret", err)
	}
	// Import reports the same login failure and sends nothing.
	if err := c.Import(t.Context(), &bitwarden.ImportRequest{}); !errors.Is(err, bitwarden.ErrUnauthorized) {
		t.Errorf("Import = %v, want ErrUnauthorized", err)
	}
	if n := f.count("/public/organization/import"); n != 0 {
		t.Errorf("%d imports sent without a token", n)
	}
}

func TestLoginVaultwardenErrors(t *testing.T) {
	vw := func(msg string) http.HandlerFunc {
		return status(400, map[string]any{
			"message": msg, "validationErrors": map[string]any{"": []string{msg}},
			"errorModel": map[string]any{"message": msg, "object": "error"},
			"error":      "", "error_description": "", "exceptionMessage": nil, "object": "error",
		})
	}
	tests := []struct {
		msg      string
		wantAuth bool
	}{
		{"Incorrect client_secret", true},
		{"Invalid client_id", true},
		{"Malformed client_id", true},
		{"Scope not supported", false},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			f := newFake(t, newClock(), false)
			c, _ := newClient(t, f)
			f.then("/connect/token", vw(tt.msg))
			err := c.Login(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Login = %v, want the server message %q", err, tt.msg)
			}
			if got := errors.Is(err, bitwarden.ErrUnauthorized); got != tt.wantAuth {
				t.Errorf("errors.Is(%v, ErrUnauthorized) = %v, want %v", err, got, tt.wantAuth)
			}
			if strings.Count(err.Error(), tt.msg) != 1 {
				t.Errorf("Login error %q repeats the message", err)
			}
		})
	}
}

func TestLoginNotAToken(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	f.then("/connect/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>web vault</html>")
	})
	if err := c.Login(t.Context()); err == nil || !strings.Contains(err.Error(), "check the identity URL") {
		t.Errorf("Login = %v, want a hint about the identity URL", err)
	}
}

func TestSecretAndTokenNeverInErrorsOrLogs(t *testing.T) {
	clk := newClock()
	f := newFake(t, clk, false)
	c, logs := newClient(t, f)
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	var token string
	f.mu.Lock()
	for tok := range f.tokens {
		token = tok
	}
	f.mu.Unlock()
	// A hostile or buggy server echoes what it was sent.
	echo := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, map[string]any{
			"message": "bad request from " + r.Header.Get("Authorization") + " secret=" + testSecret,
			"errors":  map[string]any{"x": []string{"token " + token}},
		})
	}
	f.then("/public/organization/import", echo)
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	if err == nil {
		t.Fatal("Import succeeded")
	}
	f.then("/connect/token", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, map[string]any{"error": "invalid_client", "error_description": "got " + string(mustBody(r))})
	})
	loginErr := c.Login(t.Context())
	for _, text := range []string{err.Error(), loginErr.Error(), logs.String()} {
		for _, secret := range []string{testSecret, token} {
			if strings.Contains(text, secret) {
				t.Errorf("%q leaks a secret", text)
			}
		}
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q: want the echoed secret replaced by [redacted]", err)
	}
}

func mustBody(r *http.Request) []byte {
	_ = r.ParseForm()
	return []byte(r.PostForm.Encode())
}

func TestMembersAndGroupsFollowContinuationToken(t *testing.T) {
	f := newFake(t, newClock(), false)
	f.members = []bitwarden.Member{
		{ID: "m1", Email: "a@example.com", Status: bitwarden.StatusConfirmed, Type: bitwarden.TypeOwner},
		{ID: "m2", Email: "b@example.com", Status: bitwarden.StatusInvited, Type: bitwarden.TypeUser, ExternalID: "b"},
		{ID: "m3", Email: "c@example.com", Status: bitwarden.StatusRevoked, Type: bitwarden.TypeUser, ExternalID: "c"},
	}
	f.groups = []bitwarden.Group{{ID: "g1", Name: "Sales", ExternalID: "sales"}}
	c, _ := newClient(t, f)
	members, err := c.Members(t.Context())
	if err != nil {
		t.Fatalf("Members = %v", err)
	}
	if diff := cmp.Diff(f.members, members); diff != "" {
		t.Errorf("Members (-want +got):\n%s", diff)
	}
	var queries []string
	for _, call := range f.callsTo("/public/members") {
		queries = append(queries, call.Query)
	}
	if diff := cmp.Diff([]string{"", "continuationToken=page%2B2"}, queries); diff != "" {
		t.Errorf("member page queries (-want +got):\n%s", diff)
	}
	groups, err := c.Groups(t.Context())
	if err != nil {
		t.Fatalf("Groups = %v", err)
	}
	if diff := cmp.Diff(f.groups, groups); diff != "" {
		t.Errorf("Groups (-want +got):\n%s", diff)
	}
	if h := f.callsTo("/public/groups")[0].Header; h.Get("Accept") != "application/json" || h.Get("Bitwarden-Client-Name") != "connector" {
		t.Errorf("read headers = %v", h)
	}
}

func TestMembersEmptyIsNotNil(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	f.then("/public/members", status(200, map[string]any{"object": "list", "data": nil, "continuationToken": nil}))
	m, err := c.Members(t.Context())
	if err != nil || m == nil || len(m) != 0 {
		t.Errorf("Members = %#v, %v; want an empty, non-nil slice", m, err)
	}
}

func TestMembersRepeatedTokenStops(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	page := status(200, map[string]any{"object": "list", "data": []any{}, "continuationToken": "same"})
	f.then("/public/members", page, page, page)
	if _, err := c.Members(t.Context()); err == nil || !strings.Contains(err.Error(), "continuation token twice") {
		t.Errorf("Members = %v, want a loop error", err)
	}
}

func TestReadsNotSupported(t *testing.T) {
	for _, code := range []int{404, 405} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			f := newFake(t, newClock(), false)
			c, _ := newClient(t, f)
			f.then("/public/members", status(code, nil))
			f.then("/public/groups", status(code, nil))
			if _, err := c.Members(t.Context()); !errors.Is(err, bitwarden.ErrNotSupported) {
				t.Errorf("Members = %v, want ErrNotSupported", err)
			}
			_, err := c.Groups(t.Context())
			var he *bitwarden.HTTPError
			if !errors.Is(err, bitwarden.ErrNotSupported) || !errors.As(err, &he) || he.Status != code {
				t.Errorf("Groups = %v, want ErrNotSupported with the HTTPError", err)
			}
		})
	}
}

func TestReadsRelogin(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	f.members = []bitwarden.Member{{ID: "m1", Email: "a@example.com"}}
	if _, err := c.Members(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.revokeAll()
	if _, err := c.Members(t.Context()); err != nil {
		t.Errorf("Members after token revocation = %v, want success after re-login", err)
	}
	if n := f.count("/connect/token"); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
}

func TestSelfHostedLayout(t *testing.T) {
	f := newFake(t, newClock(), true)
	c, _ := newClient(t, f)
	if c.APIURL() != f.srv.URL+"/api" {
		t.Errorf("APIURL() = %q, want %q", c.APIURL(), f.srv.URL+"/api")
	}
	if err := c.Import(t.Context(), &bitwarden.ImportRequest{}); err != nil {
		t.Fatalf("Import = %v", err)
	}
	if _, err := c.Members(t.Context()); err != nil {
		t.Fatalf("Members = %v", err)
	}
	var paths []string
	f.mu.Lock()
	for _, call := range f.calls {
		paths = append(paths, call.Method+" "+call.Path)
	}
	f.mu.Unlock()
	want := []string{"POST /identity/connect/token", "POST /api/public/organization/import", "GET /api/public/members"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

func TestProxyAndCAThroughHTTPX(t *testing.T) {
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(k, "")
	}
	clk := newClock()
	f := newFake(t, clk, true)
	f.srv.Close() // serve the same fake over TLS instead
	ca := httpxtest.NewCA(t)
	tlsSrv := ca.NewTLSServer(t, f, "bitwarden.test")
	proxy := httpxtest.NewProxy(t, map[string]string{"bitwarden.test": tlsSrv.Listener.Addr().String()})

	hc, err := httpx.NewClient(httpx.Options{Proxy: proxy.URL, CAFile: ca.File(t), UserAgent: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, f, func(o *bitwarden.Options) {
		o.Env = bitwarden.Environment{Server: "bitwarden.test"} // no scheme: https
		o.HTTP = hc
	})
	if err := c.Import(t.Context(), &bitwarden.ImportRequest{}); err != nil {
		t.Fatalf("Import through proxy with CA file = %v", err)
	}
	if got := proxy.Requests(); len(got) == 0 || got[0] != "CONNECT bitwarden.test:443" {
		t.Errorf("proxy requests = %v, want a CONNECT to bitwarden.test:443", got)
	}
	if ua := f.callsTo("/api/public/organization/import")[0].Header.Get("User-Agent"); !strings.HasPrefix(ua, "dirconn/") {
		t.Errorf("User-Agent = %q, want the client's own", ua)
	}

	// Same proxy without the CA file: a TLS error, not retried, with a hint.
	hc2, err := httpx.NewClient(httpx.Options{Proxy: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := newClient(t, f, func(o *bitwarden.Options) {
		o.Env = bitwarden.Environment{Server: "https://bitwarden.test"}
		o.HTTP = hc2
	})
	before := len(proxy.Requests())
	err = c2.Login(t.Context())
	if err == nil || !httpx.IsTLSVerification(err) || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("Login without CA = %v, want a TLS verification error with a CA file hint", err)
	}
	if n := len(proxy.Requests()) - before; n != 1 {
		t.Errorf("%d CONNECTs for a TLS failure, want 1 (no retry)", n)
	}
}

func TestRedirectToGetIsRefused(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	f.then("/public/organization/import", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	err := c.Import(t.Context(), &bitwarden.ImportRequest{})
	if err == nil || !strings.Contains(err.Error(), "redirects POST") {
		t.Errorf("Import = %v, want a redirect error", err)
	}
	if n := f.count("/elsewhere"); n != 0 {
		t.Errorf("the redirect was followed")
	}
}

func TestConcurrentCallsShareOneLogin(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if err := c.Import(t.Context(), &bitwarden.ImportRequest{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Import = %v", err)
	}
	if n := f.count("/connect/token"); n != 1 {
		t.Errorf("%d logins for 8 concurrent imports, want 1", n)
	}
}

func TestCancelledContext(t *testing.T) {
	f := newFake(t, newClock(), false)
	c, _ := newClient(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Import(ctx, &bitwarden.ImportRequest{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Import = %v, want context.Canceled", err)
	}
	if n := len(f.callsTo("/connect/token")) + len(f.callsTo("/public/organization/import")); n != 0 {
		t.Errorf("%d requests with a cancelled context", n)
	}
}
