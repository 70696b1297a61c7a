package onelogin_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/cli/clitest"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/onelogin"
	"github.com/dirconn/dirconn/internal/directory/onelogin/oneloginfake"
	"github.com/dirconn/dirconn/internal/httpx"
)

// newWorld is the real CLI in-process with the OneLogin adapter, a data dir, and the Bitwarden emulator on
// loopback, logged in; the API key is then taken out of the environment. A failed request is retried
// twice, without waiting.
func newWorld(t *testing.T) *clitest.World {
	t.Helper()
	w := clitest.New(t, clitest.Registry(onelogin.Adapter()), emulator.Options{})
	w.Retry = &httpx.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}
	w.Login()
	delete(w.Env, "BW_CLIENTID")
	delete(w.Env, "BW_CLIENTSECRET")
	return w
}

func TestCLIOneLogin(t *testing.T) {
	caps := directorytest.Caps{Disabled: true, UserWithoutEmail: true, DuplicateEmail: true, EmptyGroup: true}
	seed := oneloginfake.FromDataset(directorytest.Expected(caps))
	// Pages of 4 users: every read walks the cursors.
	fake := oneloginfake.New(oneloginfake.Options{Users: seed.Users, Roles: seed.Roles, MaxLimit: 4})
	root, caFile := fake.StartTLS(t)

	w := newWorld(t)
	w.Must(0, "config", "set", "directory", "4") // the Directory Connector's number for OneLogin
	for _, kv := range [][2]string{
		{"onelogin.clientId", fake.ClientID()}, {"onelogin.apiUrl", root}, {"onelogin.caFile", caFile},
		{"sync.useEmailPrefixSuffix", "true"}, {"sync.emailSuffix", "@example.com"}, {"sync.deleteLimitPercent", "0"},
	} {
		w.Must(0, "config", "set", kv[0], kv[1])
	}
	// The Directory Connector's name for the secret.
	w.Env["OL_SECRET"] = fake.ClientSecret()
	w.Must(0, "config", "set", "onelogin.secret", "--from-env", "OL_SECRET")

	var doc struct {
		Groups []struct {
			DisplayName string `json:"displayName"`
		} `json:"groups"`
		Complete bool `json:"complete"`
	}
	out := w.JSON(&doc, "test")
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
	if plan := w.Must(0, "plan"); !strings.Contains(plan, strconv.Itoa(len(wantMembers))+" to invite") || len(w.Imports()) != 0 {
		t.Errorf("plan (want %d invites, nothing sent):\n%s", len(wantMembers), plan)
	}
	w.Must(0, "sync")
	if diff := cmp.Diff(wantMembers, w.Members()); diff != "" {
		t.Errorf("organization members (-want +got):\n%s", diff)
	}
	wantGroups := map[string][]string{
		"Staff": {id("gail")}, "Engineering": {id("ann")}, "Backend": {id("bob"), id("cara")}, "Operations": {id("hana")},
		"On Call": {id("ivan")}, "Empty Group": {}, "Partners": {id("finn")}, "Alumni": {},
	}
	if diff := cmp.Diff(wantGroups, w.Groups()); diff != "" {
		t.Errorf("organization groups (-want +got):\n%s", diff)
	}
	sent := len(w.Imports())
	w.Must(0, "sync")
	if n := len(w.Imports()) - sent; n != 0 {
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
	sent = len(w.Imports())
	_, errOut, code := w.Run("sync")
	if code != 1 || !strings.Contains(errOut, "read users (page 2)") {
		t.Errorf("sync with a broken read: exit %d, want 1 with the page named\n%s", code, errOut)
	}
	if n := len(w.Imports()) - sent; n != 0 || len(w.Members()) != len(wantMembers) {
		t.Errorf("a failed read sent %d requests and left %d members, want none and %d", n, len(w.Members()), len(wantMembers))
	}
	// The next sync reads everything and removes Bob alone.
	w.Must(0, "sync")
	delete(wantMembers, id("bob"))
	if diff := cmp.Diff(wantMembers, w.Members()); diff != "" {
		t.Errorf("organization members after Bob left (-want +got):\n%s", diff)
	}

	// Filters that do not parse are refused when they are set.
	for _, f := range []string{"inclde: a@example.com", "|fields=email", "include:"} {
		if _, errOut, code := w.Run("config", "set", "sync.userFilter", f); code == 0 || !strings.Contains(errOut, "filter") {
			t.Errorf("config set sync.userFilter %q: exit %d, want a refusal naming the filter\n%s", f, code, errOut)
		}
	}
	// A role filter: only Engineering and Backend, and only their members stay. Sam Roy's second account
	// (in Backend) no longer shares its email with one that is synced, so it is invited now.
	w.Must(0, "config", "set", "sync.groupFilter", "include: Engineering, Backend")
	w.Must(0, "sync")
	want := map[string]string{id("ann"): "ann.lee@example.com", id("cara"): "cara.diaz@example.com", id("sam2"): "sam.roy@example.com"}
	if diff := cmp.Diff(want, w.Members()); diff != "" {
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
	out := w.Must(0, "config", "import-bwdc", path)
	for _, want := range []string{"onelogin.clientId = abc123", "onelogin.region = eu", "onelogin.clientSecret"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	for key, want := range map[string]string{"directory": "onelogin", "onelogin.clientId": "abc123", "onelogin.region": "eu",
		"sync.groupFilter": "exclude: Integration Test Role"} {
		if got := strings.TrimSpace(w.Must(0, "config", "get", key)); got != want {
			t.Errorf("config get %s = %q, want %q", key, got, want)
		}
	}
	// Reading needs the secret: the error names the key to set.
	_, errOut, code := w.Run("test")
	if code == 0 || !strings.Contains(errOut, "onelogin.clientSecret") {
		t.Errorf("test without the secret: exit %d, want an error naming onelogin.clientSecret\n%s", code, errOut)
	}
}
