package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

const (
	// maxTokenFileSize bounds the token file (real tokens are 26 bytes).
	maxTokenFileSize = 4 << 10
	// tokenFileFlag names the flag in errors.
	tokenFileFlag = "--mattermost.token-file"
	// unauthorizedRecheck spaces the token file checks triggered by HTTP
	// 401 answers.
	unauthorizedRecheck = 5 * time.Second
)

// readTokenFile reads the API token from path: a regular file of at most
// maxTokenFileSize bytes, holding one token with optional surrounding
// whitespace and UTF-8 byte order mark. The file is stat'ed before it is
// opened (a FIFO would block the open, /dev/zero never ends) and the open
// itself does not block. It returns the token and the SHA-256 of the file's
// content. Errors name the flag and the file, never the token.
func readTokenFile(path string) (string, [sha256.Size]byte, error) {
	return readTokenFileAs(tokenFileFlag, path)
}

// readTokenFileAs is readTokenFile with errors naming the file as what
// (a flag, or a config file key).
func readTokenFileAs(what, path string) (string, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	fail := func(format string, args ...any) (string, [sha256.Size]byte, error) {
		return "", sum, fmt.Errorf("%s %q: "+format, append([]any{what, path}, args...)...)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail("%v", pathErrCause(err))
	}
	if err := checkTokenFileInfo(fi); err != nil {
		return fail("%v", err)
	}
	// O_NONBLOCK: a FIFO swapped in after the Stat still cannot block
	// the open; the Stat of the open file below rejects it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fail("%v", pathErrCause(err))
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	if fi, err = f.Stat(); err != nil {
		return fail("%v", pathErrCause(err))
	}
	if err := checkTokenFileInfo(fi); err != nil {
		return fail("%v", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFileSize+1))
	if err != nil {
		return fail("%v", pathErrCause(err))
	}
	if len(b) > maxTokenFileSize {
		return fail("larger than %d bytes; it must hold only the Mattermost API token", maxTokenFileSize)
	}
	sum = sha256.Sum256(b)
	token := strings.TrimSpace(strings.TrimPrefix(string(b), "\uFEFF"))
	if token == "" {
		return fail("is empty; put the Mattermost API token in it")
	}
	if strings.IndexFunc(token, unicode.IsSpace) >= 0 {
		return fail("contains whitespace inside the token; it must hold a single token")
	}
	return token, sum, nil
}

func checkTokenFileInfo(fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (%s); give the file holding the token", fileKind(fi.Mode()))
	}
	if fi.Size() > maxTokenFileSize {
		return fmt.Errorf("%d bytes, larger than %d; it must hold only the Mattermost API token", fi.Size(), maxTokenFileSize)
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "mode " + m.String()
	}
}

// pathErrCause drops the *PathError's operation and path (the caller names
// the file already).
func pathErrCause(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// tokenSetter is the part of *mmclient.Client the reloader uses.
type tokenSetter interface {
	SetToken(token string) error
}

// tokenReloader re-reads the token file on SIGHUP and, at most once per
// unauthorizedRecheck, when Mattermost answers HTTP 401 (a token rotated in
// the file without a SIGHUP, e.g. a Kubernetes Secret update). A file that
// cannot be read, or holds no valid token, leaves the current token in use.
type tokenReloader struct {
	path   string
	logger log.Logger
	client tokenSetter // set before any request is made

	mu        sync.Mutex
	sum       [sha256.Size]byte // of the file content last installed
	lastCheck time.Time         // of the last 401-triggered check
}

func newTokenReloader(path string, sum [sha256.Size]byte, logger log.Logger) *tokenReloader {
	return &tokenReloader{path: path, sum: sum, logger: log.With(logger, "file", path)}
}

// reload re-reads the file (on SIGHUP) and logs one line saying what it did.
func (r *tokenReloader) reload(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed, err := r.reloadLocked()
	switch {
	case err != nil:
		level.Error(r.logger).Log("msg", "token file not reloaded; the current token stays in use", "reason", reason, "err", err)
	case changed:
		level.Info(r.logger).Log("msg", "token file reloaded; later requests use the new token", "reason", reason)
	default:
		level.Info(r.logger).Log("msg", "token file re-read; the token is unchanged", "reason", reason)
	}
}

// onUnauthorized is called for every HTTP 401 answer. At most once per
// unauthorizedRecheck it re-reads the file (at most 4 KiB) and installs the
// token if the content changed; concurrent 401s skip the check.
func (r *tokenReloader) onUnauthorized() {
	if !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.lastCheck) >= unauthorizedRecheck {
		r.lastCheck = now
	} else {
		return
	}
	changed, err := r.reloadLocked()
	switch {
	case err != nil:
		level.Warn(r.logger).Log("msg", "Mattermost refused the token (HTTP 401) and the token file could not be re-read", "err", err)
	case changed:
		level.Info(r.logger).Log("msg", "Mattermost refused the token (HTTP 401) and the token file changed: reloaded; later requests use the new token")
	default:
		level.Debug(r.logger).Log("msg", "Mattermost refused the token (HTTP 401); the token file is unchanged")
	}
}

func (r *tokenReloader) reloadLocked() (changed bool, err error) {
	token, sum, err := readTokenFile(r.path)
	if err != nil {
		return false, err
	}
	if sum == r.sum {
		return false, nil
	}
	if err := r.client.SetToken(token); err != nil {
		return false, fmt.Errorf("%s %q: %w", tokenFileFlag, r.path, err)
	}
	r.sum = sum
	return true, nil
}
