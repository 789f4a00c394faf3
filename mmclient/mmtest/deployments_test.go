package mmtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// Each deployment answers under its own prefix with its own state, and
// counts only its own requests.
func TestDeploymentsRouteByPrefix(t *testing.T) {
	cfg := func(i int) Config { return Config{Users: GenerateUsers(10*(i+1), int64(i+1))} }
	d := StartDeployments(t, 3, cfg)
	total := func(url string) int64 {
		t.Helper()
		c, err := mmclient.New(mmclient.Options{BaseURL: url, Token: AdminToken})
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.GetUserStats(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		return st.TotalUsersCount
	}
	seen := map[int64]bool{}
	for i := 0; i < d.Len(); i++ {
		alone := Start(t, cfg(i))
		got, want := total(d.ServerURL(i)), total(alone.URL)
		if got != want {
			t.Errorf("deployment %d: total_users_count %d, want %d (the same config on its own listener)", i, got, want)
		}
		seen[got] = true
	}
	if len(seen) != d.Len() {
		t.Errorf("deployments answered %d distinct totals, want %d", len(seen), d.Len())
	}
	for i := 0; i < d.Len(); i++ {
		if n := d.Server(i).Requests(EndpointUserStats); n != 1 {
			t.Errorf("deployment %d counted %d GET /users/stats, want 1", i, n)
		}
	}
	for _, p := range []string{"/api/v4/system/ping", "/d/3/api/v4/system/ping", "/d/01/api/v4/system/ping", "/d/x/api/v4/system/ping", "/d/-1/api/v4/system/ping"} {
		resp, err := http.Get(d.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: HTTP %d, want 404", p, resp.StatusCode)
		}
	}
}

// Over TLS every deployment answers through a client that trusts the
// certificate, with HTTP/2.
func TestTLSDeployments(t *testing.T) {
	d := NewTLSDeployments(2, func(i int) Config { return Config{} })
	t.Cleanup(d.Close)
	if d.CertificatePEM() == nil || !strings.HasPrefix(d.URL, "https://") {
		t.Fatalf("URL %s, certificate %q", d.URL, d.CertificatePEM())
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(d.CertificatePEM())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	for i := 0; i < d.Len(); i++ {
		resp, err := hc.Get(d.ServerURL(i) + "/api/v4/system/ping")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Errorf("deployment %d: HTTP %d over %s", i, resp.StatusCode, resp.Proto)
		}
	}
	if plain := StartDeployments(t, 1, func(int) Config { return Config{} }); plain.CertificatePEM() != nil {
		t.Error("plain HTTP deployments have a certificate")
	}
}
