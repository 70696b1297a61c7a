package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/secret"
)

const (
	ldapPW   = "ldap-Pa55-MustNotLeak"
	entraKey = "entra-Key-MustNotLeak"
	clientSC = "client-Secret-MustNotLeak"
	orgID    = "organization.0f8fad5b-d9cb-469f-a165-70867728950e"
)

// testRegistry has fake adapters shaped like the real ones: ldap (number 0, filters), entra (number 1,
// alias azure, secret with alias key, user filter only) and file (no number, no filters).
func testRegistry() *directory.Registry {
	var r directory.Registry
	newSource := func(directory.Config) (directory.Source, error) { return nil, errors.New("fake") }
	r.Register(directory.Adapter{
		Name: "ldap", Title: "LDAP", Number: 0,
		UserFilterHelp: "an LDAP filter", GroupFilterHelp: "an LDAP filter",
		CheckFilters: func(f directory.Filters) error {
			for _, s := range []string{f.User, f.Group} {
				if s != "" && !strings.HasPrefix(s, "(") {
					return fmt.Errorf("%q does not start with (", s)
				}
			}
			return nil
		},
		Options: []directory.Option{
			{Name: "hostname", Required: true, Help: "the server"},
			{Name: "port", Kind: directory.KindInt, Default: "389", Min: 1, Max: 65535},
			{Name: "ssl", Kind: directory.KindBool, Default: "false"},
			{Name: "password", Secret: true},
			{Name: "bindToken", Secret: true, Check: func(v string) error {
				if len(v) < 30 {
					return fmt.Errorf("%q is too short", v) // a careless Check that quotes the value
				}
				return nil
			}},
			{Name: "userPath"},
			{Name: "tlsCaPath", Kind: directory.KindPath},
			{Name: "mode", Kind: directory.KindChoice, Choices: []string{"simple", "sasl"}, Default: "simple"},
			{Name: "attributes", Kind: directory.KindList},
			{Name: "pageTimeout", Kind: directory.KindDuration, Default: "30s"},
			{Name: "rootPath", Kind: directory.KindText},
		},
		New: newSource,
	})
	r.Register(directory.Adapter{
		Name: "entra", Title: "Entra ID", Number: 1, Aliases: []string{"azure"},
		UserFilterHelp: "include:/exclude:",
		Options: []directory.Option{
			{Name: "tenant", Required: true},
			{Name: "secretKey", Secret: true, Required: true, Aliases: []string{"key"}},
		},
		New: newSource,
	})
	r.Register(directory.Adapter{
		Name: "file", Title: "File", Number: -1,
		Options: []directory.Option{{Name: "path", Kind: directory.KindPath, Required: true}},
		New:     newSource,
	})
	return &r
}

func noEnv(string) string { return "" }

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func load(t *testing.T, dir string) *Config {
	t.Helper()
	c, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	return c
}

func TestKeys(t *testing.T) {
	reg := testRegistry()
	c := load(t, t.TempDir())
	var got []string
	for _, k := range c.Keys(reg) {
		got = append(got, k.Name)
		want := ""
		if i := strings.Index(k.Name, "."); i > 0 {
			want = k.Name[:i]
		}
		if k.Section != want || !strings.HasSuffix(k.Name, k.Option.Name) {
			t.Errorf("key %s: section %q, option %q", k.Name, k.Section, k.Option.Name)
		}
	}
	want := []string{
		"apiUrl", "caFile", "clientId", "clientSecret", "directory", "identityUrl", "proxy", "server", "timeout", "webVaultUrl",
		"entra.secretKey", "entra.tenant",
		"file.path",
		"ldap.attributes", "ldap.bindToken", "ldap.hostname", "ldap.mode", "ldap.pageTimeout", "ldap.password",
		"ldap.port", "ldap.rootPath", "ldap.ssl", "ldap.tlsCaPath", "ldap.userPath",
		"sync.deleteLimit", "sync.deleteLimitPercent", "sync.emailSuffix", "sync.fullSyncInterval", "sync.groupFilter",
		"sync.groups", "sync.interval", "sync.inviteUsersAfterProvisioning", "sync.largeImport",
		"sync.overwriteExisting", "sync.removeDisabled", "sync.useEmailPrefixSuffix", "sync.userFilter", "sync.users",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
}

func TestResolveKey(t *testing.T) {
	reg := testRegistry()
	tests := []struct {
		dir, name, want, section string
	}{
		{"", "server", "server", ""},
		{"", "SERVER", "server", ""},
		{"", "base", "server", ""},
		{"", "apiurl", "apiUrl", ""},
		{"", "webVault", "webVaultUrl", ""},
		{"", " clientsecret ", "clientSecret", ""},
		{"", "directory", "directory", ""},
		{"", "ldap.hostname", "ldap.hostname", "ldap"},
		{"", "LDAP.HOSTNAME", "ldap.hostname", "ldap"},
		{"", "azure.key", "entra.secretKey", "entra"},
		{"", "entra.KEY", "entra.secretKey", "entra"},
		{"", "Azure.tenant", "entra.tenant", "entra"},
		{"", "sync.interval", "sync.interval", "sync"},
		{"", "sync.inviteusersafterprovisioning", "sync.inviteUsersAfterProvisioning", "sync"},
		{"ldap", "sync.userPath", "ldap.userPath", "ldap"},
		{"ldap", "sync.users", "sync.users", "sync"}, // a sync option wins
		{"entra", "sync.key", "entra.secretKey", "entra"},
	}
	for _, tt := range tests {
		c := load(t, t.TempDir())
		c.directory = tt.dir
		k, err := c.ResolveKey(reg, tt.name)
		if err != nil || k.Name != tt.want || k.Section != tt.section {
			t.Errorf("directory %q: ResolveKey(%q) = %q (section %q), %v; want %q (section %q)",
				tt.dir, tt.name, k.Name, k.Section, err, tt.want, tt.section)
		}
	}

	c := load(t, t.TempDir())
	k, err := c.ResolveKey(reg, "directory")
	if err != nil || k.Option.Kind != directory.KindChoice || !cmp.Equal(k.Option.Choices, []string{"entra", "file", "ldap"}) {
		t.Errorf("ResolveKey(directory) = %+v, %v; want a choice of entra, file, ldap", k.Option, err)
	}
	for _, name := range []string{"0.hostname", "ldap.nope", "nope", "sync.userPath", "okta.token", "sync.", ".x", ""} {
		if k, err := c.ResolveKey(reg, name); err == nil {
			t.Errorf("ResolveKey(%q) = %q, want an error", name, k.Name)
		}
	}
}

func TestUnknownKeyMessage(t *testing.T) {
	reg := testRegistry()
	c := load(t, t.TempDir())
	_, err := c.ResolveKey(reg, "ldap.hostnme")
	if err == nil {
		t.Fatal("ResolveKey(ldap.hostnme) succeeded")
	}
	msg := err.Error()
	for _, want := range []string{
		`unknown setting "ldap.hostnme"`, "did you mean ldap.hostname?", "valid settings:",
		"\n  bitwarden: server, apiUrl, identityUrl, webVaultUrl, proxy, caFile, timeout, clientId, clientSecret",
		"\n  directory: directory (entra or 1 or azure, file, ldap or 0)",
		"\n  entra:     entra.tenant, entra.secretKey",
		"\n  ldap:      ldap.hostname, ldap.port,",
		"\n  sync:      sync.users, sync.groups, sync.interval,", "sync.fullSyncInterval",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q\nwant it to contain %q", msg, want)
		}
	}
	_, err = c.ResolveKey(reg, "sync.userPath")
	if err == nil || !strings.Contains(err.Error(), "no directory is selected; did you mean ldap.userPath?") {
		t.Errorf("ResolveKey(sync.userPath) without a directory: err = %v, want a hint at ldap.userPath", err)
	}
}

func TestSet(t *testing.T) {
	reg := testRegistry()
	tests := []struct {
		key, value string
		want       string // Get's value after Set
		wantKey    string // canonical key to Get; empty means key
		wantSet    bool
		wantErr    string
	}{
		// global strings and URLs
		{key: "server", value: "bitwarden.eu", want: CloudEU, wantSet: true},
		{key: "server", value: "https://bitwarden.com/", want: CloudUS},
		{key: "server", value: "null", want: CloudUS},
		{key: "base", value: " vault.example.com/ ", want: "https://vault.example.com", wantKey: "server", wantSet: true},
		{key: "server", value: "http://10.0.0.1:8080/bw", want: "http://10.0.0.1:8080/bw", wantSet: true},
		{key: "server", value: "ftp://x", wantErr: "server: \"ftp://x\" is not an http(s) URL"},
		{key: "apiUrl", value: "https://bw.example.com/api/", want: "https://bw.example.com/api", wantSet: true},
		{key: "identityUrl", value: "https://?x", wantErr: "not an http(s) URL"},
		{key: "proxy", value: "proxy.example.com:3128", want: "http://proxy.example.com:3128", wantSet: true},
		{key: "proxy", value: "socks5://127.0.0.1:1080", want: "socks5://127.0.0.1:1080", wantSet: true},
		{key: "proxy", value: "ftp://p:21", wantErr: `proxy scheme "ftp" is not http`},
		{key: "caFile", value: "/etc/ssl/corp.pem", want: "/etc/ssl/corp.pem", wantSet: true},
		{key: "clientId", value: orgID, want: orgID, wantSet: true},
		{key: "clientId", value: "user.0f8fad5b-d9cb-469f-a165-70867728950e", wantErr: "not an organization API key client_id"},
		// durations
		{key: "timeout", value: "10m", want: "10m0s", wantSet: true},
		{key: "timeout", value: "300", wantErr: `timeout: "300" is not a duration`},
		{key: "timeout", value: "0", wantErr: "must be more than 0"},
		{key: "timeout", value: "-5s", wantErr: "is negative"},
		{key: "sync.interval", value: "1h", want: "1h0m0s", wantSet: true},
		{key: "sync.interval", value: "0", want: "0s", wantSet: true},
		{key: "sync.interval", value: "4m", wantErr: "below the minimum of 5m (0 turns scheduled syncs off)"},
		{key: "sync.fullSyncInterval", value: "0", want: "0s", wantSet: true},
		{key: "ldap.pageTimeout", value: "90s", want: "1m30s", wantSet: true},
		// directory
		{key: "directory", value: "0", want: "ldap", wantSet: true},
		{key: "directory", value: "azure", want: "entra", wantSet: true},
		{key: "directory", value: " 1 ", want: "entra", wantSet: true},
		{key: "directory", value: "FILE", want: "file", wantSet: true},
		{key: "directory", value: "9", wantErr: `directory: "9" is not a directory type; choose entra or 1 or azure, file, ldap or 0`},
		{key: "directory", value: "", want: ""},
		// adapter options of every kind
		{key: "ldap.hostname", value: " dc1.example.com ", want: "dc1.example.com", wantSet: true},
		{key: "ldap.port", value: "636", want: "636", wantSet: true},
		{key: "ldap.port", value: "x", wantErr: `ldap.port: "x" is not a whole number`},
		{key: "ldap.port", value: "70000", wantErr: "out of range (1 to 65535)"},
		{key: "ldap.ssl", value: "yes", want: "true", wantSet: true},
		{key: "ldap.ssl", value: "maybe", wantErr: `"maybe" is not true or false`},
		{key: "ldap.mode", value: "SASL", want: "sasl", wantSet: true},
		{key: "ldap.mode", value: "kerberos", wantErr: `"kerberos" is not one of: simple, sasl`},
		{key: "ldap.attributes", value: " mail, uid ,,cn", want: "mail,uid,cn", wantSet: true},
		{key: "ldap.tlsCaPath", value: "ca.pem", want: "ca.pem", wantSet: true},
		{key: "ldap.rootPath", value: "  dc=example,dc=com\n", want: "  dc=example,dc=com\n", wantSet: true},
		{key: "sync.userPath", value: "ou=People", want: "ou=People", wantKey: "ldap.userPath", wantSet: true},
		{key: "ldap.hostname", value: "", want: ""},
		// sync options
		{key: "sync.users", value: "no", want: "false", wantSet: true},
		{key: "sync.groups", value: "off", want: "false", wantSet: true},
		{key: "sync.inviteUsersAfterProvisioning", value: "false", want: "false", wantSet: true},
		{key: "sync.deleteLimit", value: "0", want: "0", wantSet: true},
		{key: "sync.deleteLimit", value: "-1", wantErr: "must be 0 (no limit) or more"},
		{key: "sync.deleteLimitPercent", value: "100", want: "100", wantSet: true},
		{key: "sync.deleteLimitPercent", value: "101", wantErr: "out of range (0 to 100)"},
		{key: "sync.emailSuffix", value: "@example.com", want: "@example.com", wantSet: true},
		{key: "sync.emailSuffix", value: "example.co.uk", want: "example.co.uk", wantSet: true},
		{key: "sync.emailSuffix", value: "not a domain", wantErr: "is not a domain"},
		{key: "sync.userFilter", value: "(objectClass=person)", want: "(objectClass=person)", wantSet: true},
		{key: "sync.userFilter", value: "objectClass=person", wantErr: "sync.userFilter: \"objectClass=person\" does not start with ("},
		{key: "sync.groupFilter", value: "(cn=bw-*)", want: "(cn=bw-*)", wantSet: true},
		{key: "nope", value: "x", wantErr: `unknown setting "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c := load(t, t.TempDir())
			c.directory = "ldap"
			err := c.Set(reg, tt.key, tt.value, secret.Memory())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Set(%q, %q) = %v, want error containing %q", tt.key, tt.value, err, tt.wantErr)
				}
				if tt.key != "nope" && !errors.Is(err, directory.ErrConfig) {
					t.Errorf("Set(%q, %q) error does not wrap directory.ErrConfig", tt.key, tt.value)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set(%q, %q): %v", tt.key, tt.value, err)
			}
			key := tt.key
			if tt.wantKey != "" {
				key = tt.wantKey
			}
			got, isSet, err := c.Get(reg, key, nil, noEnv)
			if err != nil || got != tt.want || isSet != tt.wantSet {
				t.Errorf("Get(%q) = %q, %v, %v; want %q, %v", key, got, isSet, err, tt.want, tt.wantSet)
			}
		})
	}
}

func TestFilterNeedsAdapterSupport(t *testing.T) {
	reg := testRegistry()
	c := load(t, t.TempDir())
	if err := c.Set(reg, "directory", "entra", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(reg, "sync.userFilter", "include:a@example.com", nil); err != nil {
		t.Errorf("Set user filter for entra: %v", err)
	}
	err := c.Set(reg, "sync.groupFilter", "include:Group", nil)
	if err == nil || !strings.Contains(err.Error(), "sync.groupFilter: the entra directory takes no such filter") {
		t.Errorf("Set group filter for entra: err = %v, want a refusal", err)
	}
}

func TestDefaults(t *testing.T) {
	reg := testRegistry()
	c := load(t, t.TempDir())
	want := directory.Values{
		"users": "true", "groups": "true", "interval": "5m", "removeDisabled": "false",
		"overwriteExisting": "false", "largeImport": "false", "inviteUsersAfterProvisioning": "true",
		"useEmailPrefixSuffix": "false", "deleteLimit": "50", "deleteLimitPercent": "10", "fullSyncInterval": "24h",
	}
	if diff := cmp.Diff(want, c.SyncValues()); diff != "" {
		t.Errorf("SyncValues (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(directory.Values{"server": CloudUS, "timeout": "300s"}, c.GlobalValues()); diff != "" {
		t.Errorf("GlobalValues (-want +got):\n%s", diff)
	}
	for key, want := range map[string]string{"sync.interval": "5m", "timeout": "300s", "ldap.port": "389", "directory": ""} {
		if got, isSet, err := c.Get(reg, key, nil, noEnv); err != nil || got != want || isSet {
			t.Errorf("Get(%q) = %q, %v, %v; want the default %q, unset", key, got, isSet, err, want)
		}
	}
	// Every default must pass its own option's check.
	for _, k := range c.Keys(reg) {
		if k.Option.Default == "" {
			continue
		}
		if _, err := k.Option.Normalize(k.Option.Default); err != nil {
			t.Errorf("default of %s, %q, is invalid: %v", k.Name, k.Option.Default, err)
		}
	}
}

func TestSecretsNeverInConfigFile(t *testing.T) {
	reg := testRegistry()
	dir := t.TempDir()
	store := secret.FileStore(filepath.Join(dir, secret.SecretsFile))
	c := load(t, dir)
	for key, v := range map[string]string{
		"directory": "ldap", "ldap.hostname": "dc1", "ldap.password": ldapPW, "azure.key": entraKey,
		"entra.tenant": "t1", "clientSecret": clientSC, "clientId": orgID,
	} {
		if err := c.Set(reg, key, v, store); err != nil {
			t.Fatalf("Set(%q): %v", key, err)
		}
	}
	if err := c.SetRef(reg, "ldap.bindToken", "env:BIND_TOKEN"); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{ldapPW, entraKey, clientSC} {
		if strings.Contains(string(data), s) {
			t.Errorf("config.json holds a secret:\n%s", data)
		}
	}
	var file map[string]any
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"ldap.bindToken": "env:BIND_TOKEN"}, file["secretRefs"]); diff != "" {
		t.Errorf("secretRefs (-want +got):\n%s", diff)
	}
	for key, want := range map[string]string{"ldap.password": ldapPW, "entra.secretKey": entraKey, "clientSecret": clientSC} {
		if got, err := store.Get(key); err != nil || got != want {
			t.Errorf("store.Get(%q) = %q, %v", key, got, err)
		}
	}
	for _, name := range []string{FileName, secret.SecretsFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", name, fi.Mode(), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{FileName, secret.SecretsFile}, names); diff != "" {
		t.Errorf("data directory (-want +got, no temp files may be left):\n%s", diff)
	}

	// Get describes, never reveals.
	for key, want := range map[string]string{
		"ldap.password":  "(stored in file " + filepath.Join(dir, secret.SecretsFile) + ")",
		"ldap.bindToken": "(not set)", // BIND_TOKEN is not in the environment: the reference is broken
		"clientSecret":   "(stored in file " + filepath.Join(dir, secret.SecretsFile) + ")",
	} {
		got, isSet, err := c.Get(reg, key, store, noEnv)
		if key == "ldap.bindToken" {
			if err == nil || !strings.Contains(err.Error(), "BIND_TOKEN") {
				t.Errorf("Get(%q) = %q, %v; want an error naming BIND_TOKEN", key, got, err)
			}
			continue
		}
		if err != nil || got != want || !isSet {
			t.Errorf("Get(%q) = %q, %v, %v; want %q", key, got, isSet, err, want)
		}
	}
	got, _, _ := c.Get(reg, "ldap.bindToken", store, mapEnv(map[string]string{"BIND_TOKEN": "x"}))
	if got != "(from environment variable BIND_TOKEN (reference))" {
		t.Errorf("Get(ldap.bindToken) = %q", got)
	}
	got, isSet, _ := c.Get(reg, "ldap.password", secret.Memory(), mapEnv(map[string]string{"DIRCONN_LDAP_PASSWORD": "x"}))
	if got != "(from environment variable DIRCONN_LDAP_PASSWORD)" || !isSet {
		t.Errorf("Get(ldap.password) with env = %q, %v", got, isSet)
	}
	got, isSet, _ = c.Get(reg, "ldap.password", secret.Memory(), noEnv)
	if got != "(not set)" || isSet {
		t.Errorf("Get(ldap.password) on an empty store = %q, %v", got, isSet)
	}

	// A secret's bad value is refused without quoting it.
	err = c.Set(reg, "ldap.bindToken", ldapPW, store)
	if err == nil || strings.Contains(err.Error(), ldapPW) || !strings.Contains(err.Error(), "too short") {
		t.Errorf("Set(ldap.bindToken, short) = %v, want a refusal that does not quote the value", err)
	}
	if err := c.Set(reg, "ldap.password", "  ", store); err == nil {
		t.Error("Set(ldap.password, blank) succeeded, want a refusal")
	}
	if err := c.SetRef(reg, "ldap.hostname", "env:X"); err == nil || !strings.Contains(err.Error(), "not a secret") {
		t.Errorf("SetRef on a non-secret key = %v, want a refusal", err)
	}
	if err := c.SetRef(reg, "ldap.password", "file:relative"); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("SetRef with a relative file = %v, want a refusal", err)
	}
}

func TestSecretSetBeforeFirstSaveKeepsScope(t *testing.T) {
	reg := testRegistry()
	dir := t.TempDir()
	store := secret.Memory()
	c := load(t, dir)
	if err := c.Set(reg, "clientSecret", clientSC, store); err != nil {
		t.Fatal(err)
	}
	// The caller forgot to Save: the scope the secret is filed under must still be on disk.
	again := load(t, dir)
	if again.SecretScope() != c.SecretScope() || again.DeviceID() != c.DeviceID() {
		t.Errorf("reloaded scope %q, device %q; want %q, %q", again.SecretScope(), again.DeviceID(), c.SecretScope(), c.DeviceID())
	}
}

func TestSetSecretReplacesRefAndUnset(t *testing.T) {
	reg := testRegistry()
	store := secret.Memory()
	c := load(t, t.TempDir())
	if err := c.SetRef(reg, "ldap.password", "env:PW"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(reg, "ldap.password", ldapPW, store); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.secretRefs["ldap.password"]; ok {
		t.Error("Set of a secret left its reference in place (the reference would shadow the new value)")
	}
	if err := c.SetRef(reg, "ldap.password", "env:PW"); err != nil {
		t.Fatal(err)
	}
	if err := c.Unset(reg, "ldap.password", store); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get("ldap.password"); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("store still holds ldap.password after Unset: %v", err)
	}
	if _, ok := c.secretRefs["ldap.password"]; ok {
		t.Error("Unset left the reference")
	}
	if err := c.Unset(reg, "ldap.password", store); err != nil {
		t.Errorf("second Unset: %v", err)
	}
	if err := c.Set(reg, "ldap.port", "636", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Unset(reg, "ldap.port", nil); err != nil {
		t.Fatal(err)
	}
	if got, isSet, _ := c.Get(reg, "ldap.port", nil, noEnv); got != "389" || isSet {
		t.Errorf("Get(ldap.port) after Unset = %q, %v; want the default", got, isSet)
	}
}

func TestRoundTrip(t *testing.T) {
	reg := testRegistry()
	dir := t.TempDir()
	c := load(t, dir)
	fresh := load(t, dir)
	if c.DeviceID() == fresh.DeviceID() || c.SecretScope() == fresh.SecretScope() || c.DeviceID() == c.SecretScope() {
		t.Error("unsaved configs share a deviceId or secretScope")
	}
	for _, kv := range [][2]string{
		{"server", "bw.example.com"}, {"timeout", "1m"}, {"clientId", orgID}, {"directory", "0"},
		{"ldap.hostname", "dc1"}, {"ldap.port", "636"}, {"ldap.ssl", "true"}, {"ldap.userPath", "007"},
		{"sync.userFilter", "(&(objectClass=person)(mail=*))"}, {"sync.deleteLimit", "5"}, {"sync.users", "false"},
		{"ldap.attributes", "mail,uid"}, {"entra.tenant", "true"},
	} {
		if err := c.Set(reg, kv[0], kv[1], nil); err != nil {
			t.Fatalf("Set(%q): %v", kv[0], err)
		}
	}
	if err := c.SetRef(reg, "azure.key", "file:/run/secrets/entra"); err != nil {
		t.Fatal(err)
	}
	c.extra["gui"] = json.RawMessage(`{"window":{"w":800}}`)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(c.Path())
	for _, want := range []string{`"version": 1`, `"port": 636`, `"ssl": true`, `"userPath": "007"`, `"users": false`,
		`"tenant": true`, `"userFilter": "(&(objectClass=person)(mail=*))"`, `"gui": {`, `"deviceId": "` + c.DeviceID()} {
		if !strings.Contains(string(data), want) {
			t.Errorf("config.json does not contain %s:\n%s", want, data)
		}
	}

	d := load(t, dir)
	if diff := cmp.Diff(c, d, cmp.AllowUnexported(Config{})); diff != "" {
		t.Errorf("Load(Save(c)) (-saved +loaded):\n%s", diff)
	}
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(c.Path()); string(again) != string(data) {
		t.Errorf("second Save changed the file:\n%s\nwant\n%s", again, data)
	}
}

func TestLoadHandEdited(t *testing.T) {
	dir := t.TempDir()
	content := `{"directory": "ldap", "timeout": 300, "directories": {"ldap": {"port": 389, "ssl": false,
		"attributes": ["mail", "uid"], "userPath": null}}, "sync": {"interval": "10m"}}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c := load(t, dir)
	if c.DeviceID() == "" || c.SecretScope() == "" || c.persisted {
		t.Errorf("a file without ids: deviceId %q, secretScope %q, persisted %v; want fresh ids to save", c.DeviceID(), c.SecretScope(), c.persisted)
	}
	want := map[string]directory.Values{"ldap": {"port": "389", "ssl": "false", "attributes": "mail,uid"}}
	if diff := cmp.Diff(want, c.directories); diff != "" {
		t.Errorf("directories (-want +got):\n%s", diff)
	}
	if c.global["timeout"] != "300" {
		t.Errorf("timeout = %q, want 300", c.global["timeout"])
	}
	err := c.Validate(testRegistry())
	if err == nil || !strings.Contains(err.Error(), `timeout: "300" is not a duration`) {
		t.Errorf("Validate = %v, want the bare 300 refused", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"syntax", "{\n  \"server\": \"x\",\n  oops\n}", ":3:3: invalid JSON: invalid character 'o'"},
		{"truncated", `{"server": "x"`, "invalid JSON: unexpected end of JSON input"},
		{"empty", ``, "invalid JSON"},
		{"array", `[1]`, "holds a JSON array, not a settings object"},
		{"null", `null`, "holds null"},
		{"newer version", `{"version": 2}`, "version 2 was written by a newer dirconn (this one reads version 1); upgrade dirconn"},
		{"old version", `{"version": 0}`, "unsupported version 0"},
		{"version type", `{"version": "1"}`, `version: "1" is not a whole number`},
		{"directories type", `{"directories": 5}`, "directories: not an object"},
		{"section type", `{"directories": {"ldap": []}}`, "directories.ldap: not an object"},
		{"value type", `{"directories": {"ldap": {"port": {}}}}`, "directories.ldap.port: expected a string"},
		{"sync type", `{"sync": {"users": [{}]}}`, "sync.users: a list may hold only"},
		{"refs type", `{"secretRefs": {"ldap.password": 1}}`, "secretRefs: not an object of strings"},
		{"global type", `{"server": {}}`, "server: expected a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(dir)
			if err == nil {
				t.Fatalf("Load = %+v, want an error", c)
			}
			if !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %q, want it to start with %s and contain %q", err, path, tt.want)
			}
			if got, _ := os.ReadFile(path); string(got) != tt.content {
				t.Error("Load changed the broken file")
			}
		})
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, FileName), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("Load of a config.json that is a directory succeeded")
	}
}

func TestSwitchDirectoryKeepsValues(t *testing.T) {
	reg := testRegistry()
	c := load(t, t.TempDir())
	for _, kv := range [][2]string{{"directory", "ldap"}, {"ldap.hostname", "dc1"}, {"directory", "entra"},
		{"entra.tenant", "t1"}, {"directory", "0"}} {
		if err := c.Set(reg, kv[0], kv[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, _, _ := c.Get(reg, "ldap.hostname", nil, noEnv); got != "dc1" {
		t.Errorf("ldap.hostname after switching away and back = %q, want dc1", got)
	}
	if got, _, _ := c.Get(reg, "entra.tenant", nil, noEnv); got != "t1" {
		t.Errorf("entra.tenant after switching away = %q, want t1", got)
	}
	if c.Directory() != "ldap" {
		t.Errorf("Directory() = %q, want ldap", c.Directory())
	}
}

func TestValidate(t *testing.T) {
	reg := testRegistry()
	c := load(t, t.TempDir())
	if err := c.Validate(reg); err == nil || err.Error() != "directory: no directory is selected; choose entra or 1 or azure, file, ldap or 0" {
		t.Errorf("Validate of an empty config = %v", err)
	}

	c.directory = "ldap"
	c.global["timeout"] = "soon"
	c.extra["clientSecret"] = json.RawMessage(`"x"`)
	c.directories["ldap"] = directory.Values{"port": "0", "password": ldapPW, "bogus": "1", "SSL": "true"}
	c.sync = directory.Values{"useEmailPrefixSuffix": "true", "interval": "1m", "bogus": "x", "groupFilter": "cn=x"}
	c.secretRefs = map[string]string{"ldap.password": "env:", "ldap.hostname": "env:X", "nope": "env:X"}
	err := c.Validate(reg)
	var errs directory.ConfigErrors
	if !errors.As(err, &errs) {
		t.Fatalf("Validate = %v (%T), want directory.ConfigErrors", err, err)
	}
	if !errors.Is(err, directory.ErrConfig) {
		t.Error("Validate's error does not wrap directory.ErrConfig")
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Key)
		if strings.Contains(e.Reason, ldapPW) {
			t.Errorf("%s: reason reveals the secret: %s", e.Key, e.Reason)
		}
	}
	want := []string{
		"timeout", "clientSecret",
		"ldap.hostname", "ldap.port", "ldap.SSL", "ldap.bogus", "ldap.password", "sync.groupFilter",
		"sync.interval", "sync.bogus", "sync.emailSuffix",
		"secretRefs.ldap.hostname", "ldap.password", "secretRefs.nope",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate keys (-want +got):\n%s\nerror: %v", diff, err)
	}

	ok := load(t, t.TempDir())
	for _, kv := range [][2]string{{"directory", "ldap"}, {"ldap.hostname", "dc1"}, {"sync.interval", "0"}} {
		if err := ok.Set(reg, kv[0], kv[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ok.Validate(reg); err != nil {
		t.Errorf("Validate of a good config = %v (%T)", err, err)
	}
	ok.directory = "okta"
	if err := ok.Validate(reg); err == nil || !strings.Contains(err.Error(), `"okta" is not a directory type this dirconn knows`) {
		t.Errorf("Validate with an unknown adapter = %v", err)
	}
}

func TestValues(t *testing.T) {
	reg := testRegistry()
	dir := t.TempDir()
	c := load(t, dir)
	store := secret.Memory()
	for _, kv := range [][2]string{{"directory", "ldap"}, {"ldap.hostname", "dc1"}, {"ldap.port", "636"},
		{"ldap.password", ldapPW}, {"entra.tenant", "t1"}} {
		if err := c.Set(reg, kv[0], kv[1], store); err != nil {
			t.Fatal(err)
		}
	}
	c.directories["ldap"]["bindToken"] = "typed-into-the-file" // must never be used
	got, err := c.Values(reg, "", store, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := directory.Values{"hostname": "dc1", "port": "636", "ssl": "false", "password": ldapPW,
		"mode": "simple", "pageTimeout": "30s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Values(ldap) (-want +got):\n%s", diff)
	}

	// Resolve order through the config: reference > $CREDENTIALS_DIRECTORY > DIRCONN_* > store.
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "ldap.password"), []byte("from-credential\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DIRCONN_LDAP_PASSWORD": "from-env"}
	check := func(want string) {
		t.Helper()
		v, err := c.Values(reg, "ldap", store, mapEnv(env))
		if err != nil || v["password"] != want {
			t.Errorf("password = %q, %v; want %q", v["password"], err, want)
		}
	}
	check("from-env")
	env[secret.CredentialsDirEnv] = creds
	check("from-credential")
	if err := c.SetRef(reg, "ldap.password", "env:MY_PW"); err != nil {
		t.Fatal(err)
	}
	env["MY_PW"] = "from-ref"
	check("from-ref")

	// A required secret set nowhere is an error naming the key; an optional one is left out.
	_, err = c.Values(reg, "azure", store, noEnv)
	if err == nil || !errors.Is(err, secret.ErrNotFound) || !strings.Contains(err.Error(), "entra.secretKey") ||
		!strings.Contains(err.Error(), "DIRCONN_ENTRA_SECRETKEY") {
		t.Errorf("Values(entra) without its key: err = %v", err)
	}
	got, err = c.Values(reg, "entra", store, mapEnv(map[string]string{"DIRCONN_ENTRA_SECRETKEY": entraKey}))
	if err != nil || got["secretKey"] != entraKey || got["tenant"] != "t1" {
		t.Errorf("Values(entra) = %v, %v", got, err)
	}
	if _, err := c.Values(reg, "okta", store, noEnv); err == nil {
		t.Error("Values(okta) succeeded for an adapter the registry lacks")
	}
	if got, err := c.Secret(reg, "ldap.password", store, mapEnv(map[string]string{"MY_PW": "x"})); err != nil || got.Reveal() != "x" {
		t.Errorf("Secret(ldap.password) = %v, %v", got, err)
	}
}

func TestEndpoints(t *testing.T) {
	reg := testRegistry()
	tests := []struct {
		set  map[string]string
		want Endpoints
	}{
		{nil, Endpoints{"https://api.bitwarden.com", "https://identity.bitwarden.com", CloudUS}},
		{map[string]string{"server": "bitwarden.eu"}, Endpoints{"https://api.bitwarden.eu", "https://identity.bitwarden.eu", CloudEU}},
		{map[string]string{"server": "bw.example.com/"}, Endpoints{"https://bw.example.com/api", "https://bw.example.com/identity", "https://bw.example.com"}},
		{map[string]string{"server": "bw.example.com", "apiUrl": "api.example.com", "identityUrl": "https://id.example.com",
			"webVaultUrl": "https://vault.example.com"},
			Endpoints{"https://api.example.com", "https://id.example.com", "https://vault.example.com"}},
	}
	for _, tt := range tests {
		c := load(t, t.TempDir())
		for k, v := range tt.set {
			if err := c.Set(reg, k, v, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.Endpoints(); got != tt.want {
			t.Errorf("Endpoints with %v = %+v, want %+v", tt.set, got, tt.want)
		}
	}
}

func TestDataDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(base, "xdg"))
	t.Setenv("HOME", filepath.Join(base, "home"))
	userDir, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(base)
	tests := []struct {
		name, flag string
		env        map[string]string
		want       string
	}{
		{"flag wins", filepath.Join(base, "flag"), map[string]string{HomeEnv: filepath.Join(base, "env")}, filepath.Join(base, "flag")},
		{"relative flag is made absolute", "rel/dir", nil, filepath.Join(base, "rel", "dir")},
		{"DIRCONN_HOME next", "", map[string]string{HomeEnv: filepath.Join(base, "env")}, filepath.Join(base, "env")},
		{"user config dir last", "", nil, filepath.Join(userDir, "dirconn")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DataDir(tt.flag, mapEnv(tt.env))
			if err != nil || got != tt.want {
				t.Fatalf("DataDir(%q, %v) = %q, %v; want %q", tt.flag, tt.env, got, err, tt.want)
			}
			fi, err := os.Stat(got)
			if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Errorf("%s: %v, %v; want a 0700 directory", got, fi.Mode(), err)
			}
		})
	}
	file := filepath.Join(base, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := DataDir(file, noEnv); err == nil {
		t.Error("DataDir on a file succeeded")
	}
}

func TestSaveAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	c := load(t, dir)
	for i := range 3 {
		c.global["caFile"] = fmt.Sprint(i)
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Errorf("data directory holds %v, want only %s", entries, FileName)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory created by Save has mode %v, want 0700", fi.Mode().Perm())
	}
	fi, _ = os.Stat(c.Path())
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode = %v, want 0600", fi.Mode().Perm())
	}
	// Save fixes a file made world-readable by hand.
	os.Chmod(c.Path(), 0o644)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(c.Path()); fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode after Save = %v, want 0600", fi.Mode().Perm())
	}
	// A failed write leaves the old file and no temp file.
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() != 0 { // root ignores directory permissions
		if err := c.Save(); err == nil {
			t.Error("Save into a read-only directory succeeded")
		}
		entries, _ = os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("after a failed Save the directory holds %v", entries)
		}
	}
}
