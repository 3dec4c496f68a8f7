package http

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"sync"
)

// parsed keeps what the TLS files of checks parse to, by the files'
// contents, for as long as the process lives. Every check still reads its
// files when it runs, so a file that is missing or has changed is seen by
// the very check that uses it; what a suite of many https checks naming
// the same files is spared is parsing the same bytes again for each, which
// costs tens of microseconds a check (an ECDSA key is checked against its
// certificate): BenchmarkProbeMutualTLS 1,478 → 1,282 allocations. Only
// what parsed is kept: a file that does not parse is parsed again, and
// reported, by every check that reads it.
var parsed = tlsFiles{pools: map[string]*x509.CertPool{}, pairs: map[[2]string]*tls.Certificate{}}

// maxParsed bounds each of the caches: a suite names a handful of TLS
// files, and one that names more (or rewrites its files as it runs) parses
// the rest every time rather than holding them all.
const maxParsed = 64

type tlsFiles struct {
	mu    sync.Mutex
	pools map[string]*x509.CertPool      // by the PEM text of ca_file
	pairs map[[2]string]*tls.Certificate // by the PEM texts of the certificate and key
}

// pool returns the certificates of a ca_file's PEM text, or nil when it
// holds none. A CertPool is safe to verify with from many handshakes at
// once, and no one adds to it once it is made.
func (f *tlsFiles) pool(pem []byte) *x509.CertPool {
	f.mu.Lock()
	p, ok := f.pools[string(pem)]
	f.mu.Unlock()
	if ok {
		return p
	}
	p = x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil
	}
	f.mu.Lock()
	if len(f.pools) < maxParsed {
		f.pools[string(pem)] = p
	}
	f.mu.Unlock()
	return p
}

// keyPair is tls.LoadX509KeyPair, with the same errors: it reads both
// files, then parses them unless the same texts parsed before. The
// certificate returned is shared and must not be changed; crypto/tls only
// reads it.
func (f *tlsFiles) keyPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	key := [2]string{string(certPEM), string(keyPEM)}
	f.mu.Lock()
	c, ok := f.pairs[key]
	f.mu.Unlock()
	if ok {
		return c, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if len(f.pairs) < maxParsed {
		f.pairs[key] = &cert
	}
	f.mu.Unlock()
	return &cert, nil
}
