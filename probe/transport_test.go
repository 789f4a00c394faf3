package probe

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// connCounter is a fake behind a listener that counts the connections
// opened and closed, and pads every answer with a header line longer than
// a fleet target's read buffer.
type connCounter struct {
	fake           *mmtest.Server
	URL            string
	opened, closed atomic.Int64
}

func startConnCounter(t *testing.T, cfg mmtest.Config) *connCounter {
	c := &connCounter{fake: mmtest.New(cfg)}
	h := c.fake.Handler()
	pad := strings.Repeat("p", 3*fleetReadBufferSize)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Padding", pad)
		h.ServeHTTP(w, r)
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			c.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			c.closed.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	c.URL = ts.URL
	return c
}

// A fleet target's smaller connection buffers change nothing: answers with
// header lines longer than the read buffer are read, and the connections
// of one probe serve the next (no dial).
func TestFleetTransportBuffersKeepReuse(t *testing.T) {
	e := newEnv(t)
	srv := startConnCounter(t, mmtest.Config{Users: mmtest.GenerateUsers(300, 1)})
	f := e.fleet("targets:\n"+e.targetYAML("a", srv.URL), Options{IdleTimeout: time.Hour})
	ready := func() bool {
		w := probeReq(f, "target=a")
		return strings.Contains(w.Body.String(), `mattermost_exporter_collector_success{collector="users"} 1`)
	}
	testhelp.WaitFor(t, 10*time.Second, "users collector ready", ready)
	if !strings.Contains(probeReq(f, "target=a").Body.String(), "mattermost_probe_success 1") {
		t.Fatal("probe failed")
	}
	opened, dials := srv.opened.Load(), f.dials.Load()
	if opened == 0 || dials != opened {
		t.Fatalf("fleet counted %d dials, server %d connections", dials, opened)
	}
	for i := 0; i < 5; i++ {
		if w := probeReq(f, "target=a"); !strings.Contains(w.Body.String(), "mattermost_probe_success 1") {
			t.Fatalf("probe %d failed:\n%s", i, w.Body.String())
		}
	}
	if n := srv.opened.Load() - opened; n != 0 {
		t.Errorf("5 more probes opened %d connections, want 0 (kept-alive connections reused)", n)
	}
}

// A target stopped for idleness closes its kept-alive connections at once
// (not after the transport's 90 s idle timeout).
func TestIdleStopClosesConnections(t *testing.T) {
	e := newEnv(t)
	srv := startConnCounter(t, mmtest.Config{Users: mmtest.GenerateUsers(50, 1)})
	f := e.fleet("targets:\n"+e.targetYAML("a", srv.URL), Options{IdleTimeout: 300 * time.Millisecond})
	if w := probeReq(f, "target=a"); w.Code != http.StatusOK {
		t.Fatalf("probe: %d", w.Code)
	}
	testhelp.WaitFor(t, 10*time.Second, "a's idle stop", func() bool { return f.StartedTargets() == 0 })
	testhelp.WaitFor(t, 5*time.Second, "connections closed", func() bool {
		return srv.opened.Load() > 0 && srv.closed.Load() == srv.opened.Load()
	})
}

// Over HTTPS (HTTP/2, frames of at most 16 KiB read) the answers of 600
// users (about 70 KB) are read, and a target trusts only its own ca_file:
// targets with the same file share one pool, another file is another pool.
func TestFleetHTTPSTargets(t *testing.T) {
	e := newEnv(t)
	d := mmtest.NewTLSDeployments(2, func(i int) mmtest.Config {
		return mmtest.Config{Users: mmtest.GenerateUsers(600, int64(i+1))}
	})
	t.Cleanup(d.Close)
	ca := filepath.Join(e.dir, "ca.pem")
	if err := os.WriteFile(ca, d.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(e.dir, "other.pem")
	_, otherPEM := testhelp.SelfSignedCA(t, "other.example")
	if err := os.WriteFile(other, otherPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tlsOf := func(file string) string { return "tls: {ca_file: " + file + "}" }
	f := e.fleet("targets:\n"+
		e.targetYAML("a", d.ServerURL(0), tlsOf(ca))+
		e.targetYAML("b", d.ServerURL(1), tlsOf(ca))+
		e.targetYAML("c", d.ServerURL(1), tlsOf(other)), Options{IdleTimeout: time.Hour})
	for _, name := range []string{"a", "b"} {
		testhelp.WaitFor(t, 20*time.Second, name+"'s users collector", func() bool {
			w := probeReq(f, "target="+name)
			return strings.Contains(w.Body.String(), `mattermost_exporter_collector_success{collector="users"} 1`)
		})
	}
	if n := d.Server(0).Requests(mmtest.EndpointStatusesByIDs); n == 0 {
		t.Fatal("no status request reached the server")
	}
	w := probeReq(f, "target=c")
	if !strings.Contains(w.Body.String(), "mattermost_up 0") {
		t.Errorf("target c (another CA) was not refused:\n%s", w.Body.String())
	}
	if !strings.Contains(e.logs.String(), "certificate") {
		t.Errorf("no certificate error logged:\n%s", e.logs.String())
	}
}
