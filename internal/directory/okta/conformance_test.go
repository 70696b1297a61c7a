package okta

import (
	"net/http"
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/okta/oktafake"
)

// oktaCaps is what an Okta org can hold: suspended and deprovisioned users, users without an email,
// duplicate emails and empty groups; no nested groups, and no member that is not a user.
var oktaCaps = directorytest.Caps{Disabled: true, Deleted: true, UserWithoutEmail: true, DuplicateEmail: true, EmptyGroup: true}

func TestConformance(t *testing.T) {
	var last *org
	directorytest.Run(t, directorytest.Harness{
		Caps: oktaCaps,
		New: func(t *testing.T) directory.Source {
			// Small pages, so every listing of the fixture spans several of them.
			o := newOrg(t, oktafake.Options{UsersMaxLimit: 5, GroupsLimit: 3, MembersLimit: 2})
			o.fake.SeedDataset(directorytest.Expected(oktaCaps))
			last = o
			return o.source(t)
		},
		Break: func(t *testing.T) {
			last.fake.AddFault(oktafake.Fault{Route: oktafake.RouteUsers, AfterOnly: true, Status: http.StatusUnauthorized})
		},
	})
}
