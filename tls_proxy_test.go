package main

import (
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// connectProxy is an HTTPS proxy on loopback that tunnels every CONNECT to
// one address (the fake), whatever host it names, and records the request
// lines.
type connectProxy struct {
	to   string
	mu   sync.Mutex
	seen []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.seen = append(p.seen, r.Method+" "+r.Host)
	p.mu.Unlock()
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	upstream, err := net.DialTimeout("tcp", p.to, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusOK)
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	go func() {
		_, _ = io.Copy(upstream, buf)
		_ = upstream.Close()
	}()
	_, _ = io.Copy(conn, upstream)
	_ = conn.Close()
}

func (p *connectProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// Through an HTTPS proxy (HTTPS_PROXY, CONNECT), the TLS metrics describe
// Mattermost's chain, not the proxy's own certificate: the tunnel carries
// the handshake with Mattermost.
func TestTLSMetricsThroughProxy(t *testing.T) {
	now := time.Now()
	chain := mmtest.MustCertChain(now.Add(5*24*time.Hour), now.Add(365*24*time.Hour), "mattermost.invalid")
	fake := mmtest.NewTLSServer(mmtest.Config{CertChain: chain})
	t.Cleanup(fake.Close)
	p := &connectProxy{to: strings.TrimPrefix(fake.URL, "https://")}
	proxy := httptest.NewTLSServer(p)
	t.Cleanup(func() {
		proxy.CloseClientConnections()
		proxy.Close()
	})
	// The exporter trusts both: the proxy's certificate and Mattermost's root.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	proxyPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Certificate().Raw})
	if err := os.WriteFile(ca, append(chain.RootPEM(), proxyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, proxyEnv("MATTERMOST_TOKEN="+mmtest.AdminToken, "HTTPS_PROXY="+proxy.URL),
		"--mattermost.url=https://mattermost.invalid", "--mattermost.tls.ca-file="+ca, "--no-collector.users")
	out := d.scrape(t)
	for _, want := range []string{
		"mattermost_up 1",
		`mattermost_tls_certificate_info{endpoint="mattermost",issuer_cn="` + mmtest.CertChainIntermediateCN + `",serial="` + chain.Leaf.SerialNumber.Text(16) + `",subject_cn="` + mmtest.CertChainLeafCN + `"} 1`,
		`mattermost_tls_certificate_verified{endpoint="mattermost"} 1`,
		`mattermost_tls_certificate_expiry_timestamp_seconds{endpoint="mattermost"} `,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape through the proxy lacks %s\n%s\n%s", want, out, d.stderr)
		}
	}
	if got := p.requests(); !slices.Contains(got, "CONNECT mattermost.invalid:443") {
		t.Errorf("proxy saw %q, want a CONNECT to mattermost.invalid:443", got)
	}
}
