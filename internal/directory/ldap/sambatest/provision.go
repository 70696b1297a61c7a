package sambatest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// provisionVersion changes whenever the provisioning arguments below change, so stale cache entries
// are not reused.
const provisionVersion = "1"

// cacheKey names the cache entry for o: Samba's version, the realm and the password.
func cacheKey(o Options) string {
	h := sha256.New()
	ver, _ := exec.Command(sambaBin("samba"), "--version").Output()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", provisionVersion, strings.TrimSpace(string(ver)), o.Realm, o.AdminPassword)
	if fi, err := os.Stat(sambaBin("samba")); err == nil {
		fmt.Fprintf(h, "%d %d\n", fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func dropCache(o Options) {
	os.RemoveAll(filepath.Join(CacheDir, cacheKey(o)))
}

// setUpDomain fills Dir/dc with a provisioned domain (from the cache, else provisioned and cached),
// writes our settings into its smb.conf and keeps a pristine copy for Reset. It reports whether the
// domain came from the cache.
func (s *Server) setUpDomain(ctx context.Context) (fromCache bool, err error) {
	t0 := time.Now()
	key := cacheKey(s.opts)
	root := filepath.Join(CacheDir, key)
	s.cacheRoot = ""
	if _, err := os.Stat(filepath.Join(root, "complete")); err == nil {
		fromCache = true
	} else {
		if root, err = s.provision(ctx, key); err != nil {
			return false, err
		}
	}
	for _, d := range []string{s.dcDir, s.pristDir} {
		if err := os.RemoveAll(d); err != nil {
			return false, err
		}
	}
	if err := copyTree(filepath.Join(root, "dc"), s.dcDir); err != nil {
		return false, fmt.Errorf("copy provisioned domain: %w", err)
	}
	if strings.HasPrefix(root, CacheDir+"/") {
		s.cacheRoot = root
	}
	provisionedAt, err := os.ReadFile(filepath.Join(root, "complete"))
	if err != nil {
		return false, err
	}
	if err := s.writeConf(string(provisionedAt)); err != nil {
		return false, err
	}
	if err := copyTree(s.dcDir, s.pristDir); err != nil {
		return false, fmt.Errorf("keep pristine copy: %w", err)
	}
	how := "provisioned"
	if fromCache {
		how = "copied from " + root
	}
	s.opts.logf("sambatest: domain %s %s in %.1fs", s.Realm, how, time.Since(t0).Seconds())
	return fromCache, nil
}

// provision runs samba-tool domain provision into a new cache entry and returns its folder. When the
// cache cannot be written it provisions into Dir instead.
func (s *Server) provision(ctx context.Context, key string) (string, error) {
	t0 := time.Now()
	root := filepath.Join(CacheDir, key)
	tmp := root + fmt.Sprintf(".tmp-%d", os.Getpid())
	cache := true
	if err := os.MkdirAll(CacheDir, 0o755); err != nil {
		cache = false
		tmp = filepath.Join(s.Dir, "provisioned")
	}
	os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Join(tmp, "logs"), 0o755); err != nil {
		return "", err
	}
	dc := filepath.Join(tmp, "dc")
	run := filepath.Join(dc, "run")
	args := []string{"domain", "provision",
		"--targetdir=" + dc,
		"--realm=" + s.Realm, "--domain=" + s.Domain, "--server-role=dc", "--host-name=" + dcHostName,
		"--dns-backend=NONE", "--adminpass=" + s.AdminPassword,
		"--backend-store=mdb", "--backend-store-size=2Gb",
		"--option=interfaces=127.0.0.1", "--option=bind interfaces only=yes",
		"--option=netbios name=" + dcHostName,
		// Only the LDAP server (389, 636 and the global catalog 3268, 3269): no KDC, no SMB, no DNS.
		"--option=server services = ldap",
		"--option=pid directory = " + run,
		"--option=ncalrpc dir = " + filepath.Join(run, "ncalrpc"),
		"--option=winbindd socket directory = " + filepath.Join(run, "winbindd"),
		"--option=ntp signd socket directory = " + filepath.Join(run, "ntp_signd"),
		"--option=log file = " + filepath.Join(tmp, "logs", "log.%m"),
	}
	logPath := filepath.Join(tmp, "logs", "provision.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, sambaBin("samba-tool"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Run()
	logf.Close()
	if b, rerr := os.ReadFile(logPath); rerr == nil {
		os.WriteFile(filepath.Join(s.LogDir, "provision.log"), b, 0o644)
	}
	if err != nil {
		out, _ := os.ReadFile(logPath)
		os.RemoveAll(tmp)
		return "", fmt.Errorf("samba-tool domain provision: %v; its output ends:\n%s", err, lastLines(string(out), 20))
	}
	// "complete" marks a finished entry and names the folder the paths in its smb.conf point to.
	if err := os.WriteFile(filepath.Join(tmp, "complete"), []byte(tmp), 0o644); err != nil {
		return "", err
	}
	s.opts.logf("sambatest: samba-tool domain provision took %.1fs", time.Since(t0).Seconds())
	if !cache {
		return tmp, nil
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return "", err
	}
	return root, nil
}

// writeConf points the copied smb.conf at Dir (paths below root, where the domain was provisioned, are
// replaced) and adds the
// settings provisioning does not write: samba-tool silently drops "ldap server require strong auth"
// given as --option, and knows nothing of our TLS files.
func (s *Server) writeConf(root string) error {
	b, err := os.ReadFile(s.conf)
	if err != nil {
		return err
	}
	strong := "no"
	if s.StrongAuth {
		strong = "yes"
	}
	tlsDir := filepath.Join(s.Dir, "tls")
	set := [][2]string{
		{"ldap server require strong auth", strong},
		{"ldb:nosync", "true"}, // no fsync: a throwaway DC, and fsync is slow in sandboxes
		{"tls enabled", "yes"},
		{"tls keyfile", filepath.Join(tlsDir, "server.key")},
		{"tls certfile", filepath.Join(tlsDir, "server.pem")},
		{"tls cafile", filepath.Join(tlsDir, "ca.pem")},
		// samba does not expand %m in its own log file name
		{"log file", filepath.Join(s.LogDir, "log.samba")},
	}
	var out []string
	global := false
	for _, line := range strings.Split(strings.ReplaceAll(string(b), root+"/", s.Dir+"/"), "\n") {
		key, _, _ := strings.Cut(line, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if slices.ContainsFunc(set, func(kv [2]string) bool { return kv[0] == key }) {
			continue // replaced below
		}
		out = append(out, line)
		if strings.TrimSpace(line) == "[global]" {
			global = true
			for _, kv := range set {
				out = append(out, "\t"+kv[0]+" = "+kv[1])
			}
		}
	}
	if !global {
		return fmt.Errorf("%s has no [global] section", s.conf)
	}
	return os.WriteFile(s.conf, []byte(strings.Join(out, "\n")), 0o644)
}

// copyTree copies the folder src to dst (which must not exist): folders, regular files and symlinks,
// with their modes. LMDB lock files (*.ldb-lock) are skipped: samba recreates them.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if rel == "run" { // pid files and sockets of a running samba
				if err := os.MkdirAll(target, 0o755); err != nil {
					return err
				}
				return fs.SkipDir
			}
			return os.MkdirAll(target, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			if strings.HasSuffix(path, ".ldb-lock") {
				return nil
			}
			return copyFile(path, target, info.Mode().Perm())
		default:
			return nil // sockets, pipes: runtime state
		}
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
