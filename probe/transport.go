package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
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

// Unwrap returns the wrapped transport (mmclient reads its TLS settings to
// check a chain accepted with insecure_skip_verify against the same roots).
func (t *limitedTransport) Unwrap() http.RoundTripper { return t.next }

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

// baseTransport returns the transport of one target: Go's default (proxy
// from the environment, HTTP/2) with room for a sweep's parallel batches
// and the target's TLS options. (mmclient builds the same for the
// single-target mode; it takes TLS options only with its own transport,
// and here the fleet's limiter wraps the transport.)
func baseTransport(tc TargetConfig) (*http.Transport, error) {
	tr := mmclient.NewTransport()
	if tc.TLS.CAFile != "" || tc.TLS.InsecureSkipVerify {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: tc.TLS.InsecureSkipVerify}
		if tc.TLS.CAFile != "" {
			pool, err := mmclient.LoadCAPool(tc.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("tls: ca_file: %w", err)
			}
			cfg.RootCAs = pool
		}
		tr.TLSClientConfig = cfg
	}
	return tr, nil
}
