package oneloginfake

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/httpx/httpxtest"
)

// First ids FromDataset hands out.
const (
	FirstUserID = 30000001
	FirstRoleID = 500001
)

// Seeded is a dataset turned into OneLogin users and roles, with the ids each dataset key got.
type Seeded struct {
	Users   []User
	Roles   []Role
	UserIDs map[string]int64 // dataset user key -> OneLogin user id
	RoleIDs map[string]int64 // dataset group key -> OneLogin role id
}

// FromDataset turns ds into OneLogin users and roles, in dataset order: user ids from FirstUserID, role
// ids from FirstRoleID; disabled users are suspended (status 2), the others active; a user's role_id lists
// the groups that name it as a direct member. What OneLogin cannot hold is left out: deleted users (its
// API does not list them), nested groups (roles do not nest) and members that do not exist (membership is
// an attribute of the user). Use directorytest.Expected with the adapter's caps so nothing is lost.
func FromDataset(ds directorytest.Dataset) Seeded {
	out := Seeded{UserIDs: map[string]int64{}, RoleIDs: map[string]int64{}}
	for i, g := range ds.Groups {
		id := int64(FirstRoleID + i)
		out.RoleIDs[g.Key] = id
		out.Roles = append(out.Roles, Role{ID: id, Name: g.Name})
	}
	next := int64(FirstUserID)
	for _, u := range ds.Users {
		if u.Deleted {
			continue
		}
		first, last, _ := strings.Cut(u.Name, " ")
		ou := User{ID: next, Email: u.Email, Username: u.Username, Firstname: first, Lastname: last,
			Status: StatusActive, State: 1}
		if u.Disabled {
			ou.Status = StatusSuspended
		}
		for _, g := range ds.Groups {
			for _, k := range g.Users {
				if k == u.Key {
					ou.RoleIDs = append(ou.RoleIDs, out.RoleIDs[g.Key])
				}
			}
		}
		out.UserIDs[u.Key] = next
		out.Users = append(out.Users, ou)
		next++
	}
	return out
}

// StartTLS serves s over HTTPS on 127.0.0.1 with a certificate from a throwaway CA until the test ends. It
// returns the API root (https://127.0.0.1:port) and the path of the CA's PEM file, for onelogin.apiUrl and
// onelogin.caFile.
func (s *Server) StartTLS(t testing.TB) (root, caFile string) {
	t.Helper()
	ca := httpxtest.NewCA(t)
	srv := ca.NewTLSServer(t, s.Handler())
	return srv.URL, ca.File(t)
}

// Start serves s over plain HTTP on 127.0.0.1 until the test ends and returns its root URL.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
