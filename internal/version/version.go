// Package version holds dirconn's version, set at build time with
// -ldflags "-X github.com/dirconn/dirconn/internal/version.Version=v1.2.3".
package version

import "runtime/debug"

// Version is the release version, or "dev" for a local build.
var Version = "dev"

// String returns Version, with the VCS revision for development builds when the binary records one.
func String() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return "dev-" + rev + dirty
		}
	}
	return Version
}
