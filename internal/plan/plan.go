// Package plan is the pure heart of a sync: it normalizes a directory snapshot into the desired state,
// compares it with what was synced before (and, when the server lets us read it, with the organization
// itself), decides what to invite, remove and regroup, applies the deletion guard, and cuts the changes
// into import requests. It does no I/O.
package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dirconn/dirconn/internal/bitwarden"
	"github.com/dirconn/dirconn/internal/directory"
)

// BatchSize is the most members, or groups, one import request carries (the server's cloud limit and the
// anchor's batch size).
const BatchSize = 2000

// SyncedMember is what the last accepted imports told the server about one member.
type SyncedMember struct {
	Email string `json:"email"`
}

// SyncedGroup is what the last accepted imports told the server about one group.
type SyncedGroup struct {
	Name    string   `json:"name"`
	Members []string `json:"members"` // sorted externalIds
}

// Synced is the sync cache: everything the server accepted, keyed by externalId.
type Synced struct {
	Members map[string]SyncedMember `json:"members"`
	Groups  map[string]SyncedGroup  `json:"groups"`
}

// NewSynced returns an empty cache.
func NewSynced() *Synced {
	return &Synced{Members: map[string]SyncedMember{}, Groups: map[string]SyncedGroup{}}
}

// OrgMember is a member as the organization's read endpoint reports it.
type OrgMember struct {
	ExternalID string
	Email      string
	Owner      bool
}

// OrgGroup is a group as the organization's read endpoint reports it.
type OrgGroup struct {
	ExternalID string
	Name       string
}

// Org is the organization's real state. A nil *Org means the server could not be read; the plan then
// relies on the sync cache alone.
type Org struct {
	Members []OrgMember
	Groups  []OrgGroup
}

// Options are the sync settings that shape a plan.
type Options struct {
	Users                        bool
	Groups                       bool
	RemoveDisabled               bool
	OverwriteExisting            bool
	LargeImport                  bool
	InviteUsersAfterProvisioning bool
	// DeleteLimit and DeleteLimitPercent hold removals when they exceed the count, or the share of synced
	// users; 0 turns a limit off.
	DeleteLimit        int
	DeleteLimitPercent int
	// AllowDeletes releases removals held by the limits (an explicit approval).
	AllowDeletes bool
	// FullPush resends the whole desired state (drift repair), not only the changes.
	FullPush bool
	// BatchSize overrides BatchSize (tests); 0 means BatchSize.
	BatchSize int
}

// MemberChange is one member the plan invites, removes, holds or reports.
type MemberChange struct {
	ExternalID string `json:"externalId"`
	Email      string `json:"email"`
	Reason     string `json:"reason"`
}

// GroupChange is one group the plan creates, updates or reports.
type GroupChange struct {
	ExternalID string   `json:"externalId"`
	Name       string   `json:"name"`
	OldName    string   `json:"oldName,omitempty"`
	Members    int      `json:"members"`
	Added      []string `json:"added,omitempty"`   // externalIds that join
	Removed    []string `json:"removed,omitempty"` // externalIds that leave
	Reason     string   `json:"reason"`
}

// Guard is the deletion guard's verdict.
type Guard struct {
	// Held is true when removals were held back instead of pushed.
	Held bool `json:"held"`
	// Reasons says why, one line each.
	Reasons []string `json:"reasons,omitempty"`
	// Approvable is true when an explicit approval (--allow-deletes, the GUI button) would release the
	// held removals; false when the read itself was not good enough to delete anyone.
	Approvable bool `json:"approvable"`
}

// Counts summarizes a plan.
type Counts struct {
	Invites         int `json:"invites"`
	Removals        int `json:"removals"`
	Held            int `json:"held"`
	GroupCreates    int `json:"groupCreates"`
	GroupUpdates    int `json:"groupUpdates"`
	UnchangedUsers  int `json:"unchangedUsers"`
	UnchangedGroups int `json:"unchangedGroups"`
	Skipped         int `json:"skipped"`
	Requests        int `json:"requests"`
}

// Plan is what a sync would do.
type Plan struct {
	Counts       Counts              `json:"counts"`
	Complete     bool                `json:"complete"`
	Incomplete   []string            `json:"incomplete,omitempty"`
	Invites      []MemberChange      `json:"invites"`
	Removals     []MemberChange      `json:"removals"`
	Held         []MemberChange      `json:"held"`
	Guard        Guard               `json:"guard"`
	EmailChanges []MemberChange      `json:"emailChanges,omitempty"`
	GroupCreates []GroupChange       `json:"groupCreates"`
	GroupUpdates []GroupChange       `json:"groupUpdates"`
	GroupsGone   []GroupChange       `json:"groupsGone,omitempty"`
	Skipped      []directory.Issue   `json:"skipped"`
	Notes        []string            `json:"notes,omitempty"`
	FullPush     bool                `json:"fullPush"`
	Overwrite    bool                `json:"overwrite"`
	OrgRead      bool                `json:"orgRead"`
	adopt        map[string]string   // externalId -> email: org members recorded in the cache without a request
	skippedUsers map[string]bool     // externalIds of skipped user records, left alone
	groupMembers map[string][]string // externalId -> the members a group is pushed with
	pushMembers  []bitwarden.ImportMember
	pushGroups   []bitwarden.ImportGroup
	opts         Options
}

// Empty reports whether the plan sends nothing.
func (p *Plan) Empty() bool { return len(p.pushMembers) == 0 && len(p.pushGroups) == 0 }

// roster holds every externalId the plan deals with (sync cache, organization, directory) in one index, so
// each key is hashed about once per run however many questions the plan asks about it.
type roster struct {
	idx  map[string]int32
	ents []entry
}

type entry struct {
	key     string
	email   string // the email the organization knows the member by
	inState bool   // in the sync cache
	inOrg   bool   // in the organization (when it could be read)
	owner   bool
	inDir   bool // a usable directory record has this key
	member  bool // in the organization after this run
}

func newRoster(n int) *roster {
	return &roster{idx: make(map[string]int32, n), ents: make([]entry, 0, n)}
}

// find returns the entry of k, or nil. Entries stay valid until the next add.
func (r *roster) find(k string) *entry {
	if i, ok := r.idx[k]; ok {
		return &r.ents[i]
	}
	return nil
}

// add returns the entry of k, creating it.
func (r *roster) add(k string) *entry {
	if i, ok := r.idx[k]; ok {
		return &r.ents[i]
	}
	r.idx[k] = int32(len(r.ents))
	r.ents = append(r.ents, entry{key: k})
	return &r.ents[len(r.ents)-1]
}

// known reports whether k was synced before or is in the organization.
func (r *roster) known(k string) (*entry, bool) {
	e := r.find(k)
	return e, e != nil && (e.inState || e.inOrg)
}

// isMember reports whether k is in the organization after this run.
func (r *roster) isMember(k string) bool {
	e := r.find(k)
	return e != nil && e.member
}

// Build compares the desired state with the sync cache (and org, when not nil) and returns the plan.
func Build(d *Desired, s *Synced, org *Org, o Options) *Plan {
	if s == nil {
		s = NewSynced()
	}
	p := &Plan{
		Complete:     d.Complete(),
		Incomplete:   d.Incomplete,
		Skipped:      slices.Clone(d.Skipped),
		FullPush:     o.FullPush,
		OrgRead:      org != nil,
		adopt:        map[string]string{},
		opts:         o,
		groupMembers: map[string][]string{},
		Invites:      []MemberChange{},
		Removals:     []MemberChange{},
		Held:         []MemberChange{},
		GroupCreates: []GroupChange{},
		GroupUpdates: []GroupChange{},
	}
	if p.Skipped == nil {
		p.Skipped = []directory.Issue{}
	}
	p.skippedUsers = maps.Clone(d.SkippedUsers)
	nOrg := 0
	if org != nil {
		nOrg = len(org.Members)
	}
	r := newRoster(len(s.Members) + nOrg + len(d.Users))
	for k, m := range s.Members {
		e := r.add(k)
		e.email, e.inState = m.Email, true
	}
	orgByEmail := map[string]OrgMember{}
	if org != nil {
		for _, m := range org.Members {
			email := strings.ToLower(strings.TrimSpace(m.Email))
			if email != "" {
				orgByEmail[email] = m
			}
			if m.ExternalID == "" {
				continue
			}
			e := r.add(m.ExternalID)
			e.inOrg, e.owner = true, m.Owner
			if e.email == "" {
				e.email = email
			}
		}
	} else {
		p.Notes = append(p.Notes, "the organization's members could not be read; the plan relies on the local sync cache")
	}

	var explicit, vanished []MemberChange
	syncUsers := o.Users && d.UsersRead
	if syncUsers {
		explicit, vanished = p.planUsers(d, org, r, orgByEmail)
	} else {
		for i := range r.ents {
			r.ents[i].member = true
		}
		if o.Groups && d.GroupsRead {
			p.Notes = append(p.Notes, "users are not synced (sync.users is off): group members are limited to users already in the organization")
		}
	}
	for k := range p.skippedUsers {
		if e, ok := r.known(k); ok {
			e.member = true // left alone, never removed because of the skip
		}
	}

	var extra []MemberChange // members an overwrite would remove beyond our own removals
	if o.OverwriteExisting {
		extra = overwriteExtras(org, r, explicit, vanished)
	}
	p.guard(d, s, r, explicit, vanished, extra)

	if o.Groups && d.GroupsRead {
		p.planGroups(d, s, org, r)
	}
	p.buildPush(d, r)
	p.Counts.Invites = len(p.Invites)
	p.Counts.Removals = len(p.Removals)
	p.Counts.Held = len(p.Held)
	p.Counts.GroupCreates = len(p.GroupCreates)
	p.Counts.GroupUpdates = len(p.GroupUpdates)
	p.Counts.Skipped = len(p.Skipped)
	p.Counts.Requests = len(p.Batches())
	return p
}

func (p *Plan) planUsers(d *Desired, org *Org, r *roster, orgByEmail map[string]OrgMember) (explicit, vanished []MemberChange) {
	var notInvitedDisabled int
	for i := range d.Users {
		u := &d.Users[i]
		k := u.ExternalID
		e, isKnown := r.known(k)
		if e == nil {
			e = r.add(k)
		}
		e.inDir = true
		switch {
		case u.Deleted:
			if isKnown {
				explicit = append(explicit, MemberChange{ExternalID: k, Email: e.email, Reason: "deleted in the directory"})
			}
		case u.Disabled && p.opts.RemoveDisabled:
			if isKnown {
				explicit = append(explicit, MemberChange{ExternalID: k, Email: e.email, Reason: "disabled in the directory; sync.removeDisabled is on"})
			}
		case u.Disabled:
			if isKnown {
				e.member = true
				p.Counts.UnchangedUsers++
			} else {
				notInvitedDisabled++
			}
		default:
			e.member = true
			switch {
			case !isKnown:
				reason := "new in the directory"
				if om, ok := orgByEmail[u.Email]; ok {
					if om.ExternalID != "" {
						// The server never changes an existing externalId (bitwarden-api 4.3.3): pushing would
						// leave this user out of every group.
						e.member = false
						p.Skipped = append(p.Skipped, directory.Issue{Kind: "user", ID: k, Name: u.Email,
							Reason: fmt.Sprintf("already a member of the organization with another external id (%s); clear that member's external id in Bitwarden or remove the member", om.ExternalID)})
						p.skippedUsers[k] = true
						continue
					}
					reason = "links the existing organization member with this email"
				}
				p.Invites = append(p.Invites, MemberChange{ExternalID: k, Email: u.Email, Reason: reason})
			case e.inState && org != nil && !e.inOrg:
				p.Invites = append(p.Invites, MemberChange{ExternalID: k, Email: u.Email, Reason: "synced before but missing from the organization: invited again"})
			case !e.inState:
				p.adopt[k] = e.email
				p.Counts.UnchangedUsers++
			default:
				p.Counts.UnchangedUsers++
			}
			if isKnown && e.email != "" && e.email != u.Email {
				p.EmailChanges = append(p.EmailChanges, MemberChange{ExternalID: k, Email: u.Email,
					Reason: fmt.Sprintf("email changed in the directory from %s; Bitwarden keeps the member's current email", e.email)})
			}
		}
	}
	if notInvitedDisabled > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d disabled user(s) are not invited", notInvitedDisabled))
	}
	for i := range r.ents {
		e := &r.ents[i]
		if e.inState && !e.inDir && !p.skippedUsers[e.key] {
			vanished = append(vanished, MemberChange{ExternalID: e.key, Email: e.email, Reason: "no longer in the directory"})
		}
	}
	return explicit, vanished
}

// overwriteExtras lists the organization members an overwriteExisting import would remove that are not
// already planned removals: members with an externalId the directory does not have.
func overwriteExtras(org *Org, r *roster, lists ...[]MemberChange) []MemberChange {
	if org == nil {
		return nil
	}
	planned := map[string]bool{}
	for _, l := range lists {
		for _, c := range l {
			planned[c.ExternalID] = true
		}
	}
	var out []MemberChange
	for _, m := range org.Members {
		if m.ExternalID == "" || m.Owner || r.isMember(m.ExternalID) || planned[m.ExternalID] {
			continue
		}
		out = append(out, MemberChange{ExternalID: m.ExternalID, Email: m.Email, Reason: "not in the directory (overwriteExisting)"})
	}
	return out
}

// guard decides which removals go out and which are held.
func (p *Plan) guard(d *Desired, s *Synced, r *roster, explicit, vanished, extra []MemberChange) {
	// Owners are never removed by an import; say so instead of pushing a no-op.
	keep := func(l []MemberChange) []MemberChange {
		out := l[:0]
		for _, c := range l {
			if e := r.find(c.ExternalID); e != nil && e.owner {
				p.Notes = append(p.Notes, fmt.Sprintf("%s is an owner of the organization: Bitwarden never removes owners through a sync (%s)", c.Email, c.Reason))
				e.member = true
				continue
			}
			if c.Email == "" {
				p.Notes = append(p.Notes, fmt.Sprintf("user %s cannot be removed: its email is not known (%s)", c.ExternalID, c.Reason))
				continue
			}
			out = append(out, c)
		}
		return out
	}
	explicit, vanished, extra = keep(explicit), keep(vanished), keep(extra)
	all := slices.Concat(explicit, vanished, extra)
	total := len(all)
	if total == 0 {
		if p.opts.OverwriteExisting {
			p.Overwrite = true
		}
		return
	}
	synced := len(s.Members)
	if synced == 0 {
		for _, e := range r.ents {
			if e.inOrg {
				synced++
			}
		}
	}

	readBad := !d.Complete() || d.Unidentified > 0
	var reasons []string
	if !d.Complete() {
		reasons = append(reasons, "the directory read was incomplete ("+strings.Join(d.Incomplete, "; ")+")")
	}
	if d.Unidentified > 0 {
		reasons = append(reasons, fmt.Sprintf("%d user record(s) have no id, so nobody can be known to have left", d.Unidentified))
	}
	overLimit := false
	if p.opts.DeleteLimit > 0 && total > p.opts.DeleteLimit {
		overLimit = true
		reasons = append(reasons, fmt.Sprintf("%d removals exceed the limit of %d (sync.deleteLimit)", total, p.opts.DeleteLimit))
	}
	if p.opts.DeleteLimitPercent > 0 && total*100 > p.opts.DeleteLimitPercent*synced {
		overLimit = true
		reasons = append(reasons, fmt.Sprintf("%d removals are more than %d%% of the %d synced users (sync.deleteLimitPercent)", total, p.opts.DeleteLimitPercent, synced))
	}

	var out, held []MemberChange
	switch {
	case readBad:
		// Users missing from a bad read may not have left at all: never remove them, approval or not.
		// Explicit removals (deleted, disabled) are real facts and follow the approval.
		held = append(held, vanished...)
		held = append(held, extra...)
		if p.opts.AllowDeletes {
			out = explicit
		} else {
			held = append(held, explicit...)
		}
		p.Guard.Approvable = len(explicit) > 0 && !p.opts.AllowDeletes
	case overLimit && !p.opts.AllowDeletes:
		held = all
		p.Guard.Approvable = true
	default:
		out = all
	}
	if len(held) > 0 {
		p.Guard.Held = true
		p.Guard.Reasons = reasons
		for _, c := range held {
			r.add(c.ExternalID).member = true // still a member until the removal is approved
		}
	}
	if p.opts.OverwriteExisting {
		if len(held) > 0 {
			p.Notes = append(p.Notes, "overwriteExisting was not applied because removals are held; only additions and changes are pushed")
			out = slices.DeleteFunc(out, func(c MemberChange) bool { return strings.HasSuffix(c.Reason, "(overwriteExisting)") })
		} else {
			p.Overwrite = true
		}
	}
	p.Removals = append(p.Removals, out...)
	p.Held = append(p.Held, held...)
	sortChanges(p.Removals)
	sortChanges(p.Held)
}

func (p *Plan) planGroups(d *Desired, s *Synced, org *Org, r *roster) {
	orgGroups := map[string]OrgGroup{}
	if org != nil {
		for _, g := range org.Groups {
			if g.ExternalID != "" {
				orgGroups[g.ExternalID] = g
			}
		}
	}
	// keep[i] says whether user key i is (or is being made) a member; group lists hold only those.
	keep := make([]bool, len(d.keys))
	for i, k := range d.keys {
		keep[i] = r.isMember(k)
	}
	// Users whose removal is held keep the group memberships they were synced with: a read that lost
	// them must not strip their access group by group either.
	held := make(map[string]bool, len(p.Held))
	for _, h := range p.Held {
		held[h.ExternalID] = true
	}
	inDir := make(map[string]bool, len(d.Groups))
	for i := range d.Groups {
		g := &d.Groups[i]
		inDir[g.ExternalID] = true
		sg, inState := s.Groups[g.ExternalID]
		var sticky []string
		if len(held) > 0 {
			for _, k := range sg.Members {
				if held[k] {
					sticky = append(sticky, k)
				}
			}
		}
		if inState && len(sticky) == 0 && sg.Name == g.Name && !p.FullPush && !p.Overwrite &&
			(org == nil || orgHas(orgGroups, g.ExternalID)) && sameMembers(d.keys, g.members, keep, sg.Members) {
			p.Counts.UnchangedGroups++
			continue
		}
		members := make([]string, 0, len(g.members)+len(sticky))
		for _, u := range g.members {
			if keep[u] {
				members = append(members, d.keys[u])
			}
		}
		if len(sticky) > 0 {
			members = append(members, sticky...)
			slices.Sort(members)
			members = slices.Compact(members)
		}
		p.groupMembers[g.ExternalID] = members
		og, inOrg := orgGroups[g.ExternalID]
		gc := GroupChange{ExternalID: g.ExternalID, Name: g.Name, Members: len(members)}
		switch {
		case !inState && !inOrg:
			gc.Added = members
			gc.Reason = "new in the directory"
			p.GroupCreates = append(p.GroupCreates, gc)
		case !inState:
			gc.Reason = "already in the organization: its members are set from the directory"
			if og.Name != g.Name {
				gc.OldName = og.Name
			}
			p.GroupUpdates = append(p.GroupUpdates, gc)
		case org != nil && !inOrg:
			gc.Added = members
			gc.Reason = "synced before but missing from the organization: created again"
			p.GroupCreates = append(p.GroupCreates, gc)
		default:
			gc.Added, gc.Removed = diff(sg.Members, members)
			var why []string
			if sg.Name != g.Name {
				gc.OldName = sg.Name
				why = append(why, "renamed")
			}
			if len(gc.Added)+len(gc.Removed) > 0 {
				why = append(why, fmt.Sprintf("%d member(s) join, %d leave", len(gc.Added), len(gc.Removed)))
			}
			if len(why) == 0 {
				p.Counts.UnchangedGroups++ // resent only by a full push
				continue
			}
			gc.Reason = strings.Join(why, ", ")
			p.GroupUpdates = append(p.GroupUpdates, gc)
		}
	}
	if d.Complete() {
		for k, sg := range s.Groups {
			if !inDir[k] && !d.SkippedGroups[k] {
				p.GroupsGone = append(p.GroupsGone, GroupChange{ExternalID: k, Name: sg.Name, Members: len(sg.Members),
					Reason: "no longer in the directory; Bitwarden keeps the group (the import cannot delete groups)"})
			}
		}
	}
	byName := func(a, b GroupChange) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(p.GroupCreates, byName)
	slices.SortFunc(p.GroupUpdates, byName)
	slices.SortFunc(p.GroupsGone, byName)
}

func orgHas(groups map[string]OrgGroup, k string) bool {
	_, ok := groups[k]
	return ok
}

// sameMembers reports whether the kept users of idx (indexes into keys, sorted) are exactly list (sorted).
func sameMembers(keys []string, idx []int32, keep []bool, list []string) bool {
	j := 0
	for _, u := range idx {
		if !keep[u] {
			continue
		}
		if j == len(list) || list[j] != keys[u] {
			return false
		}
		j++
	}
	return j == len(list)
}

// diff returns what is in b and not in a, and what is in a and not in b; both inputs sorted.
func diff(a, b []string) (added, removed []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			removed = append(removed, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			added = append(added, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return added, removed
}

func sortChanges(l []MemberChange) {
	slices.SortFunc(l, func(a, b MemberChange) int {
		if c := strings.Compare(a.Email, b.Email); c != 0 {
			return c
		}
		return strings.Compare(a.ExternalID, b.ExternalID)
	})
}

// buildPush lists what the requests carry: removals first (so seats free up before invites), then
// invites; with a full push or an overwrite, every member and group of the desired state.
func (p *Plan) buildPush(d *Desired, r *roster) {
	sortChanges(p.Invites)
	for _, c := range p.Removals {
		p.pushMembers = append(p.pushMembers, bitwarden.ImportMember{Email: c.Email, ExternalID: c.ExternalID, Deleted: true})
	}
	if p.FullPush || p.Overwrite {
		for _, u := range d.Users {
			if r.isMember(u.ExternalID) && u.Email != "" && !u.Deleted && (!u.Disabled || !p.opts.RemoveDisabled) && !p.skippedUsers[u.ExternalID] {
				p.pushMembers = append(p.pushMembers, bitwarden.ImportMember{Email: u.Email, ExternalID: u.ExternalID})
			}
		}
	} else {
		for _, c := range p.Invites {
			p.pushMembers = append(p.pushMembers, bitwarden.ImportMember{Email: c.Email, ExternalID: c.ExternalID})
		}
	}
	if !(p.opts.Groups && d.GroupsRead) {
		return
	}
	changed := make(map[string]bool, len(p.GroupCreates)+len(p.GroupUpdates))
	for _, g := range p.GroupCreates {
		changed[g.ExternalID] = true
	}
	for _, g := range p.GroupUpdates {
		changed[g.ExternalID] = true
	}
	for i := range d.Groups {
		g := &d.Groups[i]
		if members, ok := p.groupMembers[g.ExternalID]; ok && (changed[g.ExternalID] || p.FullPush || p.Overwrite) {
			p.pushGroups = append(p.pushGroups, bitwarden.ImportGroup{Name: g.Name, ExternalID: g.ExternalID, MemberExternalIDs: members})
		}
	}
}

// Batch is one import request and what it changes.
type Batch struct {
	// Kind is "members", "groups" or "overwrite".
	Kind    string
	Request bitwarden.ImportRequest
}

// Batches cuts the plan into import requests: members in batches of at most BatchSize, then groups in
// batches of at most BatchSize; an overwrite is one request with the full state. No changes, no requests.
func (p *Plan) Batches() []Batch {
	if p.Overwrite {
		return []Batch{{Kind: "overwrite", Request: bitwarden.ImportRequest{
			Groups:                       nonNil(p.pushGroups),
			Members:                      nonNil(p.pushMembers),
			OverwriteExisting:            true,
			LargeImport:                  p.opts.LargeImport,
			InviteUsersAfterProvisioning: p.opts.InviteUsersAfterProvisioning,
		}}}
	}
	size := p.opts.BatchSize
	if size <= 0 {
		size = BatchSize
	}
	var out []Batch
	for part := range slices.Chunk(p.pushMembers, size) {
		out = append(out, Batch{Kind: "members", Request: bitwarden.ImportRequest{Groups: []bitwarden.ImportGroup{}, Members: part}})
	}
	for part := range slices.Chunk(p.pushGroups, size) {
		out = append(out, Batch{Kind: "groups", Request: bitwarden.ImportRequest{Groups: part, Members: []bitwarden.ImportMember{}}})
	}
	for i := range out {
		out[i].Request.LargeImport = p.opts.LargeImport || len(out) > 1
		out[i].Request.InviteUsersAfterProvisioning = p.opts.InviteUsersAfterProvisioning
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Apply records in s what the server accepted with b.
func (s *Synced) Apply(b *Batch) {
	if b.Kind == "overwrite" {
		present := make(map[string]bool, len(b.Request.Members))
		for _, m := range b.Request.Members {
			if !m.Deleted {
				present[m.ExternalID] = true
			}
		}
		maps.DeleteFunc(s.Members, func(k string, _ SyncedMember) bool { return !present[k] })
	}
	for _, m := range b.Request.Members {
		if m.Deleted {
			delete(s.Members, m.ExternalID)
		} else {
			s.Members[m.ExternalID] = SyncedMember{Email: m.Email}
		}
	}
	for _, g := range b.Request.Groups {
		s.Groups[g.ExternalID] = SyncedGroup{Name: g.Name, Members: slices.Clone(g.MemberExternalIDs)}
	}
}

// Finish records what a fully successful run learned without a request: organization members adopted by
// externalId, and groups no longer in the directory dropped from the cache.
func (p *Plan) Finish(s *Synced) {
	for k, email := range p.adopt {
		if _, ok := s.Members[k]; !ok {
			s.Members[k] = SyncedMember{Email: email}
		}
	}
	for _, g := range p.GroupsGone {
		delete(s.Groups, g.ExternalID)
	}
}
