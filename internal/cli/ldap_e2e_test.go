package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/bitwarden/emulator"
	"github.com/dirconn/dirconn/internal/directory/all"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/ldap/sambatest"
	"github.com/dirconn/dirconn/internal/directory/ldap/slapdtest"
)

// syncable counts the users of ds a sync invites: enabled, with an email no other enabled user has.
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

// ldapWorld is a world whose directory is the real LDAP adapter (the production registry).
func ldapWorld(t *testing.T, settings ...string) *world {
	t.Helper()
	w := newWorld(t, emulator.Options{})
	w.registry = all.Registry()
	w.must(0, "config", "set", "server", w.url)
	w.env["BW_CLIENTID"], w.env["BW_CLIENTSECRET"] = w.emu.ClientID(), w.emu.APIKey()
	w.must(0, "login")
	w.must(0, "config", "set", "directory", "ldap")
	for i := 0; i+1 < len(settings); i += 2 {
		w.must(0, "config", "set", settings[i], settings[i+1])
	}
	return w
}

// checkTestPlanSync runs test, plan, sync and a second sync through the CLI and checks what reached the
// emulated organization.
func checkTestPlanSync(t *testing.T, w *world, want int, wantGroups []string) {
	t.Helper()
	var doc struct {
		EnabledUsers []struct{ ExternalID, DisplayName string } `json:"enabledUsers"`
		Groups       []struct {
			DisplayName string   `json:"displayName"`
			UserIDs     []string `json:"userIds"`
		} `json:"groups"`
		Complete bool `json:"complete"`
	}
	out := w.must(0, "--json", "test")
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("test --json: %v\n%s", err, out)
	}
	if !doc.Complete {
		t.Errorf("the read is not complete: %s", out)
	}
	names := map[string]bool{}
	for _, g := range doc.Groups {
		names[g.DisplayName] = true
	}
	for _, g := range wantGroups {
		if !names[g] {
			t.Errorf("test does not list group %q: %v", g, names)
		}
	}
	if plan := w.must(0, "plan"); !strings.Contains(plan, strconv.Itoa(want)+" to invite") || len(w.imports()) != 0 {
		t.Errorf("plan (want %d invites, nothing sent):\n%s", want, plan)
	}
	w.must(0, "sync")
	if got := len(w.orgMembers()); got != want {
		t.Errorf("the organization has %d synced members, want %d", got, want)
	}
	before := len(w.imports())
	w.must(0, "sync")
	if len(w.imports()) != before {
		t.Errorf("an unchanged directory sent %d more requests", len(w.imports())-before)
	}
}

func TestCLIOpenLDAP(t *testing.T) {
	srv := slapdtest.StartT(t, slapdtest.Options{})
	caps := directorytest.Caps{UserWithoutEmail: true, DuplicateEmail: true, NestedGroups: true, GroupCycles: true, EmptyGroup: true}
	ds := directorytest.Expected(caps)
	if _, err := srv.SeedDataset(t.Context(), ds, slapdtest.SeedOptions{EmptyGroups: slapdtest.EmptyGroupsPlaceholder}); err != nil {
		t.Fatal(err)
	}
	w := ldapWorld(t,
		"ldap.hostname", srv.Host, "ldap.port", strconv.Itoa(srv.Port), "ldap.ad", "false", "ldap.startTls", "true",
		"ldap.tlsCaPath", srv.CAFile, "ldap.username", srv.ServiceDN, "ldap.rootPath", srv.BaseDN,
		"sync.userPath", "ou=people", "sync.groupPath", "ou=groups", "ldap.externalIdAttribute", "entryUUID")
	w.env["LDAP_PW"] = srv.ServicePassword
	w.must(0, "config", "set", "ldap.password", "--from-env", "LDAP_PW")
	if got := strings.TrimSpace(w.must(0, "config", "get", "ldap.userPath")); got != "ou=people" {
		t.Errorf("sync.userPath did not reach ldap.userPath: %q", got)
	}
	checkTestPlanSync(t, w, syncable(ds), []string{"Staff", "Engineering"})
	// A bad filter is refused when it is set, before any search.
	if _, errOut, code := w.run("config", "set", "sync.userFilter", "(mail=*"); code == 0 || !strings.Contains(errOut, "filter") {
		t.Errorf("a bad filter was accepted: exit %d, %s", code, errOut)
	}
}

func TestCLISambaAD(t *testing.T) {
	srv := sambatest.StartT(t, sambatest.Options{})
	caps := directorytest.Caps{Disabled: true, UserWithoutEmail: true, DuplicateEmail: true, NestedGroups: true, GroupCycles: true, EmptyGroup: true}
	ds := directorytest.Expected(caps)
	sd, err := srv.SeedDataset(t.Context(), ds, sambatest.SeedOptions{BigGroup: 2000})
	if err != nil {
		t.Fatal(err)
	}
	w := ldapWorld(t,
		"ldap.hostname", "127.0.0.1", "ldap.ssl", "true", "ldap.sslCaPath", srv.CAFile, "ldap.username", srv.AdminUPN,
		"ldap.rootPath", srv.BaseDN, "ldap.userPath", sd.OU, "ldap.groupPath", sd.OU, "ldap.includeDeleted", "true",
		"sync.deleteLimitPercent", "0")
	w.env["DIRCONN_LDAP_PASSWORD"] = srv.AdminPassword
	// The seed OU holds the fixture and the 2,000 members of the big group, all enabled with an email.
	bigName := cnOf(t, sd.BigGroup.DN)
	checkTestPlanSync(t, w, syncable(ds)+sd.BigGroupMembers, []string{"Staff", bigName})
	big := w.orgGroups()[bigName]
	if len(big) != sd.BigGroupMembers {
		t.Errorf("the big group has %d members in the organization, want all %d (ranged retrieval)", len(big), sd.BigGroupMembers)
	}
}

// cnOf returns the value of a DN's first RDN.
func cnOf(t *testing.T, dn string) string {
	t.Helper()
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 {
		t.Fatalf("parse %q: %v", dn, err)
	}
	return d.RDNs[0].Attributes[0].Value
}
