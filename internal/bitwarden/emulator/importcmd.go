package emulator

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Body limits: Kestrel's MaxRequestBodySize, and Vaultwarden's Rocket "json" limit (20 MB).
const (
	bitwardenBodyLimit   = 30_000_000
	vaultwardenBodyLimit = 20_000_000
)

func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	received := s.now()
	limit := int64(bitwardenBodyLimit)
	if s.profile == Vaultwarden {
		limit = vaultwardenBodyLimit
	}
	body := readBody(r, limit+1)
	tooLarge := int64(len(body)) > limit
	rp, ok := s.fault(r, "import")
	if !ok {
		rp = s.importReply(r, body, tooLarge)
	}
	rp.write(w)
	s.record(received, r, body, tooLarge, rp)
}

// readBody reads at most max bytes of the request body.
func readBody(r *http.Request, max int64) []byte {
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength, max)) + bytes.MinRead)
	}
	_, _ = buf.ReadFrom(io.LimitReader(r.Body, max))
	return buf.Bytes()
}

func (s *Server) importReply(r *http.Request, body []byte, tooLarge bool) reply {
	if r.Method != http.MethodPost {
		return s.methodNotAllowed(r, http.MethodPost)
	}
	if s.profile == Vaultwarden {
		return s.importVaultwarden(r, body, tooLarge)
	}
	if rp := s.authorize(r); rp != nil {
		return *rp
	}
	if !isJSONRequest(r) {
		return empty(http.StatusUnsupportedMediaType)
	}
	if tooLarge {
		return empty(http.StatusRequestEntityTooLarge)
	}
	ms := &modelState{}
	var req *importRequest
	if len(body) > 0 {
		var merr *modelError
		if req, merr = decodeImport(body); merr != nil {
			ms.add(merr.key, merr.msg)
			return modelStateError(ms)
		}
	}
	if req == nil {
		ms.add("", "Body is empty.")
		return modelStateError(ms)
	}
	if ms = req.validate(); !ms.valid() {
		return modelStateError(ms)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runImport(req)
}

// isJSONRequest is the media-type check of ASP.NET's JSON input formatter (else 415).
func isJSONRequest(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

func (s *Server) record(at time.Time, r *http.Request, body []byte, tooLarge bool, rp reply) {
	imp := Import{At: at, Path: r.URL.Path, Status: rp.status, Response: string(rp.body), Body: string(body)}
	if !tooLarge && len(body) > 0 {
		if req, merr := decodeImport(body); merr == nil && req != nil {
			imp.Parsed = true
			imp.Groups = len(req.Groups)
			for _, m := range req.Members {
				imp.Members++
				if m != nil && m.Deleted {
					imp.DeletedMembers++
				} else {
					imp.ActiveMembers++
				}
			}
			imp.OverwriteExisting = req.OverwriteExisting != nil && *req.OverwriteExisting
			imp.LargeImport = req.LargeImport
			imp.InviteUsersAfterProvisioning = req.InviteUsersAfterProvisioning
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.imports = append(s.imports, imp)
}

// importedUser is a non-deleted request entry as the command sees it (email lowercased).
type importedUser struct{ email, externalID string }

// importRun is one ImportOrganizationUsersAndGroupsCommand.ImportAsync. Every step commits on its own.
type importRun struct {
	s           *Server
	st          *orgState
	req         *importRequest
	now         time.Time
	imported    []importedUser
	importedIDs map[string]bool
	existing    []Member          // members as loaded at the start (ExistingUsers)
	dict        map[string]string // ExistingExternalUsersIdDict: externalId -> member id
	removals    []Event           // 1503 events, written only at the very end
}

// runImport is the public import controller plus the import command. Call with s.mu held.
func (s *Server) runImport(req *importRequest) reply {
	if rp := s.controllerChecks(req); rp != nil {
		return *rp
	}
	if !s.st.org.UseDirectory {
		return badRequest("Organization cannot use directory syncing.")
	}
	run, ok := s.newImportRun(req)
	if !ok {
		return serverError()
	}
	for _, step := range []func() *reply{run.removeDeleted, run.overwrite, run.linkByEmail, run.addNewUsers, run.importGroups} {
		if rp := step(); rp != nil {
			return *rp
		}
	}
	s.st.events = append(s.st.events, run.removals...)
	return empty(http.StatusOK)
}

// controllerChecks is OrganizationController.Import before the command: the cloud size guard (which
// short-circuits) and the null lists.
func (s *Server) controllerChecks(req *importRequest) *reply {
	fail := func(rp reply) *reply { return &rp }
	if s.profile == Cloud && !req.LargeImport {
		if req.Groups == nil {
			return fail(serverError())
		}
		if len(req.Groups) > 2000 {
			return fail(badRequest("You cannot import this much data at once."))
		}
		if req.Members == nil || slices.Contains(req.Members, nil) {
			return fail(serverError())
		}
		active := 0
		for _, m := range req.Members {
			if !m.Deleted {
				active++
			}
		}
		if active > 2000 {
			return fail(badRequest("You cannot import this much data at once."))
		}
	}
	if req.Groups == nil || req.Members == nil {
		return fail(serverError())
	}
	return nil
}

func isBlankString(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }

// newImportRun loads the members and builds the indexes (section 4.0). ok is false when a null member
// entry or two existing members sharing an externalId make the server throw.
func (s *Server) newImportRun(req *importRequest) (*importRun, bool) {
	run := &importRun{s: s, st: &s.st, req: req, now: s.now(), importedIDs: map[string]bool{}, dict: map[string]string{}}
	for _, m := range req.Members {
		if m == nil {
			return nil, false
		}
		if !m.Deleted {
			run.imported = append(run.imported, importedUser{email: strings.ToLower(*m.Email), externalID: *m.ExternalID})
			run.importedIDs[*m.ExternalID] = true
		}
	}
	run.existing = slices.Clone(s.st.members)
	for _, m := range run.existing {
		if isBlankString(m.ExternalID) {
			continue
		}
		if _, dup := run.dict[m.ExternalID]; dup {
			return nil, false
		}
		run.dict[m.ExternalID] = m.ID
	}
	return run, true
}

func (run *importRun) remove(members []Member) {
	ids := map[string]bool{}
	for _, m := range members {
		ids[m.ID] = true
		run.removals = append(run.removals, Event{Type: EventMemberRemoved, ID: m.ID, At: run.now})
	}
	run.st.removeMembers(ids)
}

// removeDeleted is step 4.1: deleted entries hard-remove linked non-Owners not re-listed as active.
func (run *importRun) removeDeleted() *reply {
	byExternalID := map[string]Member{}
	for _, m := range run.existing {
		if !isBlankString(m.ExternalID) {
			byExternalID[m.ExternalID] = m
		}
	}
	var targets []Member
	seen := map[string]bool{}
	for _, in := range run.req.Members {
		ext := *in.ExternalID
		if !in.Deleted || seen[ext] || run.importedIDs[ext] {
			continue
		}
		seen[ext] = true
		if m, ok := byExternalID[ext]; ok && m.Type != TypeOwner {
			targets = append(targets, m)
		}
	}
	run.remove(targets)
	return nil
}

// hasMasterPassword is the view's HasMasterPassword: never for Invited or Staged members (no linked user).
func hasMasterPassword(m Member) bool {
	return m.HasMasterPassword && m.Status != StatusInvited && m.Status != StatusStaged
}

// overwrite is step 4.2. Its targets come from the members loaded at the start, so a member step 4.1 just
// removed is a target again (and logs a second 1503).
func (run *importRun) overwrite() *reply {
	if !*run.req.OverwriteExisting {
		return nil
	}
	var targets []Member
	for _, m := range run.existing {
		if _, linked := run.dict[m.ExternalID]; linked && !isBlankString(m.ExternalID) && m.Type != TypeOwner && !run.importedIDs[m.ExternalID] {
			targets = append(targets, m)
		}
	}
	for _, m := range targets {
		if !hasMasterPassword(m) {
			rp := badRequest("Sync failed. To proceed, disable the 'Remove and re-add users during next sync' setting and try again.")
			return &rp
		}
	}
	run.remove(targets)
	for _, m := range targets {
		delete(run.dict, m.ExternalID)
	}
	return nil
}

// linkByEmail is step 4.3: members without an externalId take the id of the active entry with their email.
// The links are saved together after the loop, so a clash saves none of them.
func (run *importRun) linkByEmail() *reply {
	if len(run.imported) == 0 {
		return nil
	}
	fail := serverError()
	var unlinked []Member
	emails := map[string]bool{}
	for _, m := range run.existing {
		if !isBlankString(m.ExternalID) {
			continue
		}
		if emails[m.Email] {
			return &fail
		}
		emails[m.Email] = true
		unlinked = append(unlinked, m)
	}
	importedByEmail := map[string]importedUser{}
	for _, u := range run.imported {
		if _, dup := importedByEmail[u.email]; dup {
			return &fail
		}
		importedByEmail[u.email] = u
	}
	links := map[string]string{}
	for _, m := range unlinked {
		u, ok := importedByEmail[m.Email]
		if !ok || run.st.member(m.ID) == nil {
			continue
		}
		if _, taken := run.dict[u.externalID]; taken {
			return &fail
		}
		run.dict[u.externalID] = m.ID
		links[m.ID] = u.externalID
	}
	for id, ext := range links {
		run.st.member(id).ExternalID = ext
	}
	return nil
}

// addNewUsers is step 4.4: new externalIds are staged or invited; known emails are skipped silently.
func (run *importRun) addNewUsers() *reply {
	var invites []importedUser
	for _, u := range run.imported {
		if _, known := run.dict[u.externalID]; !known && !isBlankString(u.email) {
			invites = append(invites, u)
		}
	}
	var created []Member
	if !run.req.InviteUsersAfterProvisioning && run.st.org.StagedFlag {
		created = run.stage(invites)
	} else {
		var rp *reply
		if created, rp = run.invite(invites); rp != nil {
			return rp
		}
	}
	for _, m := range created {
		if _, ok := run.dict[m.ExternalID]; !ok {
			run.dict[m.ExternalID] = m.ID
		}
	}
	return nil
}

func (run *importRun) create(u importedUser, status, event int) Member {
	m := Member{ID: newGUID(), Email: u.email, ExternalID: u.externalID, Type: TypeUser, Status: status}
	run.st.members = append(run.st.members, m)
	run.st.logEvent(event, m.ID, run.now)
	return m
}

// stage is CreateStagedOrganizationUsersCommand: no mail, no seat or owner check.
func (run *importRun) stage(invites []importedUser) []Member {
	known := run.st.knownEmails()
	var created []Member
	for _, u := range invites {
		if known[u.email] {
			continue
		}
		known[u.email] = true
		created = append(created, run.create(u, StatusStaged, EventMemberStaged))
	}
	return created
}

// invite is OrganizationService.InviteUsersAsync, called even with no invites: known emails, seats,
// owner, rows and events, autoscaling, mails.
func (run *importRun) invite(invites []importedUser) ([]Member, *reply) {
	st := run.st
	known := st.knownEmails()
	var fresh []importedUser
	for _, u := range invites {
		if !known[u.email] {
			fresh = append(fresh, u)
		}
	}
	needed := 0
	if st.org.Seats != nil {
		occupied := 0
		for _, m := range st.members {
			if m.Status == StatusInvited || m.Status == StatusAccepted || m.Status == StatusConfirmed {
				occupied++
			}
		}
		needed = len(fresh) - (*st.org.Seats - occupied)
		if needed > 0 && run.s.profile == SelfHosted {
			rp := badRequest("Cannot autoscale on self-hosted instance.")
			return nil, &rp
		}
		if max := st.org.MaxAutoscaleSeats; needed > 0 && max != nil && *max < *st.org.Seats+needed {
			rp := badRequest("Seat limit has been reached.")
			return nil, &rp
		}
	}
	if len(invites) > 0 && st.confirmedOwners() == 0 {
		rp := badRequest("Organization must have at least one confirmed owner.")
		return nil, &rp
	}
	var created []Member
	for _, u := range fresh {
		created = append(created, run.create(u, StatusInvited, EventMemberInvited))
	}
	if needed > 0 {
		*st.org.Seats += needed
		for _, m := range st.members {
			if m.Type == TypeOwner && m.Status == StatusConfirmed {
				st.outbox = append(st.outbox, Mail{Kind: MailAutoscale, To: m.Email, At: run.now})
			}
		}
	}
	for _, m := range created {
		st.outbox = append(st.outbox, Mail{Kind: MailInvite, To: m.Email, MemberID: m.ID, At: run.now})
	}
	return created, nil
}

// resolve maps memberExternalIds to the ids of members that exist; unknown ids are ignored.
func (run *importRun) resolve(g *importGroup) []string {
	ids := []string{}
	for _, ext := range g.MemberExternalIDs {
		id, ok := run.dict[ext]
		if ok && run.st.member(id) != nil && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}

// importGroups is step 4.5: create new groups, then rename and re-member matched ones; never delete.
func (run *importRun) importGroups() *reply {
	st := run.st
	if len(run.req.Groups) == 0 {
		return nil
	}
	if !st.org.UseGroups {
		rp := badRequest("Organization cannot use groups.")
		return &rp
	}
	fail := serverError()
	requested := map[string]*importGroup{}
	for _, g := range run.req.Groups {
		if g == nil || !g.hasMemberIDs {
			return &fail
		}
		if _, dup := requested[*g.ExternalID]; dup {
			return &fail
		}
		requested[*g.ExternalID] = g
	}
	existing := map[string]bool{}
	var matched []int
	for i, g := range st.groups {
		if isBlankString(g.ExternalID) {
			continue
		}
		if existing[g.ExternalID] {
			return &fail
		}
		existing[g.ExternalID] = true
		if requested[g.ExternalID] != nil {
			matched = append(matched, i)
		}
	}
	var created []string
	for _, g := range run.req.Groups {
		if existing[*g.ExternalID] {
			continue
		}
		ng := Group{ID: newGUID(), Name: *g.Name, ExternalID: *g.ExternalID, MemberIDs: run.resolve(g)}
		st.groups = append(st.groups, ng)
		created = append(created, ng.ID)
	}
	for _, id := range created {
		st.logEvent(EventGroupCreated, id, run.now)
	}
	for _, i := range matched {
		g, in := &st.groups[i], requested[st.groups[i].ExternalID]
		if g.Name != *in.Name {
			g.Name = *in.Name
		}
		if ids := run.resolve(in); !sameSet(ids, g.MemberIDs) {
			g.MemberIDs = ids
		}
	}
	for _, i := range matched {
		st.logEvent(EventGroupUpdated, st.groups[i].ID, run.now)
	}
	return nil
}
