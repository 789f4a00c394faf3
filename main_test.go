package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/collector"
	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
	"github.com/mmexporter/mattermost_exporter/probe"
)

// When set, the test binary runs main() with the arguments that follow
// "--" instead of the tests, so tests can check exit codes and stderr.
const runMainEnv = "MATTERMOST_EXPORTER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		args := []string{programName}
		for i, a := range os.Args {
			if a == "--" {
				args = append(args, os.Args[i+1:]...)
				break
			}
		}
		os.Args = args
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs main() in a child process with args and extra environment.
func runMain(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(cleanEnv(), append([]string{runMainEnv + "=1"}, env...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatalf("running main: %v", err)
	}
	return out.String(), errOut.String(), code
}

// cleanEnv is the test's environment without the exporter's variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MATTERMOST_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func TestStartupValidationExitsWithOneLine(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no URL", []string{"MATTERMOST_TOKEN=secret-token-value"}, nil,
			"mattermost_exporter: error: --mattermost.url is required (or set MATTERMOST_URL)"},
		{"no token", nil, []string{"--mattermost.url=http://127.0.0.1:1"},
			"mattermost_exporter: error: a Mattermost API token is required: set --mattermost.token-file or the MATTERMOST_TOKEN environment variable"},
		{"unreadable token file", nil, []string{"--mattermost.url=http://127.0.0.1:1", "--mattermost.token-file=" + filepath.Join(dir, "missing")},
			`mattermost_exporter: error: --mattermost.token-file "` + filepath.Join(dir, "missing") + `": no such file or directory`},
		{"empty token file", nil, []string{"--mattermost.url=http://127.0.0.1:1", "--mattermost.token-file=" + empty},
			`mattermost_exporter: error: --mattermost.token-file "` + empty + `": is empty; put the Mattermost API token in it`},
		{"token file is a FIFO", nil, []string{"--mattermost.url=http://127.0.0.1:1", "--mattermost.token-file=" + fifo},
			`mattermost_exporter: error: --mattermost.token-file "` + fifo + `": not a regular file (a FIFO); give the file holding the token`},
		{"token file is /dev/zero", nil, []string{"--mattermost.url=http://127.0.0.1:1", "--mattermost.token-file=/dev/zero"},
			`mattermost_exporter: error: --mattermost.token-file "/dev/zero": not a regular file (a device); give the file holding the token`},
		{"URL without scheme", []string{"MATTERMOST_TOKEN=secret-token-value"}, []string{"--mattermost.url=chat.example.com"},
			`mattermost_exporter: error: --mattermost.url: "chat.example.com" must start with http:// or https://`},
		{"URL from env with bad scheme", []string{"MATTERMOST_TOKEN=secret-token-value", "MATTERMOST_URL=ftp://chat.example.com"}, nil,
			`mattermost_exporter: error: --mattermost.url: "ftp://chat.example.com" must start with http:// or https://`},
		{"unknown flag", []string{"MATTERMOST_TOKEN=secret-token-value"}, []string{"--mattermost.token=x"},
			"mattermost_exporter: error: unknown long flag '--mattermost.token', try --help"},
		{"missing CA file", []string{"MATTERMOST_TOKEN=secret-token-value"}, []string{"--mattermost.url=https://127.0.0.1:1", "--mattermost.tls.ca-file=" + filepath.Join(dir, "ca.pem")},
			"mattermost_exporter: error: Mattermost client: mmclient: reading CA file: open " + filepath.Join(dir, "ca.pem") + ": no such file or directory"},
		{"CA file without certificates", []string{"MATTERMOST_TOKEN=secret-token-value"}, []string{"--mattermost.url=https://127.0.0.1:1", "--mattermost.tls.ca-file=" + empty},
			`mattermost_exporter: error: Mattermost client: mmclient: CA file "` + empty + `" contains no PEM certificates`},
		{"invalid collector setting", []string{"MATTERMOST_TOKEN=secret-token-value"}, []string{"--mattermost.url=http://127.0.0.1:1", "--collector.users.batch-size=0"},
			"mattermost_exporter: error: collector users: --collector.users.batch-size must be between 1 and 10000, got 0"},
		{"telemetry path without slash", []string{"MATTERMOST_TOKEN=secret-token-value"}, []string{"--mattermost.url=http://127.0.0.1:1", "--web.telemetry-path=metrics"},
			`mattermost_exporter: error: --web.telemetry-path "metrics" must be a URL path starting with / (no spaces or braces), e.g. /metrics`},
		{"empty telemetry path", []string{"MATTERMOST_TOKEN=secret-token-value"}, []string{"--mattermost.url=http://127.0.0.1:1", "--web.telemetry-path="},
			`mattermost_exporter: error: --web.telemetry-path "" must be a URL path starting with / (no spaces or braces), e.g. /metrics`},
		{"telemetry path with a wildcard", []string{"MATTERMOST_TOKEN=secret-token-value"}, []string{"--mattermost.url=http://127.0.0.1:1", "--web.telemetry-path=/{x}"},
			`mattermost_exporter: error: --web.telemetry-path "/{x}" must be a URL path starting with / (no spaces or braces), e.g. /metrics`},
		{"negative timeout offset", []string{"MATTERMOST_TOKEN=secret-token-value"}, []string{"--mattermost.url=http://127.0.0.1:1", "--scrape.timeout-offset=-1s"},
			"mattermost_exporter: error: --scrape.timeout-offset must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runMain(t, tc.env, tc.args...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			if got := strings.TrimRight(stderr, "\n"); got != tc.want {
				t.Errorf("stderr:\n got %q\nwant %q", got, tc.want)
			}
			if strings.Contains(stderr, "secret-token-value") {
				t.Error("the token appears on stderr")
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	stdout, stderr, code := runMain(t, nil, "--version")
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout+stderr, "mattermost_exporter, version") {
		t.Errorf("--version printed %q %q", stdout, stderr)
	}
}

func TestValidateConfig(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("  file-token-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	twoTokens := filepath.Join(dir, "two")
	if err := os.WriteFile(twoTokens, []byte("abc def\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name, url, file string
		env             map[string]string
		wantToken       string
		wantSource      string
		wantErr         string
	}{
		{name: "token file trimmed", url: "https://chat.example.com", file: tokenFile, wantToken: "file-token-123", wantSource: "file " + tokenFile},
		{name: "token file wins over env", url: "http://10.0.0.1:8065/", file: tokenFile, env: map[string]string{"MATTERMOST_TOKEN": "env-token"}, wantToken: "file-token-123", wantSource: "file " + tokenFile},
		{name: "env token", url: "https://chat.example.com/mattermost", env: map[string]string{"MATTERMOST_TOKEN": "env-token\n"}, wantToken: "env-token", wantSource: "environment variable MATTERMOST_TOKEN"},
		{name: "no host", url: "https://", env: map[string]string{"MATTERMOST_TOKEN": "t"}, wantErr: "has no host"},
		{name: "credentials in URL", url: "https://user:pw@chat.example.com", env: map[string]string{"MATTERMOST_TOKEN": "t"}, wantErr: "must not contain credentials"},
		{name: "query in URL", url: "https://chat.example.com/?x=1", env: map[string]string{"MATTERMOST_TOKEN": "t"}, wantErr: "must not have a query"},
		{name: "unparsable URL", url: "http://[::1", env: map[string]string{"MATTERMOST_TOKEN": "t"}, wantErr: "is not a valid URL"},
		{name: "userinfo and no host", url: "https://user:pa55word@/x", env: map[string]string{"MATTERMOST_TOKEN": "t"}, wantErr: "must not contain credentials"},
		{name: "userinfo without scheme", url: "//user:pa55word@chat.example.com/", env: map[string]string{"MATTERMOST_TOKEN": "t"}, wantErr: "must not contain credentials"},
		{name: "userinfo without scheme, unparsable", url: "//user:pa55word@[::1/x", env: map[string]string{"MATTERMOST_TOKEN": "t"}, wantErr: "xxxxx@"},
		{name: "userinfo in unparsable URL", url: "https://user:pa55word@[::1/x", env: map[string]string{"MATTERMOST_TOKEN": "t"}, wantErr: "xxxxx@"},
		{name: "token with inner whitespace", url: "https://chat.example.com", file: twoTokens, wantErr: "contains whitespace"},
		{name: "blank URL", url: "  ", env: map[string]string{"MATTERMOST_TOKEN": "t"}, wantErr: "--mattermost.url is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token, source, _, err := validateConfig(tc.url, tc.file, env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				if strings.Contains(err.Error(), "abc def") {
					t.Error("the token is in the error")
				}
				if strings.Contains(err.Error(), "pa55word") {
					t.Errorf("the URL's password is in the error: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if token != tc.wantToken || source != tc.wantSource {
				t.Errorf("got token %q source %q, want %q %q", token, source, tc.wantToken, tc.wantSource)
			}
		})
	}
}

func TestScrapeTimeout(t *testing.T) {
	const fallback, offset = 10 * time.Second, 500 * time.Millisecond
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", fallback},
		{"15", 14500 * time.Millisecond},
		{"2.5", 2 * time.Second},
		{"0.4", 400 * time.Millisecond}, // offset larger than the timeout: ignored
		{"garbage", fallback},
		{"-3", fallback},
		{"0", fallback},
		{"NaN", fallback},
		{"nan", fallback},
		{"+Inf", fallback},
		{"-Inf", fallback},
		{"Infinity", fallback},
		{"1e-300", fallback}, // positive but below a nanosecond
		{"1e300", maxScrapeTimeout - offset},
		{"3600", maxScrapeTimeout - offset},
		{" 15 ", 14500 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := scrapeTimeout(tc.header, fallback, offset); got != tc.want {
			t.Errorf("scrapeTimeout(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestLoggers(t *testing.T) {
	t.Run("logfmt at warn", func(t *testing.T) {
		var buf bytes.Buffer
		logger, slogger := newLoggers(&buf, "warn", "logfmt")
		level.Info(logger).Log("msg", "hidden")
		level.Warn(logger).Log("msg", "shown")
		slogger.Info("hidden too")
		slogger.Error("from slog")
		out := buf.String()
		if strings.Contains(out, "hidden") {
			t.Errorf("info lines passed a warn filter:\n%s", out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("got %d lines, want 2:\n%s", len(lines), out)
		}
		for i, l := range lines {
			timeKey := "ts=" // go-kit line first, then the slog one
			if i == 1 {
				timeKey = "time="
			}
			for _, key := range []string{timeKey, "caller=main_test.go:", "level=", "msg="} {
				if !strings.Contains(l, key) {
					t.Errorf("line lacks %s: %s", key, l)
				}
			}
		}
		if !strings.Contains(lines[0], "caller=main_test.go:") {
			t.Errorf("caller is not the call site: %s", lines[0])
		}
	})
	t.Run("json at debug", func(t *testing.T) {
		var buf bytes.Buffer
		logger, slogger := newLoggers(&buf, "debug", "json")
		level.Debug(logger).Log("msg", "dbg", "n", 3)
		slogger.Debug("from slog", "address", ":10065")
		dec := json.NewDecoder(&buf)
		for i := 0; i < 2; i++ {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("line %d is not JSON: %v", i, err)
			}
			if m["level"] != "debug" || (m["ts"] == nil && m["time"] == nil) {
				t.Errorf("line %d: %v", i, m)
			}
		}
	})
}

// blockingCollector blocks every Update until release is closed.
type blockingCollector struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestMetricsHandlerMaxRequests(t *testing.T) {
	fake := mmtest.Start(t, mmtest.Config{})
	client, err := mmclient.New(mmclient.Options{BaseURL: fake.URL, Token: mmtest.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	bc := &blockingCollector{entered: make(chan struct{}, 1), release: make(chan struct{})}
	exp := collector.NewExporter(collector.Deps{Client: client}, map[string]collector.Collector{"block": bc})
	h := probe.ScrapeHandler(probe.HandlerOpts{MaxRequests: 1, Timeout: func(*http.Request) time.Duration { return time.Minute }}, exporterScrape(exp))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	first := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Error(err)
			close(first)
			return
		}
		first <- resp
	}()
	<-bc.entered // the first scrape holds the only slot
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second concurrent scrape: HTTP %d %s, want 503", resp.StatusCode, body)
	}
	close(bc.release)
	r1, ok := <-first
	if !ok {
		return
	}
	b1, _ := io.ReadAll(r1.Body)
	r1.Body.Close()
	if r1.StatusCode != 200 || !strings.Contains(string(b1), `mattermost_exporter_collector_success{collector="block"} 1`) {
		t.Errorf("first scrape: HTTP %d\n%s", r1.StatusCode, b1)
	}
}

// The scrape deadline comes from Prometheus' header minus the offset.
func TestMetricsHandlerDeadlineFromHeader(t *testing.T) {
	fake := mmtest.Start(t, mmtest.Config{})
	client, err := mmclient.New(mmclient.Options{BaseURL: fake.URL, Token: mmtest.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	var got time.Duration
	deadline := funcCollector(func(ctx context.Context, _ chan<- prometheus.Metric) error {
		d, ok := ctx.Deadline()
		if !ok {
			return errors.New("no deadline")
		}
		got = time.Until(d)
		return nil
	})
	exp := collector.NewExporter(collector.Deps{Client: client}, map[string]collector.Collector{"probe": deadline})
	h := probe.ScrapeHandler(probe.HandlerOpts{Timeout: scrapeDeadline(10*time.Second, 500*time.Millisecond)}, exporterScrape(exp))
	for _, tc := range []struct {
		header   string
		min, max time.Duration
	}{
		{"120", 100 * time.Second, 119500 * time.Millisecond},
		{"", 5 * time.Second, 10 * time.Second},
		{"NaN", 5 * time.Second, 10 * time.Second},
		{"Inf", 5 * time.Second, 10 * time.Second},
		{"-Inf", 5 * time.Second, 10 * time.Second},
		{"0", 5 * time.Second, 10 * time.Second},
		{"-1", 5 * time.Second, 10 * time.Second},
		{"soon", 5 * time.Second, 10 * time.Second},
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tc.header != "" {
			req.Header.Set(scrapeTimeoutHeader, tc.header)
		}
		got = 0
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("HTTP %d", rec.Code)
		}
		if !strings.Contains(rec.Body.String(), `mattermost_exporter_collector_success{collector="probe"} 1`) {
			t.Errorf("header %q: the probe saw no deadline", tc.header)
		}
		if got < tc.min || got > tc.max {
			t.Errorf("header %q: deadline in %v, want within [%v, %v]", tc.header, got, tc.min, tc.max)
		}
	}
}

type funcCollector func(context.Context, chan<- prometheus.Metric) error

func (f funcCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return f(ctx, ch)
}

// exporterScrape scrapes exp on every request.
func exporterScrape(exp *collector.Exporter) func(*http.Request) (probe.Scrape, string) {
	return func(*http.Request) (probe.Scrape, string) {
		return func(ctx context.Context) (prometheus.Gatherer, error) {
			reg := prometheus.NewRegistry()
			return reg, reg.Register(exp.ScrapeCollector(ctx))
		}, ""
	}
}

// The web server closes idle keep-alive connections after idleTimeout, so
// that clients leaving connections open cannot pile them up.
func TestHTTPServerClosesIdleConnections(t *testing.T) {
	old := idleTimeout
	idleTimeout = time.Second
	t.Cleanup(func() { idleTimeout = old })
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), nil, time.Minute)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout != time.Minute+writeMargin || srv.IdleTimeout != time.Second {
		t.Fatalf("timeouts: read header %v, read %v, write %v, idle %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	const n = 300
	conns := make([]net.Conn, 0, n)
	readers := make([]*bufio.Reader, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: exporter\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			t.Fatalf("connection %d: the server did not keep it alive", i)
		}
		readers = append(readers, br)
	}
	idleSince := time.Now()
	for i, c := range conns {
		if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := readers[i].ReadByte(); err != io.EOF {
			t.Fatalf("connection %d: read = %v, want EOF (closed by the server)", i, err)
		}
	}
	// Every connection was idle at least since idleSince.
	if d := time.Since(idleSince); d < 900*time.Millisecond {
		t.Errorf("idle connections closed after %v, before the idle timeout", d)
	}
}
