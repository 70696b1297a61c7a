package slapdtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// dial connects to an ldap:// or ldaps:// URL (tlsConf is used for ldaps). Operations on the connection
// time out with ctx's deadline, or after 60 s.
func dial(ctx context.Context, rawURL string, tlsConf *tls.Config) (*ldap.Conn, error) {
	var network, addr string
	isTLS := false
	switch {
	case strings.HasPrefix(rawURL, "ldap://"):
		network, addr = "tcp", strings.TrimSuffix(strings.TrimPrefix(rawURL, "ldap://"), "/")
	case strings.HasPrefix(rawURL, "ldaps://"):
		network, addr, isTLS = "tcp", strings.TrimSuffix(strings.TrimPrefix(rawURL, "ldaps://"), "/"), true
	default:
		return nil, fmt.Errorf("slapdtest: dial %q: want ldap:// or ldaps://", rawURL)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	var nc net.Conn
	var err error
	if isTLS {
		nc, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, network, addr)
	} else {
		nc, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	c := ldap.NewConn(nc, isTLS)
	c.Start()
	timeout := 60 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		if timeout = time.Until(dl); timeout <= 0 {
			c.Close()
			return nil, context.DeadlineExceeded
		}
	}
	c.SetTimeout(timeout)
	return c, nil
}

// Dial connects to URL (plain LDAP) without binding: an anonymous connection.
func (s *Server) Dial(ctx context.Context) (*ldap.Conn, error) {
	return dial(ctx, s.URL, nil)
}

// DialTLS connects to LDAPSURL, trusting the server's CA, without binding.
func (s *Server) DialTLS(ctx context.Context) (*ldap.Conn, error) {
	return dial(ctx, s.LDAPSURL, s.TLSConfig())
}

// ConnAs connects to URL (plain LDAP) and binds as dn with password; an empty dn gives an anonymous
// connection. The caller closes it.
func (s *Server) ConnAs(ctx context.Context, dn, password string) (*ldap.Conn, error) {
	c, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	if dn != "" {
		if err := c.Bind(dn, password); err != nil {
			c.Close()
			return nil, fmt.Errorf("slapdtest: bind as %s: %w", dn, err)
		}
	}
	return c, nil
}

// Conn connects to URL and binds as the rootdn (AdminDN): no limits, no access control. The caller closes it.
func (s *Server) Conn(ctx context.Context) (*ldap.Conn, error) {
	return s.ConnAs(ctx, s.AdminDN, s.AdminPassword)
}

// ServiceConn connects to URL and binds as the service account (ServiceDN): reads everything, subject to
// the size limit. The caller closes it.
func (s *Server) ServiceConn(ctx context.Context) (*ldap.Conn, error) {
	return s.ConnAs(ctx, s.ServiceDN, s.ServicePassword)
}

func (s *Server) withConn(ctx context.Context, f func(c *ldap.Conn) error) error {
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

// Count returns how many entries match filter in the subtree base (empty base: BaseDN), read as the rootdn
// with paging.
func (s *Server) Count(ctx context.Context, base, filter string) (int, error) {
	if base == "" {
		base = s.BaseDN
	}
	n := 0
	err := s.withConn(ctx, func(c *ldap.Conn) error {
		r, err := c.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, 0, false, filter, []string{"1.1"}, nil), 1000)
		if err != nil {
			return fmt.Errorf("slapdtest: count %s under %s: %w", filter, base, err)
		}
		n = len(r.Entries)
		return nil
	})
	return n, err
}

// Entry reads one entry as the rootdn. Without attrs it returns all user and operational attributes
// ("*", "+"): entryUUID, entryCSN, createTimestamp, memberOf ...
func (s *Server) Entry(ctx context.Context, dn string, attrs ...string) (*ldap.Entry, error) {
	if len(attrs) == 0 {
		attrs = []string{"*", "+"}
	}
	var e *ldap.Entry
	err := s.withConn(ctx, func(c *ldap.Conn) error {
		r, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", attrs, nil))
		if err != nil {
			return fmt.Errorf("slapdtest: read %s: %w", dn, err)
		}
		if len(r.Entries) != 1 {
			return fmt.Errorf("slapdtest: read %s: %d entries", dn, len(r.Entries))
		}
		e = r.Entries[0]
		return nil
	})
	return e, err
}

// AddLDIF applies LDIF records as the rootdn, online, so the overlays run (memberOf is maintained for
// groupOfNames and groupOfUniqueNames members). Records without changetype add entries; changetype
// add, delete, modify and modrdn records are applied too, in order. It stops at the first failure, naming
// the record.
func (s *Server) AddLDIF(ctx context.Context, ldif string) error {
	recs, err := parseLDIF(ldif)
	if err != nil {
		return fmt.Errorf("slapdtest: %w", err)
	}
	return s.withConn(ctx, func(c *ldap.Conn) error {
		for _, r := range recs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := r.apply(c); err != nil {
				return fmt.Errorf("slapdtest: AddLDIF %v: %w", r, err)
			}
		}
		return nil
	})
}

// Attrs are attribute values by attribute name, for Add, AddUser and AddGroup.
type Attrs map[string][]string

// Add adds one entry with attrs as the rootdn (online, through the overlays). Attributes outside the
// entry's object classes need objectClass extensibleObject; attribute types OpenLDAP's schema does not
// define (nsUniqueId, ipaUniqueID, objectGUID ...) are refused unless Options.ExtraConfigLDIF defines them.
func (s *Server) Add(ctx context.Context, dn string, attrs Attrs) error {
	e := entry{dn: dn}
	for _, name := range sortedKeys(attrs) {
		if len(attrs[name]) > 0 {
			e.add(name, attrs[name]...)
		}
	}
	return s.withConn(ctx, func(c *ldap.Conn) error {
		if err := c.Add(e.addRequest()); err != nil {
			return fmt.Errorf("slapdtest: add %s: %w", dn, err)
		}
		return nil
	})
}

// merge applies attrs over e: objectClass values are added to e's, other attributes replace e's values
// (an empty list removes the attribute).
func merge(e *entry, attrs Attrs) {
	for _, name := range sortedKeys(attrs) {
		vals := attrs[name]
		if strings.EqualFold(name, "objectClass") {
			for _, v := range vals {
				if !slices.ContainsFunc(e.get("objectClass"), func(x string) bool { return strings.EqualFold(x, v) }) {
					e.add("objectClass", v)
				}
			}
			continue
		}
		e.set(name, vals)
	}
}

func sortedKeys(m Attrs) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// UserDN is the DN of the user with this uid in ou=people.
func (s *Server) UserDN(uid string) string { return "uid=" + EscapeRDNValue(uid) + "," + s.PeopleDN }

// GroupDN is the DN of the group with this cn in ou=groups.
func (s *Server) GroupDN(cn string) string { return "cn=" + EscapeRDNValue(cn) + "," + s.GroupsDN }

// AddUser adds an inetOrgPerson uid=<uid>,ou=people with cn and sn set to uid, then attrs on top
// (objectClass values are added, other attributes replace the defaults; an empty list drops one). It
// returns the DN. Example: AddUser(ctx, "kim", Attrs{"mail": {"Kim@Example.com"}, "objectClass":
// {"extensibleObject"}, "description": {"x"}}).
func (s *Server) AddUser(ctx context.Context, uid string, attrs Attrs) (string, error) {
	e := entry{dn: s.UserDN(uid)}
	e.add("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson")
	e.add("uid", uid)
	e.add("cn", uid)
	e.add("sn", uid)
	merge(&e, attrs)
	err := s.withConn(ctx, func(c *ldap.Conn) error { return c.Add(e.addRequest()) })
	if err != nil {
		return "", fmt.Errorf("slapdtest: add user %s: %w", e.dn, err)
	}
	return e.dn, nil
}

// AddGroup adds a group cn=<name>,ou=groups of the given style with members (DNs for GroupOfNames and
// GroupOfUniqueNames, uids for PosixGroup, which also gets the next free gidNumber from 10000 unless attrs
// sets one), then attrs on top as in AddUser. It returns the DN. groupOfNames and groupOfUniqueNames
// require a member: with no members it fails; pass []string{""} (the empty DN, a common placeholder) for
// a group that is empty in effect.
func (s *Server) AddGroup(ctx context.Context, name string, style GroupStyle, members []string, attrs Attrs) (string, error) {
	e := entry{dn: s.GroupDN(name)}
	e.add("objectClass", "top", style.ObjectClass())
	e.add("cn", name)
	if style == PosixGroup {
		e.add("gidNumber", strconv.Itoa(s.gid()))
	} else if len(members) == 0 {
		return "", fmt.Errorf("slapdtest: add group %s: %s needs at least one %s (use \"\" for a placeholder)",
			e.dn, style.ObjectClass(), style.MemberAttr())
	}
	if len(members) > 0 {
		e.add(style.MemberAttr(), members...)
	}
	merge(&e, attrs)
	err := s.withConn(ctx, func(c *ldap.Conn) error { return c.Add(e.addRequest()) })
	if err != nil {
		return "", fmt.Errorf("slapdtest: add group %s: %w", e.dn, err)
	}
	return e.dn, nil
}

func (s *Server) gid() int {
	s.gidMu.Lock()
	defer s.gidMu.Unlock()
	s.nextGID++
	return s.nextGID - 1
}

// SetSizeLimit changes the size limit of non-root binds on the running server through cn=config (n as
// in Options.SizeLimit; 0 means the default 1000). Reset restores Options.SizeLimit.
func (s *Server) SetSizeLimit(ctx context.Context, n int) error {
	if n == 0 {
		n = DefaultSizeLimit
	}
	c, err := s.ConnAs(ctx, s.ConfigDN, s.AdminPassword)
	if err != nil {
		return err
	}
	defer c.Close()
	m := ldap.NewModifyRequest("olcDatabase={1}mdb,cn=config", nil)
	m.Replace("olcSizeLimit", []string{sizeLimitValue(n, s.opts.MaxPageSize)})
	if err := c.Modify(m); err != nil {
		return fmt.Errorf("slapdtest: set size limit %d: %w", n, err)
	}
	s.mu.Lock()
	s.sizeLimit = n
	s.mu.Unlock()
	return nil
}

// SizeLimit is the current size limit of non-root binds (negative: none).
func (s *Server) SizeLimit() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sizeLimit
}

// IsSizeLimitExceeded reports whether err is LDAP result 4, sizeLimitExceeded.
func IsSizeLimitExceeded(err error) bool {
	return ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded)
}
