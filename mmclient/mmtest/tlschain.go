package mmtest

// A TLS certificate chain with chosen expiry dates, for a fake served over
// https whose certificate expiry a test checks.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CertChain is a three-level certificate chain: a root CA (what a client
// trusts, through a CA file), an intermediate CA signed by it, and a server
// (leaf) certificate signed by the intermediate. A server using it presents
// the leaf and the intermediate, as a real one does.
type CertChain struct {
	Root, Intermediate, Leaf *x509.Certificate
	cert                     tls.Certificate
}

// CertChainLeafCN and CertChainIntermediateCN are the common names of a
// CertChain's leaf and intermediate.
const (
	CertChainLeafCN         = "mattermost.fake.test"
	CertChainIntermediateCN = "Fake Mattermost Intermediate CA"
	certChainRootCN         = "Fake Mattermost Root CA"
)

// NewCertChain returns a new chain whose leaf is valid until leafNotAfter
// and whose intermediate is valid until intermediateNotAfter (either may be
// the earlier; a past date makes an expired certificate). The root is valid
// for 20 years. The leaf is valid for 127.0.0.1, ::1, localhost and hosts
// (names or IP addresses). Every certificate was valid from a day before
// the earlier of now and its NotAfter.
func NewCertChain(leafNotAfter, intermediateNotAfter time.Time, hosts ...string) (*CertChain, error) {
	now := time.Now()
	rootKey, root, err := newCA(certChainRootCN, now.AddDate(20, 0, 0), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	interKey, inter, err := newCA(CertChainIntermediateCN, intermediateNotAfter, root, rootKey)
	if err != nil {
		return nil, fmt.Errorf("intermediate: %w", err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(),
		Subject:      pkix.Name{CommonName: CertChainLeafCN},
		NotBefore:    notBefore(now, leafNotAfter),
		NotAfter:     leafNotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, inter, &leafKey.PublicKey, interKey)
	if err != nil {
		return nil, fmt.Errorf("leaf: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("leaf: %w", err)
	}
	return &CertChain{
		Root: root, Intermediate: inter, Leaf: leaf,
		cert: tls.Certificate{Certificate: [][]byte{leaf.Raw, inter.Raw}, PrivateKey: leafKey, Leaf: leaf},
	}, nil
}

// MustCertChain is NewCertChain for tests: it panics on an error (key
// generation does not fail in practice).
func MustCertChain(leafNotAfter, intermediateNotAfter time.Time, hosts ...string) *CertChain {
	c, err := NewCertChain(leafNotAfter, intermediateNotAfter, hosts...)
	if err != nil {
		panic(err)
	}
	return c
}

// TLSCertificate returns the chain for a tls.Config: the leaf with its key,
// followed by the intermediate.
func (c *CertChain) TLSCertificate() tls.Certificate { return c.cert }

// RootPEM returns the root CA certificate in PEM, for a client's CA file.
func (c *CertChain) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Root.Raw})
}

// RootPool returns a pool holding only the root CA.
func (c *CertChain) RootPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Root)
	return p
}

// newCA returns a CA certificate and its key, self-signed when parent is nil.
func newCA(cn string, notAfter time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             notBefore(time.Now(), notAfter),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// notBefore is a day before the earlier of now and notAfter.
func notBefore(now, notAfter time.Time) time.Time {
	if notAfter.Before(now) {
		now = notAfter
	}
	return now.Add(-24 * time.Hour)
}

// newSerial returns a random positive 128-bit serial number.
func newSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n.Add(n, big.NewInt(1))
}
