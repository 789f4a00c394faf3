package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

func writeFile(t *testing.T, path string, content []byte) {
	t.Helper()
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
}

// daemon is main() running in a child process.
type daemon struct {
	cmd    *exec.Cmd
	stderr *testhelp.LogBuffer
	addr   string
	done   chan struct{}
	err    error // of cmd.Wait, once done is closed
}

// startDaemon runs main() in a child process listening on a free loopback
// address, waits until it serves its landing page and stops it with the
// test.
func startDaemon(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	d := &daemon{stderr: &testhelp.LogBuffer{}, addr: testhelp.FreeAddr(t), done: make(chan struct{})}
	args = append([]string{"--web.listen-address=" + d.addr}, args...)
	d.cmd = exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	d.cmd.Env = append(cleanEnv(), append([]string{runMainEnv + "=1"}, env...)...)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + d.addr + "/")
		if err == nil {
			resp.Body.Close()
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("exporter exited: %v\n%s", d.err, d.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter not serving after 30 s:\n%s", d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v\n%s", err, d.stderr)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: HTTP %d, %v", resp.StatusCode, err)
	}
	return string(b)
}

func (d *daemon) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// waitLog waits until the exporter's stderr contains s.
func (d *daemon) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(d.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q:\n%s", s, d.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const clusterOK = `mattermost_exporter_collector_success{collector="cluster"} 1`

// Token rotation end to end: SIGHUP reloads the file and does not kill the
// exporter; a token fixed in the file without SIGHUP is picked up after the
// next 401.
func TestTokenRotation(t *testing.T) {
	fake := mmtest.Start(t, mmtest.Config{})
	path := filepath.Join(t.TempDir(), "token")
	writeFile(t, path, []byte(mmtest.AdminToken+"\n"))
	d := startDaemon(t, nil, "--mattermost.url="+fake.URL, "--mattermost.token-file="+path, "--no-collector.users")
	if out := d.scrape(t); !strings.Contains(out, clusterOK) {
		t.Fatalf("first scrape failed:\n%s", out)
	}

	// SIGHUP with a revoked token in the file.
	writeFile(t, path, []byte("revoked-token-0123456789\n"))
	d.signal(t, syscall.SIGHUP)
	d.waitLog(t, "token file reloaded")
	if out := d.scrape(t); !strings.Contains(out, `mattermost_exporter_collector_success{collector="cluster"} 0`) {
		t.Errorf("scrape with the revoked token did not fail:\n%s", out)
	}
	// A second SIGHUP with the file unchanged: still alive, one line.
	d.signal(t, syscall.SIGHUP)
	d.waitLog(t, "the token is unchanged")

	// The good token back in the file, no signal: a later 401 (at most
	// one check per unauthorizedRecheck) picks it up.
	writeFile(t, path, []byte(mmtest.AdminToken+"\n"))
	begin := time.Now()
	for !strings.Contains(d.scrape(t), clusterOK) {
		if time.Since(begin) > 30*time.Second {
			t.Fatalf("token fixed in the file not picked up after 30 s:\n%s", d.stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	d.waitLog(t, "the token file changed: reloaded")

	d.signal(t, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit 30 s after SIGTERM")
	}
	if d.err != nil {
		t.Errorf("exit: %v\n%s", d.err, d.stderr)
	}
	logs := d.stderr.String()
	for _, secret := range []string{mmtest.AdminToken, "revoked-token-0123456789"} {
		if strings.Contains(logs, secret) {
			t.Errorf("a token is in the logs:\n%s", logs)
		}
	}
	if n := strings.Count(logs, "reason=SIGHUP"); n != 2 {
		t.Errorf("%d SIGHUP log lines, want 2:\n%s", n, logs)
	}
}

// Without a token file, SIGHUP is logged and ignored.
func TestSIGHUPWithoutTokenFile(t *testing.T) {
	fake := mmtest.Start(t, mmtest.Config{})
	d := startDaemon(t, []string{"MATTERMOST_TOKEN=" + mmtest.AdminToken}, "--mattermost.url="+fake.URL, "--no-collector.users")
	d.signal(t, syscall.SIGHUP)
	d.waitLog(t, "nothing to reload")
	if out := d.scrape(t); !strings.Contains(out, clusterOK) {
		t.Errorf("scrape after SIGHUP:\n%s", out)
	}
}
