package ldap

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// normalizeDN returns dn in the form used for matching: attribute types and values lowercased, the
// values of a multi-valued RDN sorted, escaping canonical (only what RFC 4514 requires, as \c, plus
// control bytes as \xx), no spaces around separators. Samba's "CN=a\, b,DC=x" and OpenLDAP's
// "cn=a\2C b, dc=x" become the same "cn=a\, b,dc=x". A value that does not parse as a DN is returned
// trimmed and lowercased, so it still compares case-insensitively.
func normalizeDN(dn string) string {
	if n, ok := normalizeSimpleDN(dn); ok {
		return n
	}
	return normalizeParsedDN(dn)
}

// normalizeParsedDN is normalizeDN through a full parse.
func normalizeParsedDN(dn string) string {
	parsed, err := goldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	var b strings.Builder
	b.Grow(len(dn))
	for i, rdn := range parsed.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		avas := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			avas[j] = strings.ToLower(strings.TrimSpace(a.Type)) + "=" + escapeDNValue(strings.ToLower(a.Value))
		}
		if len(avas) > 1 {
			slices.Sort(avas)
		}
		b.WriteString(strings.Join(avas, "+"))
	}
	return b.String()
}

// normalizeSimpleDN normalizes, without a full parse, the DNs most directories use: printable ASCII with
// single-valued RDNs and nothing to escape. It gives exactly what the full path gives for them, and ok
// false for anything else (escapes, quotes, "+", "#", non-ASCII, a part without "="). A directory of
// 50,000 users holds hundreds of thousands of member DNs: this keeps reading them cheap.
func normalizeSimpleDN(dn string) (string, bool) {
	upper := false
	for i := 0; i < len(dn); i++ {
		switch c := dn[i]; {
		case c < 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == '+' || c == ';' || c == '<' || c == '>' || c == '#':
			return "", false
		case 'A' <= c && c <= 'Z':
			upper = true
		}
	}
	var b strings.Builder
	b.Grow(len(dn))
	for rest, first := dn, true; ; first = false {
		rdn, tail, more := strings.Cut(rest, ",")
		typ, val, ok := strings.Cut(rdn, "=")
		typ, val = strings.TrimSpace(typ), strings.TrimSpace(val)
		if !ok || typ == "" || val == "" || strings.Contains(val, "=") {
			return "", false
		}
		if !first {
			b.WriteByte(',')
		}
		b.WriteString(typ)
		b.WriteByte('=')
		b.WriteString(val)
		if !more {
			break
		}
		rest = tail
	}
	if upper {
		return strings.ToLower(b.String()), true
	}
	return b.String(), true
}

// escapeDNValue escapes an attribute value for a DN string (RFC 4514 2.4), leaving UTF-8 readable.
func escapeDNValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\' || c == '=':
			b.WriteByte('\\')
			b.WriteByte(c)
		case (i == 0 && (c == ' ' || c == '#')) || (i == len(v)-1 && c == ' '):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c == 0x7f:
			b.WriteByte('\\')
			b.WriteString(hex.EncodeToString([]byte{c}))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// looksLikeDN reports whether a member value is a DN (has "=" and parses), as opposed to a memberUid
// user name.
func looksLikeDN(v string) bool {
	if !strings.Contains(v, "=") {
		return false
	}
	if _, ok := normalizeSimpleDN(v); ok {
		return true
	}
	dn, err := goldap.ParseDN(v)
	return err == nil && len(dn.RDNs) > 0
}

// stripUID removes the optional "#'0101'B" unique identifier a uniqueMember value may carry (RFC 4517
// NameAndOptionalUID): the DN is what identifies the member.
func stripUID(v string) string {
	if !strings.HasSuffix(v, "'B") {
		return v
	}
	i := strings.LastIndex(v, "#'")
	if i <= 0 {
		return v
	}
	bits := v[i+2 : len(v)-2]
	if strings.Trim(bits, "01") != "" {
		return v
	}
	// An escaped "\#" belongs to the value.
	if n := backslashesBefore(v, i); n%2 == 1 {
		return v
	}
	return v[:i]
}

func backslashesBefore(s string, i int) int {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n
}

// formatGUID formats a 16-byte objectGUID as Windows writes it (the Directory Connector's bufToGuid): the
// first three groups little-endian, lowercase hex, e.g. "3f2504e0-4f89-11d3-9a0c-0305e82c3301".
func formatGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID has %d bytes, want 16", len(b))
	}
	const digits = "0123456789abcdef"
	order := []int{3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15}
	out := make([]byte, 0, 36)
	for _, i := range order {
		if i < 0 {
			out = append(out, '-')
			continue
		}
		out = append(out, digits[b[i]>>4], digits[b[i]&0x0f])
	}
	return string(out), nil
}

// rangeInfo is the ";range=low-high" option of a returned attribute (AD ranged retrieval). high is -1
// for "*" (the last range).
type rangeInfo struct {
	low, high int
}

func (r rangeInfo) last() bool { return r.high < 0 }

// splitAttr splits a returned attribute description such as "member;range=0-1499" into its base name
// and its range, if it has one. ok is false when a range option is present but malformed.
func splitAttr(desc string) (base string, r rangeInfo, ranged, ok bool) {
	parts := strings.Split(desc, ";")
	base = parts[0]
	for _, opt := range parts[1:] {
		val, isRange := cutPrefixFold(opt, "range=")
		if !isRange {
			continue
		}
		lo, hi, found := strings.Cut(val, "-")
		if !found {
			return base, rangeInfo{}, true, false
		}
		l, err := strconv.Atoi(lo)
		if err != nil || l < 0 {
			return base, rangeInfo{}, true, false
		}
		h := -1
		if hi != "*" {
			if h, err = strconv.Atoi(hi); err != nil || h < l-1 {
				return base, rangeInfo{}, true, false
			}
		}
		return base, rangeInfo{low: l, high: h}, true, true
	}
	return base, rangeInfo{}, false, true
}

// rangedAttr returns "attr;range=low-high" for a request, high "*" when size is 0.
func rangedAttr(attr string, low, size int) string {
	if size <= 0 {
		return attr + ";range=" + strconv.Itoa(low) + "-*"
	}
	return attr + ";range=" + strconv.Itoa(low) + "-" + strconv.Itoa(low+size-1)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// domainDN returns the dc= part of dn (from its first DC RDN on): the domain naming context an AD root
// path lies in.
func domainDN(dn string) string {
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return ""
	}
	for i, rdn := range parsed.RDNs {
		if len(rdn.Attributes) == 1 && strings.EqualFold(rdn.Attributes[0].Type, "dc") {
			parts := make([]string, 0, len(parsed.RDNs)-i)
			for _, r := range parsed.RDNs[i:] {
				avas := make([]string, len(r.Attributes))
				for j, a := range r.Attributes {
					avas[j] = strings.ToUpper(a.Type) + "=" + escapeDNValue(a.Value)
				}
				parts = append(parts, strings.Join(avas, "+"))
			}
			return strings.Join(parts, ",")
		}
	}
	return ""
}
