package sambatest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// checkPorts fails, naming the process, when one of Samba's fixed ports is already listened on.
func checkPorts() error {
	var busy []string
	for _, p := range ports {
		if owner, ok := portHolder(p); ok {
			busy = append(busy, fmt.Sprintf("%d by %s", p, owner))
		}
	}
	if len(busy) > 0 {
		return fmt.Errorf("samba cannot start: port %s already in use; Samba's LDAP ports are fixed "+
			"(389, 636, 3268, 3269), so stop that process first", strings.Join(busy, ", port "))
	}
	return nil
}

// portHolder reports whether a TCP socket listens on port (any address) and names its process.
func portHolder(port int) (string, bool) {
	inodes := map[string]bool{}
	found := false
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		found = true
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st ... uid timeout inode
			fl := strings.Fields(sc.Text())
			if len(fl) < 10 || fl[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fl[1], ":")
			if !ok {
				continue
			}
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				inodes[fl[9]] = true
			}
		}
		f.Close()
	}
	if !found {
		// No /proc/net: try to bind the port ourselves.
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return "an unknown process (" + err.Error() + ")", true
		}
		l.Close()
		return "", false
	}
	if len(inodes) == 0 {
		return "", false
	}
	if who := socketOwner(inodes); who != "" {
		return who, true
	}
	return "an unknown process (see ss -ltnp)", true
}

// socketOwner finds a process with an open socket whose inode is in inodes.
func socketOwner(inodes map[string]bool) string {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return ""
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				cmd, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
				c := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
				if c == "" {
					comm, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "comm"))
					c = strings.TrimSpace(string(comm))
				}
				return fmt.Sprintf("pid %d (%s)", pid, c)
			}
		}
	}
	return ""
}
