// Package assets holds files bundled into the binaries: the demo directory and example directory files.
package assets

import "embed"

// DemoDirectory is the demo company "Example Corp" in the file source's JSON format: 60 users and 8
// nested groups, with one disabled user, one deleted user, one user without email (username only) and
// two users sharing one email.
//
//go:embed demo.json
var DemoDirectory []byte

// Examples holds small documented example files of the file source's formats: examples/users.csv,
// examples/directory.ldif and examples/README.md.
//
//go:embed examples
var Examples embed.FS
