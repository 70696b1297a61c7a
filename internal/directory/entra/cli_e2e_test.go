package entra_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/cli"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/entra"
	"github.com/dirconn/dirconn/internal/directory/entra/graphfake"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/secret"
)

// world is the real CLI in-process with a data dir, the Bitwarden emulator on loopback and a registry
// holding the Entra adapter.
type world struct {
	t       *testing.T
	dir     string
	emu     *emulator.Server
	url     string
	secrets secret.Store
	env     map[string]string
	reg     *directory.Registry
}

func newWorld(t *testing.T) *world {
	t.Helper()
	off := false
	emu := emulator.New(emulator.Options{TokenRateLimit: &off})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	reg := &directory.Registry{}
	reg.Register(entra.Adapter())
	return &world{t: t, dir: t.TempDir(), emu: emu, url: srv.URL, secrets: secret.Memory(), env: map[string]string{}, reg: reg}
}

func (w *world) run(args ...string) (string, string, int) {
	w.t.Helper()
	var out, errOut bytes.Buffer
	retry := httpx.Policy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	code := cli.Main(context.Background(), append([]string{"--data-dir", w.dir}, args...), cli.IO{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Env:     func(k string) string { return w.env[k] },
		Secrets: w.secrets, Retry: &retry, Registry: w.reg,
	})
	return out.String(), errOut.String(), code
}

func (w *world) must(want int, args ...string) string {
	w.t.Helper()
	out, errOut, code := w.run(args...)
	if code != want {
		w.t.Fatalf("dirconn %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// members returns the organization's non-owner members as externalId -> email.
func (w *world) members() map[string]string {
	out := map[string]string{}
	for _, m := range w.emu.Snapshot().Members {
		if m.Type != 0 {
			out[m.ExternalID] = m.Email
		}
	}
	return out
}

// groupSizes returns the organization's groups as name -> member count.
func (w *world) groupSizes() map[string]int {
	out := map[string]int{}
	for _, g := range w.emu.Snapshot().Groups {
		out[g.Name] = len(g.MemberIDs)
	}
	return out
}

// TestCLIEntraUSGov runs dirconn test, plan and sync through the CLI against a US-government tenant (the
// fake serves the same tenant as the global cloud too, which must get nothing), then deletes a user in
// Entra and checks the deletion reaches the plan and the organization as a removal.
func TestCLIEntraUSGov(t *testing.T) {
	f := graphfake.New(graphfake.Options{})
	std := f.SeedStandard()
	gov := f.Serve(t, graphfake.USGov)
	f.Serve(t, graphfake.Global)
	o := f.Options()

	w := newWorld(t)
	w.must(0, "config", "set", "server", w.url)
	w.env["BW_CLIENTID"], w.env["BW_CLIENTSECRET"] = w.emu.ClientID(), w.emu.APIKey()
	w.must(0, "login")
	w.must(0, "config", "set", "directory", "azure") // the alias, as bwdc's "azure.*" keys
	for _, kv := range [][2]string{
		{"entra.identityAuthority", "login.microsoftonline.us"},
		{"entra.tenant", o.TenantDomain},
		{"azure.applicationId", o.ClientID},
		{"entra.graphUrl", gov},
		{"entra.authorityUrl", gov},
		{"sync.removeDisabled", "true"},
	} {
		w.must(0, "config", "set", kv[0], kv[1])
	}
	w.env["ENTRA_SECRET"] = o.Secret
	w.must(0, "config", "set", "entra.key", "--from-env", "ENTRA_SECRET")
	if out := w.must(0, "config", "list"); strings.Contains(out, o.Secret) {
		t.Errorf("config list shows the secret:\n%s", out)
	}

	// test: everything read, nothing sent.
	var doc struct {
		EnabledUsers  []struct{ ExternalID string } `json:"enabledUsers"`
		DisabledUsers []struct{ ExternalID string } `json:"disabledUsers"`
		Groups        []struct {
			DisplayName string   `json:"displayName"`
			UserIDs     []string `json:"userIds"`
		} `json:"groups"`
		Skipped  []directory.Issue `json:"skipped"`
		Complete bool              `json:"complete"`
	}
	out := w.must(0, "--json", "test")
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("test --json: %v\n%s", err, out)
	}
	// 350 ordinary users, the one without mail, the one with an onmicrosoft.com mail, the guest with mail.
	const invitable = graphfake.BigGroupSize + 3
	if !doc.Complete || len(doc.EnabledUsers) != invitable || len(doc.DisabledUsers) != 2 {
		t.Errorf("test: complete %v, %d enabled, %d disabled users; want complete, %d and 2", doc.Complete, len(doc.EnabledUsers), len(doc.DisabledUsers), invitable)
	}
	if len(doc.Skipped) != 1 || doc.Skipped[0].ID != std.GuestNoMail {
		t.Errorf("test skipped %+v, want the guest without mail", doc.Skipped)
	}
	for _, g := range doc.Groups {
		if g.DisplayName == "All Staff" && len(g.UserIDs) != graphfake.BigGroupSize {
			t.Errorf("test: All Staff has %d members, want %d (every page)", len(g.UserIDs), graphfake.BigGroupSize)
		}
	}
	if n := len(w.emu.Imports()); n != 0 {
		t.Errorf("test sent %d imports", n)
	}

	if plan := w.must(0, "plan"); !strings.Contains(plan, strconv.Itoa(invitable)+" to invite") || len(w.emu.Imports()) != 0 {
		t.Errorf("plan (want %d invites, nothing sent):\n%s", invitable, plan)
	}
	w.must(0, "sync")
	if got := w.members(); len(got) != invitable || got[std.NoMail] != "nico@contoso.com" {
		t.Errorf("the organization has %d members (%q for the user without mail), want %d", len(got), got[std.NoMail], invitable)
	}
	if n := w.groupSizes()["All Staff"]; n != graphfake.BigGroupSize {
		t.Errorf("All Staff has %d members in the organization, want %d", n, graphfake.BigGroupSize)
	}
	before := len(w.emu.Imports())
	w.must(0, "sync")
	if n := len(w.emu.Imports()) - before; n != 0 {
		t.Errorf("an unchanged directory sent %d requests", n)
	}

	// A user deleted in Entra: the delta link kept by the last sync reports it, the plan removes it.
	gone := std.Active[7]
	f.DeleteUser(gone, false)
	plan := w.must(0, "plan")
	if !strings.Contains(plan, "1 to remove") || !strings.Contains(plan, "user007@contoso.com") || !strings.Contains(plan, "deleted in the directory") {
		t.Errorf("plan after a deletion in Entra:\n%s", plan)
	}
	w.must(0, "sync")
	if _, ok := w.members()[gone]; ok || len(w.members()) != invitable-1 {
		t.Errorf("the deleted user is still a member (%d members)", len(w.members()))
	}

	// Every call went to the US-government cloud, and a filter that does not parse is refused when set.
	if n := f.Count(graphfake.Global, ""); n != 0 {
		t.Errorf("the global cloud got %d requests", n)
	}
	if n := f.Count(graphfake.USGov, graphfake.RouteDelta); n == 0 {
		t.Error("no delta request: the deletion did not come from the delta link")
	}
	if _, errOut, code := w.run("config", "set", "sync.userFilter", "includeGroup:Sales"); code == 0 || !strings.Contains(errOut, "not a group object id") {
		t.Errorf("a bad filter was accepted: exit %d, %s", code, errOut)
	}
	w.must(0, "config", "set", "sync.userFilter", "includeGroup:"+std.Eng)
	var filtered struct {
		EnabledUsers []struct{ ExternalID string } `json:"enabledUsers"`
	}
	if err := json.Unmarshal([]byte(w.must(0, "--json", "test")), &filtered); err != nil || len(filtered.EnabledUsers) != 5 {
		t.Errorf("test with includeGroup: %d enabled users (%v), want Engineering's 5", len(filtered.EnabledUsers), err)
	}
}

// TestCLIEntraBadSecret: a refused secret fails test with Entra's code and the key to fix.
func TestCLIEntraBadSecret(t *testing.T) {
	f := graphfake.New(graphfake.Options{})
	f.SeedStandard()
	url := f.Serve(t, graphfake.Global)
	w := newWorld(t)
	w.must(0, "config", "set", "directory", "1") // bwdc's number
	for _, kv := range [][2]string{{"entra.tenant", f.Options().TenantID}, {"entra.applicationId", f.Options().ClientID},
		{"entra.graphUrl", url}, {"entra.authorityUrl", url}, {"entra.key", "not-the-secret"}} {
		w.must(0, "config", "set", kv[0], kv[1])
	}
	out, errOut, code := w.run("test")
	if code == 0 || !strings.Contains(out+errOut, "AADSTS7000215") || !strings.Contains(out+errOut, "entra.key") {
		t.Errorf("test with a wrong secret: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "not-the-secret") {
		t.Error("the output shows the secret")
	}
}

// TestCLIEntraImportBwdc: the Directory Connector's data.json settings land on the entra keys.
func TestCLIEntraImportBwdc(t *testing.T) {
	w := newWorld(t)
	data := `{"stateVersion": 8, "directoryType": 1, "sync": {"users": true, "groups": true, "interval": 5},
	  "directoryAzure": {"identityAuthority": "login.microsoftonline.us", "tenant": "contoso.onmicrosoft.us",
	    "applicationId": "0c6c7a1e-2b3d-4f5e-8a9b-1c2d3e4f5a6b", "key": "[STORED SECURELY]"}}`
	path := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	out := w.must(0, "config", "import-bwdc", path)
	if !strings.Contains(out, "entra.key") {
		t.Errorf("the import does not say entra.key must be set:\n%s", out)
	}
	for key, want := range map[string]string{"directory": "entra", "entra.identityAuthority": "login.microsoftonline.us",
		"entra.tenant": "contoso.onmicrosoft.us", "entra.applicationId": "0c6c7a1e-2b3d-4f5e-8a9b-1c2d3e4f5a6b"} {
		if got := strings.TrimSpace(w.must(0, "config", "get", key)); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}
