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

// ReadTokenFile reads the API token from path (readSmall): a file of at
// most maxTokenFileSize bytes holding one token with optional surrounding
// whitespace and UTF-8 byte order mark. It returns the token and the
// SHA-256 of the file's content. Errors name the file as what (a flag or a
// config file key) and its path, never the token.
func ReadTokenFile(what, path string) (string, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	fail := func(format string, args ...any) (string, [sha256.Size]byte, error) {
		return "", sum, fmt.Errorf("%s %q: "+format, append([]any{what, path}, args...)...)
	}
	b, err := readSmall(path, maxTokenFileSize, "; give the file holding the token", "; it must hold only the Mattermost API token")
	if err != nil {
		return fail("%v", err)
	}
	sum = sha256.Sum256(b)
	token := strings.TrimSpace(strings.TrimPrefix(string(b), "\uFEFF"))
	switch {
	case token == "":
		return fail("is empty; put the Mattermost API token in it")
	case strings.IndexFunc(token, unicode.IsSpace) >= 0:
		return fail("contains whitespace inside the token; it must hold a single token")
	case strings.IndexFunc(token, unicode.IsControl) >= 0:
		return fail("contains control characters; it must hold a single token")
	}
	return token, sum, nil
}

// readSmall reads path, a regular file of at most limit bytes. The file is
// stat'ed before it is opened (a FIFO would block the open, /dev/zero never
// ends) and the open itself does not block. Errors name neither the
// operation nor the path; the hints end those of a file that is not regular
// or too large.
func readSmall(path string, limit int64, notRegularHint, tooLargeHint string) ([]byte, error) {
	check := func(fi fs.FileInfo) error {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("not a regular file (%s)%s", fileKind(fi.Mode()), notRegularHint)
		}
		if fi.Size() > limit {
			return fmt.Errorf("%d bytes, larger than %d%s", fi.Size(), limit, tooLargeHint)
		}
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, pathErrCause(err)
	}
	if err := check(fi); err != nil {
		return nil, err
	}
	// O_NONBLOCK: a FIFO swapped in after the Stat still cannot block
	// the open; the Stat of the open file below rejects it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, pathErrCause(err)
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	if fi, err = f.Stat(); err != nil {
		return nil, pathErrCause(err)
	}
	if err := check(fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, pathErrCause(err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes%s", limit, tooLargeHint)
	}
	return b, nil
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
