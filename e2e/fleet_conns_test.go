package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// A fleet closes its targets' connections after each probe (the default:
// 1 s after their last request). Over 8 rounds of probes of plain-HTTP, HTTPS with HTTP/2 and HTTPS with
// HTTP/1.1 targets, the exporter process keeps none of them: no connection
// open, and no file descriptor or goroutine more than after the first
// round.
func TestFleetProbesLeakNoConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	dir := t.TempDir()
	cfg := func(i int) mmtest.Config { return mmtest.Config{Users: mmtest.GenerateUsers(300, int64(i+1))} }
	plain := mmtest.NewDeployments(2, cfg)
	h2 := mmtest.NewTLSDeployments(2, cfg)
	h1 := mmtest.NewTLSServer(cfg(5)) // HTTP/1.1 only
	t.Cleanup(plain.Close)
	t.Cleanup(h2.Close)
	t.Cleanup(h1.Close)
	h2CA, h1CA := filepath.Join(dir, "h2.pem"), filepath.Join(dir, "h1.pem")
	promWriteFile(t, h2CA, string(h2.CertificatePEM()))
	promWriteFile(t, h1CA, string(h1.CertificatePEM()))
	tokenFile := filepath.Join(dir, "admin.token")
	promWriteFile(t, tokenFile, mmtest.AdminToken+"\n")

	targets := map[string]string{
		"plain0": plain.ServerURL(0) + "\n",
		"plain1": plain.ServerURL(1) + "\n",
		"h2a":    h2.ServerURL(0) + "\n    tls: {ca_file: " + h2CA + "}\n",
		"h2b":    h2.ServerURL(1) + "\n    tls: {ca_file: " + h2CA + "}\n",
		"h1":     h1.URL + "\n    tls: {ca_file: " + h1CA + "}\n",
	}
	var b strings.Builder
	b.WriteString("targets:\n")
	names := []string{"plain0", "plain1", "h2a", "h2b", "h1"}
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: %s\n    token_file: %s\n    url: %s", n, tokenFile, targets[n])
	}
	cfgPath := filepath.Join(dir, "mattermost_exporter.yml")
	promWriteFile(t, cfgPath, b.String())

	addr := freeAddr(t)
	promStart(t, filepath.Join(dir, "exporter.log"), nil, exporterBinary(t),
		"--config.file="+cfgPath, "--web.listen-address="+addr)
	promWaitHTTP(t, "http://"+addr+"/", 20*time.Second)

	probe := func(name string) string { return mustScrape(t, "http://"+addr+"/probe?target="+name) }
	round := func() {
		for _, n := range names {
			if out := probe(n); !strings.Contains(out, "mattermost_probe_success 1") {
				t.Fatalf("probe of %s failed:\n%s", n, out)
			}
		}
	}
	self := func() map[string]*dto.MetricFamily {
		mfs, err := soakScrape(addr)
		if err != nil {
			t.Fatal(err)
		}
		return mfs
	}
	value := func(mfs map[string]*dto.MetricFamily, name string) float64 {
		v, ok := hostileValue(mfs, name)
		if !ok {
			t.Fatalf("no %s on /metrics", name)
		}
		return v
	}
	for _, n := range names {
		promWaitFor(t, 30*time.Second, n+"'s users collector", func() (bool, string) {
			out := probe(n)
			return strings.Contains(out, `mattermost_exporter_collector_success{collector="users"} 1`), out
		})
	}
	// Between two rounds every connection closes (1 s after its last
	// request), so that each round reconnects, as at a scrape interval.
	var last map[string]*dto.MetricFamily
	closed := func() {
		promWaitFor(t, 10*time.Second, "no connection open between probes", func() (bool, string) {
			last = self()
			n := value(last, "mattermost_exporter_probe_connections_open")
			return n == 0, fmt.Sprintf("%v connections open", n)
		})
	}
	round()
	closed()
	before := last
	const rounds = 8
	for i := 0; i < rounds; i++ {
		round()
		closed()
	}
	after := last
	opened := value(after, "mattermost_exporter_probe_connections_opened_total") - value(before, "mattermost_exporter_probe_connections_opened_total")
	if probes := float64(rounds * len(names)); opened < probes {
		t.Errorf("%v connections opened for %v probes: each probe should open its own", opened, probes)
	}
	for _, c := range []struct {
		name  string
		slack float64
	}{{"process_open_fds", 2}, {"go_goroutines", 4}} {
		b, a := value(before, c.name), value(after, c.name)
		t.Logf("%s: %v after the first round, %v after %d more (%v connections opened)", c.name, b, a, rounds, opened)
		if a > b+c.slack {
			t.Errorf("%s grew from %v to %v over %d rounds of probes", c.name, b, a, rounds)
		}
	}
}
