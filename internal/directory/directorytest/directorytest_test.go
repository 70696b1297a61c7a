package directorytest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

// fakeSource serves a dataset as an ideal adapter would, then lets a mutant spoil the result.
type fakeSource struct {
	d      Dataset
	calls  int
	broken bool
	mutant mutant
}

func (f *fakeSource) Fetch(ctx context.Context, req directory.FetchRequest) (*directory.Snapshot, error) {
	f.calls++
	if f.mutant.fetch != nil {
		return f.mutant.fetch(ctx, f, req)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake read: %w", err)
	}
	if f.broken {
		return nil, errors.New("fake read: server gone")
	}
	s := f.d.Snapshot()
	if !req.Users {
		s.Users, s.UsersRead = nil, false
	}
	if !req.Groups {
		s.Groups, s.GroupsRead = nil, false
	}
	if f.mutant.snap != nil {
		f.mutant.snap(s, f)
	}
	return s, nil
}

// mutant is a fake adapter with one defect, and the subtests of Run that must catch it.
type mutant struct {
	name  string
	caps  *Caps // nil: AllCaps
	seed  func(d *Dataset)
	snap  func(s *directory.Snapshot, f *fakeSource)
	fetch func(ctx context.Context, f *fakeSource, req directory.FetchRequest) (*directory.Snapshot, error)
	// brk replaces the default Break (which makes the fake fail); noBreak leaves Break nil.
	brk     func(f *fakeSource)
	noBreak bool
	fail    []string // subtests of Run that must fail, sorted
	skip    []string // subtests of Run that must be skipped, sorted
}

func users(s *directory.Snapshot, f func(u *directory.User)) {
	for i := range s.Users {
		f(&s.Users[i])
	}
}

func groupNamed(s *directory.Snapshot, name string) *directory.Group {
	for i := range s.Groups {
		if s.Groups[i].Name == name {
			return &s.Groups[i]
		}
	}
	return &directory.Group{}
}

var mutants = []mutant{
	{name: "correct"},
	{name: "correct without caps", caps: &Caps{},
		skip: []string{"DanglingMember", "Deleted", "Disabled", "DuplicateEmail", "EmptyGroup", "GroupCycle", "NestedGroups", "UserWithoutEmail"}},
	{name: "correct without Break", noBreak: true, skip: []string{"Break"}},
	{name: "break gives incomplete snapshot", brk: func(f *fakeSource) {
		f.broken = false
		f.mutant.snap = func(s *directory.Snapshot, _ *fakeSource) {
			s.Users = s.Users[:3]
			s.Completeness.Reads[0].Finished = false
		}
	}},

	{name: "seeds the full fixture despite caps", caps: &Caps{NestedGroups: true, EmptyGroup: true},
		seed: func(d *Dataset) { *d = Fixture() },
		fail: []string{"FullRead", "GroupsOnly", "References", "UsersOnly"},
		skip: []string{"DanglingMember", "Deleted", "Disabled", "DuplicateEmail", "GroupCycle", "UserWithoutEmail"}},
	{name: "drops disabled flag", snap: func(s *directory.Snapshot, _ *fakeSource) {
		users(s, func(u *directory.User) { u.Disabled = false })
	}, fail: []string{"Disabled", "FullRead", "UsersOnly"}},
	{name: "drops deleted users", snap: func(s *directory.Snapshot, _ *fakeSource) {
		s.Users = slices.DeleteFunc(s.Users, func(u directory.User) bool { return u.Deleted })
	}, fail: []string{"Deleted", "FullRead", "References", "UsersOnly"}},
	{name: "loses the username", snap: func(s *directory.Snapshot, _ *fakeSource) {
		users(s, func(u *directory.User) { u.EmailPrefix = "" })
	}, fail: []string{"FullRead", "UserWithoutEmail", "UsersOnly"}},
	{name: "merges duplicate emails", snap: func(s *directory.Snapshot, _ *fakeSource) {
		s.Users = slices.DeleteFunc(s.Users, func(u directory.User) bool { return u.ID == "sam2" })
	}, fail: []string{"DuplicateEmail", "FullRead", "References", "UsersOnly"}},
	{name: "mangles the mixed-case email", snap: func(s *directory.Snapshot, _ *fakeSource) {
		users(s, func(u *directory.User) { u.Email = strings.ReplaceAll(u.Email, "Park", "Parks") })
	}, fail: []string{"FullRead", "MixedCaseEmail", "UsersOnly"}},
	{name: "silently short", snap: func(s *directory.Snapshot, _ *fakeSource) {
		if len(s.Users) > 0 {
			s.Users = s.Users[:len(s.Users)-1]
		}
	}, fail: []string{"DuplicateEmail", "FullRead", "References", "UsersOnly"}},
	{name: "empty user id", snap: func(s *directory.Snapshot, _ *fakeSource) {
		if len(s.Users) > 0 {
			s.Users[0].ID = ""
		}
	}, fail: []string{"FullRead", "IDs", "References"}},
	{name: "duplicate group id", snap: func(s *directory.Snapshot, _ *fakeSource) {
		if len(s.Groups) > 1 {
			s.Groups[5].ID = s.Groups[6].ID // Empty Group takes Partners' ID
		}
	}, fail: []string{"IDs"}},
	{name: "extra dangling member", snap: func(s *directory.Snapshot, _ *fakeSource) {
		g := groupNamed(s, groupStaff)
		g.Users = append(g.Users, "nobody")
	}, fail: []string{"FullRead", "References"}},
	{name: "dangling nested group", snap: func(s *directory.Snapshot, _ *fakeSource) {
		g := groupNamed(s, groupStaff)
		g.Groups = append(g.Groups, "nowhere")
	}, fail: []string{"FullRead", "GroupsOnly", "References"}},
	{name: "drops dangling member", snap: func(s *directory.Snapshot, _ *fakeSource) {
		g := groupNamed(s, groupPartners)
		g.Users = slices.DeleteFunc(g.Users, func(id string) bool { return id == DanglingKey })
	}, fail: []string{"DanglingMember", "FullRead", "References"}},
	{name: "flattens nesting", snap: func(s *directory.Snapshot, _ *fakeSource) {
		for i := range s.Groups {
			s.Groups[i].Groups = nil
		}
	}, fail: []string{"FullRead", "GroupCycle", "GroupsOnly", "NestedGroups"}},
	{name: "breaks the cycle", snap: func(s *directory.Snapshot, _ *fakeSource) {
		groupNamed(s, groupOnCall).Groups = nil
	}, fail: []string{"FullRead", "GroupCycle", "GroupsOnly"}},
	{name: "drops the empty group", snap: func(s *directory.Snapshot, _ *fakeSource) {
		s.Groups = slices.DeleteFunc(s.Groups, func(g directory.Group) bool { return g.Name == groupEmpty })
	}, fail: []string{"EmptyGroup", "FullRead", "GroupsOnly"}},
	{name: "unfinished read", snap: func(s *directory.Snapshot, _ *fakeSource) {
		s.Completeness.Reads[0].Finished = false
	}, fail: []string{"Completeness"}},
	{name: "records no reads", snap: func(s *directory.Snapshot, _ *fakeSource) {
		s.Completeness.Reads = nil
	}, fail: []string{"Completeness"}},
	{name: "raises an issue", snap: func(s *directory.Snapshot, _ *fakeSource) {
		s.Issues = append(s.Issues, directory.Issue{Kind: "user", ID: "ann", Reason: "made up"})
	}, fail: []string{"Completeness"}},
	{name: "ignores Users false", snap: func(s *directory.Snapshot, f *fakeSource) {
		if !s.UsersRead {
			s.Users = f.d.Snapshot().Users
		}
	}, fail: []string{"GroupsOnly"}},
	{name: "ignores Groups false", snap: func(s *directory.Snapshot, f *fakeSource) {
		if !s.GroupsRead {
			s.Groups = f.d.Snapshot().Groups
		}
	}, fail: []string{"UsersOnly"}},
	{name: "always says users read", snap: func(s *directory.Snapshot, _ *fakeSource) {
		s.UsersRead = true
	}, fail: []string{"GroupsOnly"}},
	{name: "IDs change between reads", snap: func(s *directory.Snapshot, f *fakeSource) {
		if f.calls > 1 {
			users(s, func(u *directory.User) { u.ExternalID = fmt.Sprintf("%s-%d", u.ID, f.calls) })
		}
	}, fail: []string{"Repeatable"}},
	{name: "ignores cancellation", fetch: func(_ context.Context, f *fakeSource, req directory.FetchRequest) (*directory.Snapshot, error) {
		if f.broken {
			return nil, errors.New("server gone")
		}
		return f.d.Snapshot(), nil
	}, fail: []string{"Cancelled", "GroupsOnly", "UsersOnly"}},
	{name: "cancellation not wrapped", fetch: func(ctx context.Context, f *fakeSource, req directory.FetchRequest) (*directory.Snapshot, error) {
		if ctx.Err() != nil || f.broken {
			return nil, errors.New("read stopped")
		}
		return f.d.Snapshot(), nil
	}, fail: []string{"Cancelled", "GroupsOnly", "UsersOnly"}},
	{name: "snapshot with the cancellation error", fetch: func(ctx context.Context, f *fakeSource, req directory.FetchRequest) (*directory.Snapshot, error) {
		if err := ctx.Err(); err != nil {
			return f.d.Snapshot(), err
		}
		if f.broken {
			return nil, errors.New("server gone")
		}
		return f.d.Snapshot(), nil
	}, fail: []string{"Cancelled", "GroupsOnly", "UsersOnly"}},
	{name: "break ignored", brk: func(f *fakeSource) { f.broken = false }, fail: []string{"Break"}},
	{name: "break gives short complete snapshot", brk: func(f *fakeSource) {
		f.broken = false
		f.mutant.snap = func(s *directory.Snapshot, _ *fakeSource) { s.Users = s.Users[:3] }
	}, fail: []string{"Break"}},
	{name: "break gives nothing at all", brk: func(f *fakeSource) {
		f.mutant.fetch = func(context.Context, *fakeSource, directory.FetchRequest) (*directory.Snapshot, error) {
			return nil, nil
		}
	}, fail: []string{"Break"}},
}

const mutantEnv = "DIRECTORYTEST_MUTANT"

// TestMutant runs the suite against the mutant named by $DIRECTORYTEST_MUTANT; TestSuiteCatchesDefects
// starts it in a child process, because a failing suite must fail its test.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesDefects")
	}
	i := slices.IndexFunc(mutants, func(m mutant) bool { return m.name == name })
	if i < 0 {
		t.Fatalf("no mutant %q", name)
	}
	m := mutants[i]
	caps := AllCaps()
	if m.caps != nil {
		caps = *m.caps
	}
	var last *fakeSource
	h := Harness{
		Caps: caps,
		New: func(t *testing.T) directory.Source {
			d := Expected(caps)
			if m.seed != nil {
				m.seed(&d)
			}
			last = &fakeSource{d: d, mutant: m}
			return last
		},
	}
	if !m.noBreak {
		h.Break = func(t *testing.T) {
			last.broken = true
			if m.brk != nil {
				m.brk(last)
			}
		}
	}
	Run(t, h)
}

func TestSuiteCatchesDefects(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("inside a mutant run")
	}
	result := regexp.MustCompile(`--- (FAIL|SKIP): TestMutant/(\S+)`)
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+m.name)
			out, err := cmd.CombinedOutput()
			var failed, skipped []string
			for _, r := range result.FindAllStringSubmatch(string(out), -1) {
				if r[1] == "FAIL" {
					failed = append(failed, r[2])
				} else {
					skipped = append(skipped, r[2])
				}
			}
			slices.Sort(failed)
			slices.Sort(skipped)
			if diff := cmp.Diff(m.fail, failed); diff != "" {
				t.Errorf("failed subtests differ (-want +got):\n%s\noutput:\n%s", diff, out)
			}
			if diff := cmp.Diff(m.skip, skipped); diff != "" {
				t.Errorf("skipped subtests differ (-want +got):\n%s\noutput:\n%s", diff, out)
			}
			if wantFail := len(m.fail) > 0; (err != nil) != wantFail {
				t.Errorf("mutant run error = %v, want failure %v\noutput:\n%s", err, wantFail, out)
			}
		})
	}
}

func TestRestrict(t *testing.T) {
	tests := []struct {
		name       string
		caps       Caps
		wantUsers  []string
		wantGroups map[string]DatasetGroup // by key, Key and Name omitted
	}{
		{
			name:      "everything",
			caps:      AllCaps(),
			wantUsers: []string{"ann", "bob", "cara", "dan", "eve", "finn", "gail", "hana", "ivan", "jo", "sam1", "sam2"},
			wantGroups: map[string]DatasetGroup{
				"staff":    {Users: []string{"gail"}, Groups: []string{"eng"}},
				"eng":      {Users: []string{"ann", "dan"}, Groups: []string{"backend"}},
				"backend":  {Users: []string{"bob", "cara", "sam2"}},
				"ops":      {Users: []string{"hana"}, Groups: []string{"oncall"}},
				"oncall":   {Users: []string{"ivan"}, Groups: []string{"ops"}},
				"empty":    {},
				"partners": {Users: []string{"finn", "sam1", DanglingKey}},
				"alumni":   {Users: []string{"eve"}},
			},
		},
		{
			name:      "nothing",
			caps:      Caps{},
			wantUsers: []string{"ann", "bob", "cara", "gail", "hana", "ivan", "sam1"},
			wantGroups: map[string]DatasetGroup{
				"staff":    {Users: []string{"gail"}},
				"eng":      {Users: []string{"ann"}},
				"backend":  {Users: []string{"bob", "cara"}},
				"ops":      {Users: []string{"hana"}},
				"oncall":   {Users: []string{"ivan"}},
				"partners": {Users: []string{"sam1"}},
			},
		},
		{
			name:      "nesting without cycles, no empty groups, no deleted users",
			caps:      Caps{Disabled: true, UserWithoutEmail: true, DuplicateEmail: true, NestedGroups: true, DanglingMember: true},
			wantUsers: []string{"ann", "bob", "cara", "dan", "finn", "gail", "hana", "ivan", "jo", "sam1", "sam2"},
			wantGroups: map[string]DatasetGroup{
				"staff":    {Users: []string{"gail"}, Groups: []string{"eng"}},
				"eng":      {Users: []string{"ann", "dan"}, Groups: []string{"backend"}},
				"backend":  {Users: []string{"bob", "cara", "sam2"}},
				"ops":      {Users: []string{"hana"}, Groups: []string{"oncall"}},
				"oncall":   {Users: []string{"ivan"}},
				"partners": {Users: []string{"finn", "sam1", DanglingKey}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Fixture().Restrict(tt.caps)
			var gotUsers []string
			for _, u := range d.Users {
				gotUsers = append(gotUsers, u.Key)
			}
			gotGroups := map[string]DatasetGroup{}
			for _, g := range d.Groups {
				gotGroups[g.Key] = DatasetGroup{Users: g.Users, Groups: g.Groups}
			}
			if diff := cmp.Diff(tt.wantUsers, gotUsers); diff != "" {
				t.Errorf("users differ (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantGroups, gotGroups); diff != "" {
				t.Errorf("groups differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestrictLeavesFixtureAlone(t *testing.T) {
	d := Fixture()
	d.Restrict(Caps{})
	if diff := cmp.Diff(Fixture(), d); diff != "" {
		t.Errorf("Restrict changed its receiver (-want +got):\n%s", diff)
	}
}

func TestDangling(t *testing.T) {
	if diff := cmp.Diff([]string{DanglingKey}, Fixture().Dangling()); diff != "" {
		t.Errorf("Dangling() differs (-want +got):\n%s", diff)
	}
	if got := Expected(Caps{}).Dangling(); len(got) != 0 {
		t.Errorf("Expected(Caps{}).Dangling() = %q, want none", got)
	}
}

func TestMemberOf(t *testing.T) {
	tests := []struct {
		key  string
		want []string
	}{
		{"gail", []string{groupStaff}},
		{"sam2", []string{groupBackend}},
		{"jo", nil},
		{DanglingKey, []string{groupPartners}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Fixture().MemberOf(tt.key)); diff != "" {
				t.Errorf("MemberOf(%q) differs (-want +got):\n%s", tt.key, diff)
			}
		})
	}
}

func TestView(t *testing.T) {
	d := Dataset{
		Users: []DatasetUser{
			{Key: "a", Email: " A@X.org ", Username: "ignored"},
			{Key: "b", Username: " Bee "},
			{Key: "c", Email: "a@x.ORG", Deleted: true},
		},
		Groups: []DatasetGroup{
			{Key: "g1", Name: "One", Users: []string{"c", "b", "a", "zz"}, Groups: []string{"g2", "nope"}},
			{Key: "g2", Name: "Two"},
		},
	}
	want := View{
		Users: []ViewUser{
			{Username: "bee"},
			{Email: "a@x.org"},
			{Email: "a@x.org", Deleted: true},
		},
		Groups: []ViewGroup{
			{Name: "One", Users: []string{"a@x.org", "a@x.org", "username:bee"}, Groups: []string{"Two"}, UnknownUsers: 1, UnknownGroups: 1},
			{Name: "Two"},
		},
	}
	if diff := cmp.Diff(want, d.View()); diff != "" {
		t.Errorf("View() differs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, SnapshotView(d.Snapshot())); diff != "" {
		t.Errorf("SnapshotView(Snapshot()) differs (-want +got):\n%s", diff)
	}
}

func TestIDProblems(t *testing.T) {
	s := &directory.Snapshot{
		Users:  []directory.User{{ID: "a"}, {ID: " "}, {ID: "a", Email: "x@y"}},
		Groups: []directory.Group{{ID: "g", Name: "G"}, {ID: "g", Name: "H"}, {Name: "I"}},
	}
	want := []string{
		`Users[1] ("") has an empty ID`,
		`Users[2] ("x@y") has the ID "a" of Users[0]`,
		`Groups[1] ("H") has the ID "g" of Groups[0]`,
		`Groups[2] ("I") has an empty ID`,
	}
	if diff := cmp.Diff(want, idProblems(s)); diff != "" {
		t.Errorf("idProblems differ (-want +got):\n%s", diff)
	}
	if got := idProblems(Fixture().Snapshot()); len(got) != 0 {
		t.Errorf("idProblems(Fixture().Snapshot()) = %q, want none", got)
	}
}
