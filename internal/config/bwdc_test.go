package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/secret"
)

// A data.json as Directory Connector 2026.6 writes it for an LDAP directory, keychain mode.
const bwdcLDAP = `{
  "stateVersion": 8,
  "directoryType": 0,
  "organizationId": "5f5e1c1a-0000-4000-8000-000000000001",
  "environmentUrls": {"base": "https://vault.example.com", "api": null, "identity": null, "webVault": null},
  "directoryLdap": {"id": "1b7d", "ssl": true, "startTls": false, "hostname": "dc1.example.com", "port": 636,
    "rootPath": "dc=example,dc=com", "currentUser": false, "username": "svc@example.com",
    "password": "[STORED SECURELY]", "ad": true, "pagedSearch": true, "tlsCaPath": null},
  "directoryEntra": {"tenant": "t1", "applicationId": "a1", "key": "[STORED SECURELY]"},
  "sync": {"users": true, "groups": true, "interval": 15, "userFilter": "(mail=*)", "groupFilter": null,
    "removeDisabled": true, "overwriteExisting": false, "largeImport": true, "inviteUsersAfterProvisioning": false,
    "userPath": "OU=Staff", "groupPath": null, "creationDateAttribute": "whenCreated"},
  "lastSyncHash": "AA==",
  "lastUserSync": "2026-11-01T10:00:00.000Z"
}`

func TestImportBwdc(t *testing.T) {
	reg := testRegistry()
	c, err := Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := secret.Memory()
	r, err := c.ImportBwdc(reg, []byte(bwdcLDAP), store)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range r.Imported {
		got[k.Key] = k.Value
	}
	want := map[string]string{
		"server": "https://vault.example.com", "directory": "0",
		"ldap.ssl": "true", "ldap.hostname": "dc1.example.com", "ldap.port": "636", "ldap.rootPath": "dc=example,dc=com",
		"sync.users": "true", "sync.groups": "true", "sync.interval": "15m", "sync.userFilter": "(mail=*)",
		"sync.removeDisabled": "true", "sync.overwriteExisting": "false", "sync.largeImport": "true",
		"sync.inviteUsersAfterProvisioning": "false", "ldap.userPath": "OU=Staff", "entra.tenant": "t1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("imported (-want +got):\n%s", diff)
	}
	skipped := map[string]string{}
	for _, k := range r.Skipped {
		skipped[k.Key] = k.Reason
	}
	for key, part := range map[string]string{
		"ldap.password":              "keychain",
		"entra.secretKey":            "keychain",
		"ldap.username":              "no such setting",
		"ldap.currentUser":           "never used",
		"sync.creationDateAttribute": "never read",
	} {
		if !strings.Contains(skipped[key], part) {
			t.Errorf("skipped[%s] = %q, want it to mention %q (all: %v)", key, skipped[key], part, skipped)
		}
	}
	if r.OrganizationID != "5f5e1c1a-0000-4000-8000-000000000001" {
		t.Errorf("organization id = %q", r.OrganizationID)
	}
	if c.Directory() != "ldap" {
		t.Errorf("directory = %q, want ldap", c.Directory())
	}
	// The imported settings survive a save and a reload.
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c2, err := Load(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := c2.Get(reg, "sync.interval", store, noEnv); v != "15m0s" && v != "15m" {
		t.Errorf("sync.interval after reload = %q", v)
	}
}

func TestImportBwdcPlaintextSecretsAndErrors(t *testing.T) {
	reg := testRegistry()
	c, _ := Load(t.TempDir())
	store := secret.Memory()
	data := `{"directoryType": 1, "directoryEntra": {"tenant": "t", "key": "inline-secret-value"}, "sync": {"interval": null}}`
	r, err := c.ImportBwdc(reg, []byte(data), store)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := store.Get("entra.secretKey"); err != nil || v != "inline-secret-value" {
		t.Errorf("plaintext secret: store has %q, %v", v, err)
	}
	for _, k := range r.Imported {
		if strings.Contains(k.Value, "inline-secret-value") {
			t.Error("the report shows a secret value")
		}
	}
	if v, _, _ := c.Get(reg, "sync.interval", store, noEnv); v != "0" && v != "0s" {
		t.Errorf("a null interval imported as %q, want scheduling off", v)
	}
	for _, bad := range []string{`[1]`, `{"global": {}}`, `{"foo": 1}`} {
		if _, err := c.ImportBwdc(reg, []byte(bad), store); err == nil {
			t.Errorf("ImportBwdc(%s) succeeded", bad)
		}
	}
}

func TestBwdcDataFile(t *testing.T) {
	dir := t.TempDir()
	if got := BwdcDataFile(mapEnv(map[string]string{"BITWARDENCLI_CONNECTOR_APPDATA_DIR": dir})); got != "" {
		t.Errorf("found %q in an empty dir", got)
	}
	os.WriteFile(filepath.Join(dir, "data.json"), []byte("{}"), 0o600)
	if got := BwdcDataFile(mapEnv(map[string]string{"BITWARDENCLI_CONNECTOR_APPDATA_DIR": dir})); got != filepath.Join(dir, "data.json") {
		t.Errorf("BwdcDataFile = %q", got)
	}
}

func TestImportBwdcGoogleDomain(t *testing.T) {
	var reg directory.Registry
	reg.Register(directory.Adapter{Name: "google", Number: 2, Aliases: []string{"gsuite"},
		Options: []directory.Option{{Name: "domain"}, {Name: "adminUser"}},
		New:     func(directory.Config) (directory.Source, error) { return nil, nil }})
	c, _ := Load(t.TempDir())
	r, err := c.ImportBwdc(&reg, []byte(`{"directoryType": 2, "directoryGsuite": {"domain": "example.com", "adminUser": "admin@example.com"}, "sync": {}}`), secret.Memory())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range r.Imported {
		got[k.Key] = k.Value
	}
	if got["google.domain"] != "example.com" {
		t.Errorf("google.domain not imported: %+v (skipped %+v)", r.Imported, r.Skipped)
	}
}
