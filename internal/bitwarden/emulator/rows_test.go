package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Seed members used across the rows. "linked" members have an externalId; eve has none.
var (
	alice = Member{Email: "alice@example.com", ExternalID: "a", Type: TypeUser, Status: StatusConfirmed, HasMasterPassword: true}
	bob   = Member{Email: "bob@example.com", ExternalID: "b", Type: TypeUser, Status: StatusInvited}
	admin = Member{Email: "admin@example.com", ExternalID: "adm", Type: TypeAdmin, Status: StatusConfirmed, HasMasterPassword: true}
	boss  = Member{Email: "boss@example.com", ExternalID: "boss", Type: TypeOwner, Status: StatusConfirmed, HasMasterPassword: true}
	eve   = Member{Email: "eve@example.com", Type: TypeUser, Status: StatusConfirmed, HasMasterPassword: true}
)

func with(m Member, change func(*Member)) Member {
	change(&m)
	return m
}

// importCase is one request against a seeded organization and what must come of it.
type importCase struct {
	variant string
	opts    Options
	members []Member // seeded after the Owner
	groups  []Group  // seeded; MemberIDs hold member emails, resolved when seeding
	seed    func(h *harness)
	body    string
	status  int
	resp    string
	want    *view                                        // the whole state after, by name (nil: only extra)
	extra   func(t *testing.T, h *harness, before State) // further checks
}

func (c importCase) run(t *testing.T) {
	h := newHarness(t, c.opts)
	ids := map[string]string{}
	for _, m := range c.members {
		ids[m.Email] = h.s.AddMember(m).ID
	}
	for _, g := range c.groups {
		var memberIDs []string
		for _, e := range g.MemberIDs {
			memberIDs = append(memberIDs, ids[e])
		}
		g.MemberIDs = memberIDs
		h.s.AddGroup(g)
	}
	if c.seed != nil {
		c.seed(h)
	}
	before := h.s.Snapshot()
	res := h.importBody(c.body)
	after := h.s.Snapshot()
	if c.want != nil {
		check(t, res, c.status, c.resp, viewOf(after, before), *c.want)
	} else {
		check(t, res, c.status, c.resp, view{}, view{})
	}
	for _, e := range after.Events {
		if !e.At.Equal(h.clock.Now()) {
			t.Errorf("event %d at %v, want the clock's %v", e.Type, e.At, h.clock.Now())
		}
	}
	if c.extra != nil {
		c.extra(t, h, before)
	}
}

// unchanged is the expected view when a request changes nothing.
func unchanged(members ...Member) *view {
	v := view{Members: []string{ownerLine}}
	for _, m := range members {
		v.Members = append(v.Members, memberLine(m))
	}
	return &v
}

func lines(l ...string) []string { return l }

func TestBehaviourTableImport(t *testing.T) {
	rows := []struct {
		id    string
		cases []importCase
	}{
		{"I3", []importCase{
			{
				variant: "validation failure changes nothing",
				members: []Member{alice},
				body: `{"groups":[{"name":"` + strings.Repeat("n", 101) + `","externalId":"g","memberExternalIds":[]}],` +
					`"members":[{"email":null,"externalId":"x1","deleted":false},{"email":"no-at-sign","externalId":"x2","deleted":false},` +
					`{"email":"new@example.com","externalId":" ","deleted":false},{"email":"alice@example.com","externalId":"a","deleted":true}]}`,
				status: 400,
				resp: `{"object":"error","message":"The request\u0027s model state is invalid.","errors":{` +
					`"Groups[0].Name":["The field Name must be a string with a maximum length of 100."],` +
					`"Members[0].Email":["Email is required for enabled members."],` +
					`"Members[1].Email":["The Email field is not a valid e-mail address."],` +
					`"Members[2].ExternalId":["The ExternalId field is required."],` +
					`"OverwriteExisting":["The OverwriteExisting field is required."]}}`,
				want: unchanged(alice),
			},
			{
				variant: "JSON type error",
				body:    `{"groups":[],"members":[{"email":"x@example.com","externalId":"x","deleted":"yes"}],"overwriteExisting":false}`,
				status:  400,
				resp: `{"object":"error","message":"The request\u0027s model state is invalid.","errors":{"$.members[0].deleted":` +
					`["The JSON value could not be converted to System.Boolean. Path: $.members[0].deleted | LineNumber: 0 | BytePositionInLine: ` +
					fmt.Sprint(strings.Index(`{"groups":[],"members":[{"email":"x@example.com","externalId":"x","deleted":"yes"}]`, `"yes"`)+5) + `."]}}`,
				want: unchanged(),
			},
			{
				variant: "deleted entry with an empty email is still validated",
				body:    importJSON(nil, []mem{deleted("", "a")}, false),
				status:  400,
				resp:    `{"object":"error","message":"The request\u0027s model state is invalid.","errors":{"Members[0].Email":["The Email field is not a valid e-mail address."]}}`,
				want:    unchanged(),
			},
		}},
		{"I4", []importCase{
			{
				variant: "groups null",
				members: []Member{alice},
				body:    `{"groups":null,"members":[{"email":"alice@example.com","externalId":"a","deleted":true}],"overwriteExisting":false}`,
				status:  500, resp: serverErrorBody, want: unchanged(alice),
			},
			{
				variant: "members omitted",
				body:    `{"groups":[],"overwriteExisting":false}`,
				status:  500, resp: serverErrorBody, want: unchanged(),
			},
			{
				variant: "groups null on self-hosted",
				opts:    Options{Profile: SelfHosted},
				body:    `{"members":[],"overwriteExisting":false}`,
				status:  500, resp: serverErrorBody, want: unchanged(),
			},
			{
				variant: "null memberExternalIds fails at the group step after user changes",
				members: []Member{alice},
				body: `{"groups":[{"name":"G","externalId":"g","memberExternalIds":null}],"members":[` +
					`{"email":"alice@example.com","externalId":"a","deleted":true},{"email":"Carol@Example.com","externalId":"c","deleted":false}],"overwriteExisting":false}`,
				status: 500, resp: serverErrorBody,
				want: &view{
					Members: lines(ownerLine, "carol@example.com ext=c type=2 status=0 mp=false"),
					Events:  lines("1500 carol@example.com"),
					Outbox:  lines("invite carol@example.com"),
				},
			},
		}},
		{"I5", i5Cases()},
		{"I6", []importCase{{
			variant: "directory sync disabled",
			opts:    Options{DisableDirectory: true},
			members: []Member{alice},
			body:    importJSON(nil, []mem{deleted("alice@example.com", "a"), active("new@example.com", "n")}, false),
			status:  400, resp: errorBody("Organization cannot use directory syncing."), want: unchanged(alice),
		}}},
		{"I7", []importCase{{
			variant: "existing members share an externalId",
			members: []Member{alice, with(eve, func(m *Member) { m.ExternalID = "a" })},
			body:    importJSON(nil, []mem{active("new@example.com", "n")}, false),
			status:  500, resp: serverErrorBody,
			want: unchanged(alice, with(eve, func(m *Member) { m.ExternalID = "a" })),
		}}},
		{"I8", []importCase{{
			variant: "deleted entries remove linked non-owners not re-listed",
			members: []Member{alice, bob, admin, boss, eve, with(alice, func(m *Member) { m.Email, m.ExternalID = "dora@example.com", "d" })},
			groups:  []Group{{Name: "Team", MemberIDs: []string{"alice@example.com", "eve@example.com"}}},
			body: importJSON(nil, []mem{
				deleted("alice@example.com", "a"), deleted("bob@example.com", "b"), deleted("admin@example.com", "adm"),
				deleted("boss@example.com", "boss"), deleted("eve@example.com", "eve-id"), deleted("ghost@example.com", "ghost"),
				deleted("dora@example.com", "d"), active("dora@example.com", "d"), deleted("alice@example.com", "a"),
			}, false),
			status: 200, resp: "",
			want: &view{
				Members: lines(ownerLine, memberLine(boss), memberLine(eve), "dora@example.com ext=d type=2 status=2 mp=true"),
				Groups:  lines("Team ext= members=[eve@example.com]"),
				Events:  lines("1503 alice@example.com", "1503 bob@example.com", "1503 admin@example.com"),
			},
		}}},
		{"I9", []importCase{
			{
				variant: "a target without a master password fails after the deleted entries were applied",
				members: []Member{alice, bob},
				body:    importJSON(nil, []mem{deleted("alice@example.com", "a"), active("carol@example.com", "c")}, true),
				status:  400, resp: overwriteMPBody,
				want: unchanged(bob),
			},
			{
				variant: "a member just removed by a deleted entry is a target again",
				members: []Member{with(alice, func(m *Member) { m.HasMasterPassword = false })},
				body:    importJSON(nil, []mem{deleted("alice@example.com", "a")}, true),
				status:  400, resp: overwriteMPBody,
				want: unchanged(),
			},
			{
				variant: "staged members have no master password",
				members: []Member{with(alice, func(m *Member) { m.Status = StatusStaged })},
				body:    importJSON(nil, nil, true),
				status:  400, resp: overwriteMPBody,
				want: unchanged(with(alice, func(m *Member) { m.Status = StatusStaged })),
			},
		}},
		{"I10", []importCase{
			{
				variant: "overwrite removes non-owner linked members missing from the request",
				members: []Member{alice, admin, boss, eve, with(alice, func(m *Member) { m.Email, m.ExternalID = "kept@example.com", "k" })},
				groups:  []Group{{Name: "Manual", MemberIDs: []string{"alice@example.com", "eve@example.com"}}},
				body:    importJSON(nil, []mem{active("kept@example.com", "k"), active("carol@example.com", "c")}, true),
				status:  200, resp: "",
				want: &view{
					Members: lines(ownerLine, memberLine(boss), memberLine(eve), "kept@example.com ext=k type=2 status=2 mp=true",
						"carol@example.com ext=c type=2 status=0 mp=false"),
					Groups: lines("Manual ext= members=[eve@example.com]"),
					Events: lines("1500 carol@example.com", "1503 alice@example.com", "1503 admin@example.com"),
					Outbox: lines("invite carol@example.com"),
				},
			},
			{
				variant: "a changed directory id deletes and re-invites",
				members: []Member{alice},
				body:    importJSON(nil, []mem{active("alice@example.com", "a-new")}, true),
				status:  200, resp: "",
				want: &view{
					Members: lines(ownerLine, "alice@example.com ext=a-new type=2 status=0 mp=false"),
					Events:  lines("1500 alice@example.com", "1503 alice@example.com"),
					Outbox:  lines("invite alice@example.com"),
				},
			},
		}},
		{"I11", []importCase{{
			variant: "duplicate active emails after the removals",
			members: []Member{alice, admin},
			body:    importJSON(nil, []mem{deleted("alice@example.com", "a"), active("x@example.com", "x1"), active("X@Example.com", "x2")}, true),
			status:  500, resp: serverErrorBody,
			want: unchanged(),
		}}},
		{"I12", []importCase{
			{
				variant: "unlinked member takes the externalId and joins groups",
				members: []Member{eve},
				body:    importJSON([]grp{group("G", "g", "e")}, []mem{active("EVE@example.com", "e")}, false),
				status:  200, resp: "",
				want: &view{
					Members: lines(ownerLine, "eve@example.com ext=e type=2 status=2 mp=true"),
					Groups:  lines("G ext=g members=[eve@example.com]"),
					Events:  lines("1400 group G"),
				},
			},
			{
				variant: "externalId already taken",
				members: []Member{eve, alice},
				body:    importJSON(nil, []mem{active("eve@example.com", "a")}, false),
				status:  500, resp: serverErrorBody,
				want: unchanged(eve, alice),
			},
		}},
		{"I13", []importCase{
			{
				variant: "staged: flag on and inviteUsersAfterProvisioning false, no seat check",
				opts:    Options{StagedFlag: true, Seats: ptr(1), MaxAutoscaleSeats: ptr(1)},
				body:    `{"groups":[],"members":[{"email":"Carol@Example.com","externalId":"c","deleted":false}],"overwriteExisting":false,"inviteUsersAfterProvisioning":false}`,
				status:  200, resp: "",
				want: &view{
					Members: lines(ownerLine, "carol@example.com ext=c type=2 status=3 mp=false"),
					Events:  lines("1523 carol@example.com"),
				},
			},
			{
				variant: "flag off: invited anyway",
				body:    `{"groups":[],"members":[{"email":"carol@example.com","externalId":"c","deleted":false}],"overwriteExisting":false,"inviteUsersAfterProvisioning":false}`,
				status:  200, resp: "",
				want: &view{
					Members: lines(ownerLine, "carol@example.com ext=c type=2 status=0 mp=false"),
					Events:  lines("1500 carol@example.com"),
					Outbox:  lines("invite carol@example.com"),
				},
			},
			{
				variant: "absent field means true: invited",
				opts:    Options{StagedFlag: true},
				body:    `{"groups":[],"members":[{"email":"carol@example.com","externalId":"c","deleted":false}],"overwriteExisting":false}`,
				status:  200, resp: "",
				want: &view{
					Members: lines(ownerLine, "carol@example.com ext=c type=2 status=0 mp=false"),
					Events:  lines("1500 carol@example.com"),
					Outbox:  lines("invite carol@example.com"),
				},
			},
		}},
		{"I14", []importCase{{
			variant: "invites grow the cloud seats",
			opts:    Options{Seats: ptr(2)},
			members: []Member{with(alice, func(m *Member) { m.Status = StatusRevoked }), with(bob, func(m *Member) { m.Status = StatusStaged })},
			body:    importJSON(nil, []mem{active("carol@example.com", "c"), active("dan@example.com", "d"), active("erin@example.com", "e")}, false),
			status:  200, resp: "",
			want: &view{
				Members: lines(ownerLine, memberLine(with(alice, func(m *Member) { m.Status = StatusRevoked })),
					memberLine(with(bob, func(m *Member) { m.Status = StatusStaged })),
					"carol@example.com ext=c type=2 status=0 mp=false", "dan@example.com ext=d type=2 status=0 mp=false",
					"erin@example.com ext=e type=2 status=0 mp=false"),
				Events: lines("1500 carol@example.com", "1500 dan@example.com", "1500 erin@example.com"),
				Outbox: lines("autoscale owner@example.com", "invite carol@example.com", "invite dan@example.com", "invite erin@example.com"),
			},
			extra: func(t *testing.T, h *harness, _ State) {
				// Owner occupies 1 of 2 seats (revoked and staged are free): 3 invites need 2 more.
				if got := *h.s.Snapshot().Org.Seats; got != 4 {
					t.Errorf("seats = %d, want 4", got)
				}
			},
		}}},
		{"I15", []importCase{
			{
				variant: "self-hosted cannot autoscale; earlier steps kept",
				opts:    Options{Profile: SelfHosted, Seats: ptr(2)},
				members: []Member{alice},
				body:    importJSON(nil, []mem{deleted("alice@example.com", "a"), active("carol@example.com", "c"), active("dan@example.com", "d")}, false),
				status:  400, resp: errorBody("Cannot autoscale on self-hosted instance."),
				want: unchanged(),
			},
			{
				variant: "cloud over maxAutoscaleSeats",
				opts:    Options{Seats: ptr(2), MaxAutoscaleSeats: ptr(2)},
				body:    importJSON(nil, []mem{active("carol@example.com", "c"), active("dan@example.com", "d")}, false),
				status:  400, resp: errorBody("Seat limit has been reached."),
				want: unchanged(),
			},
			{
				variant: "already over the limit fails with zero invites",
				opts:    Options{Profile: SelfHosted, Seats: ptr(1)},
				members: []Member{alice},
				body:    importJSON(nil, []mem{active("alice@example.com", "a")}, false),
				status:  400, resp: errorBody("Cannot autoscale on self-hosted instance."),
				want: unchanged(alice),
			},
		}},
		{"I16", []importCase{
			{
				variant: "no confirmed owner",
				seed:    func(h *harness) { h.s.AddMember(with(h.owner(), func(m *Member) { m.Status = StatusAccepted })) },
				body:    importJSON(nil, []mem{active("carol@example.com", "c")}, false),
				status:  400, resp: errorBody("Organization must have at least one confirmed owner."),
				want: &view{Members: lines("owner@example.com ext= type=0 status=1 mp=true")},
			},
			{
				variant: "no invites needs no owner",
				seed:    func(h *harness) { h.s.AddMember(with(h.owner(), func(m *Member) { m.Status = StatusAccepted })) },
				members: []Member{alice},
				body:    importJSON(nil, []mem{active("alice@example.com", "a")}, false),
				status:  200, resp: "",
				want: &view{Members: lines("owner@example.com ext= type=0 status=1 mp=true", memberLine(alice))},
			},
		}},
		{"I17", []importCase{{
			variant: "new id with a known email is skipped and drops out of groups",
			members: []Member{with(alice, func(m *Member) { m.Status = StatusRevoked })},
			groups:  []Group{{Name: "G", ExternalID: "g", MemberIDs: []string{"alice@example.com"}}},
			body:    importJSON([]grp{group("G", "g", "a2")}, []mem{active("ALICE@example.com", "a2")}, false),
			status:  200, resp: "",
			want: &view{
				Members: lines(ownerLine, memberLine(with(alice, func(m *Member) { m.Status = StatusRevoked }))),
				Groups:  lines("G ext=g members=[]"),
				Events:  lines("1401 group G"),
			},
		}}},
		{"I18", []importCase{
			{
				variant: "groups disabled fails after user changes",
				opts:    Options{DisableGroups: true},
				members: []Member{alice},
				body:    importJSON([]grp{group("G", "g", "c")}, []mem{deleted("alice@example.com", "a"), active("carol@example.com", "c")}, false),
				status:  400, resp: errorBody("Organization cannot use groups."),
				want: &view{
					Members: lines(ownerLine, "carol@example.com ext=c type=2 status=0 mp=false"),
					Events:  lines("1500 carol@example.com"),
					Outbox:  lines("invite carol@example.com"),
				},
			},
			{
				variant: "no groups is fine",
				opts:    Options{DisableGroups: true},
				body:    importJSON(nil, []mem{active("carol@example.com", "c")}, false),
				status:  200, resp: "",
				want: &view{
					Members: lines(ownerLine, "carol@example.com ext=c type=2 status=0 mp=false"),
					Events:  lines("1500 carol@example.com"),
					Outbox:  lines("invite carol@example.com"),
				},
			},
		}},
		{"I19", []importCase{
			{
				variant: "duplicate request group ids",
				members: []Member{alice},
				body:    importJSON([]grp{group("G1", "g"), group("G2", "g")}, []mem{deleted("alice@example.com", "a"), active("carol@example.com", "c")}, false),
				status:  500, resp: serverErrorBody,
				want: &view{
					Members: lines(ownerLine, "carol@example.com ext=c type=2 status=0 mp=false"),
					Events:  lines("1500 carol@example.com"),
					Outbox:  lines("invite carol@example.com"),
				},
			},
			{
				variant: "duplicate existing group ids",
				groups:  []Group{{Name: "A", ExternalID: "g"}, {Name: "B", ExternalID: "g"}},
				body:    importJSON([]grp{group("New", "n")}, []mem{active("carol@example.com", "c")}, false),
				status:  500, resp: serverErrorBody,
				want: &view{
					Members: lines(ownerLine, "carol@example.com ext=c type=2 status=0 mp=false"),
					Groups:  lines("A ext=g members=[]", "B ext=g members=[]"),
					Events:  lines("1500 carol@example.com"),
					Outbox:  lines("invite carol@example.com"),
				},
			},
		}},
		{"I20", []importCase{{
			variant: "new group with its resolvable members; a same-named manual group is duplicated",
			members: []Member{with(alice, func(m *Member) { m.Status = StatusRevoked }), eve},
			groups:  []Group{{Name: "Team", MemberIDs: []string{"eve@example.com"}}},
			body:    importJSON([]grp{group("Team", "t", "a", "c", "unknown", "c")}, []mem{active("carol@example.com", "c")}, false),
			status:  200, resp: "",
			want: &view{
				Members: lines(ownerLine, memberLine(with(alice, func(m *Member) { m.Status = StatusRevoked })), memberLine(eve),
					"carol@example.com ext=c type=2 status=0 mp=false"),
				Groups: lines("Team ext= members=[eve@example.com]", "Team ext=t members=[alice@example.com carol@example.com]"),
				Events: lines("1500 carol@example.com", "1400 group Team"),
				Outbox: lines("invite carol@example.com"),
			},
		}}},
		{"I21", []importCase{{
			variant: "known group: renamed, members replaced, 1401 even when unchanged",
			members: []Member{alice, eve, with(bob, func(m *Member) { m.Status = StatusConfirmed })},
			groups: []Group{
				{Name: "Old", ExternalID: "g1", MemberIDs: []string{"alice@example.com", "eve@example.com"}},
				{Name: "Same", ExternalID: "g2", MemberIDs: []string{"bob@example.com"}},
				{Name: "Untouched", ExternalID: "g3", MemberIDs: []string{"alice@example.com"}},
			},
			body:   importJSON([]grp{group("Same", "g2", "b"), group("New name", "g1", "b", "gone")}, nil, false),
			status: 200, resp: "",
			want: &view{
				Members: lines(ownerLine, memberLine(alice), memberLine(eve), memberLine(with(bob, func(m *Member) { m.Status = StatusConfirmed }))),
				Groups: lines("New name ext=g1 members=[bob@example.com]", "Same ext=g2 members=[bob@example.com]",
					"Untouched ext=g3 members=[alice@example.com]"),
				Events: lines("1401 group New name", "1401 group Same"),
			},
		}}},
		{"I22", []importCase{{
			variant: "end of request: removals logged last, 200 with an empty body",
			members: []Member{alice},
			body:    importJSON([]grp{group("G", "g", "c")}, []mem{deleted("alice@example.com", "a"), active("carol@example.com", "c")}, false),
			status:  200, resp: "",
			want: &view{
				Members: lines(ownerLine, "carol@example.com ext=c type=2 status=0 mp=false"),
				Groups:  lines("G ext=g members=[carol@example.com]"),
				Events:  lines("1500 carol@example.com", "1400 group G", "1503 alice@example.com"),
				Outbox:  lines("invite carol@example.com"),
			},
		}}},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			for _, c := range row.cases {
				t.Run(c.variant, c.run)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func manyMembers(n, deletedN int) []mem {
	var ms []mem
	for i := range n {
		ms = append(ms, active(fmt.Sprintf("user%d@example.com", i), fmt.Sprint("u", i)))
	}
	for i := range deletedN {
		ms = append(ms, deleted(fmt.Sprintf("gone%d@example.com", i), fmt.Sprint("g", i)))
	}
	return ms
}

func manyGroups(n int) []grp {
	var gs []grp
	for i := range n {
		gs = append(gs, group(fmt.Sprint("Group ", i), fmt.Sprint("grp", i)))
	}
	return gs
}

func memberCount(want int) func(t *testing.T, h *harness, _ State) {
	return func(t *testing.T, h *harness, _ State) {
		if got := len(h.s.Snapshot().Members); got != want {
			t.Errorf("members = %d, want %d", got, want)
		}
	}
}

func i5Cases() []importCase {
	tooMuch := errorBody("You cannot import this much data at once.")
	largeImport := func(b string) string {
		return strings.Replace(b, `"largeImport":false`, `"largeImport":true`, 1)
	}
	return []importCase{
		{variant: "2001 active members", body: importJSON(nil, manyMembers(2001, 0), false), status: 400, resp: tooMuch, want: unchanged()},
		{variant: "2000 active members pass", body: importJSON(nil, manyMembers(2000, 0), false), status: 200, extra: memberCount(2001)},
		{variant: "deleted entries are not counted", body: importJSON(nil, manyMembers(2000, 5), false), status: 200, extra: memberCount(2001)},
		{variant: "2001 groups", body: importJSON(manyGroups(2001), nil, false), status: 400, resp: tooMuch, want: unchanged()},
		{variant: "largeImport skips the guard", body: largeImport(importJSON(nil, manyMembers(2001, 0), false)), status: 200, extra: memberCount(2002)},
		{variant: "self-hosted never checks", opts: Options{Profile: SelfHosted}, body: importJSON(nil, manyMembers(2001, 0), false), status: 200, extra: memberCount(2002)},
		{
			variant: "the guard short-circuits before null members",
			body:    `{"groups":` + importJSON(manyGroups(2001), nil, false)[len(`{"groups":`):strings.Index(importJSON(manyGroups(2001), nil, false), `,"members"`)] + `,"overwriteExisting":false}`,
			status:  400, resp: tooMuch, want: unchanged(),
		},
	}
}

func TestBehaviourTableRequests(t *testing.T) {
	t.Run("I1", func(t *testing.T) {
		h := newHarness(t, Options{})
		other := newHarness(t, Options{OrgID: h.s.OrgID(), APIKey: h.s.APIKey()})
		tok := h.token()
		before := h.s.Snapshot()
		body := importJSON(nil, []mem{active("carol@example.com", "c")}, false)
		for _, c := range []struct {
			name, token, auth, challenge string
			advance                      time.Duration
		}{
			{name: "no token", challenge: "Bearer"},
			{name: "other scheme", auth: "Basic " + tok, challenge: "Bearer"},
			{name: "garbage", token: "abc.def.ghi", challenge: `Bearer error="invalid_token"`},
			{name: "tampered", token: tok[:len(tok)-4] + "AAAA", challenge: `Bearer error="invalid_token"`},
			{name: "issued by another server", token: other.token(), challenge: `Bearer error="invalid_token"`},
			{
				name: "expired", token: tok, advance: time.Hour + clockSkew + time.Second,
				challenge: `Bearer error="invalid_token", error_description="The token expired at '08/20/2026 13:00:00'"`,
			},
		} {
			t.Run(c.name, func(t *testing.T) {
				h.clock.Advance(c.advance)
				req := h.importRequest("/public/organization/import", c.token, body)
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				res := h.do(req)
				check(t, res, 401, "", viewOf(h.s.Snapshot()), viewOf(before))
				if got := res.header.Get("WWW-Authenticate"); got != c.challenge {
					t.Errorf("WWW-Authenticate = %q, want %q", got, c.challenge)
				}
			})
		}
	})
	t.Run("I2", func(t *testing.T) {
		h := newHarness(t, Options{})
		before := h.s.Snapshot()
		res := h.do(h.importRequest("/public/organization/import", h.s.IssueToken("api"), importJSON(nil, []mem{active("c@example.com", "c")}, false)))
		check(t, res, 403, "", viewOf(h.s.Snapshot()), viewOf(before))
	})
	t.Run("I23", func(t *testing.T) {
		for _, c := range []struct {
			profile Profile
			limit   int
		}{
			{Cloud, bitwardenBodyLimit},
			{Vaultwarden, vaultwardenBodyLimit},
		} {
			t.Run(string(c.profile), func(t *testing.T) {
				h := newHarness(t, Options{Profile: c.profile})
				before := h.s.Snapshot()
				// A valid import padded with whitespace: at the limit it is accepted, one byte more is 413.
				valid := importJSON(nil, []mem{active("carol@example.com", "c")}, false)
				atLimit := valid + strings.Repeat(" ", c.limit-len(valid))
				res := h.do(h.importRequest("/public/organization/import", h.token(), atLimit+" "))
				if res.status != http.StatusRequestEntityTooLarge {
					t.Fatalf("over the limit: HTTP %d %.200s", res.status, res.body)
				}
				if c.profile != Vaultwarden && res.body != "" {
					t.Errorf("413 body = %q, want empty", res.body)
				}
				if diff := cmp.Diff(viewOf(before), viewOf(h.s.Snapshot())); diff != "" {
					t.Errorf("state changed (-before +after):\n%s", diff)
				}
				if res := h.do(h.importRequest("/public/organization/import", h.token(), atLimit)); res.status != http.StatusOK {
					t.Errorf("at the limit: HTTP %d %.200s", res.status, res.body)
				}
			})
		}
	})
}
