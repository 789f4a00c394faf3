package probe

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
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
// opened and closed (and, over TLS, the resumed handshakes), and pads every
// answer with a header line longer than a fleet target's read buffer.
type connCounter struct {
	fake                    *mmtest.Server
	URL                     string
	CAFile                  string // the certificate, over TLS
	opened, closed, resumed atomic.Int64
}

func startConnCounter(t *testing.T, cfg mmtest.Config) *connCounter {
	return startConnCounterTLS(t, cfg, "")
}

// startConnCounterTLS starts it over TLS with HTTP/2 when dir is not empty
// (the certificate is written there).
func startConnCounterTLS(t *testing.T, cfg mmtest.Config, dir string) *connCounter {
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
	if dir == "" {
		ts.Start()
	} else {
		ts.EnableHTTP2 = true
		ts.TLS = &tls.Config{VerifyConnection: func(cs tls.ConnectionState) error {
			if cs.DidResume {
				c.resumed.Add(1)
			}
			return nil
		}}
		ts.StartTLS()
		c.CAFile = filepath.Join(dir, "ca.pem")
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
		if err := os.WriteFile(c.CAFile, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(ts.Close)
	c.URL = ts.URL
	return c
}

// probeUntilReady probes target a until its users collector has its id
// cache and a sweep.
func probeUntilReady(t *testing.T, f *Fleet) {
	t.Helper()
	testhelp.WaitFor(t, 20*time.Second, "users collector ready", func() bool {
		w := probeReq(f, "target=a")
		return strings.Contains(w.Body.String(), `mattermost_exporter_collector_success{collector="users"} 1`)
	})
}

// probeN probes target a n times, each a success with body's line.
func probeN(t *testing.T, f *Fleet, n int, line string) {
	t.Helper()
	for i := 0; i < n; i++ {
		body := probeReq(f, "target=a").Body.String()
		if !strings.Contains(body, "mattermost_probe_success 1") || !strings.Contains(body, line) {
			t.Fatalf("probe %d failed or has no %q:\n%s", i, line, body)
		}
	}
}

// A fleet target's smaller connection buffers change nothing: answers with
// header lines longer than the read buffer are read, and with
// --probe.keep-connections the connections of one probe serve the next (no
// dial).
func TestFleetTransportBuffersKeepReuse(t *testing.T) {
	e := newEnv(t)
	srv := startConnCounter(t, mmtest.Config{Users: mmtest.GenerateUsers(300, 1)})
	f := e.fleet("targets:\n"+e.targetYAML("a", srv.URL), Options{IdleTimeout: time.Hour, KeepConnections: true})
	probeUntilReady(t, f)
	probeN(t, f, 1, "")
	opened, dials := srv.opened.Load(), f.conns.dials.Load()
	if opened == 0 || dials != opened {
		t.Fatalf("fleet counted %d dials, server %d connections", dials, opened)
	}
	probeN(t, f, 5, "")
	if n := srv.opened.Load() - opened; n != 0 {
		t.Errorf("5 more probes opened %d connections, want 0 (kept-alive connections reused)", n)
	}
	if n := selfValue(t, f, "mattermost_exporter_probe_connections_open"); n == 0 {
		t.Error("no connection open between probes with KeepConnections")
	}
}

// connIdle is the ConnIdleTimeout of the tests.
const connIdle = 50 * time.Millisecond

// waitNoConns waits until f's targets have no connection open.
func waitNoConns(t *testing.T, f *Fleet) {
	t.Helper()
	testhelp.WaitFor(t, 5*time.Second, "no connection open", func() bool {
		return selfValue(t, f, "mattermost_exporter_probe_connections_open") == 0
	})
}

// By default a fleet target keeps no connection between its probes: over
// plain HTTP every probe dials what it needs, and its connections close
// ConnIdleTimeout after their last request.
func TestFleetProbeClosesItsConnections(t *testing.T) {
	e := newEnv(t)
	srv := startConnCounter(t, mmtest.Config{Users: mmtest.GenerateUsers(300, 1)})
	f := e.fleet("targets:\n"+e.targetYAML("a", srv.URL), Options{IdleTimeout: time.Hour, ConnIdleTimeout: connIdle})
	probeUntilReady(t, f)
	probeN(t, f, 1, "")
	for i := 0; i < 3; i++ {
		waitNoConns(t, f)
		opened := srv.opened.Load()
		probeN(t, f, 1, "")
		if n := srv.opened.Load() - opened; n == 0 {
			t.Errorf("probe %d opened no connection: the last probe's were kept", i)
		}
	}
	waitNoConns(t, f)
	if n := selfValue(t, f, "mattermost_exporter_probe_connections_opened_total"); n != float64(srv.opened.Load()) {
		t.Errorf("mattermost_exporter_probe_connections_opened_total %v, server saw %d", n, srv.opened.Load())
	}
	testhelp.WaitFor(t, 5*time.Second, "server sees every connection closed", func() bool {
		return srv.opened.Load() == srv.closed.Load()
	})
}

// Over HTTPS with HTTP/2 a probe after the last one's connection was
// closed makes one connection (the connection gate: not one TLS handshake
// per parallel request) and resumes the TLS session of the last one; the
// TLS metrics of a resumed session are those of the full handshake.
func TestFleetHTTPSProbeOneResumedHandshake(t *testing.T) {
	e := newEnv(t)
	srv := startConnCounterTLS(t, mmtest.Config{Users: mmtest.GenerateUsers(300, 1)}, e.dir)
	f := e.fleet("targets:\n"+e.targetYAML("a", srv.URL, "tls: {ca_file: "+srv.CAFile+"}"), Options{IdleTimeout: time.Hour, ConnIdleTimeout: connIdle})
	probeUntilReady(t, f)
	probeN(t, f, 1, "")
	const probes = 5
	waitNoConns(t, f)
	opened, resumed := srv.opened.Load(), srv.resumed.Load()
	for i := 0; i < probes; i++ {
		probeN(t, f, 1, `mattermost_tls_certificate_verified{endpoint="mattermost"} 1`)
		waitNoConns(t, f)
	}
	if n := srv.opened.Load() - opened; n != probes {
		t.Errorf("%d probes opened %d connections, want %d (one each)", probes, n, probes)
	}
	if n := srv.resumed.Load() - resumed; n != probes {
		t.Errorf("%d probes resumed %d TLS sessions, want %d", probes, n, probes)
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

// blockingRT is a transport whose first call blocks until release is
// closed, then fails; the others succeed at once.
type blockingRT struct {
	calls   atomic.Int64
	release chan struct{}
}

func (rt *blockingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt.calls.Add(1) == 1 {
		<-rt.release
		return nil, errors.New("connection refused")
	}
	return &http.Response{StatusCode: http.StatusOK, ProtoMajor: 2, Body: http.NoBody, Request: req}, nil
}

// Requests to an HTTPS target with no connection wait for the first one;
// when it fails they go on by themselves (not one after the other), and a
// waiter whose context ends stops waiting.
func TestConnGateFirstRequestFails(t *testing.T) {
	rt := &blockingRT{release: make(chan struct{})}
	g := &connGate{next: rt}
	get := func(ctx context.Context) error {
		req := httptest.NewRequest(http.MethodGet, "https://mm.example/api/v4/system/ping", nil).WithContext(ctx)
		_, err := g.RoundTrip(req)
		return err
	}
	first := make(chan error, 1)
	go func() { first <- get(context.Background()) }()
	testhelp.WaitFor(t, 5*time.Second, "first request in the transport", func() bool { return rt.calls.Load() == 1 })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := get(ctx); err == nil || !strings.Contains(err.Error(), "waiting for the first connection") {
		t.Errorf("waiter with an ended context: %v", err)
	}
	const waiters = 5
	done := make(chan error, waiters)
	for i := 0; i < waiters; i++ {
		go func() { done <- get(context.Background()) }()
	}
	time.Sleep(50 * time.Millisecond)
	if n := rt.calls.Load(); n != 1 {
		t.Fatalf("%d requests reached the transport while the first was connecting, want 1", n)
	}
	close(rt.release)
	if err := <-first; err == nil {
		t.Error("the first request's error was lost")
	}
	for i := 0; i < waiters; i++ {
		if err := <-done; err != nil {
			t.Errorf("waiter: %v", err)
		}
	}
	if n := rt.calls.Load(); n != 1+waiters {
		t.Errorf("%d requests reached the transport, want %d", n, 1+waiters)
	}
}

// A server that answers HTTPS over HTTP/1.1 is not gated after its first
// answer (each request needs a connection of its own), nor is plain http.
func TestConnGateLearnsHTTP1(t *testing.T) {
	srv := mmtest.NewTLSServer(mmtest.Config{})
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	g := &connGate{next: tr}
	resp, err := g.RoundTrip(httptest.NewRequest(http.MethodGet, srv.URL+"/api/v4/system/ping", nil).WithContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	if resp.ProtoMajor != 1 || !g.http1 {
		t.Errorf("answer over %s; gate learnt HTTP/1.x: %v", resp.Proto, g.http1)
	}
}

// The others go once the first request is written, not when it is
// answered: a slow first answer does not hold them, and over HTTP/2 they
// share its connection.
func TestConnGateSlowFirstAnswer(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{})
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
	}))
	ts.EnableHTTP2 = true
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	tr := ts.Client().Transport.(*http.Transport).Clone()
	g := &connGate{next: tr, fleet: &connCounts{}}
	g.countDials(tr)
	get := func(path string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req := httptest.NewRequest(http.MethodGet, ts.URL+path, nil).WithContext(ctx)
		resp, err := g.RoundTrip(req)
		if err == nil {
			err = resp.Body.Close()
		}
		return err
	}
	slow := make(chan error, 1)
	go func() { slow <- get("/slow") }()
	select {
	case <-entered:
	case err := <-slow:
		t.Fatalf("slow request: %v", err)
	}
	if err := get("/fast"); err != nil {
		t.Fatalf("a request after the first one was written: %v", err)
	}
	select {
	case err := <-slow:
		t.Fatalf("the slow answer came first (%v): the test proves nothing", err)
	default:
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1 (shared over HTTP/2)", n)
	}
	if d, o := g.fleet.dials.Load(), g.fleet.open.Load(); d != 1 || o != 1 {
		t.Errorf("fleet counted %d dials and %d connections open, want 1 and 1", d, o)
	}
}
