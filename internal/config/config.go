// Package config reads and writes dirconn's settings, which the CLI, the service and the desktop app share:
// the data directory (DataDir), config.json (Load, Save) and the flat key space the CLI's config command
// and the GUI's forms use ("server", "ldap.hostname", "sync.interval"; Keys, ResolveKey, Get, Set).
//
// config.json is versioned, written with mode 0600 by temp file + fsync + rename, and never holds a secret:
// secret keys (clientSecret and every adapter option marked Secret) go to a secret.Store, or config.json
// keeps a reference to where the secret is read at use time (secretRefs: "env:VAR", "file:/path").
//
// A Config is not safe for concurrent use. Two processes that Save the same file do not merge: the last
// write wins.
package config

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dirconn/dirconn/internal/atomicfile"
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/secret"
)

// FileName is the settings file's name in the data directory.
const FileName = "config.json"

// Version is the config.json format this package reads and writes.
const Version = 1

// Config is the content of one data directory's config.json.
type Config struct {
	dir string
	// persisted is true when config.json on disk holds this config's deviceId and secretScope.
	persisted bool

	deviceID    string
	secretScope string
	directory   string                      // canonical adapter name, "" when none is chosen
	global      directory.Values            // non-secret global keys except directory
	directories map[string]directory.Values // adapter name → option name → value
	sync        directory.Values
	secretRefs  map[string]string          // canonical secret key → "env:VAR" or "file:/path"
	extra       map[string]json.RawMessage // top-level fields this version does not know, kept as they are
}

func newConfig(dataDir string) *Config {
	return &Config{
		dir:         dataDir,
		global:      directory.Values{},
		directories: map[string]directory.Values{},
		sync:        directory.Values{},
		secretRefs:  map[string]string{},
		extra:       map[string]json.RawMessage{},
	}
}

// Load reads dataDir/config.json. A missing file gives the defaults with a fresh deviceId and secretScope
// (written by the first Save). A file that does not parse, or has a version other than 1, is an error
// naming the file; it is never silently replaced.
func Load(dataDir string) (*Config, error) {
	c := newConfig(dataDir)
	data, err := os.ReadFile(c.Path())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading settings: %w", err)
	default:
		if err := c.decode(data); err != nil {
			return nil, err
		}
		c.persisted = true
	}
	if c.deviceID == "" {
		c.deviceID = newID()
		c.persisted = false
	}
	if c.secretScope == "" {
		c.secretScope = newID()
		c.persisted = false
	}
	return c, nil
}

// Save writes config.json atomically with mode 0600, creating the data directory (0700) when missing.
func (c *Config) Save() error {
	data, err := c.encode()
	if err != nil {
		return fmt.Errorf("saving settings: %w", err)
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("saving settings: %w", err)
	}
	if err := atomicfile.WriteFile(c.Path(), data, 0o600); err != nil {
		return fmt.Errorf("saving settings to %s: %w", c.Path(), err)
	}
	c.persisted = true
	return nil
}

// Dir returns the data directory.
func (c *Config) Dir() string { return c.dir }

// Path returns config.json's path.
func (c *Config) Path() string { return filepath.Join(c.dir, FileName) }

// DeviceID returns the installation's device id (a UUID made once), sent when logging in to Bitwarden.
func (c *Config) DeviceID() string { return c.deviceID }

// SecretScope returns the installation's random id that scopes its secrets in the OS keyring.
func (c *Config) SecretScope() string { return c.secretScope }

// Directory returns the selected adapter's name, or "" when none is chosen.
func (c *Config) Directory() string { return c.directory }

// Secrets returns the secret store of this data directory (secret.Open with the config's secretScope).
// env reads environment variables; nil means os.Getenv.
func (c *Config) Secrets(env func(string) string) secret.Store {
	return secret.Open(c.dir, c.secretScope, env)
}

// newID returns a random (version 4) UUID.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// globalFileKeys are the global keys config.json holds at its top level.
func globalFileKeys() []string {
	var out []string
	for _, o := range GlobalOptions {
		if !o.Secret && o.Name != KeyDirectory {
			out = append(out, o.Name)
		}
	}
	return out
}

// decode fills c from config.json's content.
func (c *Config) decode(data []byte) error {
	path := c.Path()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return jsonError(path, data, err)
	}
	if top == nil {
		return fmt.Errorf("%s: the file holds null, not a settings object", path)
	}
	if raw, ok := top["version"]; ok {
		var v int
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s: version: %s is not a whole number", path, raw)
		}
		switch {
		case v > Version:
			return fmt.Errorf("%s: version %d was written by a newer dirconn (this one reads version %d); upgrade dirconn", path, v, Version)
		case v != Version:
			return fmt.Errorf("%s: unsupported version %d (this dirconn reads version %d)", path, v, Version)
		}
		delete(top, "version")
	}
	str := func(name string) (string, error) {
		raw, ok := top[name]
		if !ok {
			return "", nil
		}
		delete(top, name)
		v, _, err := scalar(raw)
		if err != nil {
			return "", fmt.Errorf("%s: %s: %w", path, name, err)
		}
		return v, nil
	}
	var err error
	if c.deviceID, err = str("deviceId"); err != nil {
		return err
	}
	if c.secretScope, err = str("secretScope"); err != nil {
		return err
	}
	if c.directory, err = str(KeyDirectory); err != nil {
		return err
	}
	for _, k := range globalFileKeys() {
		v, err := str(k)
		if err != nil {
			return err
		}
		if v != "" {
			c.global[k] = v
		}
	}
	if raw, ok := top["directories"]; ok {
		delete(top, "directories")
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%s: directories: not an object of directory settings", path)
		}
		for name, raw := range m {
			v, err := values(raw)
			if err != nil {
				return fmt.Errorf("%s: directories.%s%w", path, name, err)
			}
			c.directories[name] = v
		}
	}
	if raw, ok := top[SyncSection]; ok {
		delete(top, SyncSection)
		v, err := values(raw)
		if err != nil {
			return fmt.Errorf("%s: sync%w", path, err)
		}
		c.sync = v
	}
	if raw, ok := top["secretRefs"]; ok {
		delete(top, "secretRefs")
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%s: secretRefs: not an object of strings such as {\"ldap.password\": \"env:LDAP_PASSWORD\"}", path)
		}
		for k, v := range m {
			c.secretRefs[k] = v
		}
	}
	for k, raw := range top {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err == nil {
			top[k] = b.Bytes()
		}
	}
	c.extra = top
	return nil
}

// values decodes a section object. Its values may be strings, numbers, booleans or arrays of those (a
// list); null means unset. The error starts with ".<name>: " or ": ".
func values(raw json.RawMessage) (directory.Values, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errors.New(": not an object")
	}
	out := directory.Values{}
	for k, raw := range m {
		v, ok, err := scalar(raw)
		if err != nil {
			return nil, fmt.Errorf(".%s: %w", k, err)
		}
		if ok {
			out[k] = v
		}
	}
	return out, nil
}

// scalar turns a JSON value into a setting's string form; ok is false for null.
func scalar(raw json.RawMessage) (v string, ok bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return "", false, err
	}
	one := func(x any) (string, bool) {
		switch x := x.(type) {
		case string:
			return x, true
		case bool:
			return strconv.FormatBool(x), true
		case json.Number:
			return x.String(), true
		}
		return "", false
	}
	switch x := x.(type) {
	case nil:
		return "", false, nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := one(e)
			if !ok {
				return "", false, errors.New("a list may hold only strings, numbers and booleans")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), true, nil
	}
	s, ok := one(x)
	if !ok {
		return "", false, errors.New("expected a string, a number or true/false")
	}
	return s, true, nil
}

// jsonError names the file, and the line and column of a syntax error.
func jsonError(path string, data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := 1, 1
		for _, b := range data[:min(max(int(se.Offset)-1, 0), len(data))] { // Offset is just past the bad byte
			if b == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return fmt.Errorf("%s:%d:%d: invalid JSON: %w", path, line, col, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: the file holds a JSON %s, not a settings object", path, te.Value)
	}
	return fmt.Errorf("%s: invalid JSON: %w", path, err)
}

// fileField is one top-level field of config.json; skip leaves it out.
type fileField struct {
	name string
	v    any
	skip bool
}

// encode returns config.json's content: known fields in a fixed order, then unknown ones, indented.
func (c *Config) encode() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	add := func(name string, v any) error {
		raw, err := marshal(v) // a json.RawMessage marshals as itself
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		k, _ := marshal(name)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(raw)
		return nil
	}
	fields := []fileField{
		{"version", Version, false},
		{"deviceId", c.deviceID, false},
		{"secretScope", c.secretScope, false},
	}
	for _, k := range globalFileKeys() {
		fields = append(fields, fileField{k, c.global[k], c.global[k] == ""})
	}
	dirs := encodeSections(c.directories)
	fields = append(fields, []fileField{
		{KeyDirectory, c.directory, c.directory == ""},
		{"directories", dirs, dirs == nil},
		{SyncSection, encodeValues(c.sync), len(c.sync) == 0},
		{"secretRefs", c.secretRefs, len(c.secretRefs) == 0},
	}...)
	for _, k := range sortedKeys(c.extra) {
		fields = append(fields, fileField{k, c.extra[k], false})
	}
	for _, f := range fields {
		if f.skip {
			continue
		}
		if err := add(f.name, f.v); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func encodeSections(m map[string]directory.Values) json.RawMessage {
	var buf bytes.Buffer
	for _, name := range sortedKeys(m) {
		if len(m[name]) == 0 {
			continue
		}
		if buf.Len() > 0 {
			buf.WriteByte(',')
		}
		k, _ := marshal(name)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(encodeValues(m[name]))
	}
	if buf.Len() == 0 {
		return nil
	}
	return json.RawMessage("{" + buf.String() + "}")
}

// encodeValues writes a section with typed JSON values where that loses nothing: "true"/"false" as
// booleans and canonical whole numbers as numbers, so people editing the file see {"port": 636, "ssl": true}.
// scalar reads each back to the identical string.
func encodeValues(v directory.Values) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range sortedKeys(v) {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		s := v[k]
		if n, err := strconv.ParseInt(s, 10, 64); s == "true" || s == "false" || (err == nil && strconv.FormatInt(n, 10) == s) {
			buf.WriteString(s)
		} else {
			sb, _ := marshal(s)
			buf.Write(sb)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// marshal is json.Marshal without HTML escaping, so filters such as (&(a=b)) stay readable in the file.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
