package probe

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// A /probe of an https target reports the chain of that target's
// handshake, with the target's own TLS settings: with insecure_skip_verify
// the chain is checked against the target's ca_file (reached through the
// fleet's limiter), so verified is 1 with the right CA file and 0 without.
func TestProbeTLSMetrics(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Truncate(time.Second)
	chain := mmtest.MustCertChain(now.Add(90*24*time.Hour), now.Add(5*24*time.Hour))
	s := mmtest.NewTLSServer(mmtest.Config{CertChain: chain})
	t.Cleanup(s.Close)
	ca := filepath.Join(e.dir, "ca.pem")
	if err := os.WriteFile(ca, chain.RootPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	body := "targets:\n" +
		e.targetYAML("verified", s.URL, "collectors: [cluster]", "tls: {ca_file: "+ca+"}") +
		e.targetYAML("insecure-ca", s.URL, "collectors: [cluster]", "tls: {ca_file: "+ca+", insecure_skip_verify: true}") +
		e.targetYAML("insecure", s.URL, "collectors: [cluster]", "tls: {insecure_skip_verify: true}")
	f := e.fleet(body, Options{})
	// The intermediate expires first.
	expiry := `mattermost_tls_certificate_expiry_timestamp_seconds{endpoint="mattermost"} ` +
		strconv.FormatFloat(float64(chain.Intermediate.NotAfter.Unix()), 'g', -1, 64)
	for target, verified := range map[string]string{"verified": "1", "insecure-ca": "1", "insecure": "0"} {
		w := probeReq(f, "target="+target)
		out := w.Body.String()
		for _, want := range []string{
			"mattermost_up 1",
			expiry,
			`mattermost_tls_certificate_verified{endpoint="mattermost"} ` + verified,
			`mattermost_tls_version_info{endpoint="mattermost",version="TLS 1.3"} 1`,
			`subject_cn="` + mmtest.CertChainLeafCN + `"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("target %s: /probe lacks %s", target, want)
			}
		}
	}
}
