package ldap

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dirconn/dirconn/internal/directory"
)

func TestAdapterSchema(t *testing.T) {
	a := Adapter()
	if a.Name != "ldap" || a.Number != 0 || a.Title != "Active Directory / LDAP" || a.New == nil || a.CheckFilters == nil {
		t.Errorf("Adapter() = %q %d %q, New/CheckFilters set: %v/%v", a.Name, a.Number, a.Title, a.New != nil, a.CheckFilters != nil)
	}
	if a.UserFilterHelp == "" || a.GroupFilterHelp == "" {
		t.Error("filter help is empty: sync.userFilter/groupFilter would be refused")
	}
	// The Directory Connector's names must all be there (specs/anchor-dc.md 1.1, 1.2), with dirconn's.
	want := []string{"hostname", "port", "ssl", "startTls", "tlsCaPath", "sslCaPath", "sslCertPath", "sslKeyPath",
		"sslAllowUnauthorized", "failoverHosts", "timeout", "searchTimeLimit", "username", "password", "rootPath", "ad",
		"pagedSearch", "pageSize", "rangeSize", "externalIdAttribute", "includeDeleted", "userPath", "groupPath",
		"userObjectClass", "groupObjectClass", "userEmailAttribute", "groupNameAttribute", "memberAttribute",
		"emailPrefixAttribute"}
	var got []string
	for _, o := range a.Options {
		got = append(got, o.Name)
		if o.Label == "" || o.Help == "" {
			t.Errorf("option %s lacks a label or help", o.Name)
		}
		if o.Default != "" {
			if _, err := o.Normalize(o.Default); err != nil {
				t.Errorf("option %s: default %q does not validate: %v", o.Name, o.Default, err)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options differ (-want +got):\n%s", diff)
	}
	pw, _ := a.Option("password")
	if !pw.Secret || !pw.Required {
		t.Errorf("password: Secret %v Required %v, want both", pw.Secret, pw.Required)
	}
	// Mode-dependent defaults must not be schema defaults: config applies those regardless of ldap.ad.
	for _, n := range []string{"port", "userPath", "groupPath", "userObjectClass", "groupObjectClass", "userEmailAttribute",
		"groupNameAttribute", "memberAttribute", "emailPrefixAttribute", "externalIdAttribute"} {
		if o, _ := a.Option(n); o.Default != "" {
			t.Errorf("option %s has the schema default %q; its default depends on other settings", n, o.Default)
		}
	}
	for name, want := range map[string]string{"ad": "true", "pagedSearch": "true", "pageSize": "500", "rangeSize": "1500",
		"timeout": "30s", "searchTimeLimit": "5m0s", "ssl": "false", "sslAllowUnauthorized": "false", "includeDeleted": "false"} {
		if o, _ := a.Option(name); o.Default != want {
			t.Errorf("option %s default = %q, want %q", name, o.Default, want)
		}
	}
}

func TestOptionChecks(t *testing.T) {
	a := Adapter()
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"hostname", "dc1.company.com", true},
		{"hostname", "ldaps://dc1.company.com", false},
		{"failoverHosts", "dc2.company.com, dc3.company.com:3268,[::1]:389", true},
		{"failoverHosts", "dc2:notaport", false},
		{"failoverHosts", "ldap://dc2", false},
		{"port", "70000", false},
		{"pageSize", "0", false},
		{"rangeSize", "0", true},
		{"timeout", "0s", false},
		{"searchTimeLimit", "0s", true},
		{"externalIdAttribute", "entryUUID", true},
		{"externalIdAttribute", "entry UUID", false},
		{"memberAttribute", "(member)", false},
	}
	for _, tt := range tests {
		o, found := a.Option(tt.name)
		if !found {
			t.Fatalf("no option %s", tt.name)
		}
		_, err := o.Normalize(tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("ldap.%s = %q: err = %v, want ok %v", tt.name, tt.value, err, tt.ok)
		}
	}
}

func TestCheckFilters(t *testing.T) {
	good := []string{
		"", "  ",
		"(&(givenName=John)(|(l=Dallas)(l=Austin)))",
		"(&(objectClass=group)(!(cn=Sales*))(!(cn=IT*)))",
		"(&(objectCategory=Person)(sAMAccountName=*)(memberOf=cn=Heroes,ou=users,dc=company,dc=com))",
		"(&(objectCategory=Person)(sAMAccountName=*)(memberOf:1.2.840.113556.1.4.1941:=cn=Heroes,ou=users,dc=company,dc=com))",
		"(|(ou:dn:=Miami)(ou:dn:=Orlando))",
		"(!(userAccountControl:1.2.840.113556.1.4.803:=2))",
		"(mail=*)(sn=Lee)", // several filters in a row are ANDed
		"\n(mail=*)\n",
	}
	for _, f := range good {
		if err := CheckFilters(directory.Filters{User: f, Group: f}); err != nil {
			t.Errorf("CheckFilters(%q) = %v, want nil", f, err)
		}
	}
	bad := []string{"(mail=*", "mail=*", "(&(mail=*)))", "(cn=a)x", "((cn=a)", "(cn=a\\zz)"}
	for _, f := range bad {
		err := CheckFilters(directory.Filters{User: f})
		if !errors.Is(err, directory.ErrFilter) || !strings.Contains(err.Error(), "user filter") {
			t.Errorf("CheckFilters(user %q) = %v, want an ErrFilter naming the user filter", f, err)
		}
		err = CheckFilters(directory.Filters{Group: f})
		if !errors.Is(err, directory.ErrFilter) || !strings.Contains(err.Error(), "group filter") {
			t.Errorf("CheckFilters(group %q) = %v, want an ErrFilter naming the group filter", f, err)
		}
	}
}

func TestBuildFilter(t *testing.T) {
	tests := []struct{ class, filter, want string }{
		{"person", "", "(&(objectClass=person))"},
		{"person", " (mail=*) ", "(&(objectClass=person)(mail=*))"},
		{"group", "(!(cn=IT*))(cn=S*)", "(&(objectClass=group)(!(cn=IT*))(cn=S*))"},
		{"odd(class)", "", `(&(objectClass=odd\28class\29))`},
	}
	for _, tt := range tests {
		if got := buildFilter(tt.class, tt.filter); got != tt.want {
			t.Errorf("buildFilter(%q, %q) = %q, want %q", tt.class, tt.filter, got, tt.want)
		}
	}
}

func TestSearchBase(t *testing.T) {
	tests := []struct{ path, root, want string }{
		{"CN=Users", "DC=corp,DC=example", "CN=Users,DC=corp,DC=example"},
		{"", "dc=example,dc=test", "dc=example,dc=test"},
		// Unlike the Directory Connector, the part of rootPath before dc= is kept.
		{"ou=People", "ou=Corp,dc=example,dc=com", "ou=People,ou=Corp,dc=example,dc=com"},
		// A path that already holds the root is not doubled.
		{"ou=People,dc=example,dc=com", "DC=Example,DC=Com", "ou=People,dc=example,dc=com"},
		{"ou=People", "", "ou=People"},
	}
	for _, tt := range tests {
		if got := searchBase(tt.path, tt.root); got != tt.want {
			t.Errorf("searchBase(%q, %q) = %q, want %q", tt.path, tt.root, got, tt.want)
		}
	}
}

func TestSettings(t *testing.T) {
	type view struct {
		Hosts                                                         []string
		LDAPS, StartTLS                                               bool
		UserBase, GroupBase                                           string
		UserClass, GroupClass, Email, GroupName, Member, Prefix, IDAt string
		PageSize, RangeSize                                           int
		Timeout, TimeLimit                                            time.Duration
	}
	see := func(s settings) view {
		var hosts []string
		for _, h := range s.hosts {
			hosts = append(hosts, h.String())
		}
		return view{hosts, s.ldaps, s.startTLS, s.userBase, s.groupBase, s.userClass, s.groupClass, s.emailAttr,
			s.groupNameAttr, s.memberAttr, s.prefixAttr, s.externalIDAttr, s.pageSize, s.rangeSize, s.timeout, s.timeLimit}
	}
	tests := []struct {
		name string
		kv   []string
		want view
	}{
		{"AD defaults", nil, view{[]string{"ldap.test:389"}, false, false, "CN=Users,dc=test", "CN=Users,dc=test",
			"person", "group", "mail", "name", "member", "sAMAccountName", "", 500, 1500, 30 * time.Second, 300 * time.Second}},
		{"LDAP defaults", []string{"ad", "false"}, view{[]string{"ldap.test:389"}, false, false, "dc=test", "dc=test",
			"person", "groupOfNames", "mail", "cn", "member", "uid", "", 500, 1500, 30 * time.Second, 300 * time.Second}},
		{"LDAP uniqueMember picks groupOfUniqueNames", []string{"ad", "false", "memberAttribute", "uniqueMember"}, view{[]string{"ldap.test:389"}, false, false, "dc=test", "dc=test",
			"person", "groupOfUniqueNames", "mail", "cn", "uniqueMember", "uid", "", 500, 1500, 30 * time.Second, 300 * time.Second}},
		{"LDAP memberUid picks posixGroup", []string{"ad", "false", "memberAttribute", "memberUid"}, view{[]string{"ldap.test:389"}, false, false, "dc=test", "dc=test",
			"person", "posixGroup", "mail", "cn", "memberUid", "uid", "", 500, 1500, 30 * time.Second, 300 * time.Second}},
		{"AD keeps what the admin set", []string{"userObjectClass", "user", "groupObjectClass", "groupOfNames", "userEmailAttribute", "userPrincipalName",
			"groupNameAttribute", "cn", "memberAttribute", "uniqueMember", "emailPrefixAttribute", "uid", "userPath", "OU=Staff", "groupPath", "OU=Teams",
			"externalIdAttribute", "employeeID", "pageSize", "1000", "rangeSize", "300", "timeout", "5s", "searchTimeLimit", "0s"},
			view{[]string{"ldap.test:389"}, false, false, "OU=Staff,dc=test", "OU=Teams,dc=test",
				"user", "groupOfNames", "userPrincipalName", "cn", "uniqueMember", "uid", "employeeID", 1000, 300, 5 * time.Second, 0}},
		{"LDAPS defaults to 636", []string{"ssl", "true"}, view{[]string{"ldap.test:636"}, true, false, "CN=Users,dc=test", "CN=Users,dc=test",
			"person", "group", "mail", "name", "member", "sAMAccountName", "", 500, 1500, 30 * time.Second, 300 * time.Second}},
		{"StartTLS wins over ssl, port 389", []string{"ssl", "true", "startTls", "true"}, view{[]string{"ldap.test:389"}, false, true, "CN=Users,dc=test", "CN=Users,dc=test",
			"person", "group", "mail", "name", "member", "sAMAccountName", "", 500, 1500, 30 * time.Second, 300 * time.Second}},
		{"a set port wins", []string{"ssl", "true", "port", "3269", "failoverHosts", "dc2, dc3:1636"}, view{[]string{"ldap.test:3269", "dc2:3269", "dc3:1636"}, true, false, "CN=Users,dc=test", "CN=Users,dc=test",
			"person", "group", "mail", "name", "member", "sAMAccountName", "", 500, 1500, 30 * time.Second, 300 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, see(testSettings(t, tt.kv...))); diff != "" {
				t.Errorf("settings differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettingsCA(t *testing.T) {
	s := testSettings(t, "tlsCaPath", "/a.pem", "sslCaPath", "/b.pem")
	if diff := cmp.Diff([]string{"/a.pem", "/b.pem"}, s.caPaths); diff != "" {
		t.Errorf("caPaths differ:\n%s", diff)
	}
	s = testSettings(t, "tlsCaPath", "/a.pem", "sslCaPath", "/a.pem")
	if len(s.caPaths) != 1 {
		t.Errorf("caPaths = %q, want one", s.caPaths)
	}
	v := directory.Values{"hostname": "h", "username": "u", "password": "p", "rootPath": "dc=x", "tlsCaPath": "ca.pem"}
	s, err := parseSettings(directory.Config{Values: v, BaseDir: "/data"})
	if err != nil || s.caPaths[0] != "/data/ca.pem" {
		t.Errorf("relative CA path = %q, %v; want it resolved against the data directory", s.caPaths, err)
	}
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		name string
		v    directory.Values
		keys []string
	}{
		{"empty", directory.Values{}, []string{"ldap.hostname", "ldap.username", "ldap.password", "ldap.rootPath"}},
		{"bad values", directory.Values{"hostname": "ldap://x", "username": "u", "password": "p", "rootPath": "not a dn",
			"port": "x", "failoverHosts": "a:b", "pageSize": "0", "sslCertPath": "c.pem", "timeout": "-1s", "userObjectClass": "a b"},
			[]string{"ldap.sslKeyPath", "ldap.port", "ldap.hostname", "ldap.failoverHosts", "ldap.timeout", "ldap.pageSize", "ldap.rootPath", "ldap.userObjectClass"}},
	}
	for _, tt := range tests {
		_, err := parseSettings(directory.Config{Values: tt.v})
		var errs directory.ConfigErrors
		if !errors.As(err, &errs) || !errors.Is(err, directory.ErrConfig) {
			t.Fatalf("%s: parseSettings = %v, want ConfigErrors", tt.name, err)
		}
		var keys []string
		for _, e := range errs {
			keys = append(keys, e.Key)
		}
		if diff := cmp.Diff(tt.keys, keys); diff != "" {
			t.Errorf("%s: error keys differ (-want +got):\n%s\n%v", tt.name, diff, err)
		}
		if strings.Contains(err.Error(), `"p"`) {
			t.Errorf("%s: the error quotes the password: %v", tt.name, err)
		}
	}
}

func TestNewDoesNoIO(t *testing.T) {
	src, err := Adapter().New(directory.Config{Values: directory.Values{
		"hostname": "unreachable.invalid", "username": "u", "password": "p", "rootPath": "dc=x", "tlsCaPath": "/does/not/exist.pem", "ssl": "true"}})
	if err != nil || src == nil {
		t.Fatalf("New = %v, %v; want a source (files and hosts are only touched by Fetch)", src, err)
	}
}
