package file

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

// person returns the lines of a minimal user entry.
func person(dn string, more ...string) string {
	return "dn: " + dn + "\nobjectClass: inetOrgPerson\n" + strings.Join(more, "\n") + "\n\n"
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestLDIF(t *testing.T) {
	const (
		ann = "uid=ann,ou=People,dc=example,dc=com"
		bob = "uid=bob,ou=People,dc=example,dc=com"
	)
	runParseCases(t, FormatLDIF, []parseCase{
		{
			name: "users: attributes, AD flags, classes",
			in: "version: 1\n\n" +
				person(ann, "objectClass: person", "uid: ann", "cn: Ann Lee", "mail: Ann@Example.com") +
				"dn: CN=Bob,OU=Staff,DC=corp\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\n" +
				"sAMAccountName: bob\ncn: Bob\ndisplayName: Bob Builder\nmail: bob@corp.example\nuserAccountControl: 514\n\n" +
				"dn: CN=Cy\\0ADEL:1234,CN=Deleted Objects,DC=corp\nobjectClass: user\nmail: cy@corp.example\nisDeleted: TRUE\nuserAccountControl: 66048\n\n" +
				"dn: cn=Di,dc=corp\nobjectClass: organizationalPerson\nisDeleted: false\nuserAccountControl: 512\n\n" +
				"dn: CN=PC1,CN=Computers,DC=corp\nobjectClass: person\nobjectClass: user\nobjectClass: computer\nsAMAccountName: PC1$\n\n" +
				"dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n" +
				"dn: dc=example,dc=com\nobjectClass: domain\ndc: example\n",
			users: []directory.User{
				{ID: ann, Email: "Ann@Example.com", EmailPrefix: "ann", DisplayName: "Ann Lee"},
				{ID: "CN=Bob,OU=Staff,DC=corp", Email: "bob@corp.example", EmailPrefix: "bob", DisplayName: "Bob Builder", Disabled: true},
				{ID: "CN=Cy\\0ADEL:1234,CN=Deleted Objects,DC=corp", Email: "cy@corp.example", Deleted: true},
				{ID: "cn=Di,dc=corp"},
			},
		},
		{
			name: "base64, folded lines, comments, CRLF, BOM",
			in: "\uFEFF# export of example.com\r\n# a folded comment\r\n  that goes on\r\nversion: 1\r\n" +
				"dn:: " + b64("uid=zoë,ou=People,dc=example,dc=com") + "\r\n" +
				"objectClass: inetOrgPerson\r\n" +
				"# a comment inside the entry\r\n" +
				"mail:: " + b64("  Zoe@Example.com ")[:8] + "\r\n " + b64("  Zoe@Example.com ")[8:] + "\r\n" +
				"cn: Zo\r\n \r\n ë Bright\r\n" +
				"uid:ZOE\r\n" +
				"description:: \r\n" +
				"\r\n",
			users: []directory.User{
				{ID: "uid=zoë,ou=People,dc=example,dc=com", Email: "  Zoe@Example.com ", EmailPrefix: "ZOE", DisplayName: "Zoë Bright"},
			},
		},
		{
			name: "group members: member, uniqueMember, memberUid, nesting, unknown references",
			in: person(ann, "uid: ann") + person(bob, "uid: Bob") +
				"dn: cn=All,ou=Groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: All\n" +
				"member: UID=ANN, OU=people, DC=Example, DC=com\n" +
				"member: cn=Devs,ou=Groups,dc=example,dc=com\n" +
				"member: uid=gone,ou=People,dc=example,dc=com\n" +
				"member: uid=ann,ou=People,dc=example,dc=com\n\n" +
				"dn: cn=Devs,ou=Groups,dc=example,dc=com\nobjectClass: groupOfUniqueNames\ncn: Devs\n" +
				"uniqueMember: uid=bob,ou=People,dc=example,dc=com#'0101'B\n" +
				"uniqueMember: CN=All,OU=Groups,DC=example,DC=com\n\n" +
				"dn: cn=unix,ou=Groups,dc=example,dc=com\nobjectClass: posixGroup\ncn: unix\ngidNumber: 100\n" +
				"memberUid: bob\nmemberUid: nobody\n\n" +
				"dn: CN=Empty,DC=corp\nobjectClass: top\nobjectClass: group\ncn: Empty\n\n" +
				"dn: cn=Lang,dc=corp\nobjectClass: group\ncn;lang-en: Lang\n",
			users: []directory.User{{ID: ann, EmailPrefix: "ann"}, {ID: bob, EmailPrefix: "Bob"}},
			groups: []directory.Group{
				{ID: "cn=All,ou=Groups,dc=example,dc=com", Name: "All",
					Users:  []string{ann, "uid=gone,ou=People,dc=example,dc=com"},
					Groups: []string{"cn=Devs,ou=Groups,dc=example,dc=com"}},
				{ID: "cn=Devs,ou=Groups,dc=example,dc=com", Name: "Devs", Users: []string{bob},
					Groups: []string{"cn=All,ou=Groups,dc=example,dc=com"}},
				{ID: "cn=unix,ou=Groups,dc=example,dc=com", Name: "unix", Users: []string{bob, "nobody"}},
				{ID: "CN=Empty,DC=corp", Name: "Empty"},
				{ID: "cn=Lang,dc=corp", Name: "Lang"},
			},
		},
		{
			name:  "a dn line without a blank line before it starts a new entry",
			in:    "dn: " + ann + "\nobjectClass: person\n \ndn: " + bob + "\nobjectClass: person\n",
			users: []directory.User{{ID: ann}, {ID: bob}},
		},
		{
			name: "broken entries",
			in: person(ann, "mail: ann@example.com") + // line 1: fine
				person("uid=c1,dc=x", "mail c1@example.com") + // line 5: no colon
				person("uid=c2,dc=x", "mail:: !!!notbase64") + // line 9: bad base64
				person("uid=c3,dc=x", "jpegPhoto:< file:///tmp/c3.jpg") + // line 13: URL
				person("uid=c4,dc=x", "userAccountControl: lots") + // line 17: bad UAC
				"objectClass: person\nmail: nodn@example.com\n\n" + // line 21: no dn
				"dn: uid=c6,dc=x\nmail: c6@example.com\ncn: no classes\n\n" + // line 24: no objectClass
				"dn: cn=nocn,dc=x\nobjectClass: groupOfNames\nmember: " + ann + "\n\n" + // line 28: group without cn
				"dn: cn=mod,dc=x\nchangetype: modify\nadd: member\nmember: " + ann + "\n-\n\n" + // line 32: change record
				"dn: uid=c9,dc=x\nobjectClass: top\nob jectClass: person\n\n" + // line 38: broken, kind unknown
				"dn: ou=x,dc=x\nobjectClass: organizationalUnit\ndescription:: ***\n\n" + // line 42: broken OU: ignored
				" continued\ndn: uid=c11,dc=x\nobjectClass: person\n\n" + // line 46: continuation first; the dn starts a good entry
				"dn:\nobjectClass: person\n\n" + // line 50: empty dn
				person(bob), // line 53: fine
			users: []directory.User{{ID: ann, Email: "ann@example.com"}, {ID: "uid=c11,dc=x"}, {ID: bob}},
			issues: []directory.Issue{
				{Kind: "user", ID: "uid=c1,dc=x", Source: "line 5", Reason: `line 7: "mail c1@example.com" is not an attribute line (name: value)`},
				{Kind: "user", ID: "uid=c2,dc=x", Source: "line 9", Reason: "line 11: attribute mail: the base64 value does not decode: illegal base64 data at input byte 0"},
				{Kind: "user", ID: "uid=c3,dc=x", Source: "line 13", Reason: "line 15: attribute jpegphoto: values read from URLs are not supported"},
				{Kind: "user", ID: "uid=c4,dc=x", Source: "line 17", Reason: `userAccountControl "lots" is not a number`},
				{Kind: "user", Name: "nodn@example.com", Source: "line 21", Reason: "line 21: the entry does not start with dn:"},
				{Kind: "user", ID: "uid=c6,dc=x", Name: "c6@example.com", Source: "line 24", Reason: "the entry has no objectClass, so it is neither a user nor a group (export objectClass too)"},
				{Kind: "group", ID: "cn=nocn,dc=x", Source: "line 28", Reason: "it has no cn"},
				{Kind: "user", ID: "cn=mod,dc=x", Source: "line 32", Reason: `line 33: change records (changetype: modify) are not supported, only entries; line 36: "-" is not an attribute line (name: value)`},
				{Kind: "user", ID: "uid=c9,dc=x", Source: "line 38", Reason: `cannot tell whether the entry is a user or a group: line 40: "ob jectClass" is not an attribute name`},
				{Kind: "user", Source: "line 46", Reason: `line 46: " continued" is not an attribute line (name: value)`},
				{Kind: "user", Source: "line 50", Reason: "line 50: the dn is empty"},
			},
		},
		{
			name: "duplicate DNs compare case-insensitively",
			in: person("uid=a,dc=x", "mail: a1@example.com") + person("UID=A, DC=X", "mail: a2@example.com") +
				person("uid=b,dc=x") + person("uid=b,dc=x"),
			users: []directory.User{{ID: "uid=b,dc=x"}},
			issues: []directory.Issue{
				{Kind: "user", ID: "uid=a,dc=x", Name: "a1@example.com", Source: "line 1", Reason: "another record has the same id (line 1, line 5)"},
				{Kind: "user", ID: "UID=A, DC=X", Name: "a2@example.com", Source: "line 5", Reason: "another record has the same id (line 1, line 5)"},
			},
		},
		{
			name:   "a broken member entry is still referenced by its DN",
			in:     person("uid=a,dc=x", "userAccountControl: x") + "dn: cn=g,dc=x\nobjectClass: group\ncn: g\nmember: UID=A,DC=X\n",
			groups: []directory.Group{{ID: "cn=g,dc=x", Name: "g", Users: []string{"uid=a,dc=x"}}},
			issues: []directory.Issue{
				{Kind: "user", ID: "uid=a,dc=x", Source: "line 1", Reason: `userAccountControl "x" is not a number`},
			},
		},
	})
}

func TestLDIFErrors(t *testing.T) {
	runErrorCases(t, FormatLDIF, []errorCase{
		{"empty file", "", "the file is empty"},
		{"only comments", "# nothing here\n#\n", "the file holds no entries"},
		{"only a version", "version: 1\n\n", "the file holds no entries"},
		{"another version", "version: 2\n\ndn: dc=x\nobjectClass: domain\n", `line 1: LDIF version "2" is not supported`},
	})
}

func TestDNKey(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"uid=ann,ou=People,dc=example,dc=com", "UID=Ann, OU=people , DC=EXAMPLE,dc=com", true},
		{"cn=a+sn=b,dc=x", "CN=A + SN=B,DC=X", true},
		{"cn=a;dc=x", "cn=a,dc=x", true},
		{`cn=Lee\, Ann,dc=x`, `CN=lee\, ann, DC=x`, true},
		{`cn=Lee\, Ann,dc=x`, `cn=Lee,cn=Ann,dc=x`, false},
		{"cn=a,dc=x", "cn=a,dc=y", false},
		{"cn=a b,dc=x", "cn=ab,dc=x", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			if got := dnKey(tt.a) == dnKey(tt.b); got != tt.same {
				t.Errorf("dnKey(%q) == dnKey(%q) is %v, want %v (%q, %q)", tt.a, tt.b, got, tt.same, dnKey(tt.a), dnKey(tt.b))
			}
		})
	}
}

func TestLDIFRecords(t *testing.T) {
	in := "# c1\n  c1 continued\nversion: 1\n\n\ndn: a\n b\nx: 1\n# c2\n y\n\n\n\ndn: c\n"
	got := ldifRecords([]byte(in))
	want := [][]ldifLine{
		{{n: 3, text: "version: 1"}},
		{{n: 6, text: "dn: ab"}, {n: 8, text: "x: 1"}},
		{{n: 14, text: "dn: c"}},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(ldifLine{})); diff != "" {
		t.Errorf("ldifRecords differ (-want +got):\n%s", diff)
	}
}
