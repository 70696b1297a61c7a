package ldap

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

func guid(n byte) []byte {
	b := make([]byte, 16)
	for i := range b {
		b[i] = n
	}
	return b
}

func attrNames(req *goldap.SearchRequest) string { return strings.Join(req.Attributes, ",") }

func isUserSearch(req *goldap.SearchRequest) bool {
	return strings.Contains(req.Filter, "objectClass=person")
}
func isGroupSearch(req *goldap.SearchRequest) bool {
	return strings.Contains(req.Filter, "objectClass=group")
}

// TestPaging walks the cookie loop: each page is a request with the previous cookie, entries are
// counted per page, and the read finishes when the server sends an empty cookie.
func TestPaging(t *testing.T) {
	f := &fakeConn{answer: func(req *goldap.SearchRequest) []fakeResult {
		switch cookieOf(req) {
		case "":
			return append(ok(entry("uid=a,dc=test", "mail", "a@x"), entry("uid=b,dc=test", "mail", "b@x")), pageDone("p2"))
		case "p2":
			return append(ok(entry("uid=c,dc=test", "mail", "c@x")), pageDone("p3"))
		case "p3":
			return []fakeResult{pageDone("")}
		}
		t.Errorf("unexpected cookie %q", cookieOf(req))
		return nil
	}}
	r := fakeReader(t, f, "ad", "false", "pageSize", "2")
	var dns []string
	read, err := r.search(t.Context(), "users", "ldap.rootPath", goldap.NewSearchRequest("dc=test", 2, 0, 0, 0, false, "(x=*)", nil, nil), true,
		func(e *goldap.Entry) { dns = append(dns, e.DN) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(directory.Read{What: "users", Pages: 3, Entries: 3, Finished: true}, read); diff != "" {
		t.Errorf("read differs (-want +got):\n%s", diff)
	}
	if len(dns) != 3 {
		t.Errorf("entries = %q", dns)
	}
	for i, req := range f.requests() {
		pc, _ := goldap.FindControl(req.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if pc == nil || pc.PagingSize != 2 {
			t.Errorf("request %d: paging control %v, want size 2", i, pc)
		}
	}
}

func TestSearchOutcomes(t *testing.T) {
	network := goldap.NewError(goldap.ErrorNetwork, errors.New("unable to read LDAP response packet: EOF"))
	tests := []struct {
		name     string
		paged    bool
		pages    map[string][]fakeResult
		wantErr  string
		finished bool
		reason   string
		entries  int
	}{
		{name: "second page fails", paged: true, pages: map[string][]fakeResult{
			"":   append(ok(entry("uid=a,dc=test")), pageDone("p2")),
			"p2": append(ok(entry("uid=b,dc=test")), fakeResult{err: network}),
		}, wantErr: "broke after 2 entries in 2 pages"},
		{name: "unpaged size limit", pages: map[string][]fakeResult{
			"": append(ok(entry("uid=a,dc=test"), entry("uid=b,dc=test")), fakeResult{err: ldapErr(4, "")}),
		}, reason: "size limit stopped the unpaged search after 2 entries", entries: 2},
		{name: "time limit on a page", paged: true, pages: map[string][]fakeResult{
			"":   append(ok(entry("uid=a,dc=test")), pageDone("p2")),
			"p2": {fakeResult{err: ldapErr(3, "")}},
		}, reason: "time limit", entries: 1},
		{name: "continuation reference", paged: true, pages: map[string][]fakeResult{
			"":   append(ok(entry("uid=a,dc=test")), fakeResult{referral: "ldap://other.test/ou=x,dc=test"}, pageDone("p2")),
			"p2": append(ok(entry("uid=b,dc=test")), pageDone("")),
		}, reason: "referred part of the search to ldap://other.test/ou=x,dc=test", entries: 2},
		{name: "referral result", paged: false, pages: map[string][]fakeResult{
			"": {fakeResult{err: referralError("ldap://dc2.other.test/dc=other,dc=test")}},
		}, reason: "referred the search to ldap://dc2.other.test/dc=other,dc=test"},
		{name: "server ignores paging", paged: true, pages: map[string][]fakeResult{
			"": ok(entry("uid=a,dc=test"), entry("uid=b,dc=test")),
		}, finished: true, entries: 2},
		{name: "page size refused", paged: true, pages: map[string][]fakeResult{
			"": {fakeResult{err: ldapErr(11, "")}},
		}, wantErr: "ldap.pageSize is 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConn{answer: func(req *goldap.SearchRequest) []fakeResult { return tt.pages[cookieOf(req)] }}
			r := fakeReader(t, f, "ad", "false")
			read, err := r.search(t.Context(), "users", "ldap.rootPath", goldap.NewSearchRequest("dc=test", 2, 0, 0, 0, false, "(x=*)", nil, nil), tt.paged,
				func(*goldap.Entry) {})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("search = %+v, %v; want an error containing %q", read, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("search = %v", err)
			}
			if read.Finished != tt.finished || !strings.Contains(read.Reason, tt.reason) || read.Entries != tt.entries {
				t.Errorf("read = %+v; want finished %v, %d entries, reason containing %q", read, tt.finished, tt.entries, tt.reason)
			}
		})
	}
}

// referralError builds the error go-ldap returns for a result with code 10 and a referral URL.
func referralError(url string) error {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(2), "MessageID"))
	r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationSearchResultDone, nil, "Search Result Done")
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(10), "resultCode"))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "0000202B: RefErr", "diagnosticMessage"))
	ref := ber.Encode(ber.ClassContext, ber.TypeConstructed, 3, nil, "Referral")
	ref.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, url, "URI"))
	r.AppendChild(ref)
	p.AppendChild(r)
	// Round-trip through the wire form, as go-ldap sees it.
	decoded, err := ber.DecodePacketErr(p.Bytes())
	if err != nil {
		panic(err)
	}
	return goldap.GetLDAPError(decoded)
}

// adDirectory answers the searches of an AD read: users, groups and member ranges of the big group,
// which holds n members and is split by ranges of at most max values, starting where asked.
type adDirectory struct {
	t        *testing.T
	bigSize  int
	maxRange int // the server's own limit (Windows: 1500); 0 = none
	// brokenAt, when > 0, makes the server return no member attribute for a range starting there.
	brokenAt int
}

func bigMember(i int) string { return "CN=Big " + strconv.Itoa(i) + ",OU=Big,DC=corp,DC=test" }

func (d *adDirectory) members(low, high int) (string, []string) {
	if d.maxRange > 0 && high-low+1 > d.maxRange {
		high = low + d.maxRange - 1
	}
	last := high >= d.bigSize-1
	if last {
		high = d.bigSize - 1
	}
	var vals []string
	for i := low; i <= high; i++ {
		vals = append(vals, bigMember(i))
	}
	label := "member;range=" + strconv.Itoa(low) + "-"
	if last {
		return label + "*", vals
	}
	return label + strconv.Itoa(high), vals
}

func (d *adDirectory) answer(req *goldap.SearchRequest) []fakeResult {
	switch {
	case req.Scope == goldap.ScopeBaseObject:
		// A range request on the big group.
		_, r, ranged, ok := splitAttr(req.Attributes[0])
		if !ranged || !ok {
			d.t.Errorf("range request without a range: %q", req.Attributes)
			return nil
		}
		if r.low == d.brokenAt && d.brokenAt > 0 {
			return ok0(entry(req.BaseDN))
		}
		high := r.high
		if high < 0 {
			high = d.bigSize
		}
		name, vals := d.members(r.low, high)
		e := entry(req.BaseDN)
		e.Attributes = append(e.Attributes, goldap.NewEntryAttribute(name, vals))
		return ok0(e)
	case isUserSearch(req):
		return ok0(
			withGUID(entry("CN=Ann Lee,OU=Users,DC=corp,DC=test", "cn", "Ann Lee", "mail", "ann@x", "sAMAccountName", "ann", "userAccountControl", "512"), guid(1)),
			withGUID(entry("CN=Dan Ek,OU=Users,DC=corp,DC=test", "cn", "Dan Ek", "mail", "dan@x", "sAMAccountName", "dan", "userAccountControl", "514"), guid(2)),
			entry("CN=No Guid,OU=Users,DC=corp,DC=test", "mail", "noguid@x"),
		)
	case isGroupSearch(req):
		big := withGUID(entry("CN=Big,OU=Groups,DC=corp,DC=test", "name", "Big"), guid(9))
		attr := req.Attributes[2] // name, cn, member(;range=...), objectGUID
		base, r, ranged, _ := splitAttr(attr)
		if base != "member" {
			d.t.Errorf("group attributes %q: want the member attribute third", req.Attributes)
		}
		high := d.bigSize
		if ranged && r.high >= 0 {
			high = r.high
		}
		name, vals := d.members(0, high)
		if !ranged && d.maxRange == 0 {
			name = "member"
		}
		if !ranged && d.maxRange > 0 {
			// Windows: the plain attribute comes back empty next to the first range.
			big.Attributes = append(big.Attributes, goldap.NewEntryAttribute("member", nil))
		}
		big.Attributes = append(big.Attributes, goldap.NewEntryAttribute(name, vals))
		return ok0(
			big,
			withGUID(entry("CN=Staff,OU=Groups,DC=corp,DC=test", "name", "Staff", "member;range=0-*",
				"CN=Ann Lee,OU=Users,DC=corp,DC=test|cn=big,ou=groups,dc=corp,dc=test|CN=Gone,OU=Users,DC=corp,DC=test"), guid(8)),
			withGUID(entry("CN=Empty,OU=Groups,DC=corp,DC=test", "name", "Empty"), guid(7)),
		)
	}
	d.t.Errorf("unexpected search %q %q", req.BaseDN, req.Filter)
	return nil
}

func ok0(entries ...*goldap.Entry) []fakeResult { return ok(entries...) }

func groupNamed(s *directory.Snapshot, name string) *directory.Group {
	for i := range s.Groups {
		if s.Groups[i].Name == name {
			return &s.Groups[i]
		}
	}
	return nil
}

func TestADRead(t *testing.T) {
	tests := []struct {
		name       string
		dir        adDirectory
		rangeSize  string
		requests   int // range requests on the big group
		complete   bool
		bigMembers int
	}{
		{"fits in the first range", adDirectory{bigSize: 20}, "1500", 0, true, 20},
		{"asked ranges walked", adDirectory{bigSize: 2000}, "300", 6, true, 2000},
		{"exact multiple of the range", adDirectory{bigSize: 900}, "300", 2, true, 900},
		{"server caps below the asked range", adDirectory{bigSize: 2000, maxRange: 500}, "1500", 3, true, 2000},
		{"Windows splits an unasked attribute", adDirectory{bigSize: 2000, maxRange: 1500}, "0", 1, true, 2000},
		{"a range that cannot be finished", adDirectory{bigSize: 2000, brokenAt: 600}, "300", 2, false, 600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.dir.t = t
			f := &fakeConn{answer: tt.dir.answer}
			r := fakeReader(t, f, "rootPath", "DC=corp,DC=test", "rangeSize", tt.rangeSize)
			snap, err := r.read(t.Context(), directory.FetchRequest{Users: true, Groups: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := snap.Completeness.Complete(); got != tt.complete {
				t.Errorf("Complete() = %v, want %v (%q)", got, tt.complete, snap.Completeness.Incomplete())
			}
			big := groupNamed(snap, "Big")
			if big == nil || len(big.Users) != tt.bigMembers || big.ExternalID != "09090909-0909-0909-0909-090909090909" {
				t.Fatalf("group Big = %+v, want %d members", big, tt.bigMembers)
			}
			if big.Users[0] != normalizeDN(bigMember(0)) {
				t.Errorf("first member = %q", big.Users[0])
			}
			var ranges int
			for _, req := range f.requests() {
				if req.Scope == goldap.ScopeBaseObject {
					ranges++
				}
			}
			if ranges != tt.requests {
				t.Errorf("%d range requests, want %d", ranges, tt.requests)
			}
			// The rest of the read does not depend on ranges.
			staff := groupNamed(snap, "Staff")
			want := directory.Group{ID: "cn=staff,ou=groups,dc=corp,dc=test", ExternalID: "08080808-0808-0808-0808-080808080808", Name: "Staff",
				Users:  []string{"cn=ann lee,ou=users,dc=corp,dc=test", "cn=gone,ou=users,dc=corp,dc=test"},
				Groups: []string{"cn=big,ou=groups,dc=corp,dc=test"}}
			if diff := cmp.Diff(&want, staff); diff != "" {
				t.Errorf("group Staff differs (-want +got):\n%s", diff)
			}
			if e := groupNamed(snap, "Empty"); e == nil || e.Users != nil || e.Groups != nil {
				t.Errorf("group Empty = %+v, want no members", e)
			}
			wantUsers := []directory.User{
				{ID: "cn=ann lee,ou=users,dc=corp,dc=test", ExternalID: "01010101-0101-0101-0101-010101010101", Email: "ann@x", EmailPrefix: "ann", DisplayName: "Ann Lee"},
				{ID: "cn=dan ek,ou=users,dc=corp,dc=test", ExternalID: "02020202-0202-0202-0202-020202020202", Email: "dan@x", EmailPrefix: "dan", DisplayName: "Dan Ek", Disabled: true},
			}
			if diff := cmp.Diff(wantUsers, snap.Users); diff != "" {
				t.Errorf("users differ (-want +got):\n%s", diff)
			}
			if len(snap.Issues) != 1 || snap.Issues[0].ID != "cn=no guid,ou=users,dc=corp,dc=test" || !strings.Contains(snap.Issues[0].Reason, "no objectGUID") {
				t.Errorf("issues = %+v, want the user without objectGUID", snap.Issues)
			}
		})
	}
}

// TestRequestedAttributes checks that reads ask only for what they use, and for the first member range
// on AD only.
func TestRequestedAttributes(t *testing.T) {
	tests := []struct {
		kv            []string
		users, groups string
	}{
		{nil, "mail,sAMAccountName,uid,displayName,cn,userAccountControl,objectGUID", "name,cn,member;range=0-1499,objectGUID"},
		{[]string{"rangeSize", "0"}, "mail,sAMAccountName,uid,displayName,cn,userAccountControl,objectGUID", "name,cn,member,objectGUID"},
		{[]string{"ad", "false"}, "mail,uid,displayName,cn,userAccountControl", "cn,member"},
		{[]string{"ad", "false", "externalIdAttribute", "entryUUID", "memberAttribute", "uniqueMember", "groupNameAttribute", "ou"},
			"mail,uid,displayName,cn,userAccountControl,entryUUID", "ou,cn,uniqueMember,entryUUID"},
	}
	for _, tt := range tests {
		f := &fakeConn{answer: func(*goldap.SearchRequest) []fakeResult { return nil }}
		r := fakeReader(t, f, tt.kv...)
		if _, err := r.read(t.Context(), directory.FetchRequest{Users: true, Groups: true}); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != 2 || attrNames(reqs[0]) != tt.users || attrNames(reqs[1]) != tt.groups {
			var got []string
			for _, r := range reqs {
				got = append(got, attrNames(r))
			}
			t.Errorf("%v: attributes %q, want users %q and groups %q", tt.kv, got, tt.users, tt.groups)
		}
		for _, req := range reqs {
			if req.TimeLimit != 300 {
				t.Errorf("%v: time limit %d, want 300", tt.kv, req.TimeLimit)
			}
			ds := goldap.FindControl(req.Controls, goldap.ControlTypeMicrosoftDomainScope) != nil
			if ad := !slices.Contains(tt.kv, "false"); ds != ad {
				t.Errorf("%v: domain scope control %v, want %v", tt.kv, ds, ad)
			}
		}
	}
}

func TestLDAPMembership(t *testing.T) {
	users := ok(
		entry("uid=ann,ou=People,dc=test", "mail", "ann@x", "uid", "ann", "entryUUID", "uuid-ann"),
		entry("uid=bob,ou=People,dc=test", "mail", "bob@x", "uid", "Bob", "entryUUID", "uuid-bob"),
		entry("uid=nouuid,ou=People,dc=test", "mail", "nouuid@x", "uid", "nouuid"),
	)
	tests := []struct {
		name   string
		kv     []string
		groups []fakeResult
		want   []directory.Group
	}{
		{"member DNs, nested, case and escaping differ", []string{"memberAttribute", "member"}, ok(
			entry("cn=Staff,ou=Groups,dc=test", "cn", "Staff", "member", "UID=Ann,OU=people,DC=test|cn=Eng\\2C Ops,ou=groups,dc=test|uid=ghost,ou=people,dc=test"),
			entry("cn=Eng\\, Ops,ou=Groups,dc=test", "cn", "Eng, Ops", "member", "uid=bob, ou=people, dc=test"),
		), []directory.Group{
			{ID: "cn=staff,ou=groups,dc=test", ExternalID: "cn=Staff,ou=Groups,dc=test", Name: "Staff",
				Users: []string{"uid=ann,ou=people,dc=test", "uid=ghost,ou=people,dc=test"}, Groups: []string{`cn=eng\, ops,ou=groups,dc=test`}},
			{ID: `cn=eng\, ops,ou=groups,dc=test`, ExternalID: `cn=Eng\, Ops,ou=Groups,dc=test`, Name: "Eng, Ops", Users: []string{"uid=bob,ou=people,dc=test"}},
		}},
		{"uniqueMember with UIDs", []string{"memberAttribute", "uniqueMember"}, ok(
			entry("cn=Staff,ou=Groups,dc=test", "cn", "Staff", "uniqueMember", "uid=ann,ou=People,dc=test#'0101'B|uid=bob,ou=People,dc=test"),
		), []directory.Group{
			{ID: "cn=staff,ou=groups,dc=test", ExternalID: "cn=Staff,ou=Groups,dc=test", Name: "Staff",
				Users: []string{"uid=ann,ou=people,dc=test", "uid=bob,ou=people,dc=test"}},
		}},
		{"memberUid, case-insensitive, unknown kept", []string{"memberAttribute", "memberUid"}, ok(
			entry("cn=Staff,ou=Groups,dc=test", "cn", "Staff", "memberUid", "ANN|bob|ghost|ann"),
		), []directory.Group{
			{ID: "cn=staff,ou=groups,dc=test", ExternalID: "cn=Staff,ou=Groups,dc=test", Name: "Staff",
				Users: []string{"uid=ann,ou=people,dc=test", "uid=bob,ou=people,dc=test", "ghost"}},
		}},
		{"name attribute with cn fallback", []string{"groupNameAttribute", "description"}, ok(
			entry("cn=Staff,ou=Groups,dc=test", "cn", "Staff", "description", "All staff"),
			entry("cn=Ops,ou=Groups,dc=test", "cn", "Ops"),
		), []directory.Group{
			{ID: "cn=staff,ou=groups,dc=test", ExternalID: "cn=Staff,ou=Groups,dc=test", Name: "All staff"},
			{ID: "cn=ops,ou=groups,dc=test", ExternalID: "cn=Ops,ou=Groups,dc=test", Name: "Ops"},
		}},
		{"entryUUID ids", []string{"externalIdAttribute", "entryUUID"}, ok(
			entry("cn=Staff,ou=Groups,dc=test", "cn", "Staff", "entryUUID", "uuid-staff", "member", "uid=ann,ou=people,dc=test"),
		), []directory.Group{
			{ID: "cn=staff,ou=groups,dc=test", ExternalID: "uuid-staff", Name: "Staff", Users: []string{"uid=ann,ou=people,dc=test"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConn{answer: func(req *goldap.SearchRequest) []fakeResult {
				if strings.Contains(req.Filter, "objectClass=person") {
					return users
				}
				return tt.groups
			}}
			r := fakeReader(t, f, append([]string{"ad", "false"}, tt.kv...)...)
			// Groups only: memberUid still needs the users, DNs do not.
			snap, err := r.read(t.Context(), directory.FetchRequest{Groups: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, snap.Groups); diff != "" {
				t.Errorf("groups differ (-want +got):\n%s", diff)
			}
			if snap.Users != nil || snap.UsersRead || !snap.GroupsRead {
				t.Errorf("groups-only read returned users %v (UsersRead %v, GroupsRead %v)", snap.Users, snap.UsersRead, snap.GroupsRead)
			}
			userSearches := 0
			for _, req := range f.requests() {
				if strings.Contains(req.Filter, "objectClass=person") {
					userSearches++
				}
			}
			if wantUS := map[bool]int{true: 1, false: 0}[slices.Contains(tt.kv, "memberUid")]; userSearches != wantUS {
				t.Errorf("%d user searches for a groups-only read, want %d", userSearches, wantUS)
			}
		})
	}
}

func TestExternalIDAttribute(t *testing.T) {
	f := &fakeConn{answer: func(req *goldap.SearchRequest) []fakeResult {
		return ok(
			entry("uid=ann,ou=People,dc=test", "mail", "ann@x", "uid", "ann", "entryUUID", "uuid-ann"),
			entry("uid=nouuid,ou=People,dc=test", "mail", "nouuid@x"),
		)
	}}
	r := fakeReader(t, f, "ad", "false", "externalIdAttribute", "entryUUID")
	snap, err := r.read(t.Context(), directory.FetchRequest{Users: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []directory.User{{ID: "uid=ann,ou=people,dc=test", ExternalID: "uuid-ann", Email: "ann@x", EmailPrefix: "ann", DisplayName: ""}}
	if diff := cmp.Diff(want, snap.Users); diff != "" {
		t.Errorf("users differ (-want +got):\n%s", diff)
	}
	wantIssues := []directory.Issue{{Kind: "user", ID: "uid=nouuid,ou=people,dc=test", Name: "nouuid@x",
		Reason: "it has no entryUUID (ldap.externalIdAttribute)", Source: "uid=nouuid,ou=People,dc=test"}}
	if diff := cmp.Diff(wantIssues, snap.Issues); diff != "" {
		t.Errorf("issues differ (-want +got):\n%s", diff)
	}

	// Without the setting the DN, exactly as returned, is the externalId (the Directory Connector's).
	r = fakeReader(t, f, "ad", "false")
	snap, _ = r.read(t.Context(), directory.FetchRequest{Users: true})
	if snap.Users[0].ExternalID != "uid=ann,ou=People,dc=test" || snap.Users[0].Key() != "uid=ann,ou=People,dc=test" {
		t.Errorf("user = %+v, want the returned DN as externalId", snap.Users[0])
	}
}

func TestDeletedUsers(t *testing.T) {
	var failDeleted error
	f := &fakeConn{answer: func(req *goldap.SearchRequest) []fakeResult {
		if strings.HasPrefix(req.BaseDN, "CN=Deleted Objects,") {
			if failDeleted != nil {
				return []fakeResult{{err: failDeleted}}
			}
			return ok(withGUID(entry("CN=Eve Moss\\0ADEL:05050505-0505-0505-0505-050505050505,CN=Deleted Objects,DC=corp,DC=test",
				"sAMAccountName", "eve", "userAccountControl", "514"), guid(5)))
		}
		if isUserSearch(req) {
			return ok(withGUID(entry("CN=Ann,OU=Users,DC=corp,DC=test", "mail", "ann@x"), guid(1)))
		}
		return nil
	}}
	r := fakeReader(t, f, "rootPath", "OU=Harness,DC=corp,DC=test", "includeDeleted", "true", "userPath", "OU=Users", "userFilter", "")
	snap, err := r.read(t.Context(), directory.FetchRequest{Users: true, Groups: true, Filters: directory.Filters{User: "(mail=*)"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Users) != 2 || !snap.Users[1].Deleted || snap.Users[1].ExternalID != "05050505-0505-0505-0505-050505050505" || !snap.Completeness.Complete() {
		t.Fatalf("users = %+v, complete %v; want Ann and the deleted Eve", snap.Users, snap.Completeness.Complete())
	}
	var del *goldap.SearchRequest
	for _, req := range f.requests() {
		if strings.HasPrefix(req.BaseDN, "CN=Deleted") {
			del = req
		}
	}
	if del == nil || del.BaseDN != "CN=Deleted Objects,DC=corp,DC=test" || del.Filter != "(&(objectClass=person)(mail=*)(isDeleted=TRUE))" {
		t.Fatalf("deleted search = %+v", del)
	}
	c, _ := goldap.FindControl(del.Controls, goldap.ControlTypeMicrosoftShowDeleted).(*goldap.ControlString)
	if c == nil || !c.Criticality {
		t.Errorf("deleted search controls %v, want a critical Show Deleted control", del.Controls)
	}

	// A failing deleted-objects read makes the snapshot incomplete, not the sync fail.
	failDeleted = ldapErr(50, "insufficient access")
	r = fakeReader(t, f, "rootPath", "DC=corp,DC=test", "includeDeleted", "true")
	snap, err = r.read(t.Context(), directory.FetchRequest{Users: true, Groups: true})
	if err != nil || snap.Completeness.Complete() || len(snap.Users) != 1 {
		t.Fatalf("read with a failing deleted search = %v, complete %v, %d users; want an incomplete snapshot", err, snap != nil && snap.Completeness.Complete(), len(snap.Users))
	}
	if inc := snap.Completeness.Incomplete(); len(inc) != 1 || !strings.Contains(inc[0], "deleted users") || !strings.Contains(inc[0], "may not search") {
		t.Errorf("Incomplete() = %q", inc)
	}

	// Not on without the setting, nor outside AD.
	for _, kv := range [][]string{{"includeDeleted", "false"}, {"ad", "false", "includeDeleted", "true"}} {
		f.reqs = nil
		r = fakeReader(t, f, kv...)
		r.read(t.Context(), directory.FetchRequest{Users: true})
		for _, req := range f.requests() {
			if strings.Contains(req.BaseDN, "Deleted") {
				t.Errorf("%v: deleted users were read", kv)
			}
		}
	}
}

// TestClosedConnection: go-ldap ends a search on a closed connection without an error; that must not
// read as an empty last page.
func TestClosedConnection(t *testing.T) {
	f := &fakeConn{}
	f.answer = func(req *goldap.SearchRequest) []fakeResult {
		if cookieOf(req) == "p2" {
			f.closed = true
			return nil
		}
		return append(ok(entry("uid=a,dc=test")), pageDone("p2"))
	}
	r := fakeReader(t, f, "ad", "false")
	snap, err := r.read(t.Context(), directory.FetchRequest{Users: true, Groups: true})
	if !errors.Is(err, directory.ErrUnreachable) || !strings.Contains(err.Error(), "the connection is closed") || snap != nil {
		t.Errorf("read = %v, %v; want ErrUnreachable and no snapshot", snap, err)
	}
}

func TestReadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	f := &fakeConn{answer: func(req *goldap.SearchRequest) []fakeResult {
		if cookieOf(req) == "p2" {
			cancel()
		}
		return append(ok(entry("uid=a,dc=test")), pageDone("p2"))
	}}
	r := fakeReader(t, f, "ad", "false")
	snap, err := r.read(ctx, directory.FetchRequest{Users: true, Groups: true})
	if !errors.Is(err, context.Canceled) || snap != nil {
		t.Errorf("read = %v, %v; want context.Canceled and no snapshot", snap, err)
	}
}
