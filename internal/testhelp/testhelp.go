// Package testhelp holds the helpers the tests of every package share: a
// log buffer, a poll-until helper, a free port and a self-signed CA
// certificate. (The fake Mattermost for tests is mmtest.Start.)
package testhelp

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
)

// LogBuffer is a log sink safe for concurrent writes.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger returns a go-kit logfmt logger writing to b.
func (b *LogBuffer) Logger() log.Logger { return log.NewLogfmtLogger(b) }

// LinesContaining returns the lines holding every one of subs.
func (b *LogBuffer) LinesContaining(subs ...string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		ok := l != ""
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// WaitFor polls cond every 2 ms until it holds, and fails the test if it
// does not within limit; what names the awaited condition in the failure.
// (Tests wait for counters to reach an exact value, so the polling is
// fast; a cond that is costly paces itself.)
func WaitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// FreeAddr returns a 127.0.0.1 address that was free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
