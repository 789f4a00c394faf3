package mmclient

import (
	"errors"
	"io"
	"sync"
)

// Request bodies of POST /users/status/ids (about 29 KB for 1000 ids) come
// from bodyBufPool. A buffer goes back to the pool only when nothing can
// read it any more: the call has returned and the transport has closed
// every body it was handed for the call (the first one and any GetBody
// copies for its own retries). http.RoundTripper may close (and read) a
// request body after RoundTrip returned, so the call's return alone is not
// enough. A body that is never closed (http.Client opens one through
// GetBody for a 307/308 redirect it then does not follow, as CheckRedirect
// refuses) just leaves its buffer to the garbage collector.

// maxPooledBody bounds the buffers kept in the pool (10000 ids, the largest
// batch, take about 290 KB).
const maxPooledBody = 512 << 10

var bodyBufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 32<<10)
	return &b
}}

// getBodyBuf returns an empty pooled buffer.
func getBodyBuf() *[]byte {
	bp := bodyBufPool.Get().(*[]byte)
	*bp = (*bp)[:0]
	return bp
}

// putBodyBuf returns a buffer to the pool.
func putBodyBuf(bp *[]byte) {
	if cap(*bp) > maxPooledBody {
		return
	}
	*bp = (*bp)[:0]
	bodyBufPool.Put(bp)
}

var (
	errBodyReleased = errors.New("request body buffer already released")
	errBodyClosed   = errors.New("read from a closed request body")
)

// sharedBody is one call's pooled request body. refs counts the call itself
// and every reader not yet closed; the buffer goes back to the pool when it
// drops to zero.
type sharedBody struct {
	mu   sync.Mutex
	buf  *[]byte
	data []byte
	refs int
}

// newSharedBody takes ownership of bp (holding the body) for one call; the
// call drops its reference with release.
func newSharedBody(bp *[]byte) *sharedBody {
	return &sharedBody{buf: bp, data: *bp, refs: 1}
}

// open returns a new reader over the whole body.
func (s *sharedBody) open() (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 {
		return nil, errBodyReleased
	}
	s.refs++
	return &sharedBodyReader{s: s}, nil
}

// release drops the call's reference.
func (s *sharedBody) release() {
	s.mu.Lock()
	s.unref()
	s.mu.Unlock()
}

// unref drops one reference; s.mu is held.
func (s *sharedBody) unref() {
	s.refs--
	if s.refs == 0 {
		putBodyBuf(s.buf)
		s.buf, s.data = nil, nil
	}
}

// sharedBodyReader is one request body handed to the transport. Reads and
// Close are serialized, so no read touches the buffer once it is closed.
type sharedBodyReader struct {
	s      *sharedBody
	off    int
	closed bool
}

func (r *sharedBodyReader) Read(p []byte) (int, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.closed {
		return 0, errBodyClosed
	}
	if r.off >= len(r.s.data) {
		return 0, io.EOF
	}
	n := copy(p, r.s.data[r.off:])
	r.off += n
	return n, nil
}

func (r *sharedBodyReader) Close() error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.s.unref()
	}
	return nil
}
