// Package all builds the registry of every directory adapter dirconn ships. Registration is explicit: this
// one function lists them all (no init() magic), and a duplicate name panics.
package all

import (
	"github.com/dirconn/dirconn/internal/directory"
	"github.com/dirconn/dirconn/internal/directory/entra"
	"github.com/dirconn/dirconn/internal/directory/file"
	"github.com/dirconn/dirconn/internal/directory/google"
	"github.com/dirconn/dirconn/internal/directory/ldap"
	"github.com/dirconn/dirconn/internal/directory/okta"
	"github.com/dirconn/dirconn/internal/directory/onelogin"
)

// Registry returns a registry holding every adapter.
func Registry() *directory.Registry {
	r := &directory.Registry{}
	r.Register(file.Adapter())
	r.Register(entra.Adapter())
	r.Register(google.Adapter())
	r.Register(ldap.Adapter())
	r.Register(okta.Adapter())
	r.Register(onelogin.Adapter())
	return r
}
