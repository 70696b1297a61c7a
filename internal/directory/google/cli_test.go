package google_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/cli/clitest"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/file"
	"github.com/dirconn/dirconn/internal/directory/google"
	"github.com/dirconn/dirconn/internal/directory/google/googlefake"
)

var account = sync.OnceValue(func() *googlefake.ServiceAccount {
	sa, err := googlefake.NewServiceAccount("dirconn@cli-test.iam.gserviceaccount.com", "115000000000000000001")
	if err != nil {
		panic(err)
	}
	return sa
})

// caps are the fixture states Google Workspace holds (see the package's conformance test).
var caps = directorytest.Caps{Disabled: true, Deleted: true, NestedGroups: true, GroupCycles: true, EmptyGroup: true, DanglingMember: true}

// world is the real CLI in-process with the Google adapter, a fake Google Workspace and the Bitwarden
// emulator, all on loopback.
type world struct {
	*clitest.World
	fake *googlefake.Server
	sd   googlefake.Seeded
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{World: clitest.New(t, clitest.Registry(file.Adapter(), google.Adapter()), emulator.Options{})}
	w.fake = googlefake.Start(t, googlefake.Options{PageLimit: 4})
	sa := account()
	w.fake.AddServiceAccount(sa)
	w.fake.Delegate(sa.ClientID, googlefake.ReadonlyScopes...)
	w.sd = w.fake.SeedDataset(directorytest.Expected(caps), googlefake.SeedOptions{})
	return w
}

// login logs in to the emulator and selects the Google directory (by the Directory Connector's number).
func (w *world) login() {
	w.T.Helper()
	w.Login()
	w.Must(0, "config", "set", "directory", "2")
	if got := strings.TrimSpace(w.Must(0, "config", "get", "directory")); got != "google" {
		w.T.Fatalf("directory = %q, want google", got)
	}
	w.Must(0, "config", "set", "google.domain", "example.com")
	w.Must(0, "config", "set", "google.adminUser", w.sd.Admin)
	w.Must(0, "config", "set", "google.apiUrl", w.fake.APIURL())
	w.Must(0, "config", "set", "google.tokenUrl", w.fake.TokenURL())
}

// testPlanSync runs test --json, plan and sync, then a second sync, and checks the organization.
func (w *world) testPlanSync() {
	t := w.T
	t.Helper()
	var doc struct {
		EnabledUsers []struct {
			ExternalID string `json:"externalId"`
		} `json:"enabledUsers"`
		Groups []struct {
			DisplayName string `json:"displayName"`
		} `json:"groups"`
		Complete bool `json:"complete"`
	}
	out := w.JSON(&doc, "test")
	// Active users: ann bob cara gail hana ivan sam (dan and jo are disabled, eve deleted).
	if !doc.Complete || len(doc.EnabledUsers) != 7 || len(doc.Groups) != 8 {
		t.Errorf("test: complete %v, %d enabled users, %d groups; want true, 7, 8\n%s", doc.Complete, len(doc.EnabledUsers), len(doc.Groups), out)
	}
	if plan := w.Must(0, "plan"); !strings.Contains(plan, "7 to invite") || len(w.Imports()) != 0 {
		t.Errorf("plan (want 7 invites, nothing sent):\n%s", plan)
	}
	w.Must(0, "sync")
	members := w.Members()
	if len(members) != 7 || members[w.sd.Users["gail"]] != "gail.park@example.com" {
		t.Errorf("organization members = %v, want the 7 active users by Google id, emails normalized", members)
	}
	id := w.sd.Users
	wantBackend := []string{id["bob"], id["cara"]}
	slices.Sort(wantBackend)
	if got := w.Groups()["Backend"]; !slices.Equal(got, wantBackend) {
		t.Errorf("Backend = %v, want %v", got, wantBackend)
	}
	if got := w.Groups()["Staff"]; len(got) != 4 { // gail + Engineering (ann) + Backend (bob, cara); dan disabled
		t.Errorf("Staff = %v, want 4 members (nested groups flattened)", got)
	}
	before := len(w.Imports())
	w.Must(0, "sync")
	if n := len(w.Imports()) - before; n != 0 {
		t.Errorf("an unchanged directory sent %d requests", n)
	}
}

// TestCLIKeyFile: google.keyFile names the JSON key; config.json holds the path, never the key.
func TestCLIKeyFile(t *testing.T) {
	w := newWorld(t)
	w.login()
	keyFile := filepath.Join(t.TempDir(), "dirconn-sa.json")
	if err := os.WriteFile(keyFile, account().JSONKey("https://oauth2.googleapis.com/token"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.Must(0, "config", "set", "google.keyFile", keyFile)
	w.testPlanSync()

	cfg, err := os.ReadFile(filepath.Join(w.Dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "dirconn-sa.json") || strings.Contains(string(cfg), "PRIVATE KEY") {
		t.Errorf("config.json should hold the key file's path and no key:\n%s", cfg)
	}
	if list := w.Must(0, "config", "list"); !strings.Contains(list, "google.keyFile") || !strings.Contains(list, "google.tokenUrl") || strings.Contains(list, "PRIVATE KEY") {
		t.Errorf("config list:\n%s", list)
	}
	// A user deleted in Google is removed (held by the deletion guard first: 1 of 7 is over 10%).
	w.fake.UpdateUser(w.sd.Users["hana"], func(u *googlefake.User) { u.Deleted = true })
	if out := w.Must(3, "sync"); !strings.Contains(out, "hana.ito@example.com  (deleted in the directory)") {
		t.Errorf("the held removal is not shown:\n%s", out)
	}
	w.Must(0, "sync", "--allow-deletes")
	if _, ok := w.Members()[w.sd.Users["hana"]]; ok {
		t.Error("a user deleted in Google is still a member")
	}
	// A filter that does not parse is refused when it is set.
	if _, errOut, code := w.Run("config", "set", "sync.userFilter", "joe@company.com"); code == 0 || !strings.Contains(errOut, "keyword:values") {
		t.Errorf("a bad filter was accepted: exit %d, %s", code, errOut)
	}
	w.Must(0, "config", "set", "sync.groupFilter", "include:Backend | name:B*")
}

// TestCLIPrivateKey: the Directory Connector's way: google.clientEmail and the key as a secret, here set
// under the anchor CLI's name gsuite.key from an environment variable holding \n escapes.
func TestCLIPrivateKey(t *testing.T) {
	w := newWorld(t)
	w.login()
	w.Must(0, "config", "set", "gsuite.clientEmail", account().Email)
	w.Env["GOOGLE_KEY"] = strings.ReplaceAll(account().PEM(), "\n", `\n`)
	w.Must(0, "config", "set", "gsuite.key", "--from-env", "GOOGLE_KEY")
	if got := w.Must(0, "config", "get", "google.privateKey"); !strings.Contains(got, "GOOGLE_KEY") || strings.Contains(got, "PRIVATE") {
		t.Errorf("config get google.privateKey = %q, want where it comes from, not the key", got)
	}
	w.testPlanSync()

	// Domain-wide delegation withdrawn: the run fails, says what to fix, and changes nothing.
	w.fake.Delegate(account().ClientID)
	_, errOut, code := w.Run("sync")
	if code == 0 || !strings.Contains(errOut, "domain-wide delegation") || strings.Contains(errOut, "PRIVATE KEY") {
		t.Errorf("sync without delegation: exit %d, %s", code, errOut)
	}
	if n := len(w.Members()); n != 7 {
		t.Errorf("a failed read changed the organization: %d members", n)
	}
	// Without the key file dirconn cannot know the numeric client ID: it says where to find it.
	if !strings.Contains(errOut, "client id of "+account().Email+" (its Unique ID") {
		t.Errorf("the error does not say which client ID to authorize: %s", errOut)
	}
}
