package mmtest

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
)

// Deployments serves many fake servers on one listener, each under its own
// path prefix /d/<i> (a Mattermost server root may have a path): a fleet of
// a thousand deployments for benchmarks without a thousand listeners. A
// request outside every prefix is answered 404.
type Deployments struct {
	// URL is the listener's root, "http://127.0.0.1:port".
	URL     string
	servers []*Server
	ts      *httptest.Server
}

// NewDeployments starts n fake servers, the i-th made from cfg(i), on one
// listener on 127.0.0.1. Close it when done.
func NewDeployments(n int, cfg func(i int) Config) *Deployments {
	return newDeployments(n, cfg, httptest.NewServer)
}

// NewTLSDeployments is NewDeployments over HTTPS with a self-signed
// certificate (HTTP/1.1 and HTTP/2); see CertificatePEM.
func NewTLSDeployments(n int, cfg func(i int) Config) *Deployments {
	return newDeployments(n, cfg, func(h http.Handler) *httptest.Server {
		ts := httptest.NewUnstartedServer(h)
		ts.EnableHTTP2 = true
		ts.StartTLS()
		return ts
	})
}

func newDeployments(n int, cfg func(i int) Config, start func(http.Handler) *httptest.Server) *Deployments {
	d := &Deployments{servers: make([]*Server, n)}
	for i := range d.servers {
		d.servers[i] = New(cfg(i))
	}
	d.ts = start(http.HandlerFunc(d.serveHTTP))
	d.URL = d.ts.URL
	return d
}

// CertificatePEM returns the PEM of the TLS certificate (nil over plain
// HTTP), for a client's CA file.
func (d *Deployments) CertificatePEM() []byte {
	if d.ts.TLS == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.ts.Certificate().Raw})
}

// StartDeployments is NewDeployments for a test: they close when tb's test
// ends.
func StartDeployments(tb TB, n int, cfg func(i int) Config) *Deployments {
	tb.Helper()
	d := NewDeployments(n, cfg)
	tb.Cleanup(d.Close)
	return d
}

// Len is the number of deployments.
func (d *Deployments) Len() int { return len(d.servers) }

// Server returns the i-th deployment (its setters and counters).
func (d *Deployments) Server(i int) *Server { return d.servers[i] }

// ServerURL is the i-th deployment's server root, d.URL + "/d/<i>".
func (d *Deployments) ServerURL(i int) string { return d.URL + "/d/" + strconv.Itoa(i) }

// Close stops the listener and closes its client connections.
func (d *Deployments) Close() {
	d.ts.CloseClientConnections()
	d.ts.Close()
}

func (d *Deployments) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/d/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	num, path, _ := strings.Cut(rest, "/")
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i >= len(d.servers) || strconv.Itoa(i) != num {
		http.NotFound(w, r)
		return
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path = "/" + path
	r2.URL.RawPath = ""
	d.servers[i].serveHTTP(w, r2)
}
