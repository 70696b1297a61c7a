package file

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/assets"
)

// TestDemoDirectory checks that the bundled demo holds what its documentation promises.
func TestDemoDirectory(t *testing.T) {
	src, err := FromBytes("demo.json", FormatAuto, assets.DemoDirectory)
	if err != nil {
		t.Fatal(err)
	}
	s, err := src.Fetch(t.Context(), all)
	if err != nil {
		t.Fatalf("Fetch(demo) = %v", err)
	}
	if len(s.Issues) > 0 || !s.Completeness.Complete() {
		t.Errorf("demo: issues %v, incomplete %q; want none", s.Issues, s.Completeness.Incomplete())
	}
	if len(s.Users) != 60 || len(s.Groups) != 8 {
		t.Errorf("demo has %d users and %d groups, want 60 and 8", len(s.Users), len(s.Groups))
	}

	var disabled, deleted, noEmail []string
	byEmail := map[string][]string{}
	userIDs := map[string]bool{}
	for _, u := range s.Users {
		userIDs[u.ID] = true
		email := strings.ToLower(strings.TrimSpace(u.Email))
		switch {
		case u.Disabled:
			disabled = append(disabled, u.ID)
		case u.Deleted:
			deleted = append(deleted, u.ID)
		}
		if email == "" {
			if u.EmailPrefix == "" {
				t.Errorf("user %s has neither an email nor a username", u.ID)
			}
			noEmail = append(noEmail, u.ID)
			continue
		}
		if !strings.HasSuffix(email, "@example.com") {
			t.Errorf("user %s has the email %q, want one at example.com", u.ID, u.Email)
		}
		byEmail[email] = append(byEmail[email], u.ID)
	}
	var shared [][]string
	for _, ids := range byEmail {
		if len(ids) > 1 {
			shared = append(shared, ids)
		}
	}
	got := map[string]int{"disabled": len(disabled), "deleted": len(deleted), "without email": len(noEmail), "emails shared": len(shared)}
	want := map[string]int{"disabled": 1, "deleted": 1, "without email": 1, "emails shared": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("special cases differ (-want +got):\n%s", diff)
	}
	if len(shared) == 1 && len(shared[0]) != 2 {
		t.Errorf("users %q share one email, want exactly two", shared[0])
	}

	names := map[string]string{}
	for _, g := range s.Groups {
		names[g.ID] = g.Name
	}
	nested := map[string][]string{}
	for _, g := range s.Groups {
		for _, id := range g.Users {
			if !userIDs[id] {
				t.Errorf("group %q lists %q, which is not a demo user", g.Name, id)
			}
		}
		for _, id := range g.Groups {
			if names[id] == "" {
				t.Errorf("group %q nests %q, which is not a demo group", g.Name, id)
			}
			nested[g.Name] = append(nested[g.Name], names[id])
		}
		if len(g.Users)+len(g.Groups) == 0 {
			t.Errorf("group %q is empty", g.Name)
		}
	}
	for parent, child := range map[string]string{"Everyone": "Engineering", "Engineering": "Backend"} {
		if !slices.Contains(nested[parent], child) {
			t.Errorf("group %q nests %q, want %q among them", parent, nested[parent], child)
		}
	}
}

// TestExamples checks that the documented example files parse cleanly and show what they document.
func TestExamples(t *testing.T) {
	tests := []struct {
		file       string
		users      int
		groups     []string // group names
		nested     int      // nesting edges
		disabled   int
		deleted    int
		noEmail    int
		memberRefs int // user member references, all resolvable
	}{
		{file: "examples/users.csv", users: 7, groups: []string{"Engineering", "Everyone", "Sales", "Support"}, disabled: 1, deleted: 1, noEmail: 1, memberRefs: 11},
		{file: "examples/directory.ldif", users: 7, groups: []string{"Engineering", "Frontend", "Sales", "vpn-users"}, nested: 1, disabled: 1, deleted: 1, noEmail: 1, memberRefs: 7},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := assets.Examples.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			src, err := FromBytes(tt.file, FormatAuto, data)
			if err != nil {
				t.Fatal(err)
			}
			s, err := src.Fetch(t.Context(), all)
			if err != nil {
				t.Fatalf("Fetch = %v", err)
			}
			if len(s.Issues) > 0 {
				t.Errorf("issues: %v", s.Issues)
			}
			type summary struct {
				Users, Nested, Disabled, Deleted, NoEmail, MemberRefs int
				Groups                                                []string
			}
			users := map[string]bool{}
			var got summary
			for _, u := range s.Users {
				users[u.ID] = true
				got.Users++
				got.Disabled += b2i(u.Disabled)
				got.Deleted += b2i(u.Deleted)
				got.NoEmail += b2i(u.Email == "")
			}
			for _, g := range s.Groups {
				got.Groups = append(got.Groups, g.Name)
				got.Nested += len(g.Groups)
				for _, id := range g.Users {
					if !users[id] {
						t.Errorf("group %q lists %q, which is not a user of the example", g.Name, id)
					}
					got.MemberRefs++
				}
			}
			slices.Sort(got.Groups)
			want := summary{tt.users, tt.nested, tt.disabled, tt.deleted, tt.noEmail, tt.memberRefs, tt.groups}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("example differs from its description (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := assets.Examples.ReadFile("examples/README.md"); err != nil {
		t.Errorf("examples/README.md: %v", err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
