package iptables

import (
	"context"
	"testing"
	"time"
)

// TestNotInstalled hides iptables: the error names the package to install.
// It needs no root.
func TestNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := sbinDirs
	sbinDirs = nil
	t.Cleanup(func() { sbinDirs = saved })
	for name, ipv6 := range map[string]bool{"iptables": false, "ip6tables": true} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := Probe(ctx, Config{Chain: "INPUT", IPv6: ipv6})
		cancel()
		want := "the " + name + " command is not installed (nettest reads the rules through it): install the iptables package (Debian, Ubuntu: apt-get install iptables; Fedora, RHEL: dnf install iptables-nft)"
		if err == nil || err.Error() != want {
			t.Errorf("error = %v, want %q", err, want)
		}
	}
}
