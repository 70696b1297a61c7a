package entra

import (
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/entra/graphfake"
)

// entraCaps is what an Entra tenant can hold of the fixture. Not Deleted: Entra takes a deleted user out
// of every group, and a full read sees no deleted users (the first delta round lists current users only;
// deletions arrive through the delta link, see TestDeltaDeletions). Not UserWithoutEmail: every user has
// a user principal name, which becomes the email when mail is empty. Not DanglingMember: member lists
// hold only objects that exist.
var entraCaps = directorytest.Caps{Disabled: true, DuplicateEmail: true, NestedGroups: true, GroupCycles: true, EmptyGroup: true}

func TestConformance(t *testing.T) {
	for _, c := range []graphfake.Cloud{graphfake.Global, graphfake.USGov} {
		t.Run(string(c), func(t *testing.T) {
			var last *tenant
			directorytest.Run(t, directorytest.Harness{
				Caps: entraCaps,
				New: func(t *testing.T) directory.Source {
					tn := newTenant(t, c)
					tn.fake.SeedDataset(directorytest.Expected(entraCaps))
					last = tn
					// Small pages, so every listing of the fixture takes several.
					return tn.source(t, optPageSize, "3")
				},
				// Page 2 of the users is cut short: the read fails, it never returns what it had.
				Break: func(t *testing.T) {
					last.fake.Inject(graphfake.Fault{Route: graphfake.RouteUsers, Skip: 1, Malformed: true})
				},
			})
		})
	}
}
