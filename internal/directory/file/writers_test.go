package file

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
)

// Writers that turn a directorytest.Dataset into each format, for the conformance runs. Each one uses a
// different mix of the format's features, so the suite exercises them too.

func writeJSON(d directorytest.Dataset) []byte {
	type doc struct {
		Users  []jsonUser  `json:"users"`
		Groups []jsonGroup `json:"groups"`
	}
	var out doc
	for _, u := range d.Users {
		out.Users = append(out.Users, jsonUser{ID: u.Key, Email: u.Email, Username: u.Username, Name: u.Name, Disabled: u.Disabled, Deleted: u.Deleted})
	}
	for _, g := range d.Groups {
		out.Groups = append(out.Groups, jsonGroup{ID: g.Key, Name: g.Name, Members: g.Users, Groups: g.Groups})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// writeCSV writes a BOM, CRLF line ends, columns in an unusual order and case, an ignored extra column,
// and booleans in several spellings. Groups go in the groups column of their direct members.
func writeCSV(d directorytest.Dataset) []byte {
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	yes := []string{"true", "yes", "1", "TRUE"}
	no := []string{"false", "no", "0", ""}
	must(w.Write([]string{"Name", "EMAIL", "Id", "department", "Disabled", "deleted", "username", "Groups"}))
	for i, u := range d.Users {
		word := func(v bool) string {
			if v {
				return yes[i%len(yes)]
			}
			return no[i%len(no)]
		}
		must(w.Write([]string{
			strings.Replace(u.Name, " ", ", ", 1), u.Email, u.Key, `R&D "Lab"`, word(u.Disabled), word(u.Deleted),
			u.Username, strings.Join(d.MemberOf(u.Key), " ; "),
		}))
	}
	w.Flush()
	must(w.Error())
	return b.Bytes()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// writeLDIF writes an AD/OpenLDAP mix: version line, comments, lines folded every 30 bytes, base64
// values for anything with surrounding spaces, userAccountControl and isDeleted, and groups of every
// kind the adapter reads: group with member DNs written in other case and spacing, groupOfUniqueNames
// with a UID suffix, posixGroup with memberUid, and groupOfNames.
func writeLDIF(d directorytest.Dataset) []byte {
	var b strings.Builder
	b.WriteString("# conformance fixture\nversion: 1\n\n")
	userDN := func(k string) string {
		if u, ok := d.User(k); ok {
			return "cn=" + u.Name + ",ou=People,dc=example,dc=com"
		}
		return "cn=" + k + " (gone),ou=People,dc=example,dc=com"
	}
	groupDN := func(k string) string {
		g, _ := d.Group(k)
		return "cn=" + g.Name + ",ou=Groups,dc=example,dc=com"
	}
	shout := func(dn string) string { // the same DN as another tool might write it
		return strings.ReplaceAll(strings.ToUpper(dn), ",", ", ")
	}
	attr := func(name, value string) {
		line := name + ": " + value
		if value != strings.TrimSpace(value) {
			line = name + ":: " + base64.StdEncoding.EncodeToString([]byte(value))
		}
		for len(line) > 30 {
			b.WriteString(line[:30] + "\n ")
			line = line[30:]
		}
		b.WriteString(line + "\n")
	}
	attr("dn", "ou=People,dc=example,dc=com")
	attr("objectClass", "organizationalUnit")
	attr("ou", "People")
	b.WriteString("\n")
	needUID := map[string]bool{} // members of the posixGroup
	if g, ok := d.Group("alumni"); ok {
		for _, k := range g.Users {
			needUID[k] = true
		}
	}
	for i, u := range d.Users {
		fmt.Fprintf(&b, "# user %s\n#  (folded comment line)\n", u.Key)
		attr("dn", userDN(u.Key))
		for _, c := range []string{"top", "person", "organizationalPerson", "inetOrgPerson", "user"} {
			attr("objectClass", c)
		}
		attr("cn", u.Name)
		if i%2 == 0 || needUID[u.Key] {
			attr("uid", u.Username)
		} else {
			attr("sAMAccountName", u.Username)
		}
		if u.Email != "" {
			attr("mail", u.Email)
		}
		uac := 512
		if u.Disabled {
			uac |= 2
		}
		attr("userAccountControl", fmt.Sprint(uac))
		if u.Deleted {
			attr("isDeleted", "TRUE")
		}
		b.WriteString("\n\n")
	}
	for i, g := range d.Groups {
		attr("dn", groupDN(g.Key))
		switch {
		case g.Key == "alumni": // posixGroup: users by uid, which the user entry must then carry as uid
			attr("objectClass", "posixGroup")
			attr("cn", g.Name)
			attr("gidNumber", "5000")
			for _, k := range g.Users {
				u, _ := d.User(k)
				attr("memberUid", u.Username)
			}
			b.WriteString("\n")
			continue
		case g.Key == "backend":
			attr("objectClass", "groupOfUniqueNames")
		case i%2 == 0:
			attr("objectClass", "group")
		default:
			attr("objectClass", "groupOfNames")
		}
		attr("cn", g.Name)
		for j, k := range g.Users {
			switch {
			case g.Key == "backend":
				attr("uniqueMember", userDN(k)+"#'0101'B")
			case j%2 == 1:
				attr("member", shout(userDN(k)))
			default:
				attr("member", userDN(k))
			}
		}
		for _, k := range g.Groups {
			attr("member", shout(groupDN(k)))
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}
