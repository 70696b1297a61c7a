package google

import (
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/directorytest"
	"github.com/dirconn/dirconn/internal/directory/google/googlefake"
)

// TestConformance runs the shared suite against the fake, twice: with Google's page sizes, and with
// pages of three items so every listing (users, deleted users, groups, members) spans several pages.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pageLimit int
	}{{"GooglePages", 0}, {"SmallPages", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			var e *env
			directorytest.Run(t, directorytest.Harness{
				Caps: googleCaps,
				New: func(t *testing.T) directory.Source {
					e = newEnv(t, googlefake.Options{PageLimit: tc.pageLimit}, directorytest.Expected(googleCaps))
					return e.source(t, e.values())
				},
				// Every users.list answer after the first fails with 503 for good: the read must fail once
				// retries run out, not come back with the first page only.
				Break: func(t *testing.T) {
					f := googlefake.BackendError()
					f.Skip = 1
					e.fake.Fail(googlefake.RouteUsers, f)
				},
			})
		})
	}
}
