//go:build linux

package collector

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// The environment of the child process of
// TestUsersCacheFileWriteDyingMidwayKeepsTheLastGoodFile.
const (
	dyingWriteURL  = "MMEXP_TEST_DYING_WRITE_URL"
	dyingWritePath = "MMEXP_TEST_DYING_WRITE_PATH"
)

// A cache file write that dies part-way leaves the last good file: an
// exporter killed, out of disk or over its file size limit while writing
// restarts from the file of its previous walk instead of walking again
// (or, worse, finding no file at all).
//
// The write is made to die deterministically: a second exporter process
// walks the same server with its file size limit (RLIMIT_FSIZE) at half
// the file, so its write fails with EFBIG in the middle of the ids, like a
// full disk. A file rewritten in place would be cut there; one written
// next to it and renamed over it is whole or absent.
func TestUsersCacheFileWriteDyingMidwayKeepsTheLastGoodFile(t *testing.T) {
	if url := os.Getenv(dyingWriteURL); url != "" {
		dyingWriteChild(t, url, os.Getenv(dyingWritePath))
		return
	}
	e := newCacheFileEnv(t, 1000, 11)
	e.writeFile(t)
	good, err := os.ReadFile(e.path)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestUsersCacheFileWriteDyingMidwayKeepsTheLastGoodFile$", "-test.v")
	cmd.Env = append(os.Environ(), dyingWriteURL+"="+e.srv.URL, dyingWritePath+"="+e.path)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "write failed as wanted") {
		t.Fatalf("the writing process: %v\n%s", err, out)
	}

	after, err := os.ReadFile(e.path)
	if err != nil {
		t.Fatalf("the last good file is gone: %v", err)
	}
	if string(after) != string(good) {
		t.Errorf("the last good file was changed by the write that died: %d bytes, was %d", len(after), len(good))
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(e.path), ".*")); len(left) != 0 {
		t.Errorf("the failed write left %v behind", left)
	}
	// The restarted exporter serves from the file, without a walk.
	c := e.collector(t, DefaultUsersConfig())
	if pages := e.startAndCount(t, c, e.users); pages != 0 {
		t.Errorf("restart walked %d GET /users pages, want 0", pages)
	}
	if got := loadResult(t, c, cacheLoaded); got != 1 {
		t.Errorf("loads{loaded} = %v, want 1", got)
	}
}

// dyingWriteChild walks the server at url with the cache file at path,
// under a file size limit of half the file; it reports whether the write
// failed with EFBIG.
func dyingWriteChild(t *testing.T, url, path string) {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = uint64(st.Size() / 2)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	client, err := mmclient.New(mmclient.Options{BaseURL: url, Token: mmtest.UserToken, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	cfg := DefaultUsersConfig()
	cfg.CacheFile = path
	c, err := NewUsersCollector(Deps{Client: client, Logger: logs.Logger()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := counterValue(c.cache.cacheWriteErrors); got != 1 || !strings.Contains(logs.String(), "file too large") {
		t.Fatalf("cache file write errors = %v; log:\n%s", got, logs.String())
	}
	fmt.Println("write failed as wanted")
}
