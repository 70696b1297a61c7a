package plan

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
)

// benchSnapshot builds a directory of n users and n/20 groups: 10 divisions holding departments holding
// teams (nested groups), every user in 3 or 4 teams.
func benchSnapshot(n int) *directory.Snapshot {
	r := rand.New(rand.NewPCG(1, 2))
	ng := n / 20
	users := make([]directory.User, n)
	for i := range users {
		id := fmt.Sprintf("CN=User %06d,OU=People,DC=corp,DC=example,DC=com", i)
		users[i] = directory.User{ID: id, ExternalID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Email: fmt.Sprintf("User.%06d@Example.com", i), Disabled: i%50 == 0}
	}
	groups := make([]directory.Group, ng)
	for i := range groups {
		groups[i] = directory.Group{ID: fmt.Sprintf("CN=Group %05d,OU=Groups,DC=corp,DC=example,DC=com", i), Name: fmt.Sprintf("Group %05d", i)}
	}
	const divisions, departments = 10, 100
	for i := divisions; i < ng; i++ {
		parent := i % divisions // departments sit in divisions
		if i >= departments {
			parent = divisions + i%(departments-divisions) // teams sit in departments
		}
		groups[parent].Groups = append(groups[parent].Groups, groups[i].ID)
	}
	for i := range users {
		for range 3 + i%2 {
			g := departments + r.IntN(ng-departments)
			groups[g].Users = append(groups[g].Users, users[i].ID)
		}
	}
	s := &directory.Snapshot{Users: users, Groups: groups, UsersRead: true, GroupsRead: true}
	s.Completeness.Add(directory.Read{What: "bench", Finished: true})
	return s
}

func benchOptions() Options {
	o := defaults
	o.DeleteLimit, o.DeleteLimitPercent = 0, 0
	return o
}

// BenchmarkPlan measures normalize + plan + request building from an in-memory snapshot: "first" syncs
// into an empty organization (everything is new), "steady" plans against a cache that already holds the
// directory after 1% of users left and 1% joined. MiB/op is the memory allocated per run.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{50_000, 200_000} {
		s := benchSnapshot(n)
		b.Run(fmt.Sprintf("first/users=%d/groups=%d", n, n/20), func(b *testing.B) {
			runPlanBench(b, s, NewSynced())
		})
		synced := NewSynced()
		p := Build(Normalize(s, NormalizeOptions{}), nil, nil, benchOptions())
		for _, bt := range p.Batches() {
			synced.Apply(&bt)
		}
		// 1% of users leave, 1% join, and they change group memberships with them.
		for i := 0; i < n; i += 100 {
			s.Users[i].Deleted = true
			s.Users[i+1].ExternalID += "-new"
		}
		b.Run(fmt.Sprintf("steady/users=%d/groups=%d", n, n/20), func(b *testing.B) {
			runPlanBench(b, s, synced)
		})
	}
}

func runPlanBench(b *testing.B, s *directory.Snapshot, synced *Synced) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var requests int
	for b.Loop() {
		p := Build(Normalize(s, NormalizeOptions{}), synced, nil, benchOptions())
		requests = len(p.Batches())
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB/op")
	b.ReportMetric(float64(requests), "requests")
}
