package okta_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/cli"
	"github.com/dirconn/dirconn/internal/cli/clitest"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/okta"
	"github.com/dirconn/dirconn/internal/directory/okta/oktafake"
)

// world runs the real CLI in-process against the Bitwarden emulator and a fake Okta org over TLS.
type world struct {
	*clitest.World
	fake *oktafake.Server
	ids  map[string]string // dataset key -> Okta id
}

func newWorld(t *testing.T, ds directorytest.Dataset) *world {
	t.Helper()
	cw := clitest.New(t, clitest.Registry(okta.Adapter()), emulator.Options{})
	// Small member pages: the biggest group spans several.
	fake := oktafake.New(oktafake.Options{MembersLimit: 2})
	orgURL, caFile := oktafake.Start(t, fake)
	w := &world{World: cw, fake: fake}
	w.ids = fake.SeedDataset(ds)
	w.Login()
	w.Must(0, "config", "set", "directory", "3") // the Directory Connector's number for Okta
	w.Must(0, "config", "set", "okta.orgUrl", orgURL)
	w.Must(0, "config", "set", "okta.caFile", caFile)
	w.Env["OKTA_TOKEN"] = oktafake.DefaultToken
	w.Must(0, "config", "set", "okta.token", "--from-env", "OKTA_TOKEN")
	return w
}

func syncable(ds directorytest.Dataset) int {
	count := map[string]int{}
	for _, u := range ds.Users {
		if !u.Disabled && !u.Deleted {
			count[directorytest.NormalizeEmail(u.Email)]++
		}
	}
	n := 0
	for email, c := range count {
		if email != "" && c == 1 {
			n++
		}
	}
	return n
}

func TestCLI(t *testing.T) {
	caps := directorytest.Caps{Disabled: true, Deleted: true, UserWithoutEmail: true, DuplicateEmail: true, EmptyGroup: true}
	ds := directorytest.Expected(caps)
	w := newWorld(t, ds)

	var doc struct {
		EnabledUsers []struct{ ExternalID string } `json:"enabledUsers"`
		DeletedUsers []struct{ ExternalID string } `json:"deletedUsers"`
		Groups       []struct {
			DisplayName string   `json:"displayName"`
			UserIDs     []string `json:"userIds"`
		} `json:"groups"`
		Complete bool `json:"complete"`
	}
	out := w.JSON(&doc, "test")
	groups := map[string]int{}
	for _, g := range doc.Groups {
		groups[g.DisplayName] = len(g.UserIDs)
	}
	if !doc.Complete || len(doc.DeletedUsers) != 1 || doc.DeletedUsers[0].ExternalID != w.ids["eve"] || groups["Backend"] != 3 {
		t.Errorf("test: complete %v, deleted %v (want [%s]), Backend has %d members (want 3):\n%s",
			doc.Complete, doc.DeletedUsers, w.ids["eve"], groups["Backend"], out)
	}

	want := syncable(ds)
	if plan := w.Must(0, "plan"); !strings.Contains(plan, strconv.Itoa(want)+" to invite") || len(w.Imports()) != 0 {
		t.Errorf("plan (want %d invites, nothing sent):\n%s", want, plan)
	}
	w.Must(0, "sync")
	got := w.Members()
	if len(got) != want || got[w.ids["ann"]] != "ann.lee@example.com" {
		t.Errorf("after sync the organization has %v, want %d members with Okta ids as externalIds", got, want)
	}

	// Ann is deactivated in Okta, but a page of the read fails: the sync fails and removes nobody.
	w.fake.SetStatus(w.ids["ann"], oktafake.StatusDeprovisioned)
	w.fake.AddFault(oktafake.Fault{Route: oktafake.RouteMembers, AfterOnly: true, Times: 1, Status: http.StatusUnauthorized})
	imports := len(w.Imports())
	_, errOut, code := w.Run("sync")
	if code != cli.ExitError || !strings.Contains(errOut, "E0000011") {
		t.Errorf("sync with a failing page: exit %d, want %d with Okta's error:\n%s", code, cli.ExitError, errOut)
	}
	if len(w.Imports()) != imports || len(w.Members()) != want {
		t.Errorf("a failed read reached Bitwarden: %d imports (was %d), %d members", len(w.Imports()), imports, len(w.Members()))
	}
	// The next sync reads everything and removes Ann (one of six: above the default 10% guard, so approved).
	w.Must(0, "sync", "--allow-deletes")
	if _, ok := w.Members()[w.ids["ann"]]; ok || len(w.Members()) != want-1 {
		t.Errorf("after the next sync: %v, want Ann (deprovisioned) removed", w.Members())
	}

	// Filters: the anchor's syntax; a broken one is refused when set.
	w.Must(0, "config", "set", "sync.userFilter", `exclude:bob.stone@example.com | profile.lastName eq "Stone" or profile.lastName eq "Diaz"`)
	out = w.Must(0, "--json", "test")
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.EnabledUsers) != 1 || doc.EnabledUsers[0].ExternalID != w.ids["cara"] {
		t.Errorf("test with a user filter: %v, want only Cara:\n%s", err, out)
	}
	for _, bad := range []string{`| profile.lastName = "Stone"`, "includes:ann@example.com"} {
		if _, errOut, code := w.Run("config", "set", "sync.userFilter", bad); code == 0 || !strings.Contains(errOut, "user filter") {
			t.Errorf("config set sync.userFilter %q: exit %d, %s; want it refused", bad, code, errOut)
		}
	}
}

func TestCLIImportBwdc(t *testing.T) {
	w := newWorld(t, directorytest.Dataset{})
	dir := t.TempDir()
	data := `{"directoryType": 3, "directoryOkta": {"orgUrl": "https://company.okta.com/", "token": "[STORED SECURELY]"},
	  "sync": {"users": true, "groups": true, "userFilter": "exclude:joe@company.com | profile.firstName eq \"John\""}}`
	if err := os.WriteFile(filepath.Join(dir, "data.json"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	w.Must(0, "config", "import-bwdc", filepath.Join(dir, "data.json"))
	for key, want := range map[string]string{"directory": "okta", "okta.orgUrl": "https://company.okta.com/",
		"sync.userFilter": `exclude:joe@company.com | profile.firstName eq "John"`} {
		if got := strings.TrimSpace(w.Must(0, "config", "get", key)); got != want {
			t.Errorf("%s after import = %q, want %q", key, got, want)
		}
	}
}
