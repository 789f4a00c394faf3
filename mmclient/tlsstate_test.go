package mmclient_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// tlsFake starts a TLS fake serving chain.
func tlsFake(t *testing.T, chain *mmtest.CertChain) *mmtest.Server {
	t.Helper()
	s := mmtest.NewTLSServer(mmtest.Config{CertChain: chain})
	t.Cleanup(s.Close)
	return s
}

// caFile writes pem to a file and returns its path.
func caFile(t *testing.T, pem ...[]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	var all []byte
	for _, p := range pem {
		all = append(all, p...)
	}
	if err := os.WriteFile(path, all, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pingState pings with opts (BaseURL and Token set here) and returns the
// client's TLS state and the ping's error.
func pingState(t *testing.T, s *mmtest.Server, opts mmclient.Options) (mmclient.TLSState, bool, error) {
	t.Helper()
	opts.BaseURL, opts.Token = s.URL, mmtest.AdminToken
	c, err := mmclient.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TLSState(); ok {
		t.Fatal("TLS state before any request")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Ping(ctx)
	st, ok := c.TLSState()
	return st, ok, err
}

func TestTLSStateEarliestNotAfter(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name               string
		leaf, intermediate time.Time
		want               time.Time
	}{
		{"leaf expires first", now.Add(5 * 24 * time.Hour), now.Add(400 * 24 * time.Hour), now.Add(5 * 24 * time.Hour)},
		{"intermediate expires first", now.Add(90 * 24 * time.Hour), now.Add(3 * 24 * time.Hour), now.Add(3 * 24 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain := mmtest.MustCertChain(tc.leaf, tc.intermediate)
			s := tlsFake(t, chain)
			st, ok, err := pingState(t, s, mmclient.Options{CAFile: caFile(t, chain.RootPEM())})
			if err != nil || !ok {
				t.Fatalf("ping: %v, state %v", err, ok)
			}
			if !st.EarliestNotAfter.Equal(tc.want) {
				t.Errorf("EarliestNotAfter = %s, want %s", st.EarliestNotAfter, tc.want)
			}
			if len(st.Chain) != 2 || !st.Leaf().Equal(chain.Leaf) || !st.Chain[1].Equal(chain.Intermediate) {
				t.Errorf("chain of %d certificates, want the fake's leaf and intermediate", len(st.Chain))
			}
			if !st.Verified || st.VerifyError != nil || st.Version != tls.VersionTLS13 {
				t.Errorf("verified %v (%v), version %x; want verified over TLS 1.3", st.Verified, st.VerifyError, st.Version)
			}
			if st.SubjectCN != mmtest.CertChainLeafCN || st.IssuerCN != mmtest.CertChainIntermediateCN ||
				st.Serial != strings.ToLower(chain.Leaf.SerialNumber.Text(16)) {
				t.Errorf("subject %q, issuer %q, serial %q; want the fake leaf's", st.SubjectCN, st.IssuerCN, st.Serial)
			}
		})
	}
}

func TestTLSStatePlainHTTP(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	if _, ok, err := pingState(t, s, mmclient.Options{}); err != nil || ok {
		t.Errorf("plain http: ping error %v, TLS state %v; want no TLS state", err, ok)
	}
}

// With insecure-skip-verify the handshake checks nothing: the recorder
// checks the chain against the configured roots itself.
func TestTLSStateInsecureSkipVerify(t *testing.T) {
	now := time.Now()
	good := mmtest.MustCertChain(now.Add(30*24*time.Hour), now.Add(365*24*time.Hour))
	expired := mmtest.MustCertChain(now.Add(-time.Hour), now.Add(365*24*time.Hour))
	other := mmtest.MustCertChain(now.Add(30*24*time.Hour), now.Add(365*24*time.Hour))
	for _, tc := range []struct {
		name     string
		chain    *mmtest.CertChain
		ca       []byte // nil: no CA file
		verified bool
		errText  string
	}{
		{"no CA file: unknown authority", good, nil, false, "unknown authority"},
		{"CA file of the chain", good, good.RootPEM(), true, ""},
		{"CA file of another chain", good, other.RootPEM(), false, "unknown authority"},
		{"expired leaf", expired, expired.RootPEM(), false, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tlsFake(t, tc.chain)
			opts := mmclient.Options{InsecureSkipVerify: true}
			if tc.ca != nil {
				opts.CAFile = caFile(t, tc.ca)
			}
			st, ok, err := pingState(t, s, opts)
			if err != nil || !ok {
				t.Fatalf("ping: %v, state %v", err, ok)
			}
			if st.Verified != tc.verified || (tc.errText == "") != (st.VerifyError == nil) ||
				(st.VerifyError != nil && !strings.Contains(st.VerifyError.Error(), tc.errText)) {
				t.Errorf("verified %v, error %v; want %v, %q", st.Verified, st.VerifyError, tc.verified, tc.errText)
			}
			if want := tc.chain.Leaf.NotAfter; !st.EarliestNotAfter.Equal(want) || st.Version == 0 {
				t.Errorf("EarliestNotAfter %s (want %s), version %x", st.EarliestNotAfter, want, st.Version)
			}
		})
	}
}

// A handshake that fails on the certificate still shows the chain: an
// expired certificate is reported, not only a failed ping.
func TestTLSStateFailedHandshake(t *testing.T) {
	chain := mmtest.MustCertChain(time.Now().Add(-48*time.Hour), time.Now().Add(365*24*time.Hour))
	s := tlsFake(t, chain)
	st, ok, err := pingState(t, s, mmclient.Options{CAFile: caFile(t, chain.RootPEM())})
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Fatalf("ping error %v, want a certificate verification error", err)
	}
	if !ok || st.Verified || st.Version != 0 || !st.EarliestNotAfter.Equal(chain.Leaf.NotAfter) ||
		st.VerifyError == nil || !strings.Contains(st.VerifyError.Error(), "expired") {
		t.Errorf("state %v: verified %v, version %x, not after %s, error %v; want the expired chain, unverified",
			ok, st.Verified, st.Version, st.EarliestNotAfter, st.VerifyError)
	}
}

// The state follows the handshakes: a renewed certificate shows once a
// new connection is made, and is kept until then.
func TestTLSStateFollowsRenewal(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	old := mmtest.MustCertChain(now.Add(5*24*time.Hour), now.Add(365*24*time.Hour))
	s := tlsFake(t, old)
	c, err := mmclient.New(mmclient.Options{BaseURL: s.URL, Token: mmtest.AdminToken, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	ping := func() mmclient.TLSState {
		t.Helper()
		if _, err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		st, _ := c.TLSState()
		return st
	}
	if st := ping(); !st.EarliestNotAfter.Equal(old.Leaf.NotAfter) {
		t.Fatalf("first chain: %s", st.EarliestNotAfter)
	}
	renewed := mmtest.MustCertChain(now.Add(90*24*time.Hour), now.Add(365*24*time.Hour))
	s.SetCertChain(renewed)
	if st := ping(); !st.EarliestNotAfter.Equal(old.Leaf.NotAfter) {
		t.Errorf("kept connection: %s, want the old chain's %s", st.EarliestNotAfter, old.Leaf.NotAfter)
	}
	s.CloseClientConnections()
	if st := ping(); !st.EarliestNotAfter.Equal(renewed.Leaf.NotAfter) {
		t.Errorf("after a new handshake: %s, want the renewed chain's %s", st.EarliestNotAfter, renewed.Leaf.NotAfter)
	}
}

// BenchmarkTLSRecord is the cost on every response of a kept connection.
func BenchmarkTLSRecord(b *testing.B) {
	chain := mmtest.MustCertChain(time.Now().Add(30*24*time.Hour), time.Now().Add(365*24*time.Hour))
	r := mmclient.NewTLSRecorder("https://127.0.0.1", nil)
	resp := &http.Response{TLS: &tls.ConnectionState{
		Version:          tls.VersionTLS13,
		PeerCertificates: []*x509.Certificate{chain.Leaf, chain.Intermediate},
		VerifiedChains:   [][]*x509.Certificate{{chain.Leaf, chain.Intermediate, chain.Root}},
	}}
	r.Record(resp, nil)
	b.ReportAllocs()
	for b.Loop() {
		if r.Record(resp, nil) != nil {
			b.Fatal("state changed")
		}
	}
}

// With insecure-skip-verify the recorder's own verdict follows the clock:
// a kept chain is checked again when a certificate of it expires (or
// becomes valid), not only when it is first seen.
func TestTLSStateSkipVerifyRechecksOnExpiry(t *testing.T) {
	now := time.Now()
	chain := mmtest.MustCertChain(now.Add(30*24*time.Hour), now.Add(365*24*time.Hour))
	pool := x509.NewCertPool()
	pool.AddCert(chain.Root)
	tr := mmclient.NewTransport()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	r := mmclient.NewTLSRecorder("https://127.0.0.1", tr)
	clock := chain.Leaf.NotBefore.Add(-time.Minute)
	mmclient.SetTLSRecorderClock(r, func() time.Time { return clock })
	// What an insecure-skip-verify handshake gives: no verified chains.
	resp := &http.Response{TLS: &tls.ConnectionState{
		Version:          tls.VersionTLS13,
		PeerCertificates: []*x509.Certificate{chain.Leaf, chain.Intermediate},
	}}
	for _, step := range []struct {
		name     string
		at       time.Time
		changed  bool
		verified bool
		errText  string
	}{
		{"before the leaf's NotBefore", clock, true, false, "not yet valid"},
		{"still before it", clock.Add(30 * time.Second), false, false, ""},
		{"leaf valid", now, true, true, ""},
		{"at the leaf's NotAfter", chain.Leaf.NotAfter, false, true, ""},
		{"past the leaf's NotAfter", chain.Leaf.NotAfter.Add(time.Second), true, false, "expired"},
		{"later still", chain.Leaf.NotAfter.Add(48 * time.Hour), false, false, ""},
	} {
		clock = step.at
		changed := r.Record(resp, nil) != nil
		st, ok := r.State()
		if !ok || changed != step.changed || st.Verified != step.verified ||
			(step.errText != "" && (st.VerifyError == nil || !strings.Contains(st.VerifyError.Error(), step.errText))) {
			t.Errorf("%s: changed %v, verified %v (%v); want changed %v, verified %v, error %q",
				step.name, changed, st.Verified, st.VerifyError, step.changed, step.verified, step.errText)
		}
	}
}
