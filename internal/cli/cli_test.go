package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/secret"
)

// noKeyring is a secret store like a headless server's: every write fails the way go-keyring does
// without a Secret Service.
type noKeyring struct{}

func (noKeyring) Get(string) (string, error) { return "", secret.ErrNotFound }
func (noKeyring) Set(string, string) error {
	return errors.Join(secret.ErrNoKeyring, errors.New("no D-Bus session bus"))
}
func (noKeyring) Delete(string) error { return secret.ErrNotFound }
func (noKeyring) Name() string        { return "keyring" }

func TestLoginWithoutKeyringUsesTheEnvironmentVariable(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.secrets = noKeyring{}
	w.must(0, "config", "set", "server", w.url)
	w.env["BW_CLIENTID"], w.env["BW_CLIENTSECRET"] = w.emu.ClientID(), w.emu.APIKey()
	out := w.must(0, "login")
	if !strings.Contains(out, "environment variable BW_CLIENTSECRET") {
		t.Errorf("login output = %q, want it to say the secret is read from BW_CLIENTSECRET", out)
	}
	data, err := os.ReadFile(filepath.Join(w.dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), w.emu.APIKey()) {
		t.Fatal("config.json holds the client secret")
	}
	if !strings.Contains(string(data), "env:BW_CLIENTSECRET") {
		t.Errorf("config.json = %s, want a reference to BW_CLIENTSECRET", data)
	}
	// Later runs work while the variable is set.
	w.writeDir(people(2), nil)
	w.must(0, "config", "set", "directory", "file")
	w.must(0, "config", "set", "file.path", w.dirFile)
	w.must(0, "sync")
	delete(w.env, "BW_CLIENTSECRET")
	_, errOut, code := w.run("sync")
	if code != ExitError || !strings.Contains(errOut, "BW_CLIENTSECRET") {
		t.Errorf("sync without the variable: exit %d, stderr %q; want an error naming BW_CLIENTSECRET", code, errOut)
	}
}

func TestLoginErrors(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.must(0, "config", "set", "server", w.url)
	w.env["BW_CLIENTID"], w.env["BW_CLIENTSECRET"] = w.emu.ClientID(), "wrong-secret-value"
	_, errOut, code := w.run("login")
	if code != ExitError || !strings.Contains(errOut, "invalid_client") && !strings.Contains(strings.ToLower(errOut), "client") {
		t.Errorf("wrong secret: exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "wrong-secret-value") {
		t.Error("the error repeats the secret")
	}
	w.env["BW_CLIENTID"] = "user.5f5e1c1a-0000-4000-8000-000000000000"
	_, errOut, code = w.run("login")
	if code == 0 || !strings.Contains(errOut, "organization") {
		t.Errorf("user key: exit %d, stderr %q; want a refusal saying it must be an organization key", code, errOut)
	}
	delete(w.env, "BW_CLIENTID")
	delete(w.env, "BW_CLIENTSECRET")
	if _, errOut, code := w.run("login"); code != ExitUsage || !strings.Contains(errOut, "BW_CLIENTID") {
		t.Errorf("no credentials and no terminal: exit %d, stderr %q; want usage naming BW_CLIENTID", code, errOut)
	}
	if _, _, code := w.run("sync"); code != ExitError {
		t.Errorf("sync while logged out: exit %d, want 1", code)
	}
}

func TestConfigCommands(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	_, errOut, code := w.run("config", "set", "sync.removeDisabld", "true")
	if code != ExitUsage || !strings.Contains(errOut, "sync.removeDisabled") {
		t.Errorf("unknown key: exit %d, stderr %q; want usage suggesting sync.removeDisabled", code, errOut)
	}
	_, errOut, code = w.run("config", "set", "sync.deleteLimitPercent", "150")
	if code != ExitError || !strings.Contains(errOut, "150") {
		t.Errorf("bad value: exit %d, stderr %q", code, errOut)
	}
	w.must(0, "config", "set", "directory", "0") // bwdc's numbers are accepted (the test registry gives 0 to flaky)
	if out := w.must(0, "config", "get", "directory"); strings.TrimSpace(out) != "flaky" {
		t.Errorf("directory 0 was stored as %q, want the adapter's name", out)
	}
	w.must(0, "config", "set", "directory", "file")
	w.must(0, "config", "set", "sync.removeDisabled", "yes")
	if out := w.must(0, "config", "get", "sync.removeDisabled"); strings.TrimSpace(out) != "true" {
		t.Errorf("config get sync.removeDisabled = %q, want true", out)
	}
	w.env["MY_SECRET"] = "s3cr3t-from-env"
	w.must(0, "config", "set", "clientSecret", "--from-env", "MY_SECRET")
	out := w.must(0, "--json", "config", "list")
	if strings.Contains(out, "s3cr3t") {
		t.Fatal("config list shows a secret value")
	}
	var doc struct {
		Object   string `json:"object"`
		Settings []struct {
			Key, Value string
			Set        bool
		} `json:"settings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Object != "settings" {
		t.Fatalf("config list --json: %v\n%s", err, out)
	}
	found := false
	for _, s := range doc.Settings {
		if s.Key == "clientSecret" {
			found = strings.Contains(s.Value, "MY_SECRET")
		}
	}
	if !found {
		t.Errorf("config list does not say clientSecret comes from MY_SECRET: %s", out)
	}
	w.must(0, "config", "unset", "sync.removeDisabled")
	if out := w.must(0, "config", "get", "sync.removeDisabled"); strings.TrimSpace(out) != "false" {
		t.Errorf("after unset: %q, want the default false", out)
	}
}

func TestUsageAndExitCodes(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	for _, args := range [][]string{{}, {"frobnicate"}, {"last-sync", "everything"}, {"sync", "--bogus"}, {"config"}} {
		if _, _, code := w.run(args...); code != ExitUsage {
			t.Errorf("dirconn %v: exit %d, want 2", args, code)
		}
	}
	out, _, code := w.run("--json", "frobnicate")
	var doc map[string]any
	if code != ExitUsage || json.Unmarshal([]byte(out), &doc) != nil || doc["object"] != "error" {
		t.Errorf("--json error: exit %d, stdout %q; want one JSON error document", code, out)
	}
	if out := w.must(0, "last-sync", "users"); out != "" {
		t.Errorf("last-sync before any sync = %q, want empty", out)
	}
	if out := w.must(0, "version"); !strings.HasPrefix(out, "dirconn ") {
		t.Errorf("version = %q", out)
	}
	if out := w.must(0, "help"); !strings.Contains(out, "clear-cache") {
		t.Errorf("help does not list the commands:\n%s", out)
	}
}

func TestHistoryLastSyncClearCache(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	w.writeDir(people(3), nil)
	w.must(0, "sync")
	if out := w.must(0, "last-sync", "users"); !strings.Contains(out, "T") {
		t.Errorf("last-sync users = %q, want an RFC 3339 time", out)
	}
	if out := w.must(0, "history"); !strings.Contains(out, "ok") || !strings.Contains(out, "+3") {
		t.Errorf("history:\n%s", out)
	}
	w.must(0, "clear-cache")
	if out := w.must(0, "last-sync", "users"); out != "" {
		t.Errorf("last-sync after clear-cache = %q, want empty", out)
	}
	before := len(w.imports())
	w.must(0, "sync")
	if len(w.imports()) == before {
		t.Error("the sync after clear-cache sent nothing; it must resend the whole directory")
	}
	if out := w.must(0, "data-file"); strings.TrimSpace(out) != filepath.Join(w.dir, "config.json") {
		t.Errorf("data-file = %q", out)
	}
}

func TestDemo(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	out := w.must(0, "demo")
	for _, want := range []string{"1. dirconn test", "Invited 55", "nothing to send", "HELD removals", "nobody was removed"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	js := w.must(0, "--json", "demo")
	var doc struct {
		Object string `json:"object"`
		Steps  []struct{ Step string }
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil || doc.Object != "demo" || len(doc.Steps) != 6 {
		t.Errorf("demo --json: %v, %d steps", err, len(doc.Steps))
	}
}

func TestConfigImportBwdc(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	bwdcDir := t.TempDir()
	data := `{"directoryType": 0, "environmentUrls": {"base": "https://vault.example.com"},
	  "directoryLdap": {"hostname": "dc1", "password": "[STORED SECURELY]"},
	  "sync": {"users": true, "groups": false, "interval": 30, "removeDisabled": true}}`
	os.WriteFile(filepath.Join(bwdcDir, "data.json"), []byte(data), 0o600)
	w.env["BITWARDENCLI_CONNECTOR_APPDATA_DIR"] = bwdcDir
	out := w.must(0, "config", "import-bwdc")
	for _, want := range []string{"server = https://vault.example.com", "sync.interval = 30m", "sync.groups = false"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	if got := strings.TrimSpace(w.must(0, "config", "get", "sync.removeDisabled")); got != "true" {
		t.Errorf("sync.removeDisabled after import = %q", got)
	}
	_, errOut, code := w.run("config", "import-bwdc", filepath.Join(bwdcDir, "missing.json"))
	if code != ExitError || !strings.Contains(errOut, "missing.json") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
}

func TestServe(t *testing.T) {
	w := newWorld(t, emulator.Options{})
	w.setup()
	w.writeDir(people(4), nil)
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--data-dir", w.dir, "serve"}, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
			Env: func(k string) string { return w.env[k] }, Secrets: w.secrets, Registry: w.reg()})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for len(w.orgMembers()) < 4 || !strings.Contains(errOut.String(), "sync done") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not sync: members %d, stderr:\n%s", len(w.orgMembers()), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d after the signal, want 0\n%s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "invited=4") {
		t.Errorf("the run is not logged with its counts:\n%s", errOut.String())
	}
	w.must(0, "config", "set", "sync.interval", "0")
	if _, errOut, code := w.run("serve"); code != ExitUsage || !strings.Contains(errOut, "sync.interval") {
		t.Errorf("serve with interval 0: exit %d, %s", code, errOut)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
