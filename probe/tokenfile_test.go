package probe

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeFile(t *testing.T, path string, content []byte) {
	t.Helper()
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A Kubernetes Secret volume: token -> ..data/token, a regular file.
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file("target", []byte("abc123\n")), link); err != nil {
		t.Fatal(err)
	}
	atLimit := strings.Repeat("t", maxTokenFileSize-1) + "\n"
	tests := []struct {
		name, path, want, wantErr string
	}{
		{name: "plain", path: file("plain", []byte("abc123")), want: "abc123"},
		{name: "surrounding whitespace", path: file("ws", []byte(" \t abc123\r\n\n")), want: "abc123"},
		{name: "symlink", path: link, want: "abc123"},
		{name: "UTF-8 BOM", path: file("bom", []byte("\uFEFFabc123\n")), want: "abc123"},
		{name: "4 KiB exactly", path: file("limit", []byte(atLimit)), want: strings.TrimSpace(atLimit)},
		{name: "one byte too big", path: file("big", []byte(atLimit+"x")), wantErr: "4097 bytes, larger than 4096"},
		{name: "empty", path: file("empty", nil), wantErr: "is empty"},
		{name: "only a BOM and blanks", path: file("bomonly", []byte("\uFEFF \n")), wantErr: "is empty"},
		{name: "inner whitespace", path: file("inner", []byte("abc 123\n")), wantErr: "contains whitespace"},
		{name: "two lines", path: file("lines", []byte("abc\n123\n")), wantErr: "contains whitespace"},
		{name: "control character", path: file("ctrl", []byte("abc\x1b123\n")), wantErr: "contains control characters"},
		{name: "missing", path: filepath.Join(dir, "missing"), wantErr: "no such file or directory"},
		{name: "directory", path: dir, wantErr: "not a regular file (a directory)"},
		{name: "FIFO", path: fifo, wantErr: "not a regular file (a FIFO)"},
		{name: "/dev/zero", path: "/dev/zero", wantErr: "not a regular file (a device)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var (
				token string
				sum   [sha256.Size]byte
				err   error
			)
			go func() {
				defer close(done)
				token, sum, err = ReadTokenFile("--mattermost.token-file", tc.path)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("ReadTokenFile blocked")
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if want := fmt.Sprintf("--mattermost.token-file %q: ", tc.path); !strings.HasPrefix(err.Error(), want) {
					t.Errorf("err = %q, want it to start with %q", err, want)
				}
				if strings.Contains(err.Error(), "abc") {
					t.Errorf("the token is in the error: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if token != tc.want {
				t.Errorf("token = %q, want %q", token, tc.want)
			}
			if sum == ([sha256.Size]byte{}) {
				t.Error("no content hash")
			}
		})
	}
}

func TestTokenSentSafely(t *testing.T) {
	for url, want := range map[string]bool{
		"https://chat.example.com":      true,
		"https://10.0.0.1:8065":         true,
		"http://localhost:8065":         true,
		"http://LOCALHOST.:8065":        true,
		"http://127.0.0.1:8065":         true,
		"http://127.1.2.3":              true,
		"http://[::1]:8065":             true,
		"http://[::ffff:127.0.0.1]:80":  true,
		"http://chat.example.com":       false,
		"http://10.0.0.1:8065":          false,
		"http://[2001:db8::1]:8065":     false,
		"http://mattermost:8065":        false,
		"http://localhost.example.com/": false,
		"http://128.0.0.1":              false,
	} {
		if got := tokenSentSafely(url); got != want {
			t.Errorf("tokenSentSafely(%q) = %v, want %v", url, got, want)
		}
	}
}
