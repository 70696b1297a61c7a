package google

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
)

// maxKeyFile bounds the key file read: a JSON key is about 2.3 KiB.
const maxKeyFile = 1 << 20

// credentials identify the service account for one read.
type credentials struct {
	email    string
	clientID string // the numeric OAuth client ID; known only from a key file
	keyID    string
	key      []byte // PEM
}

// clientIDHint names the client ID to authorize in the Admin console, or says where to find it.
func (c *credentials) clientIDHint() string {
	if c.clientID != "" {
		return c.clientID
	}
	return "of " + c.email + " (its Unique ID in Google Cloud console > IAM & Admin > Service accounts; client_id in its JSON key)"
}

// serviceAccountKey is the JSON key file the Google Cloud console downloads.
type serviceAccountKey struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	ClientID     string `json:"client_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
}

// credentials returns the service account to authenticate as: from google.keyFile (read now) or from
// google.clientEmail and google.privateKey. Problems are *directory.ConfigError naming the setting and
// never contain the key.
func (s *Source) credentials() (*credentials, error) {
	if s.s.keyFile == "" {
		return &credentials{email: s.s.clientEmail, key: s.s.privateKey}, nil
	}
	bad := func(format string, a ...any) error {
		return &directory.ConfigError{Key: "google." + optKeyFile, Reason: fmt.Sprintf(format, a...)}
	}
	f, err := os.Open(s.s.keyFile)
	if err != nil {
		return nil, bad("cannot read the service account key: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, bad("cannot read the service account key %s: %v", s.s.keyFile, err)
	}
	if len(data) > maxKeyFile {
		return nil, bad("%s is larger than a service account key can be", s.s.keyFile)
	}
	var k serviceAccountKey
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, bad("%s is not a JSON key file (download one in Google Cloud console > IAM & Admin > Service accounts > Keys > Add key > JSON)", s.s.keyFile)
	}
	switch {
	case k.Type != "service_account":
		return nil, bad("%s holds a %q key, not a service account key (\"type\": \"service_account\")", s.s.keyFile, k.Type)
	case strings.TrimSpace(k.ClientEmail) == "":
		return nil, bad("%s has no client_email", s.s.keyFile)
	case strings.TrimSpace(k.PrivateKey) == "":
		return nil, bad("%s has no private_key", s.s.keyFile)
	}
	c := &credentials{
		email:    strings.TrimSpace(k.ClientEmail),
		clientID: strings.TrimSpace(k.ClientID),
		keyID:    strings.TrimSpace(k.PrivateKeyID),
		key:      []byte(normalizeKey(k.PrivateKey)),
	}
	if err := checkPrivateKey(c.key); err != nil {
		return nil, bad("the private_key in %s %s", s.s.keyFile, err)
	}
	if s.s.clientEmail != "" && !strings.EqualFold(s.s.clientEmail, c.email) {
		return nil, &directory.ConfigError{Key: "google." + optClientEmail, Reason: fmt.Sprintf(
			"%s differs from the client_email %s in google.keyFile (%s): unset google.clientEmail, or fix the key file",
			s.s.clientEmail, c.email, s.s.keyFile)}
	}
	return c, nil
}
