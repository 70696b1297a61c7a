package slapdtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// ssha hashes a password as {SSHA} (salted SHA-1), which slapd verifies natively; this saves running
// slappasswd.
func ssha(password string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

// baseEntry returns the entry for the suffix: dc= gives dcObject+organization, o= an organization, ou= an
// organizationalUnit.
func baseEntry(baseDN string) (entry, error) {
	dn, err := ldap.ParseDN(baseDN)
	if err != nil || len(dn.RDNs) == 0 || len(dn.RDNs[0].Attributes) != 1 {
		return entry{}, fmt.Errorf("slapdtest: BaseDN %q is not a DN with a single-valued first RDN", baseDN)
	}
	a := dn.RDNs[0].Attributes[0]
	e := entry{dn: baseDN}
	switch strings.ToLower(a.Type) {
	case "dc":
		e.add("objectClass", "top", "dcObject", "organization")
		e.add("dc", a.Value)
		e.add("o", a.Value)
	case "o":
		e.add("objectClass", "top", "organization")
		e.add("o", a.Value)
	case "ou":
		e.add("objectClass", "top", "organizationalUnit")
		e.add("ou", a.Value)
	default:
		return entry{}, fmt.Errorf("slapdtest: BaseDN %q: the first RDN must be dc=, o= or ou=", baseDN)
	}
	return e, nil
}

// sizeLimitValue is olcSizeLimit for a SizeLimit (negative: unlimited) and MaxPageSize (0: none).
func sizeLimitValue(n, maxPage int) string {
	lim := "unlimited"
	if n >= 0 {
		lim = strconv.Itoa(n)
	}
	v := "size.soft=" + lim + " size.hard=" + lim
	if maxPage > 0 {
		v += " size.pr=" + strconv.Itoa(maxPage)
	}
	return v + " size.prtotal=unlimited"
}

// configLDIF is cn=config: modules, schemas, the frontend, cn=config itself and the mdb database with its
// overlays. slapadd -n0 loads it into slapd.d.
func (s *Server) configLDIF() string {
	peer := fmt.Sprintf("gidNumber=%d+uidNumber=%d,cn=peercred,cn=external,cn=auth", os.Getgid(), os.Getuid())
	var b strings.Builder
	fmt.Fprintf(&b, `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcArgsFile: %[1]s/slapd.args
olcLogLevel: none
olcTLSCACertificateFile: %[2]s
olcTLSCertificateFile: %[3]s
olcTLSCertificateKeyFile: %[4]s
olcTLSVerifyClient: %[5]s

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: %[6]s
olcModuleLoad: {0}back_mdb
olcModuleLoad: {1}memberof
olcModuleLoad: {2}refint

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://%[7]s/core.ldif
include: file://%[7]s/cosine.ldif
include: file://%[7]s/nis.ldif
include: file://%[7]s/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: %[8]s
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: cn=config
olcRootPW: %[9]s
olcAccess: {0}to * by dn.exact="%[10]s" manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: %[11]s
olcRootDN: %[12]s
olcRootPW: %[9]s
olcDbDirectory: %[1]s/data
olcDbMaxSize: 4294967296
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: uid,cn,mail eq
olcDbIndex: member,uniqueMember,memberUid,memberOf eq
olcDbIndex: entryUUID eq
olcSizeLimit: %[8]s
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by dn.exact="%[10]s" manage by users read by * none
olcLimits: {0}dn.exact="%[12]s" size=unlimited time=unlimited

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfDangling: ignore
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {1}memberof
olcMemberOfDangling: ignore
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfUniqueNames
olcMemberOfMemberAD: uniqueMember
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={2}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {2}refint
olcRefintAttribute: member
olcRefintAttribute: uniqueMember
`, s.Dir, s.CAFile, s.CertFile, s.KeyFile, s.opts.TLSVerifyClient, s.env.moduleDir, s.env.schemaDir,
		sizeLimitValue(s.opts.SizeLimit, s.opts.MaxPageSize), ssha(s.AdminPassword), peer, s.BaseDN, s.AdminDN)
	if x := strings.TrimSpace(s.opts.ExtraConfigLDIF); x != "" {
		b.WriteString("\n" + x + "\n")
	}
	return b.String()
}

// baseEntries is the tree Reset leaves: base, ou=people, ou=groups, ou=service and the service account.
func (s *Server) baseEntries() []entry {
	base, _ := baseEntry(s.BaseDN) // checked in Start
	ou := func(dn, name string) entry {
		e := entry{dn: dn}
		e.add("objectClass", "top", "organizationalUnit")
		e.add("ou", name)
		return e
	}
	svc := entry{dn: s.ServiceDN}
	svc.add("objectClass", "top", "organizationalRole", "simpleSecurityObject")
	svc.add("cn", "svc-connector")
	svc.add("description", "slapdtest service account: reads everything, limited like a non-admin bind")
	svc.add("userPassword", ssha(s.ServicePassword))
	return []entry{base, ou(s.PeopleDN, "people"), ou(s.GroupsDN, "groups"), ou(s.ServiceOU, "service"), svc}
}

// provision replaces slapd.d and the database with fresh ones: cn=config from configLDIF, then the base
// entries and whatever extra writes, loaded with slapadd (offline: slapd must not run). s.mu must be held
// (or s not yet shared).
func (s *Server) provision(ctx context.Context, extra func(w *bufio.Writer) error) error {
	cfgDir, dataDir := filepath.Join(s.Dir, "slapd.d"), filepath.Join(s.Dir, "data")
	for _, d := range []string{cfgDir, dataDir} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("slapdtest: %w", err)
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("slapdtest: %w", err)
		}
	}
	cfgLDIF := filepath.Join(s.Dir, "config.ldif")
	if err := os.WriteFile(cfgLDIF, []byte(s.configLDIF()), 0o600); err != nil {
		return fmt.Errorf("slapdtest: %w", err)
	}
	if err := runTool(ctx, s.env.slapadd, "-n0", "-F", cfgDir, "-l", cfgLDIF); err != nil {
		return fmt.Errorf("%w (configuration in %s)", err, cfgLDIF)
	}
	return s.slapadd(ctx, "data.ldif", func(w *bufio.Writer) error {
		for _, e := range s.baseEntries() {
			writeEntry(w, e)
		}
		if extra != nil {
			return extra(w)
		}
		return nil
	})
}

// slapadd writes entries with write to the LDIF file name in Dir and adds them to the (stopped) database
// with slapadd -q. The file is removed when it loaded, kept for inspection when it did not.
func (s *Server) slapadd(ctx context.Context, name string, write func(w *bufio.Writer) error) error {
	path := filepath.Join(s.Dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("slapdtest: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = write(w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("slapdtest: write %s: %w", path, err)
	}
	// -q: no consistency checks (the entries are ours and the database is fresh or consistent), much faster.
	if err := runTool(ctx, s.env.slapadd, "-q", "-n1", "-F", filepath.Join(s.Dir, "slapd.d"), "-l", path); err != nil {
		return fmt.Errorf("%w (entries in %s)", err, path)
	}
	return os.Remove(path)
}
