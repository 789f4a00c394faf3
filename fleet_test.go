package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-kit/log"

	"github.com/mmexporter/mattermost_exporter/probe"
)

func TestFleetStartupErrors(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "prod.token")
	if err := os.WriteFile(tok, []byte("secret-token-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yml")
	if err := os.WriteFile(good, []byte("targets:\n  - name: prod\n    url: https://chat.example.com\n    token_file: "+tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("targets:\n  - name: prod\n    url: https://chat.example.com\n    token_file: "+filepath.Join(dir, "missing")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
		code int
	}{
		{"config file and URL", nil, []string{"--config.file=" + good, "--mattermost.url=https://chat.example.com"},
			"mattermost_exporter: error: --config.file and --mattermost.url (or MATTERMOST_URL) are both given: pick one. Use --mattermost.url and --mattermost.token-file for one deployment, or --config.file (each target with its url, token_file and tls) for one or more", 1},
		{"config file and URL from env", []string{"MATTERMOST_URL=https://chat.example.com"}, []string{"--config.file=" + good, "--mattermost.token-file=" + tok},
			"--mattermost.url (or MATTERMOST_URL), --mattermost.token-file are both given: pick one", 1},
		{"missing token file", nil, []string{"--config.file=" + bad},
			`mattermost_exporter: error: config file "` + bad + `": target "prod": token_file "` + filepath.Join(dir, "missing") + `": no such file or directory`, 1},
		{"check a bad config", nil, []string{"--config.file=" + bad, "--config.check"},
			`target "prod": token_file`, 1},
		{"check a good config", nil, []string{"--config.file=" + good, "--config.check"}, "", 0},
		{"invalid collector flag", nil, []string{"--config.file=" + good, "--collector.users.batch-size=0"},
			`mattermost_exporter: error: config file "` + good + `": target "prod": collector users: --collector.users.batch-size must be between 1 and 10000, got 0`, 1},
		{"zero background limit", nil, []string{"--config.file=" + good, "--probe.max-background-requests=0"},
			"--probe.max-background-requests must be at least 1", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runMain(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d; stderr %q", code, tc.code, stderr)
			}
			if tc.want != "" && !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr:\n got %q\nwant it to contain %q", stderr, tc.want)
			}
			if tc.code == 0 && !strings.Contains(stdout, "is valid") {
				t.Errorf("stdout %q", stdout)
			}
			if strings.Count(strings.TrimRight(stderr, "\n"), "\n") > 0 {
				t.Errorf("more than one line on stderr: %q", stderr)
			}
			if strings.Contains(stdout+stderr, "secret-token-value") {
				t.Error("the token appears in the output")
			}
		})
	}
}

func TestReloadHandler(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "t.token")
	cfg := filepath.Join(dir, "c.yml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(tok, "tok")
	write(cfg, "targets:\n  - name: a\n    url: https://chat.example.com\n    token_file: "+tok+"\n")
	fleet, err := probe.New(probe.Options{ConfigFile: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	h := reloadHandler(fleet, log.NewNopLogger())
	do := func(method string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, "/-/reload", nil))
		return w
	}
	defer func(v bool) { *enableLifecycle = v }(*enableLifecycle)

	*enableLifecycle = false
	if w := do(http.MethodPost); w.Code != http.StatusForbidden {
		t.Errorf("without --web.enable-lifecycle: %d, want 403", w.Code)
	}
	*enableLifecycle = true
	if w := do(http.MethodGet); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", w.Code)
	}
	write(cfg, "targets:\n  - name: a\n    url: https://chat.example.com\n    token_file: "+tok+"\n  - name: b\n    url: https://chat2.example.com\n    token_file: "+tok+"\n")
	if w := do(http.MethodPost); w.Code != http.StatusOK || strings.Join(fleet.Names(), ",") != "a,b" {
		t.Errorf("POST: %d, targets %v", w.Code, fleet.Names())
	}
	write(cfg, "targets: [")
	w := do(http.MethodPost)
	if w.Code != http.StatusInternalServerError || strings.Count(strings.TrimSpace(w.Body.String()), "\n") != 0 {
		t.Errorf("bad config: %d %q", w.Code, w.Body.String())
	}
	if strings.Join(fleet.Names(), ",") != "a,b" {
		t.Errorf("bad config replaced the targets: %v", fleet.Names())
	}
}
