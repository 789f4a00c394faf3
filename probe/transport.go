package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
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
	if t.slots == nil || !isBackground(req.Context()) {
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

// limit wraps a target's transport in the fleet's background request
// limiter.
func (f *Fleet) limit(rt http.RoundTripper) http.RoundTripper {
	return &limitedTransport{next: rt, slots: f.slots, maxHold: f.opts.MaxHold}
}

// CloseIdleConnections closes the idle connections of the wrapped transport
// (http.Client.CloseIdleConnections reaches it only through this).
func (t *limitedTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Buffer sizes of a fleet target's HTTP/1.1 connections. Each idle
// keep-alive connection keeps one read and one write buffer (4 KiB each by
// default), and a started target keeps about one connection per collector
// (they run in parallel): 8 KiB of its ~210 KiB. Neither size bounds
// anything: a header line longer than the read buffer is read in pieces,
// and reads and writes larger than a buffer (an answer, the ids of a status
// batch) bypass it.
//
// Over HTTPS with HTTP/2 a target keeps one connection, whose frame reader
// keeps a buffer as large as the largest frame read: Go's transport lets the
// server send frames of up to 1 MiB (a 60 KiB status answer came as one
// frame, 76 KiB per target), fleet targets allow the protocol's default,
// 16 KiB (the server splits longer DATA into more frames).
const (
	fleetReadBufferSize   = 2 << 10
	fleetWriteBufferSize  = 1 << 10
	fleetMaxHTTP2ReadSize = 16 << 10
)

// newTransport returns the transport of one fleet target (nil with
// OneTarget: mmclient's default): mmclient.NewTransport with smaller
// connection buffers and HTTP/2 frames, counting its dials.
func (f *Fleet) newTransport() http.RoundTripper {
	if f.opts.OneTarget {
		return nil
	}
	tr := mmclient.NewTransport()
	tr.ReadBufferSize = fleetReadBufferSize
	tr.WriteBufferSize = fleetWriteBufferSize
	tr.HTTP2 = &http.HTTP2Config{MaxReadFrameSize: fleetMaxHTTP2ReadSize}
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		f.dials.Add(1)
		return dial(ctx, network, addr)
	}
	return tr
}
