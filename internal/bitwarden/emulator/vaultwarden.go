package emulator

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"time"
)

// vwRevokeDiff is what Vaultwarden subtracts from a member's status to revoke it (ACTIVATE_REVOKE_DIFF).
const vwRevokeDiff = 128

// vwForm reads Rocket form fields: names are case-insensitive, and each has an underscore-less alias.
type vwForm struct{ r *http.Request }

func (f vwForm) get(name string) (string, bool) {
	alias := strings.ReplaceAll(name, "_", "")
	for k, v := range f.r.PostForm {
		if (strings.EqualFold(k, name) || strings.EqualFold(k, alias)) && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// blank is Vaultwarden's _check_is_some: the first missing field of names gives "<name> cannot be blank".
func (f vwForm) blank(names ...string) (reply, bool) {
	for _, n := range names {
		if _, ok := f.get(n); !ok {
			return vaultwardenError(http.StatusBadRequest, n+" cannot be blank"), true
		}
	}
	return reply{}, false
}

// tokenVaultwarden is Vaultwarden's POST /identity/connect/token.
func (s *Server) tokenVaultwarden(r *http.Request) reply {
	if r.Method != http.MethodPost || !isFormRequest(r) {
		return rocketCatcher(r, http.StatusNotFound) // the Form guard forwards; no other route matches
	}
	if r.ParseForm() != nil {
		return rocketCatcher(r, http.StatusBadRequest)
	}
	f := vwForm{r}
	grant, ok := f.get("grant_type")
	if !ok {
		return rocketCatcher(r, http.StatusUnprocessableEntity)
	}
	switch grant {
	case "refresh_token":
		if rp, stop := f.blank("refresh_token"); stop {
			return rp
		}
		return vaultwardenError(http.StatusUnauthorized, "Invalid refresh token")
	case "password":
		if rp, stop := f.blank("client_id", "password", "scope", "username", "device_identifier", "device_name", "device_type"); stop {
			return rp
		}
		if scope, _ := f.get("scope"); scope != "api offline_access" {
			return vaultwardenError(http.StatusBadRequest, "Scope not supported")
		}
		if s.loginLimited(r) {
			return vaultwardenError(http.StatusTooManyRequests, "Too many login requests")
		}
		return vaultwardenError(http.StatusBadRequest, "Username or password is incorrect. Try again")
	case "client_credentials":
		if rp, stop := f.blank("client_id", "client_secret", "scope", "device_identifier", "device_name", "device_type"); stop {
			return rp
		}
		if s.loginLimited(r) {
			return vaultwardenError(http.StatusTooManyRequests, "Too many login requests")
		}
		return s.vaultwardenAPIKeyLogin(r, f)
	case "authorization_code":
		return vaultwardenError(http.StatusBadRequest, "SSO sign-in is not available")
	}
	return vaultwardenError(http.StatusBadRequest, "Invalid type")
}

func (s *Server) vaultwardenAPIKeyLogin(r *http.Request, f vwForm) reply {
	scope, _ := f.get("scope")
	clientID, _ := f.get("client_id")
	secret, _ := f.get("client_secret")
	prefix := "organization."
	switch scope {
	case "api":
		prefix = "user."
	case scopeOrganization:
	default:
		return vaultwardenError(http.StatusBadRequest, "Scope not supported")
	}
	id, found := strings.CutPrefix(clientID, prefix)
	if !found {
		return vaultwardenError(http.StatusBadRequest, "Malformed client_id")
	}
	if prefix != "organization." || id != s.orgID {
		return vaultwardenError(http.StatusBadRequest, "Invalid client_id")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(s.apiKey)) != 1 {
		return vaultwardenError(http.StatusBadRequest, "Incorrect client_secret")
	}
	s.mu.Lock()
	tok := s.issue(origin(r), []string{scopeOrganization})
	s.mu.Unlock()
	// serde_json's json! map without preserve_order: keys in alphabetical order.
	return jsonReply(http.StatusOK, marshal(struct {
		AccessToken      string `json:"access_token"`
		ExpiresIn        int    `json:"expires_in"`
		Scope            string `json:"scope"`
		TokenType        string `json:"token_type"`
		UnofficialServer bool   `json:"unofficialServer"`
	}{tok, int(s.opts.TokenLifetime.Seconds()), scopeOrganization, "Bearer", true}))
}

// loginLimited is Vaultwarden's login limiter when enabled: GCRA, one per 60 s with a burst of 10, per IP.
func (s *Server) loginLimited(r *http.Request) bool {
	if !s.rateLimit {
		return false
	}
	const period, burst = time.Minute, 10
	ip, now := s.clientIP(r), s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, ok := s.loginTAT[ip]
	if !ok {
		tat = now.Add(period)
	}
	if now.Before(tat.Add(-burst * period)) {
		return true
	}
	if tat.Before(now) {
		tat = now
	}
	s.loginTAT[ip] = tat.Add(period)
	return false
}

// importVaultwarden is Vaultwarden's ldap_import: PublicToken guard, Json data guard, then section 5.
func (s *Server) importVaultwarden(r *http.Request, body []byte, tooLarge bool) reply {
	if rp := s.authorize(r); rp != nil {
		return *rp
	}
	if tooLarge {
		return rocketCatcher(r, http.StatusRequestEntityTooLarge)
	}
	req, status := decodeVaultwarden(body)
	if status != 0 {
		return rocketCatcher(r, status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.runVaultwarden(req, s.now())
	return empty(http.StatusOK)
}

func (st *orgState) memberByEmail(email string) *Member {
	email = strings.ToLower(email)
	for i := range st.members {
		if st.members[i].Email == email {
			return &st.members[i]
		}
	}
	return nil
}

// lastConfirmedOwner tells whether m is a confirmed Owner and no other confirmed Owner is left.
func (st *orgState) lastConfirmedOwner(m *Member) bool {
	return m.Type == TypeOwner && m.Status == StatusConfirmed && st.confirmedOwners() <= 1
}

// runVaultwarden applies an import the Vaultwarden way: members in request order matched by email, revoke
// instead of remove, restore and externalId overwrite, groups only when enabled, overwrite last.
func (st *orgState) runVaultwarden(req *vwRequest, now time.Time) {
	for _, in := range req.Members {
		m := st.memberByEmail(in.Email)
		switch {
		case m != nil && in.Deleted:
			if !st.lastConfirmedOwner(m) && m.Status > StatusRevoked {
				m.Status -= vwRevokeDiff
			}
			m.ExternalID = in.ExternalID
		case m != nil:
			if m.Status < StatusInvited {
				m.Status += vwRevokeDiff
			}
			m.ExternalID = in.ExternalID
		case !in.Deleted:
			nm := Member{ID: newGUID(), Email: strings.ToLower(in.Email), ExternalID: in.ExternalID, Type: TypeUser, Status: StatusInvited}
			st.members = append(st.members, nm)
			st.outbox = append(st.outbox, Mail{Kind: MailInvite, To: nm.Email, MemberID: nm.ID, At: now})
		}
	}
	if st.org.VaultwardenGroups {
		for _, in := range req.Groups {
			st.importVaultwardenGroup(in)
		}
	}
	if req.OverwriteExisting {
		listed := map[string]bool{}
		for _, in := range req.Members {
			listed[in.ExternalID] = true
		}
		for _, m := range append([]Member(nil), st.members...) {
			if m.ExternalID == "" || listed[m.ExternalID] || st.lastConfirmedOwner(st.member(m.ID)) {
				continue
			}
			st.removeMembers(map[string]bool{m.ID: true})
		}
	}
}

// importVaultwardenGroup matches by externalId (no rename), then deletes the membership and re-adds every
// member found by externalId.
func (st *orgState) importVaultwardenGroup(in vwGroup) {
	var g *Group
	for i := range st.groups {
		if st.groups[i].ExternalID == in.ExternalID {
			g = &st.groups[i]
			break
		}
	}
	if g == nil {
		st.groups = append(st.groups, Group{ID: newGUID(), Name: in.Name, ExternalID: in.ExternalID})
		g = &st.groups[len(st.groups)-1]
	}
	g.MemberIDs = []string{}
	for _, ext := range in.MemberExternalIDs {
		for _, m := range st.members {
			if ext != "" && m.ExternalID == ext {
				if !slices.Contains(g.MemberIDs, m.ID) {
					g.MemberIDs = append(g.MemberIDs, m.ID)
				}
				break
			}
		}
	}
}
