package entra_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/cli/clitest"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/entra"
	"github.com/dirconn/dirconn/internal/directory/entra/graphfake"
	"github.com/dirconn/dirconn/internal/httpx"
)

// newWorld is the real CLI in-process with a data dir, the Bitwarden emulator on loopback and a registry
// holding the Entra adapter; a failed request is retried once, at once.
func newWorld(t *testing.T) *clitest.World {
	t.Helper()
	w := clitest.New(t, clitest.Registry(entra.Adapter()), emulator.Options{})
	w.Retry = &httpx.Policy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	return w
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
	w.Login()
	w.Must(0, "config", "set", "directory", "azure") // the alias, as bwdc's "azure.*" keys
	for _, kv := range [][2]string{
		{"entra.identityAuthority", "login.microsoftonline.us"},
		{"entra.tenant", o.TenantDomain},
		{"azure.applicationId", o.ClientID},
		{"entra.graphUrl", gov},
		{"entra.authorityUrl", gov},
		{"sync.removeDisabled", "true"},
	} {
		w.Must(0, "config", "set", kv[0], kv[1])
	}
	w.Env["ENTRA_SECRET"] = o.Secret
	w.Must(0, "config", "set", "entra.key", "--from-env", "ENTRA_SECRET")
	if out := w.Must(0, "config", "list"); strings.Contains(out, o.Secret) {
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
	w.JSON(&doc, "test")
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
	if n := len(w.Imports()); n != 0 {
		t.Errorf("test sent %d imports", n)
	}

	if plan := w.Must(0, "plan"); !strings.Contains(plan, strconv.Itoa(invitable)+" to invite") || len(w.Imports()) != 0 {
		t.Errorf("plan (want %d invites, nothing sent):\n%s", invitable, plan)
	}
	w.Must(0, "sync")
	if got := w.Members(); len(got) != invitable || got[std.NoMail] != "nico@contoso.com" {
		t.Errorf("the organization has %d members (%q for the user without mail), want %d", len(got), got[std.NoMail], invitable)
	}
	if n := len(w.Groups()["All Staff"]); n != graphfake.BigGroupSize {
		t.Errorf("All Staff has %d members in the organization, want %d", n, graphfake.BigGroupSize)
	}
	before := len(w.Imports())
	w.Must(0, "sync")
	if n := len(w.Imports()) - before; n != 0 {
		t.Errorf("an unchanged directory sent %d requests", n)
	}

	// A user deleted in Entra: the delta link kept by the last sync reports it, the plan removes it.
	gone := std.Active[7]
	f.DeleteUser(gone, false)
	plan := w.Must(0, "plan")
	if !strings.Contains(plan, "1 to remove") || !strings.Contains(plan, "user007@contoso.com") || !strings.Contains(plan, "deleted in the directory") {
		t.Errorf("plan after a deletion in Entra:\n%s", plan)
	}
	w.Must(0, "sync")
	if _, ok := w.Members()[gone]; ok || len(w.Members()) != invitable-1 {
		t.Errorf("the deleted user is still a member (%d members)", len(w.Members()))
	}

	// Every call went to the US-government cloud, and a filter that does not parse is refused when set.
	if n := f.Count(graphfake.Global, ""); n != 0 {
		t.Errorf("the global cloud got %d requests", n)
	}
	if n := f.Count(graphfake.USGov, graphfake.RouteDelta); n == 0 {
		t.Error("no delta request: the deletion did not come from the delta link")
	}
	if _, errOut, code := w.Run("config", "set", "sync.userFilter", "includeGroup:Sales"); code == 0 || !strings.Contains(errOut, "not a group object id") {
		t.Errorf("a bad filter was accepted: exit %d, %s", code, errOut)
	}
	w.Must(0, "config", "set", "sync.userFilter", "includeGroup:"+std.Eng)
	var filtered struct {
		EnabledUsers []struct{ ExternalID string } `json:"enabledUsers"`
	}
	if err := json.Unmarshal([]byte(w.Must(0, "--json", "test")), &filtered); err != nil || len(filtered.EnabledUsers) != 5 {
		t.Errorf("test with includeGroup: %d enabled users (%v), want Engineering's 5", len(filtered.EnabledUsers), err)
	}
}

// TestCLIEntraBadSecret: a refused secret fails test with Entra's code and the key to fix.
func TestCLIEntraBadSecret(t *testing.T) {
	f := graphfake.New(graphfake.Options{})
	f.SeedStandard()
	url := f.Serve(t, graphfake.Global)
	w := newWorld(t)
	w.Must(0, "config", "set", "directory", "1") // bwdc's number
	for _, kv := range [][2]string{{"entra.tenant", f.Options().TenantID}, {"entra.applicationId", f.Options().ClientID},
		{"entra.graphUrl", url}, {"entra.authorityUrl", url}, {"entra.key", "not-the-secret"}} {
		w.Must(0, "config", "set", kv[0], kv[1])
	}
	out, errOut, code := w.Run("test")
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
	out := w.Must(0, "config", "import-bwdc", path)
	if !strings.Contains(out, "entra.key") {
		t.Errorf("the import does not say entra.key must be set:\n%s", out)
	}
	for key, want := range map[string]string{"directory": "entra", "entra.identityAuthority": "login.microsoftonline.us",
		"entra.tenant": "contoso.onmicrosoft.us", "entra.applicationId": "0c6c7a1e-2b3d-4f5e-8a9b-1c2d3e4f5a6b"} {
		if got := strings.TrimSpace(w.Must(0, "config", "get", key)); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}
