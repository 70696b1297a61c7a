package ldap

import (
	"testing"
)

func TestFormatGUID(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		// The example of MS-DTYP 2.3.4.3: {3F2504E0-4F89-11D3-9A0C-0305E82C3301} is stored as these bytes.
		{[]byte{0xe0, 0x04, 0x25, 0x3f, 0x89, 0x4f, 0xd3, 0x11, 0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01},
			"3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
		{[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, "03020100-0504-0706-0809-0a0b0c0d0e0f"},
		{[]byte{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00},
			"ccddeeff-aabb-8899-7766-554433221100"},
	}
	for _, tt := range tests {
		got, err := formatGUID(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("formatGUID(% x) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, n := range []int{0, 15, 17} {
		if got, err := formatGUID(make([]byte, n)); err == nil {
			t.Errorf("formatGUID(%d bytes) = %q, want an error", n, got)
		}
	}
}

func TestSplitAttr(t *testing.T) {
	tests := []struct {
		in         string
		base       string
		r          rangeInfo
		ranged, ok bool
	}{
		{"member", "member", rangeInfo{}, false, true},
		{"member;range=0-1499", "member", rangeInfo{0, 1499}, true, true},
		{"member;range=1500-*", "member", rangeInfo{1500, -1}, true, true},
		{"Member;Range=0-*", "Member", rangeInfo{0, -1}, true, true},
		{"member;binary;range=3-5", "member", rangeInfo{3, 5}, true, true},
		{"userCertificate;binary", "userCertificate", rangeInfo{}, false, true},
		{"member;range=0", "member", rangeInfo{}, true, false},
		{"member;range=x-5", "member", rangeInfo{}, true, false},
		{"member;range=5-1", "member", rangeInfo{}, true, false},
		{"member;range=-1-5", "member", rangeInfo{}, true, false},
	}
	for _, tt := range tests {
		base, r, ranged, ok := splitAttr(tt.in)
		if base != tt.base || ranged != tt.ranged || ok != tt.ok || (ok && r != tt.r) {
			t.Errorf("splitAttr(%q) = %q, %+v, %v, %v; want %q, %+v, %v, %v", tt.in, base, r, ranged, ok, tt.base, tt.r, tt.ranged, tt.ok)
		}
	}
	if got := rangedAttr("member", 1500, 1500); got != "member;range=1500-2999" {
		t.Errorf("rangedAttr = %q", got)
	}
	if got := rangedAttr("member", 0, 0); got != "member;range=0-*" {
		t.Errorf("rangedAttr(size 0) = %q", got)
	}
}

func TestNormalizeDN(t *testing.T) {
	tests := []struct {
		name string
		in   []string // all normalize to want
		want string
	}{
		{"case and spaces", []string{"CN=Ann Lee,OU=People,DC=Example,DC=Test", "cn=ann lee, ou=people, dc=example, dc=test", " cn = Ann Lee ,ou=People,dc=example,dc=test"},
			"cn=ann lee,ou=people,dc=example,dc=test"},
		{"escaped comma: Samba and OpenLDAP", []string{`CN=grp\, with comma,OU=Groups,DC=corp`, `cn=grp\2C with comma,ou=groups,dc=corp`, `cn=grp\2c with comma,ou=groups,dc=corp`},
			`cn=grp\, with comma,ou=groups,dc=corp`},
		{"other specials", []string{`cn=a\+b\;c\<d\>e\"f\\g\=h,dc=x`, `cn=a\2Bb\3Bc\3Cd\3Ee\22f\5Cg=h,dc=x`}, `cn=a\+b\;c\<d\>e\"f\\g\=h,dc=x`},
		{"non-ASCII raw and hex-escaped", []string{"CN=Zoë Müller,DC=x", `cn=Zo\C3\AB M\C3\BCller,dc=x`}, "cn=zoë müller,dc=x"},
		{"multi-valued RDN order", []string{"cn=A+uid=b,dc=x", "UID=B+CN=a,dc=x"}, "cn=a+uid=b,dc=x"},
		{"tombstone", []string{`CN=Eve Moss\0ADEL:1234,CN=Deleted Objects,DC=corp`},
			`cn=eve moss\0adel:1234,cn=deleted objects,dc=corp`},
		{"leading hash and space", []string{`cn=\#x,dc=x`, `cn=\23x,dc=x`}, `cn=\#x,dc=x`},
		{"escaped trailing space", []string{`cn=x\ ,dc=x`, `cn=x\20,dc=x`}, `cn=x\ ,dc=x`},
		{"not a DN", []string{"  Ghost  ", "ghost"}, "ghost"},
	}
	for _, tt := range tests {
		for _, in := range tt.in {
			if got := normalizeDN(in); got != tt.want {
				t.Errorf("%s: normalizeDN(%q) = %q, want %q", tt.name, in, got, tt.want)
			}
		}
	}
	// Different entries stay different.
	if normalizeDN("cn=a,dc=x") == normalizeDN("cn=a,dc=y") || normalizeDN(`cn=a\,b,dc=x`) == normalizeDN("cn=a,cn=b,dc=x") {
		t.Error("normalizeDN merged different DNs")
	}
}

func TestStripUID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"uid=ann,ou=people,dc=x", "uid=ann,ou=people,dc=x"},
		{"uid=ann,ou=people,dc=x#'0101'B", "uid=ann,ou=people,dc=x"},
		{"uid=ann,ou=people,dc=x#'0102'B", "uid=ann,ou=people,dc=x#'0102'B"},
		{`cn=a\#'01'B`, `cn=a\#'01'B`},
		{"#'01'B", "#'01'B"},
	}
	for _, tt := range tests {
		if got := stripUID(tt.in); got != tt.want {
			t.Errorf("stripUID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLooksLikeDN(t *testing.T) {
	for in, want := range map[string]bool{
		"uid=ann,ou=people,dc=x": true, "cn=solo": true, "ann": false, "ann.lee": false, "=x": false,
	} {
		if got := looksLikeDN(in); got != want {
			t.Errorf("looksLikeDN(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDomainDN(t *testing.T) {
	for in, want := range map[string]string{
		"DC=corp,DC=example,DC=test":            "DC=corp,DC=example,DC=test",
		"OU=Harness,dc=corp,dc=example,dc=test": "DC=corp,DC=example,DC=test",
		"ou=x,o=company":                        "",
		"not a dn":                              "",
	} {
		if got := domainDN(in); got != want {
			t.Errorf("domainDN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSimpleDNFastPathAgrees(t *testing.T) {
	for _, dn := range []string{
		"uid=ann,ou=people,dc=example,dc=test",
		"CN=Ann Lee,OU=Users,DC=Corp,DC=Example,DC=Test",
		" cn = Ann Lee , ou=People ,dc=x",
		"cn=grp-00010,ou=groups,dc=example,dc=test",
		"cn=a b  c,dc=x",
		"cn=Ann,,dc=x", "cn=,dc=x", "=x,dc=y", "cn=a=b,dc=x", "cn", "",
	} {
		fast, ok := normalizeSimpleDN(dn)
		if !ok {
			continue
		}
		if slow := normalizeParsedDN(dn); fast != slow {
			t.Errorf("normalizeSimpleDN(%q) = %q, the full parse gives %q", dn, fast, slow)
		}
	}
	for _, dn := range []string{`cn=a\, b,dc=x`, `cn=Zoë,dc=x`, `cn=a+uid=b,dc=x`, `cn=#41,dc=x`, `cn="q",dc=x`, "cn=Ann,,dc=x", "cn=a=b,dc=x"} {
		if _, ok := normalizeSimpleDN(dn); ok {
			t.Errorf("normalizeSimpleDN(%q) took the fast path; it must leave it to the full parse", dn)
		}
	}
}

func BenchmarkNormalizeDN(b *testing.B) {
	dn := "uid=u004711,ou=people,dc=example,dc=test"
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			normalizeDN(dn)
		}
	})
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			normalizeParsedDN(dn)
		}
	})
}
