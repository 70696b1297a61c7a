package plan

import (
	"slices"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
)

// Limits the Bitwarden server enforces on an import (specs/bitwarden-api.md 3.3).
const (
	MaxEmailLen      = 256
	MaxGroupNameLen  = 100
	MaxExternalIDLen = 300
)

// NormalizeOptions are the sync settings normalization uses.
type NormalizeOptions struct {
	UseEmailPrefixSuffix bool
	EmailSuffix          string
}

// DesiredUser is a directory user that passed normalization.
type DesiredUser struct {
	ExternalID string `json:"externalId"`
	Email      string `json:"email,omitempty"` // trimmed, lowercased; empty only for disabled or deleted users
	Name       string `json:"displayName,omitempty"`
	Disabled   bool   `json:"disabled,omitempty"`
	Deleted    bool   `json:"deleted,omitempty"`
}

// DesiredGroup is a directory group that passed normalization, with nested groups flattened.
type DesiredGroup struct {
	ExternalID string `json:"externalId"`
	Name       string `json:"name"`
	// Nested names the direct member groups, for display.
	Nested []string `json:"-"`
	// members indexes (into Desired.keys) every user in the group or in a group nested in it, sorted;
	// direct indexes the direct user members. See Desired.Members.
	members, direct []int32
}

// Desired is the normalized directory: what the organization should look like.
type Desired struct {
	Users      []DesiredUser
	Groups     []DesiredGroup
	UsersRead  bool
	GroupsRead bool
	// Skipped lists every record that was not used, with the reason.
	Skipped []directory.Issue
	// SkippedUsers and SkippedGroups hold the externalIds of skipped records that had one: they are left
	// alone (never removed because of the skip).
	SkippedUsers  map[string]bool
	SkippedGroups map[string]bool
	// Unidentified counts skipped user records without any id. Because such a record might be someone who
	// was synced before, removals of users missing from the read are held while it is non-zero.
	Unidentified int
	// Incomplete lists the reads that did not finish; empty means the read was complete.
	Incomplete []string
	// keys are the sorted externalIds of every user group members refer to.
	keys []string
}

// Members returns the externalIds of every user in g or in a group nested in it (cycle-safe), sorted.
// Users whose record was skipped but whose externalId is known are included, so a skip never drops someone
// from a group; the plan keeps only users that are, or are being made, members.
func (d *Desired) Members(g *DesiredGroup) []string { return d.resolve(g.members) }

// Direct returns the externalIds of g's direct user members, sorted.
func (d *Desired) Direct(g *DesiredGroup) []string {
	out := d.resolve(g.direct)
	slices.Sort(out)
	return slices.Compact(out)
}

func (d *Desired) resolve(idx []int32) []string {
	out := make([]string, len(idx))
	for i, u := range idx {
		out[i] = d.keys[u]
	}
	return out
}

// Complete reports whether the directory read was complete.
func (d *Desired) Complete() bool { return len(d.Incomplete) == 0 }

// Normalize turns a snapshot into the desired state: emails trimmed and lowercased, the prefix+suffix
// fallback applied, broken records skipped with an issue each, and nested groups flattened.
func Normalize(snap *directory.Snapshot, o NormalizeOptions) *Desired {
	d := &Desired{
		UsersRead:     snap.UsersRead,
		GroupsRead:    snap.GroupsRead,
		SkippedUsers:  map[string]bool{},
		SkippedGroups: map[string]bool{},
		Incomplete:    snap.Completeness.Incomplete(),
	}
	// pairs link each user's directory ID to its externalId, for every record with a usable key (skipped or
	// not), so group membership can be resolved; sorted by externalId.
	var issuePairs []idKey
	for _, is := range snap.Issues {
		d.Skipped = append(d.Skipped, is)
		switch {
		case is.Kind == "user" && is.Key() == "":
			d.Unidentified++
		case is.Kind == "user":
			d.SkippedUsers[is.Key()] = true
			if is.ID != "" {
				issuePairs = append(issuePairs, idKey{key: is.Key(), id: is.ID})
			}
		case is.Kind == "group" && is.Key() != "":
			d.SkippedGroups[is.Key()] = true
		}
	}
	var pairs []idKey
	d.Users, pairs = normalizeUsers(snap.Users, o, d)
	if snap.GroupsRead {
		if len(issuePairs) > 0 {
			pairs = append(pairs, issuePairs...)
			sortPairs(pairs)
		}
		d.Groups = normalizeGroups(snap.Groups, d, pairs, !snap.UsersRead)
	}
	sortIssues(d.Skipped)
	return d
}

func (d *Desired) skipUser(u *directory.User, email, reason string) {
	key := u.Key()
	name := email
	if name == "" {
		name = strings.TrimSpace(u.Email)
	}
	is := directory.Issue{Kind: "user", ID: u.ID, Name: name, Reason: reason}
	if key != u.ID {
		is.ExternalID = key
	}
	d.Skipped = append(d.Skipped, is)
	if key == "" {
		d.Unidentified++
	} else {
		d.SkippedUsers[key] = true
	}
}

// idKey links a directory ID to an externalId.
type idKey struct{ key, id string }

func sortPairs(p []idKey) {
	slices.SortFunc(p, func(a, b idKey) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
}

// normalizeUsers checks every user and returns the usable ones sorted by externalId, and the ID links of
// every record with a usable externalId (sorted by externalId) for group resolution. Sorting once replaces
// a map per question: duplicates are neighbours, and the output comes out in order.
func normalizeUsers(in []directory.User, o NormalizeOptions, d *Desired) ([]DesiredUser, []idKey) {
	type cand struct {
		u     DesiredUser
		src   *directory.User
		order int
		valid bool
	}
	cands := make([]cand, 0, len(in))
	for i := range in {
		u := &in[i]
		key := u.Key()
		if strings.TrimSpace(key) == "" || strings.TrimSpace(u.ID) == "" {
			d.skipUser(u, "", "the record has no id")
			continue
		}
		if len(key) > MaxExternalIDLen {
			d.skipUser(u, "", "its id is longer than 300 characters")
			continue
		}
		email := strings.ToLower(strings.TrimSpace(u.Email))
		if email == "" && o.UseEmailPrefixSuffix {
			email = prefixSuffix(u.EmailPrefix, o.EmailSuffix)
		}
		du := DesiredUser{ExternalID: key, Email: email, Name: u.DisplayName, Disabled: u.Disabled, Deleted: u.Deleted}
		cands = append(cands, cand{u: du, src: u, order: i, valid: true})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if c := strings.Compare(a.u.ExternalID, b.u.ExternalID); c != 0 {
			return c
		}
		return a.order - b.order
	})
	pairs := make([]idKey, 0, len(cands))
	for i := 0; i < len(cands); {
		j := i + 1
		same := true
		for ; j < len(cands) && cands[j].u.ExternalID == cands[i].u.ExternalID; j++ {
			same = same && cands[j].u == cands[i].u && cands[j].src.ID == cands[i].src.ID
		}
		for k := i; k < j; k++ {
			pairs = append(pairs, idKey{key: cands[k].u.ExternalID, id: cands[k].src.ID})
			switch {
			case j-i == 1:
			case same && k > i:
				cands[k].valid = false // the same record twice: harmless
			case !same:
				d.skipUser(cands[k].src, cands[k].u.Email, "another directory record has the same id")
				cands[k].valid = false
			}
		}
		i = j
	}

	// Per-record email checks, then duplicate emails among users who are (or would be) members.
	byEmail := make(map[string]int, len(cands))
	dupes := map[string][]int{}
	for i := range cands {
		c := &cands[i]
		if !c.valid {
			continue
		}
		active := !c.u.Deleted && !c.u.Disabled
		switch {
		case c.u.Email == "" && active:
			reason := "it has no email address"
			if o.UseEmailPrefixSuffix {
				reason = "it has no email address and no value to combine with sync.emailSuffix"
			}
			d.skipUser(c.src, "", reason)
			c.valid = false
		case len(c.u.Email) > MaxEmailLen:
			d.skipUser(c.src, c.u.Email, "its email address is longer than 256 characters")
			c.valid = false
		case c.u.Email != "" && !ValidEmail(c.u.Email):
			d.skipUser(c.src, c.u.Email, "its email address is not valid")
			c.valid = false
		}
		if !c.valid || c.u.Deleted || c.u.Email == "" {
			// Deleted records never conflict: an AD tombstone may share its email with the live account.
			continue
		}
		if j, seen := byEmail[c.u.Email]; seen {
			if dupes[c.u.Email] == nil {
				dupes[c.u.Email] = []int{j}
			}
			dupes[c.u.Email] = append(dupes[c.u.Email], i)
		} else {
			byEmail[c.u.Email] = i
		}
	}
	for email, idx := range dupes {
		for _, i := range idx {
			d.skipUser(cands[i].src, email, "its email address is shared with another directory record")
			cands[i].valid = false
		}
	}
	out := make([]DesiredUser, 0, len(cands))
	for i := range cands {
		if cands[i].valid {
			out = append(out, cands[i].u)
		}
	}
	return out, pairs
}

func prefixSuffix(prefix, suffix string) string {
	p := strings.ToLower(strings.TrimSpace(prefix))
	if p == "" {
		return ""
	}
	if strings.Contains(p, "@") {
		return p
	}
	s := strings.ToLower(strings.TrimSpace(suffix))
	if s == "" {
		return ""
	}
	if !strings.HasPrefix(s, "@") {
		s = "@" + s
	}
	return p + s
}

// ValidEmail applies the server's [EmailAddress] check (exactly one "@", neither first nor last, no line
// breaks) plus no whitespace, so one bad address never makes the server reject a whole batch.
func ValidEmail(e string) bool {
	at := strings.IndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.Count(e, "@") != 1 {
		return false
	}
	return !strings.ContainsAny(e, " \t\r\n")
}

func sortIssues(is []directory.Issue) {
	slices.SortStableFunc(is, func(a, b directory.Issue) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return -c // users first
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
