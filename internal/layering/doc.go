// Package layering holds no code: its test enforces the dependency rules of DESIGN.md. Fyne may only be
// reached from internal/gui and cmd/dirconn-gui, directory adapters never import the engine, the
// Bitwarden client or the connector, and the CLI builds without cgo.
package layering
