package googlefake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ServiceAccount is a Google Cloud service account with one key, made up for a test. Its private key is
// what an admin downloads as a JSON key; the fake's token endpoint knows only the public half.
type ServiceAccount struct {
	// Email is the account's client_email, e.g. dirconn@project.iam.gserviceaccount.com.
	Email string
	// ClientID is the account's numeric OAuth client ID, the one an admin authorizes for domain-wide
	// delegation in the Admin console.
	ClientID string
	// KeyID is the key's private_key_id.
	KeyID string
	// Key is the private key.
	Key *rsa.PrivateKey
}

// NewServiceAccount makes a service account with a fresh 2048-bit RSA key, like the keys Google issues.
func NewServiceAccount(email, clientID string) (*ServiceAccount, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 20)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return &ServiceAccount{Email: email, ClientID: clientID, KeyID: hex.EncodeToString(id), Key: k}, nil
}

// PEM returns the private key as Google writes it into a JSON key: PKCS #8, "BEGIN PRIVATE KEY".
func (sa *ServiceAccount) PEM() string {
	der, err := x509.MarshalPKCS8PrivateKey(sa.Key)
	if err != nil {
		panic(err) // an RSA key always marshals
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// JSONKey returns the service account's JSON key file as the Google Cloud console downloads it, with
// tokenURI as its token_uri.
func (sa *ServiceAccount) JSONKey(tokenURI string) []byte {
	project := "dirconn-test"
	if _, domain, ok := strings.Cut(sa.Email, "@"); ok {
		project, _, _ = strings.Cut(domain, ".")
	}
	b, err := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  project,
		"private_key_id":              sa.KeyID,
		"private_key":                 sa.PEM(),
		"client_email":                sa.Email,
		"client_id":                   sa.ClientID,
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   tokenURI,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/" + strings.ReplaceAll(sa.Email, "@", "%40"),
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// Assertion is the claim set of a JWT bearer assertion sent to the token endpoint, with the fake's verdict.
type Assertion struct {
	KeyID string `json:"-"`
	Alg   string `json:"-"`
	Iss   string `json:"iss"`
	Sub   string `json:"sub"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
	// Result is "ok" for an assertion that got a token, else the OAuth error code returned.
	Result string `json:"-"`
}

// Scopes returns the assertion's scopes.
func (a Assertion) Scopes() []string { return strings.Fields(a.Scope) }

// parseAssertion splits and decodes a compact JWS. It checks the shape and the algorithm, not the
// signature; signed returns the bytes the signature covers.
func parseAssertion(jwt string) (a Assertion, signed, sig []byte, err error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return a, nil, nil, errors.New("not a compact JWS")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return a, nil, nil, fmt.Errorf("header: %w", err)
	}
	if err := decodeSegment(parts[1], &a); err != nil {
		return a, nil, nil, fmt.Errorf("claims: %w", err)
	}
	a.Alg, a.KeyID = hdr.Alg, hdr.Kid
	if a.Sub == "" {
		// prn is the old name of sub; x/oauth2 sends both.
		var legacy struct {
			Prn string `json:"prn"`
		}
		_ = decodeSegment(parts[1], &legacy)
		a.Sub = legacy.Prn
	}
	sig, err = base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return a, nil, nil, fmt.Errorf("signature: %w", err)
	}
	return a, []byte(parts[0] + "." + parts[1]), sig, nil
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// verifyRS256 checks an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature.
func verifyRS256(pub *rsa.PublicKey, signed, sig []byte) error {
	sum := sha256.Sum256(signed)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}
