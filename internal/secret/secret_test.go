package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

const value = "hunter2-ValueThatMustNeverLeak"

func TestSecretRedacts(t *testing.T) {
	s := Secret(value)
	type holder struct {
		Password Secret
		Ptr      *Secret
	}
	h := holder{Password: s, Ptr: &s}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-3v", "%T %v"} {
		for _, arg := range []any{s, h, &h, []Secret{s}, map[string]Secret{"k": s}} {
			got := fmt.Sprintf(format, arg)
			if strings.Contains(got, value) || strings.Contains(got, fmt.Sprintf("%x", value)) ||
				strings.Contains(got, fmt.Sprintf("%X", value)) {
				t.Errorf("Sprintf(%q, %T) = %q, reveals the secret", format, arg, got)
			}
		}
	}
	if got := fmt.Sprint(s); got != Redacted {
		t.Errorf("Sprint = %q, want %q", got, Redacted)
	}
	if got := fmt.Sprintf("%q", s); got != `"**redacted**"` {
		t.Errorf("%%q = %s, want %q", got, Redacted)
	}
	if got := s.String(); got != Redacted {
		t.Errorf("String() = %q, want %q", got, Redacted)
	}
	if got := s.GoString(); got != Redacted {
		t.Errorf("GoString() = %q, want %q", got, Redacted)
	}
	if got := s.Reveal(); got != value {
		t.Errorf("Reveal() = %q, want %q", got, value)
	}

	b, err := json.Marshal(map[string]any{"password": s, "holder": h})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"holder":{"Password":"**redacted**","Ptr":"**redacted**"},"password":"**redacted**"}`; string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("bind", "password", s, slog.Any("holder", h), slog.Group("g", "pw", s))
		if strings.Contains(buf.String(), value) || !strings.Contains(buf.String(), Redacted) {
			t.Errorf("%s log line = %q, want the secret redacted", name, buf.String())
		}
	}
}

func TestMemory(t *testing.T) {
	testStore(t, Memory())
}

// testStore checks the Store contract on an empty store.
func testStore(t *testing.T, s Store) {
	t.Helper()
	if _, err := s.Get("ldap.password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get on empty store: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete("ldap.password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete on empty store: err = %v, want ErrNotFound", err)
	}
	for _, kv := range [][2]string{{"ldap.password", value}, {"clientSecret", "c"}, {"ldap.password", "second"}} {
		if err := s.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%q): %v", kv[0], err)
		}
	}
	multi := "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
	if err := s.Set("google.privateKey", multi); err != nil {
		t.Fatalf("Set: %v", err)
	}
	for k, want := range map[string]string{"ldap.password": "second", "clientSecret": "c", "google.privateKey": multi} {
		if got, err := s.Get(k); err != nil || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", k, got, err, want)
		}
	}
	if err := s.Delete("ldap.password"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := s.Get("ldap.password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if got, err := s.Get("clientSecret"); err != nil || got != "c" {
		t.Errorf("Get(clientSecret) after deleting another key = %q, %v", got, err)
	}
	if s.Name() == "" {
		t.Error("Name() is empty")
	}
}

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "secrets.json")
	s := FileStore(path)
	testStore(t, s)

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("secrets.json mode = %04o, want 0600", got)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("secrets.json directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "secrets.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only secrets.json (no temp files left)", names)
	}
	var m map[string]string
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("secrets.json is not a JSON map: %v", err)
	}
	if diff := cmp.Diff(map[string]string{
		"clientSecret":      "c",
		"google.privateKey": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	}, m); diff != "" {
		t.Errorf("secrets.json (-want +got):\n%s", diff)
	}

	// A second store on the same file sees the first one's writes (no cache).
	if got, err := FileStore(path).Get("clientSecret"); err != nil || got != "c" {
		t.Errorf("second FileStore Get = %q, %v", got, err)
	}
}

func TestFileStoreRefusesReadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(path, []byte(`{"ldap.password":"`+value+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // beat the umask
		t.Fatal(err)
	}
	s := FileStore(path)
	_, err := s.Get("ldap.password")
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) || !strings.Contains(err.Error(), "0644") {
		t.Errorf("Get on a 0644 file: err = %v, want a refusal that says chmod 600", err)
	}
	if err := s.Set("x", "y"); err == nil {
		t.Error("Set on a 0644 file succeeded, want a refusal")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get("ldap.password"); err != nil || got != value {
		t.Errorf("Get after chmod 600 = %q, %v", got, err)
	}
}

func TestFileStoreCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"syntax":    `{"ldap.password": "` + value + `" ` + value + `}`,
		"not a map": `["` + value + `"]`,
		"number":    `{"ldap.password": 12}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secrets.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := FileStore(path).Get("ldap.password")
			if err == nil {
				t.Fatal("Get on a corrupt file succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want it to name %s", err, path)
			}
			if strings.Contains(err.Error(), value) || strings.Contains(err.Error(), "'h'") {
				t.Errorf("err = %v, quotes the file's content", err)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(path, []byte("null"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := FileStore(path).Set("k", "v"); err != nil {
		t.Errorf("Set on a file holding null: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "pw")
	tests := []struct {
		in      string
		want    Ref
		wantErr string
	}{
		{in: "env:LDAP_PW", want: Ref{Kind: RefEnv, Target: "LDAP_PW"}},
		{in: " env: _X1 ", want: Ref{Kind: RefEnv, Target: "_X1"}},
		{in: "file:" + abs, want: Ref{Kind: RefFile, Target: abs}},
		{in: "file:" + abs + "/../pw", want: Ref{Kind: RefFile, Target: abs}},
		{in: "env:1BAD", wantErr: "not an environment variable name"},
		{in: "env:", wantErr: "not an environment variable name"},
		{in: "env:A-B", wantErr: "not an environment variable name"},
		{in: "file:relative/pw", wantErr: "must be absolute"},
		{in: "vault:x", wantErr: "neither env:VAR nor file:"},
		{in: "LDAP_PW", wantErr: "neither env:VAR nor file:"},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRef(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRef(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if back, err := ParseRef(got.String()); err != nil || back != got {
			t.Errorf("ParseRef(%q.String()) = %v, %v", tt.in, back, err)
		}
	}
}

func TestEnvVar(t *testing.T) {
	for key, want := range map[string]string{
		"ldap.password":   "DIRCONN_LDAP_PASSWORD",
		"clientSecret":    "DIRCONN_CLIENTSECRET",
		"entra.secretKey": "DIRCONN_ENTRA_SECRETKEY",
		"one-login.x":     "DIRCONN_ONE_LOGIN_X",
	} {
		if got := EnvVar(key); got != want {
			t.Errorf("EnvVar(%q) = %q, want %q", key, got, want)
		}
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolveOrder(t *testing.T) {
	const key = "ldap.password"
	dir := t.TempDir()
	refFile := filepath.Join(dir, "ref-pw")
	if err := os.WriteFile(refFile, []byte("from-ref-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "creds")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, key), []byte("  from-credential \r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyCreds := t.TempDir()
	full := Memory()
	if err := full.Set(key, "from-store"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		ref      string
		env      map[string]string
		store    Store
		want     string
		wantFrom string
	}{
		{"ref env beats all", "env:MY_PW", map[string]string{"MY_PW": "from-ref-env", CredentialsDirEnv: creds,
			"DIRCONN_LDAP_PASSWORD": "from-env"}, full, "from-ref-env", "from environment variable MY_PW (reference)"},
		{"ref file beats all", "file:" + refFile, map[string]string{CredentialsDirEnv: creds,
			"DIRCONN_LDAP_PASSWORD": "from-env"}, full, "from-ref-file", "from file " + refFile + " (reference)"},
		{"credential beats env and store", "", map[string]string{CredentialsDirEnv: creds,
			"DIRCONN_LDAP_PASSWORD": "from-env"}, full, "from-credential", "from systemd credential " + filepath.Join(creds, key)},
		{"credentials dir without the key falls through", "", map[string]string{CredentialsDirEnv: emptyCreds,
			"DIRCONN_LDAP_PASSWORD": "from-env"}, full, "from-env", "from environment variable DIRCONN_LDAP_PASSWORD"},
		{"env beats store", "", map[string]string{"DIRCONN_LDAP_PASSWORD": "from-env"}, full, "from-env",
			"from environment variable DIRCONN_LDAP_PASSWORD"},
		{"empty env is unset", "", map[string]string{"DIRCONN_LDAP_PASSWORD": ""}, full, "from-store", "stored in memory"},
		{"store last", "", nil, full, "from-store", "stored in memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, from, err := Lookup(key, tt.ref, tt.store, mapEnv(tt.env))
			if err != nil || got.Reveal() != tt.want || from != tt.wantFrom {
				t.Errorf("Lookup = %q, %q, %v; want %q, %q", got.Reveal(), from, err, tt.want, tt.wantFrom)
			}
			s, err := Resolve(key, tt.ref, tt.store, mapEnv(tt.env))
			if err != nil || s.Reveal() != tt.want {
				t.Errorf("Resolve = %q, %v; want %q", s.Reveal(), err, tt.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	const key = "ldap.password"
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, key), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	full := Memory()
	if err := full.Set(key, value); err != nil {
		t.Fatal(err)
	}
	broken := &keyringStore{service: "s", timeout: time.Second,
		get: func(string, string) (string, error) {
			return "", errors.New("failed to unlock correct collection '/x'")
		}}

	tests := []struct {
		name     string
		ref      string
		env      map[string]string
		store    Store
		want     []string
		notFound bool
	}{
		{"missing everywhere", "", nil, Memory(), []string{key, "dirconn config set " + key, "--from-env VAR",
			"--from-file FILE", "DIRCONN_LDAP_PASSWORD", "LoadCredential=" + key, "memory"}, true},
		{"nil store", "", nil, nil, []string{key, "DIRCONN_LDAP_PASSWORD"}, true},
		{"ref to unset variable does not fall through", "env:NOPE", nil, full, []string{key, "NOPE", "not set"}, false},
		{"ref to missing file", "file:" + filepath.Join(dir, "missing"), nil, full, []string{key, "no such file"}, false},
		{"ref to empty file", "file:" + empty, nil, full, []string{key, "empty"}, false},
		{"bad ref", "env:1x", nil, full, []string{key, "not an environment variable name"}, false},
		{"empty credential", "", map[string]string{CredentialsDirEnv: creds}, full, []string{key, "empty"}, false},
		{"keyring unavailable", "", nil, broken, []string{key, "locked", "--from-env", "DIRCONN_PLAINTEXT_SECRETS=true"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Resolve(key, tt.ref, tt.store, mapEnv(tt.env))
			if err == nil {
				t.Fatalf("Resolve = %q, want an error", s.Reveal())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), value) {
				t.Errorf("err = %q reveals the secret", err)
			}
			if got := errors.Is(err, ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", got, tt.notFound)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for env, wantFile := range map[string]bool{"true": true, "1": true, "YES": true, "false": false, "": false} {
		s := Open(dir, "scope", mapEnv(map[string]string{PlaintextEnv: env}))
		if got := strings.HasPrefix(s.Name(), "file "+filepath.Join(dir, SecretsFile)); got != wantFile {
			t.Errorf("Open with %s=%q: store %q, want file store = %v", PlaintextEnv, env, s.Name(), wantFile)
		}
		if k, ok := s.(*keyringStore); !wantFile && (!ok || k.service != KeyringService || k.scope != "scope") {
			t.Errorf("Open with %s=%q = %#v, want Keyring(%q, %q)", PlaintextEnv, env, s, KeyringService, "scope")
		}
	}
}

func TestKeyringTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		k := &keyringStore{
			service: "dirconn", scope: "s", timeout: keyringTimeout,
			get: func(string, string) (string, error) { <-block; return "v", nil },
			set: func(string, string, string) error { <-block; return nil },
			del: func(string, string) error { <-block; return nil },
		}
		start := time.Now()
		_, err := k.Get("ldap.password")
		if !errors.Is(err, ErrNoKeyring) || !strings.Contains(err.Error(), "no answer within 10s") ||
			!strings.Contains(err.Error(), "DIRCONN_PLAINTEXT_SECRETS=true") {
			t.Errorf("Get on a hanging keyring: err = %v, want ErrNoKeyring with a timeout message and the hints", err)
		}
		if d := time.Since(start); d != keyringTimeout {
			t.Errorf("Get gave up after %v, want %v", d, keyringTimeout)
		}

		// While that call hangs, further calls fail at once instead of piling up.
		start = time.Now()
		for name, err := range map[string]error{"Set": k.Set("ldap.password", value), "Delete": k.Delete("ldap.password")} {
			if !errors.Is(err, ErrNoKeyring) || !strings.Contains(err.Error(), "still unanswered") || strings.Contains(err.Error(), value) {
				t.Errorf("%s behind a hanging call: err = %v, want an immediate ErrNoKeyring", name, err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("calls behind a hanging one took %v, want 0", d)
		}

		// Once the keyring answers, calls work again.
		close(block)
		synctest.Wait()
		if v, err := k.Get("ldap.password"); err != nil || v != "v" {
			t.Errorf("Get after the keyring answered = %q, %v", v, err)
		}
	})
}

func TestKeyringScopedAccount(t *testing.T) {
	var gotService, gotUser string
	k := &keyringStore{service: "dirconn", scope: "abc", timeout: time.Second,
		set: func(s, u, p string) error { gotService, gotUser = s, u; return nil }}
	if err := k.Set("ldap.password", "x"); err != nil {
		t.Fatal(err)
	}
	if gotService != "dirconn" || gotUser != "abc/ldap.password" {
		t.Errorf("keyring.Set(%q, %q), want (dirconn, abc/ldap.password)", gotService, gotUser)
	}
	k.scope = ""
	if err := k.Set("ldap.password", "x"); err != nil || gotUser != "ldap.password" {
		t.Errorf("unscoped account = %q, %v; want ldap.password", gotUser, err)
	}
}
