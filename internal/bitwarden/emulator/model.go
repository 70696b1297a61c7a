package emulator

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Member types (OrganizationUserType).
const (
	TypeOwner  = 0
	TypeAdmin  = 1
	TypeUser   = 2
	TypeCustom = 4
)

// Member statuses (OrganizationUserStatusType). In the Vaultwarden profile a revoked member keeps
// Vaultwarden's own encoding instead of StatusRevoked: its active status minus 128 (see AddMember).
const (
	StatusRevoked   = -1
	StatusInvited   = 0
	StatusAccepted  = 1
	StatusConfirmed = 2
	StatusStaged    = 3
)

// Event types the import logs (EventType). Every event is logged by the PublicApi system user (3).
const (
	EventGroupCreated  = 1400
	EventGroupUpdated  = 1401
	EventMemberInvited = 1500
	EventMemberRemoved = 1503
	EventMemberStaged  = 1523
)

// Mail kinds in the outbox.
const (
	MailInvite    = "invite"
	MailAutoscale = "autoscale"
)

// State is a deep copy of everything the emulated organization holds.
type State struct {
	Org     Org      `json:"org"`
	Members []Member `json:"members"`
	Groups  []Group  `json:"groups"`
	Events  []Event  `json:"events"`
	Outbox  []Mail   `json:"outbox"`
}

// Org is the organization and its settings. Seats changes when the cloud profile autoscales.
type Org struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Profile           Profile `json:"profile"`
	Enabled           bool    `json:"enabled"`
	UseAPI            bool    `json:"useApi"`
	UseDirectory      bool    `json:"useDirectory"`
	UseGroups         bool    `json:"useGroups"`
	Seats             *int    `json:"seats"`
	MaxAutoscaleSeats *int    `json:"maxAutoscaleSeats"`
	StagedFlag        bool    `json:"stagedFlag"`
	VaultwardenGroups bool    `json:"vaultwardenGroups"`
}

// Member is one organization member. Email is stored lowercased; ExternalID "" means none.
type Member struct {
	ID                string `json:"id"`
	Email             string `json:"email"`
	ExternalID        string `json:"externalId"`
	Type              int    `json:"type"`
	Status            int    `json:"status"`
	HasMasterPassword bool   `json:"hasMasterPassword"`
}

// Group is one group with the ids of its members. ExternalID "" means none.
type Group struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	ExternalID string   `json:"externalId"`
	MemberIDs  []string `json:"memberIds"`
}

// Event is one event log entry; ID is the member's or the group's id.
type Event struct {
	Type int       `json:"type"`
	ID   string    `json:"id"`
	At   time.Time `json:"at"`
}

// Mail is one e-mail the server sent: an invite to a new member, or an autoscale notice to an owner.
type Mail struct {
	Kind     string    `json:"kind"`
	To       string    `json:"to"`
	MemberID string    `json:"memberId,omitempty"`
	At       time.Time `json:"at"`
}

// Import is one request received on the import route: what was sent and what was answered. The summary
// fields are filled when the body could be read as an import request (Parsed).
type Import struct {
	At                           time.Time `json:"at"`
	Path                         string    `json:"path"`
	Status                       int       `json:"status"`
	Response                     string    `json:"response"`
	Body                         string    `json:"body"`
	Parsed                       bool      `json:"parsed"`
	Members                      int       `json:"members"`
	ActiveMembers                int       `json:"activeMembers"`
	DeletedMembers               int       `json:"deletedMembers"`
	Groups                       int       `json:"groups"`
	OverwriteExisting            bool      `json:"overwriteExisting"`
	LargeImport                  bool      `json:"largeImport"`
	InviteUsersAfterProvisioning bool      `json:"inviteUsersAfterProvisioning"`
}

// orgState is the mutable data behind State; it is only touched with Server.mu held.
type orgState struct {
	org     Org
	members []Member
	groups  []Group
	events  []Event
	outbox  []Mail
}

func newGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("emulator: random: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

const alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlphanumeric(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("emulator: random: %v", err))
	}
	for i := range b {
		b[i] = alphanumeric[int(b[i])%len(alphanumeric)]
	}
	return string(b)
}

func clonePtr(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (st *orgState) clone() State {
	org := st.org
	org.Seats, org.MaxAutoscaleSeats = clonePtr(org.Seats), clonePtr(org.MaxAutoscaleSeats)
	groups := make([]Group, len(st.groups))
	for i, g := range st.groups {
		g.MemberIDs = slices.Clone(g.MemberIDs)
		groups[i] = g
	}
	return State{
		Org:     org,
		Members: slices.Clone(st.members),
		Groups:  groups,
		Events:  slices.Clone(st.events),
		Outbox:  slices.Clone(st.outbox),
	}
}

func (st *orgState) member(id string) *Member {
	for i := range st.members {
		if st.members[i].ID == id {
			return &st.members[i]
		}
	}
	return nil
}

// removeMembers deletes members with their group memberships.
func (st *orgState) removeMembers(ids map[string]bool) {
	if len(ids) == 0 {
		return
	}
	st.members = slices.DeleteFunc(st.members, func(m Member) bool { return ids[m.ID] })
	for i := range st.groups {
		st.groups[i].MemberIDs = slices.DeleteFunc(st.groups[i].MemberIDs, func(id string) bool { return ids[id] })
	}
}

func (st *orgState) logEvent(typ int, id string, at time.Time) {
	st.events = append(st.events, Event{Type: typ, ID: id, At: at})
}

// confirmedOwners counts the Owners with status Confirmed.
func (st *orgState) confirmedOwners() int {
	n := 0
	for _, m := range st.members {
		if m.Type == TypeOwner && m.Status == StatusConfirmed {
			n++
		}
	}
	return n
}

func (st *orgState) knownEmails() map[string]bool {
	known := make(map[string]bool, len(st.members))
	for _, m := range st.members {
		known[strings.ToLower(m.Email)] = true
	}
	return known
}

// seed puts the organization back to one confirmed Owner with a master password.
func (s *Server) seed() {
	o := s.opts
	s.st = orgState{
		org: Org{
			ID:                s.orgID,
			Name:              o.OrgName,
			Profile:           s.profile,
			Enabled:           !o.DisableOrg,
			UseAPI:            !o.DisableAPI,
			UseDirectory:      !o.DisableDirectory,
			UseGroups:         !o.DisableGroups,
			Seats:             clonePtr(o.Seats),
			MaxAutoscaleSeats: clonePtr(o.MaxAutoscaleSeats),
			StagedFlag:        o.StagedFlag,
			VaultwardenGroups: o.VaultwardenGroups,
		},
		members: []Member{{
			ID:                newGUID(),
			Email:             "owner@example.com",
			Type:              TypeOwner,
			Status:            StatusConfirmed,
			HasMasterPassword: true,
		}},
	}
}

// Snapshot returns a deep copy of the organization, its members, groups, events and outbox.
func (s *Server) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.clone()
}

// AddMember seeds a member as given (any email, externalId, type, status, master password) and returns it
// with its id (a new one when m.ID is empty); a member with the same id is replaced, which is how a test
// changes the seeded Owner. The email is lowercased, as the server stores it. In the
// Vaultwarden profile a Status of StatusRevoked is stored the way Vaultwarden revokes: Confirmed−128 (−126)
// when the member has a master password, else Invited−128 (−128); restoring adds 128 back.
func (s *Server) AddMember(m Member) Member {
	if m.ID == "" {
		m.ID = newGUID()
	}
	m.Email = strings.ToLower(m.Email)
	if s.profile == Vaultwarden && m.Status == StatusRevoked {
		m.Status = StatusInvited - vwRevokeDiff
		if m.HasMasterPassword {
			m.Status = StatusConfirmed - vwRevokeDiff
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.st.member(m.ID); old != nil {
		*old = m
	} else {
		s.st.members = append(s.st.members, m)
	}
	return m
}

// AddGroup seeds a group and returns it with its id (a new one when g.ID is empty).
func (s *Server) AddGroup(g Group) Group {
	if g.ID == "" {
		g.ID = newGUID()
	}
	g.MemberIDs = slices.Clone(g.MemberIDs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.groups = append(s.st.groups, g)
	out := g
	out.MemberIDs = slices.Clone(g.MemberIDs)
	return out
}

// Reset puts the organization back to the seed (one confirmed Owner with a master password, the seats of
// Options) and forgets the import log, the token request count, pending faults and rate-limit counters.
// Tokens already issued stay valid.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seed()
	s.imports = nil
	s.tokenRequests = 0
	s.faults = nil
	s.tokenWindows = map[string]*rateWindow{}
	s.loginTAT = map[string]time.Time{}
}

// Imports returns every import request received so far, oldest first.
func (s *Server) Imports() []Import {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.imports)
}

// TokenRequests returns how many requests reached the token route.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}
