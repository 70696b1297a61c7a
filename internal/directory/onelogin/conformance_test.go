package onelogin

import (
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/onelogin/oneloginfake"
)

// caps is what OneLogin can hold: suspended users, users with only a username, two users with one email
// in different case, roles without members. It cannot hold deleted users (the API does not list them),
// nested roles, or members that do not exist (membership is an attribute of the user).
var caps = directorytest.Caps{Disabled: true, UserWithoutEmail: true, DuplicateEmail: true, EmptyGroup: true}

func TestConformance(t *testing.T) {
	var last *env
	directorytest.Run(t, directorytest.Harness{
		Caps: caps,
		New: func(t *testing.T) directory.Source {
			seed := oneloginfake.FromDataset(directorytest.Expected(caps))
			// Pages of 4: 11 users take 3 pages and 8 roles 2, so the suite's reads walk the cursors.
			last = newEnv(t, oneloginfake.Options{Users: seed.Users, Roles: seed.Roles, MaxLimit: 4})
			return last.source()
		},
		// A token revoked on the second page of users, and the API credentials deleted: the read can
		// neither go on nor get a new token.
		Break: func(t *testing.T) {
			last.fake.Inject(oneloginfake.Fault{Route: oneloginfake.RouteUsers, Skip: 1, Revoke: true})
			last.fake.Inject(oneloginfake.Fault{Route: oneloginfake.RouteToken, Skip: 1, Status: 401})
		},
	})
}
