package emulator

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestParseProfile(t *testing.T) {
	for in, want := range map[string]Profile{"": Cloud, "cloud": Cloud, " Self-Hosted ": SelfHosted, "selfhosted": SelfHosted, "VaultWarden": Vaultwarden} {
		if got, err := ParseProfile(in); err != nil || got != want {
			t.Errorf("ParseProfile(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseProfile("bitwarden.gov"); err == nil || !strings.Contains(err.Error(), "bitwarden.gov") {
		t.Errorf("unknown profile: err = %v", err)
	}
}

func TestDefaultsAndSeed(t *testing.T) {
	s := New(Options{})
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(s.OrgID()) {
		t.Errorf("OrgID %q", s.OrgID())
	}
	if !regexp.MustCompile(`^[A-Za-z0-9]{30}$`).MatchString(s.APIKey()) {
		t.Errorf("APIKey %q", s.APIKey())
	}
	if s.ClientID() != "organization."+s.OrgID() || New(Options{}).OrgID() == s.OrgID() {
		t.Errorf("ClientID %q", s.ClientID())
	}
	st := s.Snapshot()
	if st.Org.Profile != Cloud || !st.Org.Enabled || !st.Org.UseAPI || !st.Org.UseDirectory || !st.Org.UseGroups || st.Org.Seats != nil {
		t.Errorf("org %+v", st.Org)
	}
	if len(st.Members) != 1 || memberLine(st.Members[0]) != ownerLine {
		t.Errorf("seed %+v", st.Members)
	}

	seats := 5
	s = New(Options{Seats: &seats, OrgID: "AAAAAAAA-0000-4000-8000-000000000000"})
	seats = 99
	st = s.Snapshot()
	*st.Org.Seats = 1
	st.Members[0].Email = "changed"
	if got := s.Snapshot(); *got.Org.Seats != 5 || got.Members[0].Email != "owner@example.com" || s.OrgID() != "aaaaaaaa-0000-4000-8000-000000000000" {
		t.Errorf("options or snapshots are shared: %+v", got.Org)
	}
	g := s.AddGroup(Group{Name: "G", MemberIDs: []string{st.Members[0].ID}})
	g.MemberIDs[0] = "x"
	if s.Snapshot().Groups[0].MemberIDs[0] == "x" {
		t.Error("AddGroup shares its member list")
	}
	m := s.AddMember(Member{Email: "New@Example.COM", Status: StatusRevoked})
	s.Reset()
	if st := s.Snapshot(); len(st.Members) != 1 || len(st.Groups) != 0 || st.Members[0].ID == m.ID {
		t.Errorf("after Reset %+v", st)
	}
	if m.Email != "new@example.com" || m.Status != StatusRevoked || m.ID == "" {
		t.Errorf("AddMember returned %+v", m)
	}

	vw := New(Options{Profile: Vaultwarden})
	if a, b := vw.AddMember(with(alice, func(m *Member) { m.Status = StatusRevoked })), vw.AddMember(with(bob, func(m *Member) { m.Status = StatusRevoked })); a.Status != -126 || b.Status != -128 {
		t.Errorf("Vaultwarden revoked seeds: %d, %d", a.Status, b.Status)
	}
}

// Many clients at once: the handler serializes state changes (run with -race).
func TestConcurrentRequests(t *testing.T) {
	h := newHarness(t, Options{Profile: SelfHosted})
	srv := httptest.NewServer(h.s.Handler())
	defer srv.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		tok := h.token()
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := importJSON([]grp{group("G", "g", fmt.Sprint("u", i))}, []mem{active(fmt.Sprintf("u%d@example.com", i), fmt.Sprint("u", i))}, false)
			req := h.importRequest(srv.URL+"/api/public/organization/import", tok, body)
			req.RequestURI = ""
			res, err := srv.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("import %d: HTTP %d", i, res.StatusCode)
			}
			_ = h.s.Snapshot()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := h.s.Snapshot()
	if len(st.Members) != 21 || len(st.Groups) != 1 || len(h.s.Imports()) != 20 || h.s.TokenRequests() != 20 {
		t.Errorf("%d members, %d groups, %d imports, %d token requests", len(st.Members), len(st.Groups), len(h.s.Imports()), h.s.TokenRequests())
	}
}
