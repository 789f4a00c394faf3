package mmtest

import (
	"bytes"
	"testing"
	"time"
)

// A TLS fake serves Config.CertChain (leaf and intermediate, as a real
// server does), its Client trusts the chain's root, and SetCertChain
// changes what later handshakes present.
func TestTLSServerCertChain(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	chain := MustCertChain(now.Add(5*24*time.Hour), now.Add(3*24*time.Hour), "mattermost.invalid", "10.1.2.3")
	s := NewTLSServer(Config{CertChain: chain})
	t.Cleanup(s.Close)
	if !s.Certificate().Equal(chain.Root) || !bytes.Equal(s.CertificatePEM(), chain.RootPEM()) {
		t.Error("Certificate/CertificatePEM do not give the chain's root")
	}
	if err := chain.Leaf.VerifyHostname("mattermost.invalid"); err != nil {
		t.Error(err)
	}
	if err := chain.Leaf.VerifyHostname("10.1.2.3"); err != nil {
		t.Error(err)
	}
	presented := func() int {
		t.Helper()
		resp, err := s.Client().Get(s.URL + "/api/v4/system/ping")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		pc := resp.TLS.PeerCertificates
		if len(pc) == 2 && pc[0].Equal(chain.Leaf) && pc[1].Equal(chain.Intermediate) {
			return 2
		}
		return len(pc)
	}
	if n := presented(); n != 2 {
		t.Errorf("presented %d certificates, want the leaf and the intermediate", n)
	}
	if !chain.Leaf.NotAfter.Equal(now.Add(5*24*time.Hour)) || !chain.Intermediate.NotAfter.Equal(now.Add(3*24*time.Hour)) {
		t.Errorf("NotAfter leaf %s intermediate %s", chain.Leaf.NotAfter, chain.Intermediate.NotAfter)
	}

	s.SetCertChain(nil)
	s.CloseClientConnections()
	resp, err := s.Client().Get(s.URL + "/api/v4/system/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.TLS.PeerCertificates[0]; got.Equal(chain.Leaf) || !got.Equal(s.Certificate()) {
		t.Error("SetCertChain(nil): still the chain, not httptest's certificate")
	}
}
