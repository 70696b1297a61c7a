package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/bitwarden"
	"github.com/dirconn/dirconn/internal/directory"
)

func user(id, email string) directory.User { return directory.User{ID: id, Email: email} }

func disabled(u directory.User) directory.User { u.Disabled = true; return u }
func deleted(u directory.User) directory.User  { u.Deleted = true; return u }

func snap(users []directory.User, groups []directory.Group) *directory.Snapshot {
	s := &directory.Snapshot{Users: users, Groups: groups, UsersRead: true, GroupsRead: true}
	s.Completeness.Add(directory.Read{What: "test", Finished: true})
	return s
}

func syncedOf(members map[string]string, groups map[string]SyncedGroup) *Synced {
	s := NewSynced()
	for k, e := range members {
		s.Members[k] = SyncedMember{Email: e}
	}
	for k, g := range groups {
		s.Groups[k] = g
	}
	return s
}

var defaults = Options{Users: true, Groups: true, DeleteLimit: 50, DeleteLimitPercent: 10, InviteUsersAfterProvisioning: true}

func ids(cs []MemberChange) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ExternalID)
	}
	slices.Sort(out)
	return out
}

func pushed(p *Plan) (members []bitwarden.ImportMember, groups []bitwarden.ImportGroup) {
	for _, b := range p.Batches() {
		members = append(members, b.Request.Members...)
		groups = append(groups, b.Request.Groups...)
	}
	return members, groups
}

func TestNormalize(t *testing.T) {
	s := snap([]directory.User{
		user("u1", "  Ann@Example.COM "),
		user("u2", ""),                             // active, no email: skipped
		disabled(user("u3", "")),                   // disabled, no email: kept (never invited anyway)
		{ID: "u4", EmailPrefix: "bob"},             // prefix+suffix
		{ID: "u5", EmailPrefix: "carl@other.test"}, // prefix already an address
		user("u6", "dup@example.com"),
		user("u7", "DUP@example.com"),                  // duplicate email: both skipped
		deleted(user("u8", "ann@example.com")),         // tombstone sharing an email: no conflict
		user("u9", "not-an-email"),                     // invalid
		user("u10", strings.Repeat("a", 251)+"@x.com"), // too long
		user("", "noid@example.com"),                   // no id: unidentified
		user("u1", "  Ann@Example.COM "),               // exact duplicate record: collapsed
		user("u11", "one@example.com"),
		user("u11", "two@example.com"), // one id, two different records: both skipped
	}, nil)
	d := Normalize(s, NormalizeOptions{UseEmailPrefixSuffix: true, EmailSuffix: "example.com"})
	var got []string
	for _, u := range d.Users {
		got = append(got, fmt.Sprintf("%s=%s", u.ExternalID, u.Email))
	}
	want := []string{"u1=ann@example.com", "u3=", "u4=bob@example.com", "u5=carl@other.test", "u8=ann@example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	var skipped []string
	for _, is := range d.Skipped {
		skipped = append(skipped, is.ID)
	}
	slices.Sort(skipped)
	if diff := cmp.Diff([]string{"", "u10", "u11", "u11", "u2", "u6", "u7", "u9"}, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if d.Unidentified != 1 {
		t.Errorf("Unidentified = %d, want 1", d.Unidentified)
	}
}

func TestFlattenNested(t *testing.T) {
	users := []directory.User{user("a", "a@x.io"), user("b", "b@x.io"), user("c", "c@x.io"), user("d", "d@x.io")}
	groups := []directory.Group{
		{ID: "top", Name: "Top", Users: []string{"a"}, Groups: []string{"mid", "missing"}},
		{ID: "mid", Name: "Mid", Users: []string{"b"}, Groups: []string{"leaf"}},
		{ID: "leaf", Name: "Leaf", Users: []string{"c", "ghost"}},
		{ID: "cyc1", Name: "Cycle 1", Users: []string{"a"}, Groups: []string{"cyc2"}},
		{ID: "cyc2", Name: "Cycle 2", Users: []string{"d"}, Groups: []string{"cyc1", "leaf"}},
		{ID: "self", Name: "Self", Users: []string{"b"}, Groups: []string{"self"}},
		{ID: "diamond", Name: "Diamond", Groups: []string{"mid", "leaf", "top"}},
		{ID: "empty", Name: "Empty"},
	}
	d := Normalize(snap(users, groups), NormalizeOptions{})
	got := map[string][]string{}
	for i := range d.Groups {
		got[d.Groups[i].Name] = d.Members(&d.Groups[i])
	}
	want := map[string][]string{
		"Top":     {"a", "b", "c"},
		"Mid":     {"b", "c"},
		"Leaf":    {"c"},
		"Cycle 1": {"a", "c", "d"},
		"Cycle 2": {"a", "c", "d"},
		"Self":    {"b"},
		"Diamond": {"a", "b", "c"},
		"Empty":   {},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flattened members (-want +got):\n%s", diff)
	}
}

func TestGroupIssues(t *testing.T) {
	groups := []directory.Group{
		{ID: "g1", Name: strings.Repeat("n", 101)},
		{ID: "g2", Name: ""},
		{ID: "g3", Name: "Dup A"},
		{ID: "g3", Name: "Dup B"},
		{ID: "", Name: "No id"},
		{ID: "g4", Name: "Fine", Groups: []string{"g1"}, Users: []string{"u1"}},
		{ID: "g1child", Name: "x"},
	}
	groups[0].Users = []string{"u2"}
	d := Normalize(snap([]directory.User{user("u1", "a@x.io"), user("u2", "b@x.io")}, groups), NormalizeOptions{})
	if len(d.Groups) != 2 {
		t.Fatalf("groups = %+v, want Fine and x", d.Groups)
	}
	// A skipped group still passes its members to its parents.
	fine := slices.IndexFunc(d.Groups, func(g DesiredGroup) bool { return g.Name == "Fine" })
	if diff := cmp.Diff([]string{"u1", "u2"}, d.Members(&d.Groups[fine])); diff != "" {
		t.Errorf("Fine members (-want +got):\n%s", diff)
	}
	if n := len(d.Skipped); n != 5 {
		t.Errorf("skipped %d groups, want 5: %+v", n, d.Skipped)
	}
}

func TestInvitesAndDisabled(t *testing.T) {
	s := snap([]directory.User{
		user("new", "new@x.io"),
		disabled(user("dis-new", "dn@x.io")),
		disabled(user("dis-old", "do@x.io")),
		deleted(user("del-new", "gone@x.io")),
	}, []directory.Group{{ID: "g", Name: "G", Users: []string{"new", "dis-new", "dis-old", "del-new"}}})
	synced := syncedOf(map[string]string{"dis-old": "do@x.io"}, nil)
	p := Build(Normalize(s, NormalizeOptions{}), synced, nil, defaults)
	if diff := cmp.Diff([]string{"new"}, ids(p.Invites)); diff != "" {
		t.Errorf("invites (-want +got):\n%s", diff)
	}
	if len(p.Removals)+len(p.Held) != 0 {
		t.Errorf("removals %v held %v, want none", p.Removals, p.Held)
	}
	members, groups := pushed(p)
	if diff := cmp.Diff([]bitwarden.ImportMember{{Email: "new@x.io", ExternalID: "new"}}, members); diff != "" {
		t.Errorf("pushed members (-want +got):\n%s", diff)
	}
	// The group holds the new member and the disabled member that stays, never the disabled newcomer.
	if len(groups) != 1 || !slices.Equal(groups[0].MemberExternalIDs, []string{"dis-old", "new"}) {
		t.Errorf("pushed groups = %+v, want G with dis-old and new", groups)
	}

	o := defaults
	o.RemoveDisabled = true
	o.DeleteLimitPercent = 0 // one removal of one synced user is 100%
	p = Build(Normalize(s, NormalizeOptions{}), synced, nil, o)
	if diff := cmp.Diff([]string{"dis-old"}, ids(p.Removals)); diff != "" {
		t.Errorf("removeDisabled removals (-want +got):\n%s", diff)
	}
	members, groups = pushed(p)
	if members[0] != (bitwarden.ImportMember{Email: "do@x.io", ExternalID: "dis-old", Deleted: true}) {
		t.Errorf("first pushed member = %+v, want the removal of dis-old", members[0])
	}
	if !slices.Equal(groups[0].MemberExternalIDs, []string{"new"}) {
		t.Errorf("group members = %v, want only new", groups[0].MemberExternalIDs)
	}
}

func TestRemovalsAndGuard(t *testing.T) {
	// 100 synced users; the directory keeps the first `keep`.
	mk := func(keep int, complete bool) (*Desired, *Synced) {
		synced := NewSynced()
		var users []directory.User
		for i := range 100 {
			id := fmt.Sprintf("u%03d", i)
			synced.Members[id] = SyncedMember{Email: id + "@x.io"}
			if i < keep {
				users = append(users, user(id, id+"@x.io"))
			}
		}
		s := snap(users, nil)
		if !complete {
			s.Completeness.Add(directory.Read{What: "users page 3", Reason: "connection reset"})
		}
		return Normalize(s, NormalizeOptions{}), synced
	}
	cases := []struct {
		name        string
		keep        int
		complete    bool
		opts        func(*Options)
		removed     int
		held        int
		approvable  bool
		reasonMatch string
	}{
		{name: "within limits", keep: 95, complete: true, removed: 5},
		{name: "over percent", keep: 85, complete: true, held: 15, approvable: true, reasonMatch: "deleteLimitPercent"},
		{name: "over count", keep: 40, complete: true, opts: func(o *Options) { o.DeleteLimitPercent = 0 }, held: 60, approvable: true, reasonMatch: "deleteLimit"},
		{name: "approved", keep: 40, complete: true, opts: func(o *Options) { o.AllowDeletes = true }, removed: 60},
		{name: "limits off", keep: 0, complete: true, opts: func(o *Options) { o.DeleteLimit, o.DeleteLimitPercent = 0, 0 }, removed: 100},
		{name: "incomplete read", keep: 99, complete: false, held: 1, reasonMatch: "incomplete"},
		{name: "incomplete read approval does not release vanished", keep: 99, complete: false, opts: func(o *Options) { o.AllowDeletes = true }, held: 1, reasonMatch: "connection reset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, synced := mk(tc.keep, tc.complete)
			o := defaults
			if tc.opts != nil {
				tc.opts(&o)
			}
			p := Build(d, synced, nil, o)
			if len(p.Removals) != tc.removed || len(p.Held) != tc.held {
				t.Fatalf("removals=%d held=%d, want %d and %d", len(p.Removals), len(p.Held), tc.removed, tc.held)
			}
			if p.Guard.Held != (tc.held > 0) || p.Guard.Approvable != tc.approvable {
				t.Errorf("guard = %+v, want held=%v approvable=%v", p.Guard, tc.held > 0, tc.approvable)
			}
			if tc.reasonMatch != "" && !strings.Contains(strings.Join(p.Guard.Reasons, "\n"), tc.reasonMatch) {
				t.Errorf("reasons %q do not mention %q", p.Guard.Reasons, tc.reasonMatch)
			}
			members, _ := pushed(p)
			var dels int
			for _, m := range members {
				if m.Deleted {
					dels++
				}
			}
			if dels != tc.removed {
				t.Errorf("pushed %d deletions, want %d", dels, tc.removed)
			}
		})
	}
}

func TestIncompleteExplicitRemovalNeedsApproval(t *testing.T) {
	s := snap([]directory.User{deleted(user("a", "a@x.io")), user("b", "b@x.io")}, nil)
	s.Completeness.Add(directory.Read{What: "groups", Reason: "size limit"})
	synced := syncedOf(map[string]string{"a": "a@x.io", "b": "b@x.io"}, nil)
	p := Build(Normalize(s, NormalizeOptions{}), synced, nil, defaults)
	if !p.Guard.Held || !p.Guard.Approvable || len(p.Held) != 1 {
		t.Fatalf("guard %+v held %v: want the deletion held and approvable", p.Guard, p.Held)
	}
	o := defaults
	o.AllowDeletes = true
	p = Build(Normalize(s, NormalizeOptions{}), synced, nil, o)
	if diff := cmp.Diff([]string{"a"}, ids(p.Removals)); diff != "" {
		t.Errorf("approved removals (-want +got):\n%s", diff)
	}
}

func TestSkippedUserIsLeftAlone(t *testing.T) {
	s := snap([]directory.User{user("a", "same@x.io"), user("b", "SAME@x.io"), user("c", "c@x.io")},
		[]directory.Group{{ID: "g", Name: "G", Users: []string{"a", "b", "c"}}})
	synced := syncedOf(map[string]string{"a": "same@x.io"}, map[string]SyncedGroup{"g": {Name: "G", Members: []string{"a"}}})
	p := Build(Normalize(s, NormalizeOptions{}), synced, nil, defaults)
	if len(p.Removals)+len(p.Held) != 0 {
		t.Errorf("a skipped, previously synced user was planned for removal: %v %v", p.Removals, p.Held)
	}
	if diff := cmp.Diff([]string{"c"}, ids(p.Invites)); diff != "" {
		t.Errorf("invites (-want +got):\n%s", diff)
	}
	_, groups := pushed(p)
	if len(groups) != 1 || !slices.Equal(groups[0].MemberExternalIDs, []string{"a", "c"}) {
		t.Errorf("groups = %+v: want a (skipped but synced) and c", groups)
	}
	if len(p.Skipped) != 2 {
		t.Errorf("skipped = %+v, want the two duplicate-email records", p.Skipped)
	}
}

func TestUnidentifiedRecordHoldsVanishedRemovals(t *testing.T) {
	s := snap([]directory.User{user("a", "a@x.io")}, nil)
	s.Issues = []directory.Issue{{Kind: "user", Reason: "line 7: no id"}}
	synced := syncedOf(map[string]string{"a": "a@x.io", "b": "b@x.io"}, nil)
	p := Build(Normalize(s, NormalizeOptions{}), synced, nil, defaults)
	if len(p.Removals) != 0 || len(p.Held) != 1 || p.Guard.Approvable {
		t.Errorf("removals %v held %v guard %+v: want b held, not approvable", p.Removals, p.Held, p.Guard)
	}
}

func TestGroupChanges(t *testing.T) {
	users := []directory.User{user("a", "a@x.io"), user("b", "b@x.io")}
	groups := []directory.Group{
		{ID: "same", Name: "Same", Users: []string{"a"}},
		{ID: "renamed", Name: "New Name", Users: []string{"a"}},
		{ID: "moved", Name: "Moved", Users: []string{"b"}},
		{ID: "created", Name: "Created"},
	}
	synced := syncedOf(map[string]string{"a": "a@x.io", "b": "b@x.io"}, map[string]SyncedGroup{
		"same":    {Name: "Same", Members: []string{"a"}},
		"renamed": {Name: "Old Name", Members: []string{"a"}},
		"moved":   {Name: "Moved", Members: []string{"a"}},
		"gone":    {Name: "Gone", Members: []string{}},
	})
	p := Build(Normalize(snap(users, groups), NormalizeOptions{}), synced, nil, defaults)
	if p.Counts.UnchangedGroups != 1 || p.Counts.GroupCreates != 1 || p.Counts.GroupUpdates != 2 {
		t.Errorf("counts = %+v, want 1 unchanged, 1 create, 2 updates", p.Counts)
	}
	for _, g := range p.GroupUpdates {
		switch g.ExternalID {
		case "renamed":
			if g.OldName != "Old Name" {
				t.Errorf("rename not reported: %+v", g)
			}
		case "moved":
			if !slices.Equal(g.Added, []string{"b"}) || !slices.Equal(g.Removed, []string{"a"}) {
				t.Errorf("membership diff = %+v, want +b -a", g)
			}
		}
	}
	if len(p.GroupsGone) != 1 || p.GroupsGone[0].ExternalID != "gone" {
		t.Errorf("GroupsGone = %+v, want gone", p.GroupsGone)
	}
	members, pg := pushed(p)
	if len(members) != 0 || len(pg) != 3 {
		t.Errorf("pushed %d members and %d groups, want 0 and 3", len(members), len(pg))
	}
	// Committing every batch and finishing leaves a cache from which the same directory plans nothing.
	for _, b := range p.Batches() {
		synced.Apply(&b)
	}
	p.Finish(synced)
	p2 := Build(Normalize(snap(users, groups), NormalizeOptions{}), synced, nil, defaults)
	if !p2.Empty() || len(p2.Batches()) != 0 {
		t.Errorf("second plan is not empty: %+v", p2.Counts)
	}
	if _, ok := synced.Groups["gone"]; ok {
		t.Error("a group gone from the directory stayed in the cache")
	}
}

func TestBatches(t *testing.T) {
	var users []directory.User
	var groups []directory.Group
	for i := range 4500 {
		users = append(users, user(fmt.Sprintf("u%05d", i), fmt.Sprintf("u%05d@x.io", i)))
	}
	for i := range 2500 {
		groups = append(groups, directory.Group{ID: fmt.Sprintf("g%d", i), Name: fmt.Sprintf("G%d", i), Users: []string{users[i].ID}})
	}
	p := Build(Normalize(snap(users, groups), NormalizeOptions{}), nil, nil, defaults)
	var shape []string
	for _, b := range p.Batches() {
		shape = append(shape, fmt.Sprintf("%s:%d/%d large=%v invite=%v", b.Kind, len(b.Request.Members), len(b.Request.Groups), b.Request.LargeImport, b.Request.InviteUsersAfterProvisioning))
		if b.Request.Members == nil || b.Request.Groups == nil {
			t.Errorf("a batch has a null list: %s", shape[len(shape)-1])
		}
	}
	want := []string{
		"members:2000/0 large=true invite=true", "members:2000/0 large=true invite=true", "members:500/0 large=true invite=true",
		"groups:0/2000 large=true invite=true", "groups:0/500 large=true invite=true",
	}
	if diff := cmp.Diff(want, shape); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
}

func TestOrgRead(t *testing.T) {
	users := []directory.User{
		user("adopted", "adopted@x.io"),
		user("link", "link@x.io"),
		user("other-id", "taken@x.io"),
		user("missing", "missing@x.io"),
		deleted(user("owner", "boss@x.io")),
	}
	org := &Org{Members: []OrgMember{
		{ExternalID: "adopted", Email: "adopted@x.io"},
		{Email: "link@x.io"},
		{ExternalID: "legacy", Email: "taken@x.io"},
		{ExternalID: "owner", Email: "boss@x.io", Owner: true},
	}}
	synced := syncedOf(map[string]string{"missing": "missing@x.io"}, nil)
	p := Build(Normalize(snap(users, nil), NormalizeOptions{}), synced, org, defaults)
	got := map[string]string{}
	for _, c := range p.Invites {
		got[c.ExternalID] = c.Reason
	}
	if !strings.Contains(got["link"], "links the existing") || !strings.Contains(got["missing"], "invited again") || len(got) != 2 {
		t.Errorf("invites = %v, want link (by email) and missing (re-invite)", got)
	}
	if len(p.Removals)+len(p.Held) != 0 {
		t.Errorf("an owner was planned for removal: %v %v", p.Removals, p.Held)
	}
	var other bool
	for _, is := range p.Skipped {
		other = other || (is.ID == "other-id" && strings.Contains(is.Reason, "legacy"))
	}
	if !other {
		t.Errorf("the user whose email belongs to another external id was not reported: %+v", p.Skipped)
	}
	for _, b := range p.Batches() {
		synced.Apply(&b)
	}
	p.Finish(synced)
	if _, ok := synced.Members["adopted"]; !ok {
		t.Error("an organization member with a matching external id was not adopted into the cache")
	}
}

func TestOverwrite(t *testing.T) {
	users := []directory.User{user("a", "a@x.io"), user("b", "b@x.io")}
	org := &Org{Members: []OrgMember{{ExternalID: "a", Email: "a@x.io"}, {ExternalID: "stray", Email: "s@x.io"}}}
	o := defaults
	o.OverwriteExisting = true
	o.DeleteLimitPercent = 0
	p := Build(Normalize(snap(users, nil), NormalizeOptions{}), NewSynced(), org, o)
	bs := p.Batches()
	active := slices.DeleteFunc(slices.Clone(bs[0].Request.Members), func(m bitwarden.ImportMember) bool { return m.Deleted })
	if len(bs) != 1 || !bs[0].Request.OverwriteExisting || len(active) != 2 {
		t.Fatalf("batches = %+v, want one overwrite request with a and b", bs)
	}
	if diff := cmp.Diff([]string{"stray"}, ids(p.Removals)); diff != "" {
		t.Errorf("overwrite removals (-want +got):\n%s", diff)
	}
	o.DeleteLimit = 0
	o.DeleteLimitPercent = 10 // 1 of 2 known members is 50%: held, so no overwrite
	p = Build(Normalize(snap(users, nil), NormalizeOptions{}), NewSynced(), org, o)
	if p.Overwrite || !p.Guard.Held {
		t.Errorf("overwrite=%v held=%v: an overwrite whose removals are held must not be sent", p.Overwrite, p.Guard.Held)
	}
	for _, b := range p.Batches() {
		if b.Request.OverwriteExisting {
			t.Error("an overwrite request was sent while removals are held")
		}
	}
}

func TestFullPushResendsEverything(t *testing.T) {
	users := []directory.User{user("a", "a@x.io"), disabled(user("b", "b@x.io"))}
	groups := []directory.Group{{ID: "g", Name: "G", Users: []string{"a", "b"}}}
	synced := syncedOf(map[string]string{"a": "a@x.io", "b": "b@x.io"}, map[string]SyncedGroup{"g": {Name: "G", Members: []string{"a", "b"}}})
	o := defaults
	p := Build(Normalize(snap(users, groups), NormalizeOptions{}), synced, nil, o)
	if !p.Empty() {
		t.Fatalf("an unchanged directory plans a push: %+v", p.Counts)
	}
	o.FullPush = true
	p = Build(Normalize(snap(users, groups), NormalizeOptions{}), synced, nil, o)
	members, pg := pushed(p)
	if len(members) != 2 || len(pg) != 1 {
		t.Errorf("full push sent %d members and %d groups, want 2 and 1", len(members), len(pg))
	}
}

func TestUsersOff(t *testing.T) {
	users := []directory.User{user("a", "a@x.io"), user("b", "b@x.io")}
	groups := []directory.Group{{ID: "g", Name: "G", Users: []string{"a", "b"}}}
	synced := syncedOf(map[string]string{"a": "a@x.io", "gone": "g@x.io"}, nil)
	o := defaults
	o.Users = false
	p := Build(Normalize(snap(users, groups), NormalizeOptions{}), synced, nil, o)
	if len(p.Invites)+len(p.Removals)+len(p.Held) != 0 {
		t.Errorf("users off still invites or removes: %+v", p.Counts)
	}
	_, pg := pushed(p)
	if len(pg) != 1 || !slices.Equal(pg[0].MemberExternalIDs, []string{"a"}) {
		t.Errorf("groups = %+v, want G with only the member already in the organization", pg)
	}
}

func TestAdapterSkippedUserStaysInGroups(t *testing.T) {
	// The adapter could not use the record of CN=Bob (objectGUID guid-b) and reported it.
	s := snap([]directory.User{{ID: "CN=Ann", ExternalID: "guid-a", Email: "ann@x.io"}},
		[]directory.Group{{ID: "CN=G", ExternalID: "guid-g", Name: "G", Users: []string{"CN=Ann", "CN=Bob"}}})
	s.Issues = []directory.Issue{{Kind: "user", ID: "CN=Bob", ExternalID: "guid-b", Reason: "mail has two values"}}
	synced := syncedOf(map[string]string{"guid-a": "ann@x.io", "guid-b": "bob@x.io"},
		map[string]SyncedGroup{"guid-g": {Name: "G", Members: []string{"guid-a", "guid-b"}}})
	p := Build(Normalize(s, NormalizeOptions{}), synced, nil, defaults)
	if len(p.Removals)+len(p.Held) != 0 || !p.Empty() {
		t.Errorf("a user the adapter skipped was removed or dropped from its group: removals %v held %v updates %+v",
			p.Removals, p.Held, p.GroupUpdates)
	}
}

func TestHeldUsersKeepTheirGroups(t *testing.T) {
	// A broken export lost b and c from users and from the group; their removal is held, and so must be
	// their group membership.
	synced := syncedOf(map[string]string{"a": "a@x.io", "b": "b@x.io", "c": "c@x.io"},
		map[string]SyncedGroup{"g": {Name: "G", Members: []string{"a", "b", "c"}}})
	s := snap([]directory.User{user("a", "a@x.io"), user("d", "d@x.io")}, []directory.Group{{ID: "g", Name: "G", Users: []string{"a", "d"}}})
	p := Build(Normalize(s, NormalizeOptions{}), synced, nil, defaults)
	if !p.Guard.Held || len(p.Held) != 2 {
		t.Fatalf("guard %+v held %v: want b and c held", p.Guard, p.Held)
	}
	_, groups := pushed(p)
	if len(groups) != 1 || !slices.Equal(groups[0].MemberExternalIDs, []string{"a", "b", "c", "d"}) {
		t.Errorf("groups = %+v: want d added while held b and c stay", groups)
	}
}
