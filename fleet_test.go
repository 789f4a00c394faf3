package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
