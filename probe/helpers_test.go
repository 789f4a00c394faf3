package probe

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(fakeFleetEnv); spec != "" {
		serveFakeFleet(spec) // the benchmark's child process; never returns
	}
	// The collectors read their flags' defaults; kingpin sets them at Parse.
	if _, err := kingpin.CommandLine.Parse(nil); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// env is a config directory with token files and fake servers.
type env struct {
	t    testing.TB
	dir  string
	logs *testhelp.LogBuffer
}

func newEnv(t testing.TB) *env {
	return &env{t: t, dir: t.TempDir(), logs: &testhelp.LogBuffer{}}
}

func (e *env) logger() log.Logger { return e.logs.Logger() }

// token writes a token file and returns its path.
func (e *env) token(name, token string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name+".token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// config writes the config file and returns its path.
func (e *env) config(body string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, "config.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// server starts a fake Mattermost.
func (e *env) server(cfg mmtest.Config) *mmtest.Server {
	return mmtest.Start(e.t, cfg)
}

// targetYAML is one targets: entry with the admin token.
func (e *env) targetYAML(name, url string, extra ...string) string {
	tok := e.token(name, mmtest.AdminToken)
	s := fmt.Sprintf("  - name: %s\n    url: %s\n    token_file: %s\n", name, url, tok)
	for _, x := range extra {
		s += "    " + x + "\n"
	}
	return s
}

// fleet starts a Fleet on the config body.
func (e *env) fleet(body string, opts Options) *Fleet {
	e.t.Helper()
	opts.ConfigFile = e.config(body)
	opts.Logger = e.logger()
	f, err := New(opts)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.t.Cleanup(f.Close)
	return f
}

// probe serves one /probe request with the raw query.
func probeReq(f *Fleet, rawQuery string) *httptest.ResponseRecorder {
	h := f.Handler(HandlerOpts{Timeout: func(*http.Request) time.Duration { return 5 * time.Second }})
	r := httptest.NewRequest(http.MethodGet, "/probe", nil)
	r.URL.RawQuery = rawQuery
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// newTLSCert returns the PEM certificate of a throwaway TLS fake.
func newTLSCert(t *testing.T) []byte {
	s := mmtest.NewTLSServer(mmtest.Config{})
	defer s.Close()
	return s.CertificatePEM()
}
