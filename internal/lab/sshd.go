package lab

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SSHD is an OpenSSH server running in a lab namespace, with a throwaway
// host key and one user key allowed to log in as root.
type SSHD struct {
	// Addr is the address it listens on, host:port.
	Addr string
	// Host and Port are Addr's parts.
	Host string
	Port int
	// User is the user the key logs in as.
	User string
	// KeyFile is the private key that logs in (no passphrase).
	KeyFile string
	// KnownHosts is a known_hosts file holding the server's host key.
	KnownHosts string
	// HostKeyLine is the line of KnownHosts.
	HostKeyLine string
	// Dir holds the configuration, the keys and the logs.
	Dir string
	// TempDir is the TMPDIR of the sessions the server runs, empty at
	// the start: what a session leaves behind is found there.
	TempDir string
}

// StartSSHD starts Debian's sshd (openssh-server) in the foreground inside
// the namespace, listening on addr (an IP of the namespace and a port),
// with its own configuration: a host key and a user key made for this test
// by ssh-keygen, root logins by that key only, no passwords, no PAM. It
// waits (at most 5 s) until the server accepts connections; the server is
// killed at cleanup. Needs sshd and ssh-keygen (openssh-server,
// openssh-client).
func (h *Host) StartSSHD(t testing.TB, addr string) *SSHD {
	t.Helper()
	sshd := RequireBinary(t, "sshd", "openssh-server")
	keygen := RequireBinary(t, "ssh-keygen", "openssh-client")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("lab: StartSSHD: %v", err)
	}
	dir := t.TempDir()
	s := &SSHD{Addr: addr, Host: host, User: "root", Dir: dir, TempDir: filepath.Join(dir, "tmp"),
		KeyFile: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	if err := os.Mkdir(s.TempDir, 0o1777); err != nil {
		t.Fatal(err)
	}
	fmt.Sscan(port, &s.Port)
	hostKey := filepath.Join(dir, "host_ed25519")
	for _, key := range []string{hostKey, s.KeyFile} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "nettest-lab", "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("lab: ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	s.HostKeyLine = knownHostsName(host, s.Port) + " " + strings.TrimSpace(string(pub))
	if err := os.WriteFile(s.KnownHosts, []byte(s.HostKeyLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	userPub, err := os.ReadFile(s.KeyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), userPub, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`ListenAddress %s
HostKey %s
AuthorizedKeysFile %s
PidFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
LogLevel VERBOSE
SetEnv TMPDIR=%s
`, addr, hostKey, filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"), s.TempDir)
	confPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// The privilege separation directory sshd insists on.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := h.Start(t, sshd, "-D", "-e", "-f", confPath)
	if err := h.waitAccept(cmd, addr); err != nil {
		t.Fatalf("lab: sshd in %s: %v\nsshd_config:\n%s", h.ns, err, conf)
	}
	return s
}

// knownHostsName is how known_hosts names a host: bare on port 22,
// [host]:port otherwise.
func knownHostsName(host string, port int) string {
	if port == 22 {
		return host
	}
	return fmt.Sprintf("[%s]:%d", host, port)
}
