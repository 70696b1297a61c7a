package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/secret"
)

// storedSecurely is the placeholder the Directory Connector writes into data.json for a secret that lives
// in the OS keychain.
const storedSecurely = "[STORED SECURELY]"

// ImportReport says what an import of the Directory Connector's data.json did.
type ImportReport struct {
	// Imported lists the keys set, with their values (secrets shown as set, never their value).
	Imported []ImportedKey `json:"imported"`
	// Skipped lists what was not imported and why.
	Skipped []ImportedKey `json:"skipped"`
	// OrganizationID is the organization data.json was logged in to (the API key itself lives in the
	// Directory Connector's keychain and cannot be imported: run dirconn login).
	OrganizationID string `json:"organizationId,omitempty"`
}

// ImportedKey is one line of an ImportReport.
type ImportedKey struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// bwdcDirectories maps data.json's directory configuration keys to adapter names and the directoryType
// numbers (specs/anchor-dc.md 1.2 and 1.3).
var bwdcDirectories = []struct {
	key, adapter string
	number       int
}{
	{"directoryLdap", "ldap", 0},
	{"directoryEntra", "entra", 1},
	{"directoryAzure", "entra", 1}, // older name
	{"directoryGsuite", "google", 2},
	{"directoryOkta", "okta", 3},
	{"directoryOnelogin", "onelogin", 4},
}

// bwdcIgnored are data.json fields with no dirconn setting, and why: "field" for every directory and the
// sync section, "adapter.field" for one directory only.
var bwdcIgnored = map[string]string{
	"id":                    "the Directory Connector's secret scope; dirconn has its own",
	"ldap.currentUser":      "never used by the Directory Connector (binds always need a user and password)",
	"ldap.domain":           "never read by the Directory Connector",
	"creationDateAttribute": "never read by the Directory Connector",
	"revisionDateAttribute": "dirconn reads the whole directory every time and compares it with the organization",
}

func bwdcIgnoredWhy(section, field string) (string, bool) {
	if why, ok := bwdcIgnored[section+"."+field]; ok {
		return why, true
	}
	why, ok := bwdcIgnored[field]
	return why, ok
}

// BwdcDataFile returns where the Directory Connector keeps data.json on this machine (first match of its
// own rules, specs/anchor-dc.md 1.4), or "" when there is none.
func BwdcDataFile(env func(string) string) string {
	var dirs []string
	for _, v := range []string{"BITWARDENCLI_CONNECTOR_APPDATA_DIR", "BITWARDEN_CONNECTOR_APPDATA_DIR"} {
		if d := env(v); d != "" {
			dirs = append(dirs, d)
		}
	}
	const name = "Bitwarden Directory Connector"
	home, _ := os.UserHomeDir()
	switch runtime.GOOS {
	case "darwin":
		dirs = append(dirs, filepath.Join(home, "Library", "Application Support", name))
	case "windows":
		dirs = append(dirs, filepath.Join(env("APPDATA"), name))
	default:
		if x := env("XDG_CONFIG_HOME"); x != "" {
			dirs = append(dirs, filepath.Join(x, name))
		}
		dirs = append(dirs, filepath.Join(home, ".config", name))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "data.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// ImportBwdc reads the Directory Connector's data.json (state version 5 and later: flat keys) and sets
// the matching dirconn settings: the server URLs, the directory type and its settings, and the sync
// section. Secrets kept in the keychain ("[STORED SECURELY]") cannot be read and are reported; secrets
// written inline (its plaintext mode) go to secrets. Nothing is saved: call Save afterwards.
func (c *Config) ImportBwdc(reg *directory.Registry, data []byte, secrets secret.Store) (*ImportReport, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("data.json is not a JSON object: %w", err)
	}
	if _, ok := raw["sync"]; !ok {
		if _, old := raw["global"]; old {
			return nil, fmt.Errorf("this data.json uses the Directory Connector's old layout (before state version 5): open it once with Directory Connector 2.9 or later to migrate it, then import again")
		}
		if _, ok := raw["directoryType"]; !ok {
			return nil, fmt.Errorf("this does not look like the Directory Connector's data.json (no sync or directoryType)")
		}
	}
	r := &ImportReport{Imported: []ImportedKey{}, Skipped: []ImportedKey{}}
	set := func(key, value string) {
		k, err := c.ResolveKey(reg, key)
		if err != nil {
			r.Skipped = append(r.Skipped, ImportedKey{Key: key, Reason: "no such setting in this dirconn"})
			return
		}
		if k.Option.Secret {
			switch {
			case value == storedSecurely:
				r.Skipped = append(r.Skipped, ImportedKey{Key: k.Name, Reason: "kept in the Directory Connector's keychain; set it with: dirconn config set " + k.Name + " --from-env VAR (or --from-file F, or a value)"})
				return
			case value == "":
				return
			}
		}
		if err := c.Set(reg, k.Name, value, secrets); err != nil {
			r.Skipped = append(r.Skipped, ImportedKey{Key: k.Name, Reason: err.Error()})
			return
		}
		shown := value
		if k.Option.Secret {
			shown = "(secret imported)"
		}
		r.Imported = append(r.Imported, ImportedKey{Key: k.Name, Value: shown})
	}

	var s string
	if json.Unmarshal(raw["organizationId"], &s) == nil {
		r.OrganizationID = s
	}
	var urls map[string]any
	if json.Unmarshal(raw["environmentUrls"], &urls) == nil {
		for _, m := range [][2]string{{"base", KeyServer}, {"api", KeyAPIURL}, {"identity", KeyIdentityURL}, {"webVault", KeyWebVaultURL}} {
			if v := scalarString(urls[m[0]]); v != "" {
				set(m[1], v)
			}
		}
	}

	// The directory type first: sync.userPath and the like resolve against it.
	var dirType json.Number
	if json.Unmarshal(raw["directoryType"], &dirType) == nil && dirType != "" {
		set(KeyDirectory, dirType.String())
	}
	for _, d := range bwdcDirectories {
		var fields map[string]any
		if json.Unmarshal(raw[d.key], &fields) != nil || len(fields) == 0 {
			continue
		}
		if _, ok := reg.Lookup(d.adapter); !ok {
			r.Skipped = append(r.Skipped, ImportedKey{Key: d.key, Reason: "this dirconn has no " + d.adapter + " directory yet"})
			continue
		}
		for _, name := range sortedKeys(fields) {
			if why, ok := bwdcIgnoredWhy(d.adapter, name); ok {
				r.Skipped = append(r.Skipped, ImportedKey{Key: d.adapter + "." + name, Reason: why})
				continue
			}
			v := scalarString(fields[name])
			if v == "" {
				continue
			}
			set(d.adapter+"."+name, v)
		}
	}

	var sync map[string]any
	if json.Unmarshal(raw["sync"], &sync) == nil {
		for _, name := range sortedKeys(sync) {
			if why, ok := bwdcIgnoredWhy(SyncSection, name); ok {
				r.Skipped = append(r.Skipped, ImportedKey{Key: "sync." + name, Reason: why})
				continue
			}
			v := scalarString(sync[name])
			if name == "interval" {
				v = bwdcInterval(sync[name])
			}
			if v == "" {
				continue
			}
			set(SyncSection+"."+name, v)
		}
	}
	slices.SortFunc(r.Skipped, func(a, b ImportedKey) int { return strings.Compare(a.Key, b.Key) })
	return r, nil
}

// bwdcInterval turns the Directory Connector's interval in minutes (null or <= 0: off) into a duration.
func bwdcInterval(v any) string {
	n, err := strconv.Atoi(scalarString(v))
	switch {
	case v == nil, err == nil && n <= 0:
		return "0"
	case err != nil:
		return ""
	case n < 5:
		n = 5 // the Directory Connector's own minimum
	}
	return fmt.Sprintf("%dm", n)
}

// scalarString renders a JSON scalar as a setting value ("" for null, objects and arrays).
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}
