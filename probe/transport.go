package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// backgroundKey marks the context given to a target's Exporter.Start: the
// users collector's id-cache walks and status sweeps run on contexts
// derived from it, so their requests carry the mark.
type backgroundKey struct{}

func backgroundContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool {
	v, _ := ctx.Value(backgroundKey{}).(bool)
	return v
}

// limitedTransport bounds, across every target, the background requests
// (walks and sweeps) in flight at once, so that a fleet of many targets
// whose caches refresh together cannot stampede the exporter's host or the
// network. A slot is held from the request until its body is closed, and
// at most maxHold: a stalled server cannot keep a slot for ever. Requests
// of the probes themselves (ping and every collector's per-scrape calls)
// are never limited.
type limitedTransport struct {
	next    http.RoundTripper
	slots   chan struct{} // shared by every target
	maxHold time.Duration
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isBackground(req.Context()) {
		return t.next.RoundTrip(req)
	}
	select {
	case t.slots <- struct{}{}:
	case <-req.Context().Done():
		return nil, fmt.Errorf("waiting for a background request slot: %w", context.Cause(req.Context()))
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.maxHold)
	var once sync.Once
	release := func() {
		once.Do(func() {
			cancel()
			<-t.slots
		})
	}
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody frees the request's slot when the body is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// CloseIdleConnections closes the idle connections of the wrapped transport
// (http.Client.CloseIdleConnections reaches it only through this).
func (t *limitedTransport) CloseIdleConnections() { closeIdle(t.next) }

// closeIdle closes the idle connections of rt, if it has any: the
// CloseIdleConnections of the wrappers around the transport.
func closeIdle(rt http.RoundTripper) {
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Buffer sizes of a fleet target's HTTP/1.1 connections. Each connection
// has one read and one write buffer (4 KiB each by default), and a probe
// opens about one connection per collector (they run in parallel); with
// --probe.keep-connections they stay between probes. Neither size bounds
// anything: a header line longer than the read buffer is read in pieces,
// and reads and writes larger than a buffer (an answer, the ids of a status
// batch) bypass it.
//
// Over HTTPS with HTTP/2 a target has one connection, whose frame reader
// keeps a buffer as large as the largest frame read: Go's transport lets the
// server send frames of up to 1 MiB (a 60 KiB status answer came as one
// frame, 76 KiB per target), fleet targets allow the protocol's default,
// 16 KiB (the server splits longer DATA into more frames).
const (
	fleetReadBufferSize   = 2 << 10
	fleetWriteBufferSize  = 1 << 10
	fleetMaxHTTP2ReadSize = 16 << 10
)

// DefaultConnIdleTimeout closes a fleet target's connections this long
// after their last request (unless KeepConnections): a kept-alive
// connection costs a target more than the rest of it
// (BenchmarkProbe1000Targets: over HTTPS its TLS and HTTP/2 buffers, about
// 95 KB; over HTTP/1.1 about 9 connections with 2 goroutines each), and
// fleets are probed every 15 s or more. Long enough for the requests of
// one probe or walk to share connections. Not an explicit close when the
// probe ends: that would also abort the dials still in flight (HTTP/1.1
// dials ahead for requests that then take a connection freed by another),
// which a server logs as TLS handshake errors.
const DefaultConnIdleTimeout = time.Second

// newTransport returns the transport of one fleet target and the gate to
// wrap around it (nil, nil with OneTarget: mmclient's default):
// mmclient.NewTransport with smaller connection buffers and HTTP/2 frames,
// counting its dials and open connections, and with its own TLS session
// cache: a fleet target reconnects at every probe (ConnIdleTimeout), and a
// resumed session spares the server a signature and the exporter a chain
// verification. The cache holds one session (a target talks to one host)
// and goes with the target.
func (f *Fleet) newTransport() (http.RoundTripper, *connGate) {
	if f.opts.OneTarget {
		return nil, nil
	}
	g := &connGate{fleet: &f.conns}
	tr := mmclient.NewTransport()
	tr.ReadBufferSize = fleetReadBufferSize
	tr.WriteBufferSize = fleetWriteBufferSize
	tr.HTTP2 = &http.HTTP2Config{MaxReadFrameSize: fleetMaxHTTP2ReadSize}
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(1)}
	if !f.opts.KeepConnections {
		tr.IdleConnTimeout = f.opts.ConnIdleTimeout
	}
	g.countDials(tr)
	return tr, g
}

// wrap returns the transport chain of a fleet target around rt: the
// fleet's background request limiter, then the target's connection gate
// (a background request waits for its slot before it can hold the gate).
// With OneTarget there is neither.
func (f *Fleet) wrap(g *connGate) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper {
		if g != nil {
			g.next = rt
			rt = g
		}
		if f.slots == nil {
			return rt
		}
		return &limitedTransport{next: rt, slots: f.slots, maxHold: f.opts.MaxHold}
	}
}

// connCounts are the fleet's connection counts, of all targets.
type connCounts struct {
	dials atomic.Int64 // connections the targets' transports opened
	open  atomic.Int64 // of them not closed yet
}

// connGate makes the first request of an HTTPS target that has no open
// connection go alone until it is written: when no connection is idle,
// Go's transport dials one for each waiting request, and learns only after
// each TLS handshake that the server speaks HTTP/2, where one connection
// would have served them all. Without it a probe whose target had closed its
// connections made 6.6
// TLS handshakes instead of 1 (BenchmarkProbe1000Targets/https). A server
// that answered over HTTP/1.1 (one request per connection) and plain http
// (no HTTP/2 without TLS) are not gated. A request waits for one first
// request at most: if that one fails, the others try for themselves.
type connGate struct {
	next  http.RoundTripper
	fleet *connCounts // counts the connections of all targets too

	mu      sync.Mutex
	open    int           // connections open
	http1   bool          // the server answered over HTTP/1.x
	warming chan struct{} // closed when the first request is written (or failed)
}

func (g *connGate) RoundTrip(req *http.Request) (*http.Response, error) {
	g.mu.Lock()
	// While the first request's connection is being made (counted open
	// from its dial, usable after its handshake) every other one waits.
	if w := g.warming; w != nil {
		g.mu.Unlock()
		select {
		case <-w:
		case <-req.Context().Done():
			return nil, fmt.Errorf("waiting for the first connection to the server: %w", context.Cause(req.Context()))
		}
		return g.next.RoundTrip(req)
	}
	if g.open > 0 || g.http1 || req.URL.Scheme != "https" {
		g.mu.Unlock()
		return g.next.RoundTrip(req)
	}
	w := make(chan struct{})
	g.warming = w
	g.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			g.mu.Lock()
			g.warming = nil
			g.mu.Unlock()
			close(w)
		})
	}
	// The others go once the request is written: its connection is then
	// made and, over HTTP/2, offered to them (the dial hands it over to
	// the pool before the request is written); they do not wait for a
	// slow answer.
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { release() },
	})
	resp, err := g.next.RoundTrip(req.WithContext(ctx))
	release()
	if err == nil && resp.ProtoMajor == 1 {
		g.mu.Lock()
		g.http1 = true
		g.mu.Unlock()
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of the transport
// behind the gate.
func (g *connGate) CloseIdleConnections() { closeIdle(g.next) }

// countDials makes tr count its dials and its connections open (in the
// gate and the fleet) until they are closed; the fleet's count stays right
// for connections still busy after their target stopped.
func (g *connGate) countDials(tr *http.Transport) {
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		g.fleet.dials.Add(1)
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		g.open++
		g.mu.Unlock()
		g.fleet.open.Add(1)
		return &gatedConn{Conn: c, g: g}, nil
	}
}

// gatedConn is a connection counted by its gate.
type gatedConn struct {
	net.Conn
	g    *connGate
	once sync.Once
}

func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.g.mu.Lock()
		c.g.open--
		c.g.mu.Unlock()
		c.g.fleet.open.Add(-1)
	})
	return err
}
