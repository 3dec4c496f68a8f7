package http

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// kind returns the registered http kind, so that tests go through the same
// declarations (defaults, validators, expectations) a suite does.
func kind(t *testing.T) *checks.Kind {
	t.Helper()
	k, ok := checks.Lookup("http")
	if !ok {
		t.Fatal("the http kind is not registered")
	}
	return k
}

// probe runs the kind's probe with args, filling in defaults and nulls as
// the loader does, after validating every argument as the loader does.
func probe(t *testing.T, timeout time.Duration, args map[string]cty.Value) (cty.Value, error) {
	t.Helper()
	k := kind(t)
	obj := map[string]cty.Value{}
	for _, a := range k.Args {
		v, ok := args[a.Name]
		switch {
		case ok:
			if a.Validate != nil {
				if err := a.Validate(v); err != nil {
					t.Fatalf("argument %s = %s does not validate: %v", a.Name, checks.Show(v), err)
				}
			}
		case a.Default != cty.NilVal:
			v = a.Default
		default:
			v = cty.NullVal(a.Type)
		}
		obj[a.Name] = v
	}
	for name := range args {
		if _, ok := k.Arg(name); !ok {
			t.Fatalf("test passes unknown argument %q", name)
		}
	}
	// As the runner does: the deadline, and the timeout as written for
	// the probe's messages.
	ctx, cancel := context.WithTimeout(checks.WithTimeout(context.Background(), timeout), timeout)
	defer cancel()
	return k.Probe.Call(ctx, cty.ObjectVal(obj))
}

// mustProbe is probe for requests that must get an answer.
func mustProbe(t *testing.T, args map[string]cty.Value) cty.Value {
	t.Helper()
	r, err := probe(t, 5*time.Second, args)
	if err != nil {
		t.Fatalf("probe failed: %v", err)
	}
	return r
}

// str, num and strMap shorten cty values in tables.
func str(s string) cty.Value { return cty.StringVal(s) }
func num(n int) cty.Value    { return cty.NumberIntVal(int64(n)) }
func strMap(kv ...string) cty.Value {
	m := map[string]cty.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = cty.StringVal(kv[i+1])
	}
	return cty.MapVal(m)
}

func field(r cty.Value, name string) cty.Value { return r.GetAttr(name) }

func fieldString(t *testing.T, r cty.Value, name string) string {
	t.Helper()
	return field(r, name).AsString()
}

func fieldInt(t *testing.T, r cty.Value, name string) int {
	t.Helper()
	n, _ := field(r, name).AsBigFloat().Int64()
	return int(n)
}

// answered checks what the probe returned against wantErr, the parts its
// error must contain: with wantErr the probe must have failed, and there
// is no result to look at (false); without, it must have answered (true).
func answered(t *testing.T, r cty.Value, err error, wantErr []string) bool {
	t.Helper()
	if len(wantErr) > 0 {
		if err == nil {
			t.Fatalf("got an answer (status %s), want an error", checks.Show(field(r, "status")))
		}
		t.Logf("error: %v", err)
		contains(t, "error", err.Error(), wantErr...)
		return false
	}
	if err != nil {
		t.Fatalf("probe failed: %v", err)
	}
	return true
}

func contains(t *testing.T, what, got string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(got, p) {
			t.Errorf("%s = %q\nwant it to contain %q", what, got, p)
		}
	}
}

// authority is a throwaway certificate authority for TLS tests.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newAuthority(t testing.TB, name string) *authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &authority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf is a certificate issued by an authority, with its PEM encodings.
type leaf struct {
	tls             tls.Certificate
	certPEM, keyPEM []byte
}

// issue signs a certificate valid until notAfter for the given DNS names and
// IP addresses, for a server or (client true) a client.
func (a *authority) issue(t testing.TB, notAfter time.Time, client bool, names ...string) *leaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "nettest test"},
		NotBefore:    time.Now().Add(-48 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	l := &leaf{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	l.tls, err = tls.X509KeyPair(l.certPEM, l.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// writeFile writes data to a file in a fresh temporary directory and
// returns its path.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
