package graphfake

import (
	"fmt"

	"github.com/dirconn/dirconn/internal/directory/directorytest"
)

// SeedDataset adds the users and groups of ds and returns the object id of each dataset key. Users get
// mail = Email and a user principal name made of the username (or key) and the tenant domain; Disabled
// users have accountEnabled false; Deleted users are soft-deleted (and so, as in Entra, in no group).
// Dangling member keys are left out: a Graph member list holds only objects that exist.
func (f *Fake) SeedDataset(ds directorytest.Dataset) map[string]string {
	ids := map[string]string{}
	for _, u := range ds.Users {
		ids[u.Key] = ID("user:" + u.Key)
	}
	for _, g := range ds.Groups {
		ids[g.Key] = ID("group:" + g.Key)
	}
	for _, u := range ds.Users {
		local := u.Username
		if local == "" {
			local = u.Key
		}
		f.AddUser(User{ID: ids[u.Key], DisplayName: u.Name, Mail: u.Email,
			UserPrincipalName: local + "@" + f.o.TenantDomain, AccountEnabled: !u.Disabled})
	}
	for _, g := range ds.Groups {
		var members []string
		for _, k := range g.Users {
			if u, ok := ds.User(k); ok && !u.Deleted {
				members = append(members, ids[k])
			}
		}
		for _, k := range g.Groups {
			if id, ok := ids[k]; ok {
				members = append(members, id)
			}
		}
		f.AddGroup(Group{ID: ids[g.Key], DisplayName: g.Name, Members: members})
	}
	for _, u := range ds.Users {
		if u.Deleted {
			f.DeleteUser(ids[u.Key], false)
		}
	}
	return ids
}

// Standard names the objects SeedStandard creates.
type Standard struct {
	// Users by state.
	Active          []string // ordinary enabled users with a mail (the members of Big among them)
	Disabled        string   // accountEnabled false
	NoMail          string   // mail empty: the user principal name is the email
	OnMicrosoftMail string   // mail under onmicrosoft.com: the user principal name is the email
	Guest           string   // a guest with a mail and a #EXT# user principal name
	GuestNoMail     string   // a guest without mail: only the #EXT# user principal name
	DisabledGuest   string   // a disabled guest without mail
	SoftDeleted     string   // deleted, restorable (seeded before any delta link: not in an initial round)
	HardDeleted     string   // deleted for good
	// Groups.
	Big      string // BigSize user members: more than three pages of 100
	Staff    string // holds Eng and a user
	Eng      string // holds Backend and users
	Backend  string // users only
	Ops      string // Ops and OnCall hold each other (a cycle)
	OnCall   string
	Empty    string // no members
	Mixed    string // a user plus a device, a contact and a service principal
	Sales    string // users; in the administrative unit
	AU       string // administrative unit holding Sales, Backend and one user
	Device   string
	Contact  string
	Service  string
	Tenant   string // the tenant domain
	BigSize  int
	AllUsers int // live users (what GET /users returns)
}

// BigGroupSize is the size of the Standard big group: more than three default pages.
const BigGroupSize = 350

// SeedStandard adds a tenant with users of every state, nested and cyclic groups, an empty group, a group
// larger than three pages, non-user members and an administrative unit, and returns their ids.
func (f *Fake) SeedStandard() Standard {
	d := f.o.TenantDomain
	s := Standard{Tenant: d, BigSize: BigGroupSize}
	user := func(key, name, mail, upn string, enabled bool) string {
		id := ID("std-user:" + key)
		f.AddUser(User{ID: id, DisplayName: name, Mail: mail, UserPrincipalName: upn, AccountEnabled: enabled})
		return id
	}
	for i := range BigGroupSize {
		key := fmt.Sprintf("user%03d", i)
		s.Active = append(s.Active, user(key, fmt.Sprintf("User %03d", i), key+"@contoso.com", key+"@"+d, true))
	}
	s.Disabled = user("disabled", "Dana Disabled", "dana@contoso.com", "dana@"+d, false)
	s.NoMail = user("nomail", "Nico Nomail", "", "nico@contoso.com", true)
	s.OnMicrosoftMail = user("onms", "Omar Onms", "omar@"+d, "omar@contoso.com", true)
	s.Guest = user("guest", "Gita Guest", "gita@partner.example", "gita_partner.example#EXT#@"+d, true)
	s.GuestNoMail = user("guestnomail", "Gus Guest", "", "gus_partner.example#EXT#@"+d, true)
	s.DisabledGuest = user("disabledguest", "Dora Guest", "", "dora_partner.example#EXT#@"+d, false)
	s.SoftDeleted = user("softdeleted", "Sid Gone", "sid@contoso.com", "sid@"+d, true)
	s.HardDeleted = user("harddeleted", "Hal Gone", "hal@contoso.com", "hal@"+d, true)
	f.DeleteUser(s.SoftDeleted, false)
	f.DeleteUser(s.HardDeleted, true)

	s.Device = ID("std-device")
	s.Contact = ID("std-contact")
	s.Service = ID("std-sp")
	f.AddObject(Object{ID: s.Device, Type: TypeDevice, DisplayName: "LAPTOP-01"})
	f.AddObject(Object{ID: s.Contact, Type: TypeOrgContact, DisplayName: "Carl Contact", Mail: "carl@vendor.example"})
	f.AddObject(Object{ID: s.Service, Type: TypeServicePrincipal, DisplayName: "Some App"})

	group := func(key, name string, members ...string) string {
		id := ID("std-group:" + key)
		f.AddGroup(Group{ID: id, DisplayName: name, Members: members})
		return id
	}
	a := s.Active
	s.Big = group("big", "All Staff", a...)
	s.Backend = group("backend", "Backend", a[0], a[1], a[2])
	s.Eng = group("eng", "Engineering", a[3], a[4], s.Disabled, s.Backend)
	s.Staff = group("staff", "Staff", a[5], s.Eng)
	s.Ops, s.OnCall = ID("std-group:ops"), ID("std-group:oncall")
	f.AddGroup(Group{ID: s.Ops, DisplayName: "Operations", Members: []string{a[6], s.OnCall}})
	f.AddGroup(Group{ID: s.OnCall, DisplayName: "On Call", Members: []string{a[7], s.Ops}})
	s.Empty = group("empty", "Empty Group")
	s.Mixed = group("mixed", "Mixed", a[8], s.Guest, s.Device, s.Contact, s.Service)
	s.Sales = group("sales", "Sales", a[9], a[10], s.NoMail)
	s.AU = ID("std-au")
	f.AddAdminUnit(AdminUnit{ID: s.AU, DisplayName: "Europe", Members: []string{s.Sales, s.Backend, a[11]}})
	s.AllUsers = BigGroupSize + 6
	return s
}
