package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// proxyEnv is the environment without any proxy variable, plus extra.
func proxyEnv(extra ...string) []string {
	var env []string
	for _, kv := range cleanEnv() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "REQUEST_METHOD":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// recordingProxy is an HTTP proxy on loopback that records what it was
// asked for. Plain requests are answered by the fake Mattermost; CONNECT
// is refused (the request line is all the test needs).
type recordingProxy struct {
	mu   sync.Mutex
	seen []string
}

func (p *recordingProxy) handler(fake *mmtest.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		if r.Method == http.MethodConnect {
			p.seen = append(p.seen, "CONNECT "+r.Host)
		} else {
			p.seen = append(p.seen, r.Method+" "+r.URL.String())
		}
		p.mu.Unlock()
		if r.Method == http.MethodConnect {
			http.Error(w, "no tunnels here", http.StatusForbidden)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	})
}

func (p *recordingProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// The exporter honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY (its transport
// is a clone of http.DefaultTransport), and warns once when the token goes
// over plain http to a host that is not loopback.
func TestProxyFromEnvironment(t *testing.T) {
	fake := mmtest.Start(t, mmtest.Config{})
	tokenEnvVar := "MATTERMOST_TOKEN=" + mmtest.AdminToken

	t.Run("HTTP_PROXY and plain http", func(t *testing.T) {
		var p recordingProxy
		proxy := httptest.NewServer(p.handler(fake))
		t.Cleanup(proxy.Close)
		d := startDaemon(t, proxyEnv(tokenEnvVar, "HTTP_PROXY="+proxy.URL),
			"--mattermost.url=http://mattermost.invalid:8065", "--no-collector.users")
		if out := d.scrape(t); !strings.Contains(out, "\nmattermost_up 1\n") || !strings.Contains(out, clusterOK) {
			t.Errorf("scrape through the proxy failed:\n%s\n%s", out, d.stderr)
		}
		if got := p.requests(); !slices.Contains(got, "GET http://mattermost.invalid:8065/api/v4/system/ping") {
			t.Errorf("proxy saw %q", got)
		}
		if n := strings.Count(d.stderr.String(), "plain http://"); n != 1 {
			t.Errorf("%d plain-http warnings, want 1:\n%s", n, d.stderr)
		}
	})
	t.Run("HTTPS_PROXY", func(t *testing.T) {
		var p recordingProxy
		proxy := httptest.NewServer(p.handler(fake))
		t.Cleanup(proxy.Close)
		d := startDaemon(t, proxyEnv(tokenEnvVar, "HTTPS_PROXY="+proxy.URL),
			"--mattermost.url=https://mattermost.invalid", "--no-collector.users")
		d.scrape(t)
		if got := p.requests(); !slices.Contains(got, "CONNECT mattermost.invalid:443") {
			t.Errorf("proxy saw %q, want a CONNECT to mattermost.invalid:443", got)
		}
		if strings.Contains(d.stderr.String(), "plain http://") {
			t.Errorf("plain-http warning for an https URL:\n%s", d.stderr)
		}
	})
	t.Run("NO_PROXY", func(t *testing.T) {
		var p recordingProxy
		proxy := httptest.NewServer(p.handler(fake))
		t.Cleanup(proxy.Close)
		d := startDaemon(t, proxyEnv(tokenEnvVar, "HTTPS_PROXY="+proxy.URL, "NO_PROXY=.invalid"),
			"--mattermost.url=https://mattermost.invalid", "--no-collector.users")
		if out := d.scrape(t); !strings.Contains(out, "\nmattermost_up 0\n") {
			t.Errorf("mattermost.invalid answered?\n%s", out)
		}
		if got := p.requests(); len(got) != 0 {
			t.Errorf("proxy used despite NO_PROXY: %q", got)
		}
	})
	t.Run("loopback URL", func(t *testing.T) {
		// Go never proxies loopback hosts, and no warning: the token
		// stays on this machine.
		var p recordingProxy
		proxy := httptest.NewServer(p.handler(fake))
		t.Cleanup(proxy.Close)
		d := startDaemon(t, proxyEnv(tokenEnvVar, "HTTP_PROXY="+proxy.URL), "--mattermost.url="+fake.URL, "--no-collector.users")
		if out := d.scrape(t); !strings.Contains(out, "\nmattermost_up 1\n") {
			t.Errorf("scrape failed:\n%s", out)
		}
		if got := p.requests(); len(got) != 0 {
			t.Errorf("proxy used for a loopback URL: %q", got)
		}
		if strings.Contains(d.stderr.String(), "plain http://") {
			t.Errorf("plain-http warning for a loopback URL:\n%s", d.stderr)
		}
	})
}
