package mmclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestSharedBodyLifetime(t *testing.T) {
	bp := getBodyBuf()
	*bp = append(*bp, "hello"...)
	s := newSharedBody(bp)
	r1, err := s.open()
	if err != nil {
		t.Fatal(err)
	}
	s.release() // the call returned; the transport still holds r1
	if s.refs != 1 || s.buf == nil {
		t.Fatalf("buffer released while a body is open (refs %d)", s.refs)
	}
	if b, err := io.ReadAll(r1); err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
	r2, err := s.open() // a GetBody copy
	if err != nil {
		t.Fatal(err)
	}
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r1.Read(make([]byte, 1)); !errors.Is(err, errBodyClosed) {
		t.Fatalf("read after close: %v", err)
	}
	_ = r1.Close() // idempotent: must not drop r2's reference
	if s.refs != 1 || s.buf == nil {
		t.Fatalf("after closing r1 twice: refs %d", s.refs)
	}
	if b, err := io.ReadAll(r2); err != nil || string(b) != "hello" {
		t.Fatalf("GetBody copy read %q, %v", b, err)
	}
	_ = r2.Close()
	if s.refs != 0 || s.buf != nil || s.data != nil {
		t.Fatalf("buffer kept after the last close: refs %d", s.refs)
	}
	if _, err := s.open(); !errors.Is(err, errBodyReleased) {
		t.Fatalf("open after release: %v", err)
	}
}

// TestPooledBodyOutlivesCall: a transport may read (and close) the request
// body after RoundTrip returned. The pooled buffer must not be reused by a
// later call before that, or the late reader would see the later call's ids.
func TestPooledBodyOutlivesCall(t *testing.T) {
	type late struct {
		body io.ReadCloser
		want string
	}
	var pending []late
	var getBodyOK bool
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.ContentLength <= 0 || r.GetBody == nil {
			t.Errorf("request: ContentLength %d, GetBody set %v", r.ContentLength, r.GetBody != nil)
		}
		if len(pending) == 0 {
			// First call: keep the body, read it only after later calls.
			want := `["` + strings.Repeat("a", 26) + `","` + strings.Repeat("b", 26) + `"]`
			pending = append(pending, late{r.Body, want})
			if gb, err := r.GetBody(); err == nil {
				b, _ := io.ReadAll(gb)
				_ = gb.Close()
				getBodyOK = string(b) == want
			}
		} else {
			_, _ = io.Copy(io.Discard, r.Body)
			_ = r.Body.Close()
		}
		return &http.Response{
			StatusCode: 200,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader("[]")),
			Request:    r,
		}, nil
	})
	c, err := New(Options{BaseURL: "http://mattermost.invalid", Token: "t", Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	noop := func(*Status) error { return nil }
	if err := c.StreamStatusesByIDs(ctx, []string{strings.Repeat("a", 26), strings.Repeat("b", 26)}, noop); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ { // later calls, likely to get a pooled buffer
		if err := c.StreamStatusesByIDs(ctx, []string{strings.Repeat("z", 26), strings.Repeat("y", 26)}, noop); err != nil {
			t.Fatal(err)
		}
	}
	if !getBodyOK {
		t.Error("GetBody did not replay the body")
	}
	b, err := io.ReadAll(pending[0].body)
	_ = pending[0].body.Close()
	if err != nil || string(b) != pending[0].want {
		t.Fatalf("late read of the first body: %q, %v; want %q", b, err, pending[0].want)
	}
}
