package probe

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"syscall"
	"unicode"
)

// maxTokenFileSize bounds the token file (real tokens are 26 bytes).
const maxTokenFileSize = 4 << 10

// ReadTokenFile reads the API token from path: a regular file of at most
// maxTokenFileSize bytes, holding one token with optional surrounding
// whitespace and UTF-8 byte order mark. The file is stat'ed before it is
// opened (a FIFO would block the open, /dev/zero never ends) and the open
// itself does not block. It returns the token and the SHA-256 of the file's
// content. Errors name the file as what (a flag or a config file key) and
// its path, never the token.
func ReadTokenFile(what, path string) (string, [sha256.Size]byte, error) {
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
	if strings.IndexFunc(token, unicode.IsControl) >= 0 {
		return fail("contains control characters; it must hold a single token")
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

// tokenSentSafely reports whether the token sent to the (valid) Mattermost
// URL rawURL is protected: over https, or over http to a loopback host
// (localhost, 127.0.0.0/8, ::1) where it never crosses a network.
func tokenSentSafely(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return true
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
