package onelogin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/cli"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/onelogin"
	"github.com/dirconn/dirconn/internal/directory/onelogin/oneloginfake"
	"github.com/dirconn/dirconn/internal/httpx"
	"github.com/dirconn/dirconn/internal/secret"
)

// world is the real CLI in-process with the OneLogin adapter, a data dir, and the Bitwarden emulator on
// loopback.
type world struct {
	t       *testing.T
	dir     string
	env     map[string]string
	secrets secret.Store
	reg     *directory.Registry
	emu     *emulator.Server
}

func newWorld(t *testing.T) *world {
	t.Helper()
	off := false
	emu := emulator.New(emulator.Options{TokenRateLimit: &off})
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	reg := &directory.Registry{}
	reg.Register(onelogin.Adapter())
	w := &world{t: t, dir: t.TempDir(), env: map[string]string{}, secrets: secret.Memory(), reg: reg, emu: emu}
	w.must(0, "config", "set", "server", srv.URL)
	w.env["BW_CLIENTID"], w.env["BW_CLIENTSECRET"] = emu.ClientID(), emu.APIKey()
	w.must(0, "login")
	delete(w.env, "BW_CLIENTID")
	delete(w.env, "BW_CLIENTSECRET")
	return w
}

func (w *world) run(args ...string) (string, string, int) {
	w.t.Helper()
	var out, errOut bytes.Buffer
	retry := httpx.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}
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

// members returns the organization's synced members as externalId -> email.
func (w *world) members() map[string]string {
	out := map[string]string{}
	for _, m := range w.emu.Snapshot().Members {
		if m.Type != 0 {
			out[m.ExternalID] = m.Email
		}
	}
	return out
}

// groups returns the organization's groups as name -> sorted member externalIds.
func (w *world) groups() map[string][]string {
	st := w.emu.Snapshot()
	ext := map[string]string{}
	for _, m := range st.Members {
		ext[m.ID] = m.ExternalID
	}
	out := map[string][]string{}
	for _, g := range st.Groups {
		ms := []string{}
		for _, id := range g.MemberIDs {
			ms = append(ms, ext[id])
		}
		slices.Sort(ms)
		out[g.Name] = ms
	}
	return out
}

func TestCLIOneLogin(t *testing.T) {
	caps := directorytest.Caps{Disabled: true, UserWithoutEmail: true, DuplicateEmail: true, EmptyGroup: true}
	seed := oneloginfake.FromDataset(directorytest.Expected(caps))
	// Pages of 4 users: every read walks the cursors.
	fake := oneloginfake.New(oneloginfake.Options{Users: seed.Users, Roles: seed.Roles, MaxLimit: 4})
	root, caFile := fake.StartTLS(t)

	w := newWorld(t)
	w.must(0, "config", "set", "directory", "4") // the Directory Connector's number for OneLogin
	for _, kv := range [][2]string{
		{"onelogin.clientId", fake.ClientID()}, {"onelogin.apiUrl", root}, {"onelogin.caFile", caFile},
		{"sync.useEmailPrefixSuffix", "true"}, {"sync.emailSuffix", "@example.com"}, {"sync.deleteLimitPercent", "0"},
	} {
		w.must(0, "config", "set", kv[0], kv[1])
	}
	// The Directory Connector's name for the secret.
	w.env["OL_SECRET"] = fake.ClientSecret()
	w.must(0, "config", "set", "onelogin.secret", "--from-env", "OL_SECRET")

	var doc struct {
		Groups []struct {
			DisplayName string `json:"displayName"`
		} `json:"groups"`
		Complete bool `json:"complete"`
	}
	out := w.must(0, "--json", "test")
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("test --json: %v\n%s", err, out)
	}
	var names []string
	for _, g := range doc.Groups {
		names = append(names, g.DisplayName)
	}
	slices.Sort(names)
	if want := []string{"Alumni", "Backend", "Empty Group", "Engineering", "On Call", "Operations", "Partners", "Staff"}; !doc.Complete || !slices.Equal(names, want) {
		t.Errorf("test: complete %v, groups %q; want complete with %q\n%s", doc.Complete, names, want, out)
	}

	// Enabled users with a unique email, and finn.obi through the prefix and suffix; sam.roy's two
	// accounts share an email and are skipped.
	id := func(k string) string { return strconv.FormatInt(seed.UserIDs[k], 10) }
	wantMembers := map[string]string{
		id("ann"): "ann.lee@example.com", id("bob"): "bob.stone@example.com", id("cara"): "cara.diaz@example.com",
		id("finn"): "finn.obi@example.com", id("gail"): "gail.park@example.com", id("hana"): "hana.ito@example.com",
		id("ivan"): "ivan.petrov@example.com",
	}
	if plan := w.must(0, "plan"); !strings.Contains(plan, strconv.Itoa(len(wantMembers))+" to invite") || len(w.emu.Imports()) != 0 {
		t.Errorf("plan (want %d invites, nothing sent):\n%s", len(wantMembers), plan)
	}
	w.must(0, "sync")
	if diff := cmp.Diff(wantMembers, w.members()); diff != "" {
		t.Errorf("organization members (-want +got):\n%s", diff)
	}
	wantGroups := map[string][]string{
		"Staff": {id("gail")}, "Engineering": {id("ann")}, "Backend": {id("bob"), id("cara")}, "Operations": {id("hana")},
		"On Call": {id("ivan")}, "Empty Group": {}, "Partners": {id("finn")}, "Alumni": {},
	}
	if diff := cmp.Diff(wantGroups, w.groups()); diff != "" {
		t.Errorf("organization groups (-want +got):\n%s", diff)
	}
	sent := len(w.emu.Imports())
	w.must(0, "sync")
	if n := len(w.emu.Imports()) - sent; n != 0 {
		t.Errorf("an unchanged directory sent %d more requests", n)
	}
	for _, r := range fake.Requests() {
		if r.Route == oneloginfake.RouteToken && r.Auth != "form" || r.Route == oneloginfake.RouteUsers && r.Auth != "bearer:" {
			t.Errorf("request %s: want form-encoded credentials and bearer:<token>", r)
		}
	}

	// Bob leaves; then the read breaks on page 2 (token revoked, the credentials deleted): the sync fails
	// and removes no one, where the Directory Connector would have kept page 1 and removed everyone after it.
	var users []oneloginfake.User
	for _, u := range seed.Users {
		if u.ID != seed.UserIDs["bob"] {
			users = append(users, u)
		}
	}
	fake.SetDirectory(users, seed.Roles)
	fake.Inject(oneloginfake.Fault{Route: oneloginfake.RouteUsers, Skip: fake.Count(oneloginfake.RouteUsers) + 1, Revoke: true})
	fake.Inject(oneloginfake.Fault{Route: oneloginfake.RouteToken, Skip: fake.Count(oneloginfake.RouteToken) + 1, Status: 401})
	sent = len(w.emu.Imports())
	_, errOut, code := w.run("sync")
	if code != 1 || !strings.Contains(errOut, "read users (page 2)") {
		t.Errorf("sync with a broken read: exit %d, want 1 with the page named\n%s", code, errOut)
	}
	if n := len(w.emu.Imports()) - sent; n != 0 || len(w.members()) != len(wantMembers) {
		t.Errorf("a failed read sent %d requests and left %d members, want none and %d", n, len(w.members()), len(wantMembers))
	}
	// The next sync reads everything and removes Bob alone.
	w.must(0, "sync")
	delete(wantMembers, id("bob"))
	if diff := cmp.Diff(wantMembers, w.members()); diff != "" {
		t.Errorf("organization members after Bob left (-want +got):\n%s", diff)
	}

	// Filters that do not parse are refused when they are set.
	for _, f := range []string{"inclde: a@example.com", "|fields=email", "include:"} {
		if _, errOut, code := w.run("config", "set", "sync.userFilter", f); code == 0 || !strings.Contains(errOut, "filter") {
			t.Errorf("config set sync.userFilter %q: exit %d, want a refusal naming the filter\n%s", f, code, errOut)
		}
	}
	// A role filter: only Engineering and Backend, and only their members stay. Sam Roy's second account
	// (in Backend) no longer shares its email with one that is synced, so it is invited now.
	w.must(0, "config", "set", "sync.groupFilter", "include: Engineering, Backend")
	w.must(0, "sync")
	want := map[string]string{id("ann"): "ann.lee@example.com", id("cara"): "cara.diaz@example.com", id("sam2"): "sam.roy@example.com"}
	if diff := cmp.Diff(want, w.members()); diff != "" {
		t.Errorf("members with a role filter (-want +got):\n%s", diff)
	}
}

func TestCLIImportBwdc(t *testing.T) {
	// The Directory Connector's data.json for OneLogin: its settings carry over, the keychain secret cannot.
	w := newWorld(t)
	path := filepath.Join(t.TempDir(), "data.json")
	data := `{"directoryType": 4,
	  "directoryOnelogin": {"clientId": "abc123", "clientSecret": "[STORED SECURELY]", "region": "eu"},
	  "sync": {"users": true, "groups": true, "groupFilter": "exclude: Integration Test Role",
	           "useEmailPrefixSuffix": true, "emailSuffix": "@company.com"}}`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	out := w.must(0, "config", "import-bwdc", path)
	for _, want := range []string{"onelogin.clientId = abc123", "onelogin.region = eu", "onelogin.clientSecret"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	for key, want := range map[string]string{"directory": "onelogin", "onelogin.clientId": "abc123", "onelogin.region": "eu",
		"sync.groupFilter": "exclude: Integration Test Role"} {
		if got := strings.TrimSpace(w.must(0, "config", "get", key)); got != want {
			t.Errorf("config get %s = %q, want %q", key, got, want)
		}
	}
	// Reading needs the secret: the error names the key to set.
	_, errOut, code := w.run("test")
	if code == 0 || !strings.Contains(errOut, "onelogin.clientSecret") {
		t.Errorf("test without the secret: exit %d, want an error naming onelogin.clientSecret\n%s", code, errOut)
	}
}
