// Command ldapbench measures `dirconn test` against a real OpenLDAP slapd next to a paged ldapsearch dump of
// the same entries: wall time, CPU time and peak RSS of each, for directories of the sizes given. `make
// bench` runs it after building bin/dirconn.
//
//	go run ./internal/directory/ldap/ldapbench -dirconn bin/dirconn -sizes 10000,50000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/dirconn/dirconn/internal/directory/ldap/slapdtest"
)

type measure struct {
	wall, cpu time.Duration
	rssKiB    int64
}

// run runs cmd with stdout discarded and returns its wall time, CPU time (user+system) and peak RSS.
func run(name string, env []string, args ...string) (measure, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measure{}, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return measure{wall: wall}, nil
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return measure{wall: wall, cpu: cpu, rssKiB: ru.Maxrss}, nil
}

func main() {
	dirconn := flag.String("dirconn", "bin/dirconn", "the dirconn binary to measure")
	sizes := flag.String("sizes", "10000,50000", "directory sizes (users; groups are users/20)")
	pageSize := flag.Int("page-size", 500, "page size for both dirconn and ldapsearch")
	flag.Parse()
	if err := slapdtest.Available(); err != nil {
		fmt.Fprintln(os.Stderr, "ldapbench:", err)
		os.Exit(1)
	}
	if _, err := exec.LookPath("ldapsearch"); err != nil {
		fmt.Fprintln(os.Stderr, "ldapbench: ldapsearch is missing (apt-get install ldap-utils; make bench installs it)")
		os.Exit(1)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "users\tgroups\tmember values\tprogram\twall\tCPU\tpeak RSS\twall ratio\t")
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "ldapbench: bad size %q\n", f)
			os.Exit(2)
		}
		if err := bench(tw, *dirconn, n, *pageSize); err != nil {
			fmt.Fprintln(os.Stderr, "ldapbench:", err)
			os.Exit(1)
		}
	}
	tw.Flush()
}

func bench(tw *tabwriter.Writer, dirconn string, n, pageSize int) error {
	ctx := context.Background()
	srv, err := slapdtest.Start(ctx, slapdtest.Options{SizeLimit: -1})
	if err != nil {
		return err
	}
	defer srv.Stop()
	info, err := srv.SeedGenerated(ctx, slapdtest.Generated{Users: n})
	if err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp("", "ldapbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	env := []string{"DIRCONN_LDAP_PASSWORD=" + srv.AdminPassword}
	settings := [][2]string{
		{"directory", "ldap"}, {"ldap.hostname", srv.Host}, {"ldap.port", strconv.Itoa(srv.Port)},
		{"ldap.ad", "false"}, {"ldap.username", srv.AdminDN}, {"ldap.rootPath", srv.BaseDN},
		{"ldap.userPath", "ou=people"}, {"ldap.groupPath", "ou=groups"}, {"ldap.pageSize", strconv.Itoa(pageSize)},
		{"ldap.userObjectClass", "inetOrgPerson"}, {"ldap.groupObjectClass", "groupOfNames"},
	}
	for _, kv := range settings {
		if _, err := run(dirconn, env, "--data-dir", dataDir, "config", "set", kv[0], kv[1]); err != nil {
			return err
		}
	}
	// A warm-up read of each, so both start with the server's caches in the same state.
	if _, err := run(dirconn, env, "--data-dir", dataDir, "test"); err != nil {
		return err
	}
	dc, err := run(dirconn, env, "--data-dir", dataDir, "test")
	if err != nil {
		return err
	}
	search := func() (measure, error) {
		var ms []measure
		for _, q := range [][2]string{
			{"ou=people," + srv.BaseDN, "(objectClass=inetOrgPerson)"},
			{"ou=groups," + srv.BaseDN, "(objectClass=groupOfNames)"},
		} {
			m, err := run("ldapsearch", nil, "-x", "-LLL", "-H", srv.URL, "-D", srv.AdminDN, "-w", srv.AdminPassword,
				"-b", q[0], "-E", fmt.Sprintf("pr=%d/noprompt", pageSize), q[1], "mail", "uid", "cn", "displayName", "member")
			if err != nil {
				return measure{}, err
			}
			ms = append(ms, m)
		}
		return measure{wall: ms[0].wall + ms[1].wall, cpu: ms[0].cpu + ms[1].cpu, rssKiB: max(ms[0].rssKiB, ms[1].rssKiB)}, nil
	}
	if _, err := search(); err != nil {
		return err
	}
	ls, err := search()
	if err != nil {
		return err
	}
	row := func(prog string, m measure, ratio string) {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%.2fs\t%.2fs\t%.1f MiB\t%s\t\n", info.Users, info.Groups, info.MemberValues, prog,
			m.wall.Seconds(), m.cpu.Seconds(), float64(m.rssKiB)/1024, ratio)
	}
	row("dirconn test", dc, fmt.Sprintf("%.2fx", dc.wall.Seconds()/ls.wall.Seconds()))
	row("ldapsearch (paged)", ls, "1.00x")
	return nil
}
