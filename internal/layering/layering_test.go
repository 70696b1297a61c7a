package layering

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/dirconn/dirconn"

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", dir, err)
	}
	return dir
}

// deps returns every package of the module with its full dependency list (go list -deps per package).
func deps(t *testing.T, env ...string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...")
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

func guiPackage(p string) bool {
	return p == module+"/cmd/dirconn-gui" || p == module+"/internal/gui" || strings.HasPrefix(p, module+"/internal/gui/")
}

// adapter reports whether p is a directory adapter (internal/directory/<name>, not the registry or the
// conformance suite, which may see every adapter).
func adapter(p string) bool {
	rest, ok := strings.CutPrefix(p, module+"/internal/directory/")
	if !ok {
		return false
	}
	name := strings.Split(rest, "/")[0]
	return name != "all" && name != "directorytest"
}

func TestFyneOnlyInGUI(t *testing.T) {
	for pkg, ds := range deps(t) {
		if guiPackage(pkg) {
			continue
		}
		for _, d := range ds {
			if strings.HasPrefix(d, "fyne.io/") {
				t.Errorf("%s depends on %s: Fyne belongs to internal/gui and cmd/dirconn-gui only", pkg, d)
				break
			}
		}
	}
}

func TestAdaptersStayBelowTheEngine(t *testing.T) {
	banned := []string{"/internal/engine", "/internal/bitwarden", "/internal/connector", "/internal/plan", "/internal/state", "/internal/cli", "/internal/gui"}
	found := 0
	for pkg, ds := range deps(t) {
		if !adapter(pkg) {
			continue
		}
		found++
		for _, d := range ds {
			for _, b := range banned {
				if d == module+b || strings.HasPrefix(d, module+b+"/") {
					t.Errorf("adapter %s imports %s", pkg, d)
				}
			}
		}
	}
	if found == 0 {
		t.Fatal("no adapter packages found: the rule checks nothing")
	}
}

func TestCLIBuildsWithoutCgo(t *testing.T) {
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./cmd/dirconn")
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/dirconn: %v\n%s", err, out)
	}
}
