package google

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/google/googlefake"
	"github.com/dirconn/dirconn/internal/httpx"
)

// TestAdapter pins the adapter's identity and option schema: the Directory Connector's names, number and
// alias, the secret, and the anchor CLI's "key" alias for the private key.
func TestAdapter(t *testing.T) {
	a := Adapter()
	type opt struct {
		Name     string
		Kind     directory.Kind
		Default  string
		Required bool
		Secret   bool
		Aliases  []string
	}
	var got []opt
	for _, o := range a.Options {
		got = append(got, opt{o.Name, o.Kind, o.Default, o.Required, o.Secret, o.Aliases})
		if o.Label == "" || o.Help == "" {
			t.Errorf("option %s has no label or help", o.Name)
		}
	}
	want := []opt{
		{Name: "domain"},
		{Name: "adminUser", Required: true},
		{Name: "customer"},
		{Name: "keyFile", Kind: directory.KindPath},
		{Name: "clientEmail"},
		{Name: "privateKey", Kind: directory.KindText, Secret: true, Aliases: []string{"key"}},
		{Name: "apiUrl", Default: "https://admin.googleapis.com/"},
		{Name: "tokenUrl", Default: "https://oauth2.googleapis.com/token"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	reg := &directory.Registry{}
	reg.Register(a)
	for _, name := range []string{"google", "GSuite", "2"} {
		if got, ok := reg.Lookup(name); !ok || got.Name != "google" || got.Title != "Google Workspace" {
			t.Errorf("Lookup(%q) = %v, %v; want the Google Workspace adapter", name, got, ok)
		}
	}
	if o, ok := a.Option("KEY"); !ok || o.Name != "privateKey" {
		t.Errorf(`Option("KEY") = %v, %v; want privateKey`, o, ok)
	}
	if a.UserFilterHelp == "" || a.GroupFilterHelp == "" || a.CheckFilters == nil {
		t.Error("the adapter declares no filter syntax")
	}
}

// TestOptionChecks runs each option's Check on good and bad values, through the schema's validation.
func TestOptionChecks(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"domain", "company.com", true},
		{"domain", "mail.company.co.uk", true},
		{"domain", "company", false},
		{"domain", "@company.com", false},
		{"adminUser", "admin@company.com", true},
		{"adminUser", "admin", false},
		{"adminUser", "Admin <admin@company.com>", false},
		{"customer", "C03az79cb", true},
		{"customer", "my_customer", true},
		{"customer", "C03 az79cb", false},
		{"clientEmail", "sync@project.iam.gserviceaccount.com", true},
		{"clientEmail", "sync", false},
		{"apiUrl", "http://127.0.0.1:8080/google", true},
		{"apiUrl", "admin.googleapis.com", false},
		{"tokenUrl", "https://oauth2.googleapis.com/token?x=1", false},
	}
	a := Adapter()
	for _, tc := range tests {
		errs := directory.Validate("google", a.Options, directory.Values{tc.name: tc.value, "adminUser": "a@b.com"})
		var mine []string
		for _, e := range errs {
			if e.Key == "google."+tc.name {
				mine = append(mine, e.Reason)
			}
		}
		if (len(mine) == 0) != tc.ok {
			t.Errorf("google.%s = %q: problems %q, want ok=%v", tc.name, tc.value, mine, tc.ok)
		}
	}
}

// TestNewErrors: settings that cannot work are refused by New, each naming its key, and a bad private
// key is never quoted.
func TestNewErrors(t *testing.T) {
	sa := testAccount()
	good := directory.Values{"domain": "example.com", "adminUser": "admin@example.com", "clientEmail": sa.Email, "privateKey": sa.PEM()}
	with := func(kv ...string) directory.Values {
		v := directory.Values{}
		for k, x := range good {
			v[k] = x
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(v, kv[i])
			} else {
				v[kv[i]] = kv[i+1]
			}
		}
		return v
	}
	broken := "-----BEGIN PRIVATE KEY-----\nTUlJRXZnSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NC\n-----END PRIVATE KEY-----\n"
	tests := []struct {
		name     string
		values   directory.Values
		wantKeys []string
	}{
		{"Good", good, nil},
		{"CustomerInsteadOfDomain", with("domain", "", "customer", "my_customer"), nil},
		{"KeyFileInsteadOfKey", with("clientEmail", "", "privateKey", "", "keyFile", "sa.json"), nil},
		{"NoDomainNoCustomer", with("domain", ""), []string{"google.domain"}},
		{"NoAdmin", with("adminUser", ""), []string{"google.adminUser"}},
		{"NoCredentials", with("clientEmail", "", "privateKey", ""), []string{"google.clientEmail", "google.privateKey"}},
		{"NotPEM", with("privateKey", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), []string{"google.privateKey"}},
		{"BrokenPEM", with("privateKey", broken), []string{"google.privateKey"}},
		{"BadURL", with("apiUrl", "ftp://x"), []string{"google.apiUrl"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(directory.Config{Values: directory.WithDefaults(Adapter().Options, tc.values), BaseDir: t.TempDir()})
			var got []string
			var ces directory.ConfigErrors
			if errors.As(err, &ces) {
				for _, ce := range ces {
					got = append(got, ce.Key)
				}
			} else if err != nil {
				t.Fatalf("New = %v, want ConfigErrors", err)
			}
			if diff := cmp.Diff(tc.wantKeys, got); diff != "" {
				t.Errorf("keys with problems (-want +got):\n%s\n%v", diff, err)
			}
			if err != nil {
				if !errors.Is(err, directory.ErrConfig) {
					t.Errorf("%v does not wrap ErrConfig", err)
				}
				if strings.Contains(err.Error(), "MIIE") || strings.Contains(err.Error(), "TUlJ") {
					t.Errorf("the error quotes the key: %v", err)
				}
			}
		})
	}
}

func TestNormalizeKey(t *testing.T) {
	pem := testAccount().PEM()
	tests := []struct{ name, in string }{
		{"AsIs", pem},
		{"Escaped", strings.ReplaceAll(pem, "\n", `\n`)},
		{"EscapedCRLF", strings.ReplaceAll(pem, "\n", `\r\n`)},
		{"CRLF", strings.ReplaceAll(pem, "\n", "\r\n")},
		{"QuotedJSONValue", `"` + strings.ReplaceAll(pem, "\n", `\n`) + `"`},
		{"Spaces", "  \n" + pem + "\n\n  "},
	}
	for _, tc := range tests {
		if got := normalizeKey(tc.in); got != pem {
			t.Errorf("%s: normalizeKey gave %q, want the PEM", tc.name, got)
		}
		if err := checkPrivateKey([]byte(normalizeKey(tc.in))); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if got := normalizeKey("  "); got != "" {
		t.Errorf("normalizeKey(blank) = %q, want empty", got)
	}
}

// TestKeyFile: the JSON key is read at every read (not at New, not stored), and a file that is not a
// service account key is a setting error naming google.keyFile, without key material.
func TestKeyFile(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sa := e.sa
	good := string(sa.JSONKey(googlefake.GoogleTokenURL))
	tests := []struct {
		name    string
		path    string
		values  []string
		wantKey string
		want    string
	}{
		{"Missing", filepath.Join(dir, "nope.json"), nil, "google.keyFile", "no such file"},
		{"NotJSON", write("p12.json", "\x30\x82binary"), nil, "google.keyFile", "is not a JSON key file"},
		{"UserCredentials", write("user.json", `{"type":"authorized_user","client_id":"x","refresh_token":"y"}`), nil, "google.keyFile", `holds a "authorized_user" key`},
		{"NoPrivateKey", write("nokey.json", `{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com"}`), nil, "google.keyFile", "has no private_key"},
		{"BadPrivateKey", write("badkey.json", `{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nMIIBsecret\n-----END PRIVATE KEY-----\n"}`), nil, "google.keyFile", "is not a service account private key"},
		{"EmailDiffers", write("good.json", good), []string{optClientEmail, "other@b.iam.gserviceaccount.com"}, "google.clientEmail", "differs from the client_email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := append([]string{optKeyFile, tc.path}, tc.values...)
			_, err := e.source(t, e.values(v...)).Fetch(t.Context(), all)
			var ce *directory.ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.wantKey || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Fetch = %v, want a problem with %s saying %q", err, tc.wantKey, tc.want)
			}
			if strings.Contains(err.Error(), "MIIB") || strings.Contains(err.Error(), keyBody(sa.PEM())) {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}

	// Read at use time: a key file replaced between reads is the one used.
	path := write("rotating.json", good)
	src := e.source(t, e.values(optKeyFile, path))
	fetch(t, src, all)
	other, err := googlefake.NewServiceAccount("rotated@dirconn-test.iam.gserviceaccount.com", "777")
	if err != nil {
		t.Fatal(err)
	}
	e.fake.AddServiceAccount(other)
	e.fake.Delegate(other.ClientID, Scopes...)
	write("rotating.json", string(other.JSONKey(googlefake.GoogleTokenURL)))
	fetch(t, src, all)
	as := e.fake.Assertions()
	if last := as[len(as)-1]; last.Iss != other.Email || last.KeyID != other.KeyID {
		t.Errorf("after the key file changed, the assertion came from %s (key %s), want %s", last.Iss, last.KeyID, other.Email)
	}
}

// TestRetryLogged: every retry is logged as a warning with Google's reason, and the policy's own
// OnRetry still runs.
func TestRetryLogged(t *testing.T) {
	e := newEnv(t, googlefake.Options{}, directorytest.Expected(googleCaps))
	e.fake.Fail(googlefake.RouteUsers, googlefake.Fault{Status: 403, Reason: "userRateLimitExceeded", Times: 1})
	var buf bytes.Buffer
	v := directory.WithDefaults(Adapter().Options, e.values())
	src, err := New(directory.Config{Values: v, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var reported []int
	src.(*Source).policy = e.clock.Policy(httpx.Policy{OnRetry: func(attempt int, _ time.Duration, _ error) {
		reported = append(reported, attempt)
	}})
	fetch(t, src, all)
	if diff := cmp.Diff([]int{1}, reported); diff != "" {
		t.Errorf("retries reported to the policy's OnRetry (-want +got):\n%s", diff)
	}
	log := buf.String()
	for _, want := range []string{"level=WARN", "retrying", "directory=google", "HTTP 403 userRateLimitExceeded", "/admin/directory/v1/users"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "pageToken") || strings.Contains(log, "domain=") {
		t.Errorf("the log holds the request's query:\n%s", log)
	}
}
