package secret

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Ref points at a secret kept outside dirconn, read each time the secret is used. Its text form, kept in
// config.json's secretRefs, is "env:VAR" or "file:/absolute/path".
type Ref struct {
	Kind   string // RefEnv or RefFile
	Target string // the variable name or the absolute file path
}

// Kinds of Ref.
const (
	RefEnv  = "env"
	RefFile = "file"
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseRef parses "env:VAR" or "file:/absolute/path".
func ParseRef(s string) (Ref, error) {
	kind, target, ok := strings.Cut(strings.TrimSpace(s), ":")
	target = strings.TrimSpace(target)
	switch {
	case !ok:
	case kind == RefEnv:
		if !envName.MatchString(target) {
			return Ref{}, fmt.Errorf("secret reference %q: %q is not an environment variable name", s, target)
		}
		return Ref{Kind: RefEnv, Target: target}, nil
	case kind == RefFile:
		if !filepath.IsAbs(target) {
			return Ref{}, fmt.Errorf("secret reference %q: the file path must be absolute", s)
		}
		return Ref{Kind: RefFile, Target: filepath.Clean(target)}, nil
	}
	return Ref{}, fmt.Errorf("secret reference %q is neither env:VAR nor file:/absolute/path", s)
}

func (r Ref) String() string { return r.Kind + ":" + r.Target }

// read returns the value r points at. env is how environment variables are read.
func (r Ref) read(key string, env func(string) string) (Secret, error) {
	switch r.Kind {
	case RefEnv:
		v := env(r.Target)
		if v == "" {
			return "", fmt.Errorf("secret %s is read from environment variable %s, which is not set or empty", key, r.Target)
		}
		return Secret(v), nil
	case RefFile:
		return readSecretFile(key, r.Target)
	}
	return "", fmt.Errorf("secret %s: unknown reference kind %q", key, r.Kind)
}

// maxSecretFile bounds what a secret file may hold; a larger file is a mistake (a wrong path, /dev/zero).
const maxSecretFile = 1 << 20

// readSecretFile reads a secret from a file: its whole content less surrounding white space (so a
// trailing newline does not count, and a multi-line PEM private key survives).
func readSecretFile(key, path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("secret %s: reading secret file: %w", key, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("secret %s: reading secret file: %w", key, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("secret %s: secret file %s is larger than 1 MiB", key, path)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret %s: secret file %s is empty", key, path)
	}
	return Secret(v), nil
}

// EnvVar returns the environment variable that provides key: "DIRCONN_" + key uppercased with "." and
// "-" turned into "_" ("ldap.password" → DIRCONN_LDAP_PASSWORD, "clientSecret" → DIRCONN_CLIENTSECRET).
func EnvVar(key string) string {
	return "DIRCONN_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(key))
}

// CredentialsDirEnv is the variable systemd sets for a service with LoadCredential= or SetCredential=.
const CredentialsDirEnv = "CREDENTIALS_DIRECTORY"

// Resolve returns the value of the secret key. The first source that is configured wins:
//
//  1. ref, the key's explicit reference from config.json ("env:VAR" or "file:/path"), when not empty;
//  2. the file $CREDENTIALS_DIRECTORY/<key>, when it exists (systemd LoadCredential=<key>:FILE);
//  3. the environment variable DIRCONN_<KEY> (see EnvVar), when not empty;
//  4. store (skipped when nil).
//
// A source that is configured but broken (a reference to an unset variable, an empty credential file, an
// unusable keyring) is an error; it does not fall through to the next. A key found nowhere gives an error
// wrapping ErrNotFound that names the key and the ways to provide it. env reads environment variables
// (nil means os.Getenv). No error contains a secret's value.
func Resolve(key string, ref string, store Store, env func(string) string) (Secret, error) {
	s, _, err := Lookup(key, ref, store, env)
	return s, err
}

// Lookup is Resolve that also says where the value came from, for people ("from environment variable
// DIRCONN_LDAP_PASSWORD", "stored in OS keyring (Secret Service)"); from is empty when err is not nil.
func Lookup(key string, ref string, store Store, env func(string) string) (s Secret, from string, err error) {
	if env == nil {
		env = os.Getenv
	}
	if strings.TrimSpace(ref) != "" {
		r, err := ParseRef(ref)
		if err != nil {
			return "", "", fmt.Errorf("secret %s: %w", key, err)
		}
		s, err := r.read(key, env)
		if err != nil {
			return "", "", err
		}
		if r.Kind == RefEnv {
			return s, "from environment variable " + r.Target + " (reference)", nil
		}
		return s, "from file " + r.Target + " (reference)", nil
	}
	if dir := env(CredentialsDirEnv); dir != "" && isPlainName(key) {
		p := filepath.Join(dir, key)
		_, err := os.Stat(p)
		switch {
		case err == nil:
			s, err := readSecretFile(key, p)
			if err != nil {
				return "", "", err
			}
			return s, "from systemd credential " + p, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", "", fmt.Errorf("secret %s: checking systemd credential: %w", key, err)
		}
	}
	if v := env(EnvVar(key)); v != "" {
		return Secret(v), "from environment variable " + EnvVar(key), nil
	}
	if store != nil {
		v, err := store.Get(key)
		switch {
		case err == nil && v != "":
			return Secret(v), "stored in " + store.Name(), nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return "", "", fmt.Errorf("secret %s: %w", key, err)
		}
	}
	where := "the secret store"
	if store != nil {
		where = "the " + store.Name()
	}
	return "", "", &notSetError{key: key, store: where}
}

// isPlainName reports whether key can name a file inside $CREDENTIALS_DIRECTORY without leaving it.
func isPlainName(key string) bool {
	return key != "" && key != "." && key != ".." && !strings.ContainsAny(key, `/\`)
}

// notSetError is a secret provided by no source.
type notSetError struct{ key, store string }

func (e *notSetError) Error() string {
	return fmt.Sprintf("secret %[1]s is not set; store it in %[2]s with dirconn config set %[1]s, "+
		"point at it with dirconn config set %[1]s --from-env VAR or --from-file FILE, "+
		"set the environment variable %[3]s, or give the service a systemd credential named %[1]s "+
		"(LoadCredential=%[1]s:FILE)", e.key, e.store, EnvVar(e.key))
}

func (e *notSetError) Unwrap() error { return ErrNotFound }

// PlaintextEnv is the variable that opts in to FileStore.
const PlaintextEnv = "DIRCONN_PLAINTEXT_SECRETS"

// SecretsFile is the name of FileStore's file in the data directory.
const SecretsFile = "secrets.json"

// Open returns the store for the data directory dataDir: FileStore(dataDir/secrets.json) when
// DIRCONN_PLAINTEXT_SECRETS is true (true, 1, yes or on), else Keyring(KeyringService, scope). env reads
// environment variables (nil means os.Getenv).
func Open(dataDir, scope string, env func(string) string) Store {
	if env == nil {
		env = os.Getenv
	}
	if Plaintext(env) {
		return FileStore(filepath.Join(dataDir, SecretsFile))
	}
	return Keyring(KeyringService, scope)
}

// Plaintext reports whether DIRCONN_PLAINTEXT_SECRETS opts in to the file store.
func Plaintext(env func(string) string) bool {
	if env == nil {
		env = os.Getenv
	}
	switch strings.ToLower(strings.TrimSpace(env(PlaintextEnv))) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}
