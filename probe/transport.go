package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
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
// of the probes themselves (ping, cluster, saml) are never limited.
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
