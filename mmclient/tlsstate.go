package mmclient

// The TLS certificate chain a server presented, taken from the connection
// state of the requests the exporter makes anyway (no request of its own).

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// TLSState is what the last TLS handshake with a server showed.
type TLSState struct {
	// Chain is the certificate chain the server presented, leaf first
	// (the leaf and its intermediates; a root only if the server sends it).
	Chain []*x509.Certificate
	// EarliestNotAfter is the earliest NotAfter of Chain: when the first
	// certificate of the chain expires (blackbox_exporter's
	// probe_ssl_earliest_cert_expiry).
	EarliestNotAfter time.Time
	// Version is the negotiated TLS version (tls.VersionTLS13...), 0 when
	// the handshake failed on certificate verification.
	Version uint16
	// Verified says whether Chain verifies for the server's name against
	// the configured roots (the CA file plus the system pool, or the system
	// pool alone). Go's TLS client checks this in the handshake; when the
	// handshake skips the check (insecure-skip-verify) the recorder does
	// the same check itself when it first sees the chain, and again once a
	// certificate of it expires or becomes valid.
	Verified bool
	// VerifyError says why Chain does not verify (nil when Verified).
	VerifyError error

	// SubjectCN and IssuerCN are the common names of the leaf's subject
	// and issuer, and Serial its serial number in lower-case hex, each
	// valid UTF-8 of at most MaxTLSLabelBytes bytes (cut at a rune
	// boundary): ready for a label or a log line.
	SubjectCN, IssuerCN, Serial string

	// recheckAt is when the recorder's own verdict on Chain can next
	// change with time (a NotBefore or NotAfter passes); zero when it
	// cannot or when the handshake verified the chain.
	recheckAt time.Time
}

// MaxTLSLabelBytes bounds TLSState's SubjectCN, IssuerCN and Serial (the
// certificate comes from the server: untrusted).
const MaxTLSLabelBytes = 128

// Leaf returns the server's own certificate.
func (s TLSState) Leaf() *x509.Certificate { return s.Chain[0] }

// TLSRecorder keeps the TLSState of the last TLS handshake seen on the
// responses (and certificate verification failures) it is given. It is safe
// for concurrent use; recording a response whose connection presented the
// chain already kept costs a pointer comparison per certificate.
type TLSRecorder struct {
	serverName string
	roots      *x509.CertPool // nil: the system pool
	now        func() time.Time
	cur        atomic.Pointer[TLSState]
}

// NewTLSRecorder returns a recorder for the server at rawURL, reached
// through rt. The chain must be valid for the URL's host name (or the
// ServerName of rt's TLS settings); a chain the handshake accepted without
// verification is checked against the RootCAs of rt's TLS settings (nil:
// the system pool). Only an *http.Transport has TLS settings: pass the
// transport itself, not a wrapper of it (any other rt, nil too, means the
// system pool and the URL's host name).
func NewTLSRecorder(rawURL string, rt http.RoundTripper) *TLSRecorder {
	r := &TLSRecorder{now: time.Now}
	if u, err := url.Parse(rawURL); err == nil {
		r.serverName = u.Hostname()
	}
	if tr, ok := rt.(*http.Transport); ok && tr.TLSClientConfig != nil {
		r.roots = tr.TLSClientConfig.RootCAs
		if sn := tr.TLSClientConfig.ServerName; sn != "" {
			r.serverName = sn
		}
	}
	return r
}

// State returns the state of the last handshake; false before the first
// TLS handshake (and for plain http, always).
func (r *TLSRecorder) State() (TLSState, bool) {
	if s := r.cur.Load(); s != nil {
		return *s, true
	}
	return TLSState{}, false
}

// Record takes the outcome of one HTTP exchange: the connection state of
// resp, or, when err is a certificate verification failure of the
// server's handshake, the chain the server presented (a proxy's own TLS
// failure, "proxyconnect", is not the server's and is ignored). It returns
// the new state when it differs from the one kept (for a log line), else
// nil. Plain http and other errors keep the last state.
func (r *TLSRecorder) Record(resp *http.Response, err error) *TLSState {
	var next *TLSState
	switch {
	case err != nil:
		var cve *tls.CertificateVerificationError
		var op *net.OpError
		if !errors.As(err, &cve) || len(cve.UnverifiedCertificates) == 0 ||
			(errors.As(err, &op) && op.Op == "proxyconnect") {
			return nil
		}
		if cur := r.cur.Load(); cur != nil && !cur.Verified && cur.Version == 0 && sameChain(cur.Chain, cve.UnverifiedCertificates) {
			return nil
		}
		next = &TLSState{Chain: cve.UnverifiedCertificates, VerifyError: cve.Err}
	case resp != nil && resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0:
		cs := resp.TLS
		verified := len(cs.VerifiedChains) > 0
		cur := r.cur.Load()
		kept := cur != nil && cur.Version == cs.Version && sameChain(cur.Chain, cs.PeerCertificates)
		if kept && (verified && cur.Verified ||
			!verified && (cur.recheckAt.IsZero() || r.now().Before(cur.recheckAt))) {
			return nil
		}
		next = &TLSState{Chain: cs.PeerCertificates, Version: cs.Version, Verified: verified}
		if !verified {
			next.recheckAt, next.VerifyError = r.verify(cs.PeerCertificates)
			next.Verified = next.VerifyError == nil
			if kept && next.Verified == cur.Verified && sameError(next.VerifyError, cur.VerifyError) {
				// Checked again, same verdict: keep the new recheck
				// time, but it is no change to report.
				same := *cur
				same.recheckAt = next.recheckAt
				r.cur.Store(&same)
				return nil
			}
		}
	default:
		return nil
	}
	leaf := next.Chain[0]
	next.EarliestNotAfter = leaf.NotAfter
	for _, c := range next.Chain[1:] {
		if c.NotAfter.Before(next.EarliestNotAfter) {
			next.EarliestNotAfter = c.NotAfter
		}
	}
	next.SubjectCN = tlsLabel(leaf.Subject.CommonName)
	next.IssuerCN = tlsLabel(leaf.Issuer.CommonName)
	next.Serial = tlsLabel(strings.ToLower(leaf.SerialNumber.Text(16)))
	r.cur.Store(next)
	return next
}

// verify checks a chain the handshake accepted without verification as Go's
// TLS client would have. It returns when the verdict can next change with
// time alone (the first NotBefore or NotAfter after now of the presented
// certificates and of the chains that verified; zero: never) and why the
// chain does not verify.
func (r *TLSRecorder) verify(chain []*x509.Certificate) (time.Time, error) {
	now := r.now()
	opts := x509.VerifyOptions{
		Roots:         r.roots,
		DNSName:       r.serverName,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   now,
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := chain[0].Verify(opts)
	var next time.Time
	consider := func(certs []*x509.Certificate) {
		for _, c := range certs {
			// x509 takes a certificate as expired once now is after
			// NotAfter, so the verdict changes a nanosecond later.
			for _, t := range [2]time.Time{c.NotBefore, c.NotAfter.Add(time.Nanosecond)} {
				if t.After(now) && (next.IsZero() || t.Before(next)) {
					next = t
				}
			}
		}
	}
	consider(chain)
	for _, vc := range chains {
		consider(vc)
	}
	return next, err
}

// tlsLabel makes a certificate field a label value: valid UTF-8 (invalid
// bytes become U+FFFD) of at most MaxTLSLabelBytes bytes.
func tlsLabel(s string) string {
	return cutUTF8(strings.ToValidUTF8(s, "\uFFFD"), MaxTLSLabelBytes)
}

// sameError reports whether a and b say the same (both nil, or the same
// text).
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

// sameChain reports whether a and b hold the same certificates. Responses
// on one connection share its slice, so the pointers usually match.
func sameChain(a, b []*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
