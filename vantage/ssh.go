package vantage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nettest/nettest/schema"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// sshClient is one SSH connection, shared by the vantage's agent and by
// the vantages that jump through it.
type sshClient struct {
	once   sync.Once
	ready  chan struct{}
	client *ssh.Client
	err    error
}

func (c *sshClient) close() {
	c.once.Do(func() { close(c.ready) })
	<-c.ready
	if c.client != nil {
		c.client.Close()
	}
}

// client returns the SSH connection of the named vantage, connecting (and
// through its jump hosts first) on the first call. reached, when not nil,
// is called once the host accepted the TCP connection: a host that
// answers is reached, however long the SSH handshake then takes on a busy
// machine.
func (s *Set) client(ctx context.Context, name string, reached func()) (*ssh.Client, error) {
	s.mu.Lock()
	c := s.ssh[name]
	if c == nil {
		c = &sshClient{ready: make(chan struct{})}
		s.ssh[name] = c
	}
	s.mu.Unlock()
	c.once.Do(func() {
		defer close(c.ready)
		c.client, c.err = s.dialSSH(ctx, s.vantages[name], reached)
	})
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("still connecting after %s", connectTimeout)
	}
	return c.client, c.err
}

// dialSSH connects and logs in to the host of v.
func (s *Set) dialSSH(ctx context.Context, v *schema.Vantage, reached func()) (*ssh.Client, error) {
	if v == nil || v.SSH == nil {
		return nil, errors.New("not an ssh vantage")
	}
	cfg := v.SSH
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	config, err := clientConfig(cfg, addr)
	if err != nil {
		return nil, err
	}
	var conn net.Conn
	if cfg.Jump != "" {
		jc, err := s.client(ctx, cfg.Jump, nil)
		if err != nil {
			return nil, fmt.Errorf("through the jump host %s: %w", cfg.Jump, err)
		}
		conn, err = jc.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("cannot reach %s from the jump host %s: %w", addr, cfg.Jump, err)
		}
	} else {
		dial := s.opts.Dial
		if dial == nil {
			dial = (&net.Dialer{}).DialContext
		}
		conn, err = dial(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("cannot connect to %s: %w", addr, err)
		}
	}
	if reached != nil {
		reached()
	}
	// The handshake takes no context: a deadline on the connection bounds
	// it instead, and is lifted once logged in.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	if err != nil {
		conn.Close()
		return nil, sshError(err, cfg, addr)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// clientConfig builds the login: the user, the keys, and a host key check
// against known_hosts that nothing can switch off.
func clientConfig(cfg *schema.SSHVantage, addr string) (*ssh.ClientConfig, error) {
	khPath := cfg.KnownHostsFile
	if khPath == "" {
		khPath = "~/.ssh/known_hosts"
	}
	khPath = expandHome(khPath)
	db, err := knownhosts.NewDB(khPath)
	if err != nil {
		return nil, fmt.Errorf("cannot read the known_hosts file %s: %v; the host key of %s must be in it (ssh-keyscan -p %d %s, then compare the fingerprint with the host's)", khPath, err, addr, cfg.Port, cfg.Host)
	}
	var auth []ssh.AuthMethod
	if cfg.PrivateKeyFile != "" {
		path := expandHome(cfg.PrivateKeyFile)
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("cannot read the private key: %v", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("the private key %s is protected by a passphrase, and nettest never asks for one: load it into ssh-agent and set agent = true", path)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot use the private key %s: %v", path, err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if cfg.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, errors.New("agent = true, but SSH_AUTH_SOCK is not set: start ssh-agent and add the key (ssh-add), or set private_key_file")
		}
		auth = append(auth, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			c, err := net.Dial("unix", sock)
			if err != nil {
				return nil, fmt.Errorf("cannot reach the SSH agent at %s: %v", sock, err)
			}
			defer c.Close()
			return agent.NewClient(c).Signers()
		}))
	}
	check := db.HostKeyCallback()
	return &ssh.ClientConfig{
		User: cfg.User,
		Auth: auth,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			if err := check(hostname, remote, key); err != nil {
				return &hostKeyError{err: err, key: key, file: khPath}
			}
			return nil
		},
		// The algorithms of the keys known_hosts has for this host, so the
		// server offers a key we can check rather than another it has.
		HostKeyAlgorithms: db.HostKeyAlgorithms(addr),
		Timeout:           connectTimeout,
	}, nil
}

// hostKeyError is a host key that known_hosts does not vouch for, with
// the key the server offered.
type hostKeyError struct {
	err  error
	key  ssh.PublicKey
	file string
}

func (e *hostKeyError) Error() string { return e.err.Error() }
func (e *hostKeyError) Unwrap() error { return e.err }

// sshError explains a failed SSH handshake: above all an unknown or
// changed host key, named with the fingerprint the server showed.
func sshError(err error, cfg *schema.SSHVantage, addr string) error {
	var hk *hostKeyError
	if errors.As(err, &hk) {
		offered := hk.key.Type() + " " + ssh.FingerprintSHA256(hk.key)
		if knownhosts.IsHostKeyChanged(err) {
			return fmt.Errorf("the host key of %s has CHANGED: it offered %s, which does not match its entry in %s; someone may be intercepting the connection, or the host was reinstalled: check the fingerprint with the host's administrator before changing known_hosts", addr, offered, hk.file)
		}
		if knownhosts.IsHostUnknown(err) {
			return fmt.Errorf("the host key of %s is unknown: it offered %s, and %s has no entry for it; nettest connects only to known hosts: compare the fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub there) and add the key to the file (ssh-keyscan -p %d %s)", addr, offered, hk.file, cfg.Port, cfg.Host)
		}
		return fmt.Errorf("the host key of %s (%s) could not be checked against %s: %v", addr, offered, hk.file, hk.err)
	}
	switch {
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("%s refused the login as %q: %v", addr, cfg.User, err)
	}
	return fmt.Errorf("SSH handshake with %s: %v", addr, err)
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}

// startSSH connects to the host (through its jump hosts) and starts the
// agent in a session: agent_path's, or one copied across by the bootstrap
// script through the session's standard input.
func (s *Set) startSSH(ctx context.Context, v *schema.Vantage, reached func()) (*link, error) {
	client, err := s.client(ctx, v.Name, reached)
	if err != nil {
		return nil, err
	}
	reached()
	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("cannot open an SSH session: %v", err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	l := &link{stdin: stdin, stdout: bufio.NewReaderSize(stdout, 64<<10), stderr: &tail{}}
	sess.Stderr = l.stderr
	copyBinary := v.SSH.AgentPath == ""
	var command string
	if copyBinary {
		script, err := s.bootstrapScript()
		if err != nil {
			sess.Close()
			return nil, err
		}
		command = "sh -c " + shellQuote(script)
	} else {
		command = shellQuote(v.SSH.AgentPath)
		for _, a := range s.agentArgs() {
			command += " " + shellQuote(a)
		}
	}
	if err := sess.Start(command); err != nil {
		sess.Close()
		return nil, fmt.Errorf("cannot start the agent: %v", err)
	}
	var once sync.Once
	var werr error
	done := make(chan struct{})
	go func() {
		once.Do(func() { werr = sess.Wait() })
		close(done)
	}()
	l.wait = func() error { <-done; return werr }
	// Closing the session closes the agent's input and output on the far
	// side; sshd then reaps it, and the bootstrap script removes its copy.
	l.kill = func() { sess.Close() }
	if copyBinary {
		if err := s.sendBinary(ctx, l); err != nil {
			l.kill()
			return nil, err
		}
	}
	return l, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
