package ldap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory"
)

// maxRangeSteps bounds a range walk, against a server that never says "*".
const maxRangeSteps = 100000

// Fetch connects, binds and reads users (and, on AD with ldap.includeDeleted, deleted users) and groups
// with their members. A search that fails is an error; a read a server limit or a referral stopped,
// and a member range walk that could not finish, are recorded as unfinished reads in the snapshot's
// completeness, so the engine removes nobody.
func (s *Source) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	if err := CheckFilters(req.Filters); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read ldap directory: %w", err)
	}
	conn, host, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := &reader{s: &s.s, log: s.log, conn: conn, host: host, hookPage: s.hookPage}
	if req.Groups && (req.Users || !dnMemberAttr(s.s.memberAttr)) {
		// Users and groups are read at the same time, groups on a second connection to the same server:
		// the two reads' decoding then share the machine's cores instead of waiting for each other.
		conn2, err := s.connectTo(ctx, host)
		if err != nil {
			return nil, err
		}
		defer conn2.Close()
		stop2 := context.AfterFunc(ctx, func() { conn2.Close() })
		defer stop2()
		r.groupConn = conn2
	}
	snap, err := r.read(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read ldap directory on %s: %w", host, ctx.Err())
		}
		return nil, err
	}
	return snap, nil
}

// reader is one Fetch's state.
type reader struct {
	s    *settings
	log  *slog.Logger
	conn searcher
	host hostPort
	// hookPage, when set, is called after every page (tests use it to break a server mid-read).
	hookPage func(what string, page int)

	// groupConn, when set, is a second connection the group read runs on while users are read.
	groupConn searcher

	users  []directory.User
	issues []directory.Issue
	// byUID maps lowercased uid values to user IDs, for memberUid values.
	byUID map[string][]string
	reads directory.Completeness
}

// groupState is a group being read: its member values are classified once every read is done.
type groupState struct {
	g     directory.Group
	dn    string   // as the server returned it, for range requests
	dns   []string // normalized member DNs
	uids  []string // member values that are not DNs (memberUid)
	next  int      // the next member range to fetch; -1 when none
	issue bool     // the group became an issue and is not returned
}

func (r *reader) read(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	s := r.s
	snap := &directory.Snapshot{UsersRead: req.Users, GroupsRead: req.Groups}
	r.byUID = map[string][]string{}
	// memberUid values name users by uid: groups need the users even when only groups are asked for.
	needUsers := req.Users || (req.Groups && !dnMemberAttr(s.memberAttr))
	readUsers := func(ctx context.Context) error {
		if !needUsers {
			return nil
		}
		if err := r.readUsers(ctx, req.Filters.User); err != nil {
			return err
		}
		if req.Users && s.ad && s.includeDeleted {
			return r.readDeleted(ctx, req.Filters.User)
		}
		return nil
	}
	if !req.Groups {
		if err := readUsers(ctx); err != nil {
			return nil, err
		}
	} else {
		gr := r
		var groupsDone chan error
		var states []*groupState
		if r.groupConn != nil {
			// The group read gets a reader of its own (issues, reads) on the second connection; the two
			// are merged once both are done, and a failure of either stops the other.
			gr = &reader{s: r.s, log: r.log, conn: r.groupConn, host: r.host, hookPage: r.hookPage}
			gctx, cancel := context.WithCancel(ctx)
			defer cancel()
			groupsDone = make(chan error, 1)
			go func() {
				var err error
				states, err = gr.readGroupStates(gctx, req.Filters.Group)
				if err != nil {
					cancel()
				}
				groupsDone <- err
			}()
			uerr := readUsers(gctx)
			if uerr != nil {
				cancel()
			}
			gerr := <-groupsDone
			// The read that failed first is the one to report: the other only saw the cancellation.
			switch {
			case uerr != nil && (gerr == nil || ctx.Err() != nil || !errors.Is(uerr, context.Canceled)):
				return nil, uerr
			case gerr != nil:
				return nil, gerr
			}
			r.issues = append(r.issues, gr.issues...)
			r.reads.Reads = append(r.reads.Reads, gr.reads.Reads...)
		} else {
			if err := readUsers(ctx); err != nil {
				return nil, err
			}
			var err error
			if states, err = r.readGroupStates(ctx, req.Filters.Group); err != nil {
				return nil, err
			}
		}
		snap.Groups = r.classify(states)
	}
	if req.Users {
		snap.Users = r.users
	}
	for _, is := range r.issues {
		// Users read only to resolve memberUid values are not returned, nor are their problems.
		if req.Users || is.Kind != "user" {
			snap.Issues = append(snap.Issues, is)
		}
	}
	snap.Completeness = r.reads
	return snap, nil
}

// dnMemberAttr reports whether the member attribute holds DNs.
func dnMemberAttr(attr string) bool {
	a := strings.ToLower(attr)
	return a == "member" || a == "uniquemember"
}

func (r *reader) idAttr() string {
	switch {
	case r.s.externalIDAttr != "":
		return r.s.externalIDAttr
	case r.s.ad:
		return "objectGUID"
	}
	return ""
}

// userAttrs lists the attributes a user read asks for: only those the adapter uses.
func (r *reader) userAttrs() []string {
	return attrList(r.s.emailAttr, r.s.prefixAttr, "uid", "displayName", "cn", "userAccountControl", r.idAttr())
}

func attrList(names ...string) []string {
	var out []string
	for _, n := range names {
		if n == "" {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || strings.EqualFold(o, n)
		}
		if !dup {
			out = append(out, n)
		}
	}
	return out
}

// controls returns the controls every search of this directory carries: on AD, Domain Scope, so the
// server does not answer a search at a domain root with continuation references to its other
// partitions (DNS zones, configuration), which hold no users or groups and would make every read look
// incomplete.
func (r *reader) controls() []goldap.Control {
	if r.s.ad {
		return []goldap.Control{goldap.NewControlString(goldap.ControlTypeMicrosoftDomainScope, false, "")}
	}
	return nil
}

func (r *reader) searchRequest(base string, scope int, filter string, attrs []string) *goldap.SearchRequest {
	return goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 0, int(r.s.timeLimit.Seconds()), false,
		filter, attrs, r.controls())
}

func (r *reader) readUsers(ctx context.Context, userFilter string) error {
	req := r.searchRequest(r.s.userBase, goldap.ScopeWholeSubtree, buildFilter(r.s.userClass, userFilter), r.userAttrs())
	read, err := r.search(ctx, "users under "+r.s.userBase, r.s.userBaseKey, req, r.s.paged, func(e *goldap.Entry) {
		r.addUser(e, false)
	})
	r.reads.Add(read)
	return err
}

// readDeleted reads AD's deleted users from CN=Deleted Objects with the Show Deleted control. Any
// failure other than ctx ending marks the read unfinished instead of failing the sync: users are still
// added, no one is removed.
func (r *reader) readDeleted(ctx context.Context, userFilter string) error {
	dom := domainDN(r.s.rootPath)
	if dom == "" {
		r.reads.Add(directory.Read{What: "deleted users", Reason: "ldap.rootPath has no DC= part to find CN=Deleted Objects in"})
		return nil
	}
	base := "CN=Deleted Objects," + dom
	filter := "(&(objectClass=" + goldap.EscapeFilter(r.s.userClass) + ")" + strings.TrimSpace(userFilter) + "(isDeleted=TRUE))"
	req := r.searchRequest(base, goldap.ScopeWholeSubtree, filter, r.userAttrs())
	req.Controls = append(req.Controls, goldap.NewControlString(goldap.ControlTypeMicrosoftShowDeleted, true, ""))
	what := "deleted users under " + base
	read, err := r.search(ctx, what, "ldap.rootPath", req, r.s.paged, func(e *goldap.Entry) {
		r.addUser(e, true)
	})
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		read.Finished = false
		read.Reason = err.Error()
		r.log.Warn("ldap: could not read deleted users; no user will be removed this time", "error", err.Error())
	}
	r.reads.Add(read)
	return nil
}

// externalID returns the externalId of entry e, or why it has none.
func (r *reader) externalID(e *goldap.Entry) (string, string) {
	attr := r.idAttr()
	switch {
	case attr == "":
		return e.DN, ""
	case strings.EqualFold(attr, "objectGUID"):
		raw := e.GetEqualFoldRawAttributeValue(attr)
		if len(raw) == 0 {
			why := "it has no objectGUID"
			if r.s.externalIDAttr == "" {
				why += " (is this Active Directory? if not, turn ldap.ad off)"
			}
			return "", why
		}
		guid, err := formatGUID(raw)
		if err != nil {
			return "", err.Error()
		}
		return guid, ""
	}
	v := strings.TrimSpace(e.GetEqualFoldAttributeValue(attr))
	if v == "" {
		return "", "it has no " + attr + " (ldap.externalIdAttribute)"
	}
	return v, ""
}

func (r *reader) addUser(e *goldap.Entry, deleted bool) {
	id := normalizeDN(e.DN)
	email := e.GetEqualFoldAttributeValue(r.s.emailAttr)
	u := directory.User{
		ID:          id,
		Email:       email,
		EmailPrefix: e.GetEqualFoldAttributeValue(r.s.prefixAttr),
		DisplayName: firstValue(e, "displayName", "cn"),
		Deleted:     deleted,
	}
	if uac := e.GetEqualFoldAttributeValue("userAccountControl"); uac != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(uac), 10, 64); err == nil {
			u.Disabled = n&2 != 0
		}
	}
	ext, why := r.externalID(e)
	if why != "" {
		name := strings.TrimSpace(email)
		if name == "" {
			name = u.DisplayName
		}
		r.issues = append(r.issues, directory.Issue{Kind: "user", ID: id, Name: name, Reason: why, Source: e.DN})
		return
	}
	if ext != id {
		u.ExternalID = ext
	}
	if !deleted {
		for _, uid := range e.GetEqualFoldAttributeValues("uid") {
			if k := strings.ToLower(strings.TrimSpace(uid)); k != "" {
				r.byUID[k] = append(r.byUID[k], id)
			}
		}
	}
	r.users = append(r.users, u)
}

func firstValue(e *goldap.Entry, attrs ...string) string {
	for _, a := range attrs {
		if v := strings.TrimSpace(e.GetEqualFoldAttributeValue(a)); v != "" {
			return v
		}
	}
	return ""
}

// memberRequestAttr is the member attribute as the group search asks for it: on AD with a range size,
// the first range explicitly (Samba splits values only when asked; Windows splits at 1500 anyway).
func (r *reader) memberRequestAttr() string {
	if r.s.ad && r.s.rangeSize > 0 {
		return rangedAttr(r.s.memberAttr, 0, r.s.rangeSize)
	}
	return r.s.memberAttr
}

// readGroupStates reads the groups and walks their open member ranges; classify turns the result into
// groups once the users are known too.
func (r *reader) readGroupStates(ctx context.Context, groupFilter string) ([]*groupState, error) {
	attrs := attrList(r.s.groupNameAttr, "cn", r.memberRequestAttr(), r.idAttr())
	req := r.searchRequest(r.s.groupBase, goldap.ScopeWholeSubtree, buildFilter(r.s.groupClass, groupFilter), attrs)
	var states []*groupState
	read, err := r.search(ctx, "groups under "+r.s.groupBase, r.s.groupBaseKey, req, r.s.paged, func(e *goldap.Entry) {
		states = append(states, r.groupEntry(e))
	})
	r.reads.Add(read)
	if err != nil {
		return nil, err
	}
	// Member ranges the group search left open, each walked to its end.
	for _, g := range states {
		if g.next < 0 {
			continue
		}
		if err := r.walkRange(ctx, g); err != nil {
			return nil, err
		}
	}
	return states, nil
}

// groupEntry turns a group entry into its state: name, ids and member values (plain or ranged).
func (r *reader) groupEntry(e *goldap.Entry) *groupState {
	g := &groupState{dn: e.DN, next: -1}
	g.g.ID = normalizeDN(e.DN)
	g.g.Name = firstValue(e, r.s.groupNameAttr, "cn")
	ext, why := r.externalID(e)
	switch {
	case why != "":
		r.issues = append(r.issues, directory.Issue{Kind: "group", ID: g.g.ID, Name: g.g.Name, Reason: why, Source: e.DN})
		g.issue = true
	case g.g.Name == "":
		r.issues = append(r.issues, directory.Issue{Kind: "group", ID: g.g.ID, Reason: "it has no " + r.s.groupNameAttr + " or cn to name it", Source: e.DN})
		g.issue = true
	case ext != g.g.ID:
		g.g.ExternalID = ext
	}
	for _, a := range e.Attributes {
		base, rng, ranged, ok := splitAttr(a.Name)
		if !strings.EqualFold(base, r.s.memberAttr) {
			continue
		}
		if !ok {
			r.reads.Add(directory.Read{What: "members of " + e.DN, Pages: 1, Entries: len(a.Values),
				Reason: fmt.Sprintf("the server returned the member values under %q, which dirconn cannot read as a range", a.Name)})
			continue
		}
		g.addMembers(a.Values)
		if ranged && !rng.last() {
			g.next = rng.high + 1
		}
	}
	return g
}

func (g *groupState) addMembers(values []string) {
	for _, v := range values {
		v = strings.TrimSpace(v)
		switch {
		case v == "":
		case looksLikeDN(stripUID(v)):
			g.dns = append(g.dns, normalizeDN(stripUID(v))) // both take the fast path for plain DNs
		default:
			g.uids = append(g.uids, v)
		}
	}
}

// walkRange fetches the member values of g from g.next on, range by range, with base-scope searches on
// the group, until the server labels a range as the last ("*"). A walk that cannot finish is recorded as
// an unfinished read; only ctx ending (or the connection failing) is an error.
func (r *reader) walkRange(ctx context.Context, g *groupState) error {
	read := directory.Read{What: "members of " + g.dn, Pages: 1}
	read.Entries = len(g.dns) + len(g.uids)
	low := g.next
	for step := 0; ; step++ {
		if step >= maxRangeSteps {
			read.Reason = fmt.Sprintf("the server did not reach the last member range after %d requests", step)
			break
		}
		want := rangedAttr(r.s.memberAttr, low, r.s.rangeSize)
		req := r.searchRequest(g.dn, goldap.ScopeBaseObject, "(objectClass=*)", []string{want})
		var got *goldap.EntryAttribute
		var gotRange rangeInfo
		var bad string
		sub, err := r.search(ctx, "members of "+g.dn, "the group's DN", req, false, func(e *goldap.Entry) {
			for _, a := range e.Attributes {
				base, rng, ranged, ok := splitAttr(a.Name)
				if !strings.EqualFold(base, r.s.memberAttr) {
					continue
				}
				if !ranged || !ok {
					bad = a.Name
					continue
				}
				got, gotRange = a, rng
			}
		})
		read.Pages++
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			read.Reason = fmt.Sprintf("the request for %s failed: %v", want, err)
			break
		}
		if !sub.Finished {
			read.Reason = fmt.Sprintf("the request for %s did not finish: %s", want, sub.Reason)
			break
		}
		if got == nil {
			read.Reason = fmt.Sprintf("the server returned no member values from %d on", low)
			if bad != "" {
				read.Reason = fmt.Sprintf("asked for %s, the server returned %q", want, bad)
			}
			break
		}
		if gotRange.low != low {
			read.Reason = fmt.Sprintf("asked for %s, the server returned %q", want, got.Name)
			break
		}
		g.addMembers(got.Values)
		read.Entries += len(got.Values)
		if gotRange.last() {
			read.Finished = true
			break
		}
		if gotRange.high < low {
			read.Reason = fmt.Sprintf("asked for %s, the server returned %q, which makes no progress", want, got.Name)
			break
		}
		low = gotRange.high + 1
	}
	if !read.Finished {
		r.log.Warn("ldap: could not read every member of a group", "group", g.dn, "reason", read.Reason, "values", read.Entries)
	}
	r.log.Debug("ldap: member ranges read", "group", g.dn, "requests", read.Pages, "values", read.Entries)
	r.reads.Add(read)
	return nil
}

// classify sorts every group's member values into users and groups, now that both reads are done: a DN
// of a group read is a nested group, any other DN a user (the engine ignores ids it does not know), and
// a memberUid value the users whose uid it is (or itself, matching nobody, when there is none).
func (r *reader) classify(states []*groupState) []directory.Group {
	isGroup := make(map[string]bool, len(states))
	for _, g := range states {
		isGroup[g.g.ID] = true
	}
	out := make([]directory.Group, 0, len(states))
	for _, g := range states {
		if g.issue {
			continue
		}
		for _, dn := range g.dns {
			if isGroup[dn] {
				g.g.Groups = append(g.g.Groups, dn)
			} else {
				g.g.Users = append(g.g.Users, dn)
			}
		}
		for _, uid := range g.uids {
			if ids, ok := r.byUID[strings.ToLower(uid)]; ok {
				g.g.Users = append(g.g.Users, ids...)
			} else {
				g.g.Users = append(g.g.Users, uid)
			}
		}
		g.g.Users = dedupe(g.g.Users)
		g.g.Groups = dedupe(g.g.Groups)
		g.dns, g.uids = nil, nil
		out = append(out, g.g)
	}
	return out
}

// dedupe drops repeated values, keeping the first occurrence's order; nil when empty.
func dedupe(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
