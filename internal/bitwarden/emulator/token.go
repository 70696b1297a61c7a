package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

const scopeOrganization = "api.organization"

var (
	keyOnce    sync.Once
	signingKey *rsa.PrivateKey
	keyID      string
)

// key returns the RSA key every emulator in this process signs its tokens with.
func key() (*rsa.PrivateKey, string) {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(fmt.Sprintf("emulator: generating the signing key: %v", err))
		}
		sum := sha256.Sum256(k.PublicKey.N.Bytes())
		signingKey, keyID = k, strings.ToUpper(hex.EncodeToString(sum[:16]))
	})
	return signingKey, keyID
}

var b64 = base64.RawURLEncoding

func signJWT(header, claims any) string {
	k, _ := key()
	unsigned := b64.EncodeToString(marshal(header)) + "." + b64.EncodeToString(marshal(claims))
	digest := sha256.Sum256([]byte(unsigned))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	if err != nil {
		panic(fmt.Sprintf("emulator: signing a token: %v", err))
	}
	return unsigned + "." + b64.EncodeToString(sig)
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ"`
}

// tokenClaims holds the claims of both servers' tokens; Bitwarden's field order (Duende) comes first.
type tokenClaims struct {
	Iss        string   `json:"iss"`
	Nbf        int64    `json:"nbf"`
	Iat        int64    `json:"iat,omitempty"`
	Exp        int64    `json:"exp"`
	Sub        string   `json:"sub,omitempty"`
	Scope      []string `json:"scope"`
	ClientID   string   `json:"client_id"`
	ClientSub  string   `json:"client_sub"`
	ClientType string   `json:"client_type,omitempty"`
	Jti        string   `json:"jti,omitempty"`
}

// vaultwardenClaims is OrgApiKeyLoginJwtClaims in its field order.
type vaultwardenClaims struct {
	Nbf       int64    `json:"nbf"`
	Exp       int64    `json:"exp"`
	Iss       string   `json:"iss"`
	Sub       string   `json:"sub"`
	ClientID  string   `json:"client_id"`
	ClientSub string   `json:"client_sub"`
	Scope     []string `json:"scope"`
}

func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// issue signs a token for this organization with the given scopes. Call with s.mu held.
func (s *Server) issue(issuer string, scopes []string) string {
	now := s.now()
	exp := now.Add(s.opts.TokenLifetime).Unix()
	var tok string
	if s.profile == Vaultwarden {
		tok = signJWT(jwtHeader{Alg: "RS256", Typ: "JWT"}, vaultwardenClaims{
			Nbf: now.Unix(), Exp: exp, Iss: issuer + "|" + scopes[0], Sub: s.apiKeyID,
			ClientID: s.ClientID(), ClientSub: s.orgID, Scope: scopes,
		})
	} else {
		_, kid := key()
		tok = signJWT(jwtHeader{Alg: "RS256", Kid: kid, Typ: "at+jwt"}, tokenClaims{
			Iss: issuer, Nbf: now.Unix(), Iat: now.Unix(), Exp: exp, Scope: scopes,
			ClientID: s.ClientID(), ClientSub: s.orgID, ClientType: "Organization",
			Jti: strings.ToUpper(strings.ReplaceAll(newGUID(), "-", "")),
		})
	}
	s.serial++
	s.issued[tokenHash(tok)] = s.serial
	return tok
}

// IssueToken signs a token as the token route would, with the given scopes (default api.organization).
// Tests use it for tokens the route never hands out, e.g. IssueToken("api") for a user token (row I2).
func (s *Server) IssueToken(scopes ...string) string {
	if len(scopes) == 0 {
		scopes = []string{scopeOrganization}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue("http://localhost", scopes)
}

// RevokeTokens makes every token issued so far answer 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokedUpTo = s.serial
}

// verify checks the signature of a token this server issued and not revoked, and returns its header and
// claims. Call with s.mu held.
func (s *Server) verify(tok string) (jwtHeader, tokenClaims, bool) {
	var h jwtHeader
	var c tokenClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return h, c, false
	}
	if serial, ok := s.issued[tokenHash(tok)]; !ok || serial <= s.revokedUpTo {
		return h, c, false
	}
	k, _ := key()
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return h, c, false
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return h, c, false
	}
	hb, err1 := b64.DecodeString(parts[0])
	cb, err2 := b64.DecodeString(parts[1])
	if err1 != nil || err2 != nil || json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		return h, c, false
	}
	return h, c, h.Alg == "RS256"
}

// clockSkew is JwtBearer's default tolerance on exp and nbf.
const clockSkew = 5 * time.Minute

// authorize is the API's bearer check: nil when the request may go on, else the answer.
func (s *Server) authorize(r *http.Request) *reply {
	if s.profile == Vaultwarden {
		return s.authorizeVaultwarden(r)
	}
	tok := ""
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
		tok = strings.TrimSpace(a[7:])
	} else {
		tok = r.URL.Query().Get("access_token")
	}
	challenge := func(params string) *reply {
		rp := empty(http.StatusUnauthorized).with("WWW-Authenticate", "Bearer"+params)
		return &rp
	}
	if tok == "" {
		return challenge("")
	}
	s.mu.Lock()
	h, c, ok := s.verify(tok)
	s.mu.Unlock()
	if !ok || h.Typ != "at+jwt" {
		return challenge(` error="invalid_token"`)
	}
	now := s.now()
	if exp := time.Unix(c.Exp, 0).UTC(); exp.Before(now.Add(-clockSkew)) {
		return challenge(fmt.Sprintf(` error="invalid_token", error_description="The token expired at '%s'"`, exp.Format("01/02/2006 15:04:05")))
	}
	if nbf := time.Unix(c.Nbf, 0).UTC(); nbf.After(now.Add(clockSkew)) {
		return challenge(fmt.Sprintf(` error="invalid_token", error_description="The token is not valid before '%s'"`, nbf.Format("01/02/2006 15:04:05")))
	}
	if !slices.Contains(c.Scope, scopeOrganization) {
		rp := empty(http.StatusForbidden)
		return &rp
	}
	return nil
}

// authorizeVaultwarden is Vaultwarden's PublicToken guard; every failure is Rocket's 401 catcher.
func (s *Server) authorizeVaultwarden(r *http.Request) *reply {
	fail := rocketCatcher(r, http.StatusUnauthorized)
	a := r.Header.Get("Authorization")
	if a == "" {
		return &fail
	}
	// Vaultwarden takes what follows the last "Bearer " (or the whole header).
	tok := a
	if i := strings.LastIndex(a, "Bearer "); i >= 0 {
		tok = a[i+len("Bearer "):]
	}
	s.mu.Lock()
	_, c, ok := s.verify(tok)
	s.mu.Unlock()
	now := s.now().Unix()
	switch {
	case !ok, len(c.Scope) == 0, now < c.Nbf, now > c.Exp,
		!strings.HasSuffix(c.Iss, "|"+c.Scope[0]), c.Scope[0] != scopeOrganization,
		c.ClientID != s.ClientID(), c.ClientSub != s.orgID, c.Sub != s.apiKeyID:
		return &fail
	}
	return nil
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	if rp, ok := s.fault(r, "token"); ok {
		rp.write(w)
		return
	}
	var rp reply
	if s.profile == Vaultwarden {
		rp = s.tokenVaultwarden(r)
	} else {
		rp = s.tokenBitwarden(r)
	}
	rp.write(w)
}

// rateWindow is one fixed window of AspNetCoreRateLimit.
type rateWindow struct {
	start time.Time
	count int
}

// tokenLimited applies the cloud rule post:/connect/token 10 per minute per IP (T5).
func (s *Server) tokenLimited(r *http.Request) (retryAfter int, limited bool) {
	if !s.rateLimit || r.Method != http.MethodPost {
		return 0, false
	}
	ip, now := s.clientIP(r), s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	win := s.tokenWindows[ip]
	if win == nil || win.start.Add(time.Minute).Before(now) {
		win = &rateWindow{start: now}
		s.tokenWindows[ip] = win
	}
	win.count++
	if win.count <= 10 {
		return 0, false
	}
	return int(math.Max(1, math.Round(win.start.Add(time.Minute).Sub(now).Seconds()))), true
}

func oauthError(code string) reply {
	return jsonReply(http.StatusBadRequest, dotnetJSON(struct {
		Error string `json:"error"`
	}{code})).with("Cache-Control", "no-store, no-cache, max-age=0").with("Pragma", "no-cache")
}

func isFormRequest(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// clientCredentials finds the client id and secret as Duende's secret parsers do: HTTP Basic first, then
// the form body. ok is false when no usable client id was sent.
func clientCredentials(r *http.Request) (id, secret string, hasSecret, ok bool) {
	const maxLen = 100
	if user, pass, basic := r.BasicAuth(); basic {
		u, err1 := url.QueryUnescape(user)
		p, err2 := url.QueryUnescape(pass)
		if err1 == nil && err2 == nil && u != "" && len(u) <= maxLen && len(p) <= maxLen {
			return u, p, true, true
		}
	}
	id = r.PostForm.Get("client_id")
	if id == "" || len(id) > maxLen {
		return "", "", false, false
	}
	secret, hasSecret = r.PostForm.Get("client_secret"), r.PostForm.Has("client_secret")
	if len(secret) > maxLen {
		return "", "", false, false
	}
	return id, secret, hasSecret, true
}

// grantsOfOtherClients are grant types Bitwarden's identity server knows but the organization client may
// not use.
var grantsOfOtherClients = []string{
	"authorization_code", "password", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code",
	"urn:openid:params:grant-type:ciba", "webauthn", "send_access",
}

// tokenBitwarden is Duende IdentityServer's token endpoint with Bitwarden's organization client (T1–T5).
func (s *Server) tokenBitwarden(r *http.Request) reply {
	if retry, limited := s.tokenLimited(r); limited {
		return internalError(http.StatusTooManyRequests, rateLimitMessage).with("Retry-After", fmt.Sprint(retry))
	}
	if r.Method != http.MethodPost || !isFormRequest(r) || r.ParseForm() != nil {
		return oauthError("invalid_request")
	}
	id, secret, hasSecret, ok := clientCredentials(r)
	if !ok || !s.knownClient(id) || !hasSecret ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.apiKey)) != 1 {
		return oauthError("invalid_client")
	}
	switch grant := r.PostForm.Get("grant_type"); {
	case grant == "" || len(grant) > 100:
		return oauthError("unsupported_grant_type")
	case slices.Contains(grantsOfOtherClients, grant):
		return oauthError("unauthorized_client")
	case grant != "client_credentials":
		return oauthError("unsupported_grant_type")
	}
	scope := r.PostForm.Get("scope")
	if len(scope) > 300 {
		return oauthError("invalid_scope")
	}
	for _, sc := range strings.Split(scope, " ") {
		if sc != "" && sc != scopeOrganization {
			return oauthError("invalid_scope")
		}
	}
	s.mu.Lock()
	tok := s.issue(origin(r), []string{scopeOrganization})
	s.mu.Unlock()
	body := dotnetJSON(struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
		Scope       string `json:"scope"`
	}{tok, int(s.opts.TokenLifetime.Seconds()), "Bearer", scopeOrganization})
	return jsonReply(http.StatusOK, body).with("Cache-Control", "no-store, no-cache, max-age=0").with("Pragma", "no-cache")
}

// knownClient is DynamicClientStore plus OrganizationClientProvider: "organization." (case-sensitive) and a
// GUID naming this org, which must be enabled and allowed to use the API.
func (s *Server) knownClient(clientID string) bool {
	prefix, rest, found := strings.Cut(clientID, ".")
	if !found || prefix != "organization" {
		return false
	}
	g, ok := parseGUID(rest)
	if !ok || g != s.orgID {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.org.Enabled && s.st.org.UseAPI
}

// parseGUID accepts the formats .NET's Guid.TryParse does for N, D, B and P and returns the D form.
func parseGUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 38 && (s[0] == '{' && s[37] == '}' || s[0] == '(' && s[37] == ')') {
		s = s[1:37]
	}
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return "", false
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", false
	}
	s = strings.ToLower(s)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:], true
}
