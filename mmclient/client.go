// Package mmclient is a small, typed client for the parts of the Mattermost
// REST API v4 that mattermost_exporter needs.
//
// One Client holds one http.Client (connection reuse); every call takes a
// context, authenticates with "Authorization: Bearer <token>", reads the
// response body through a size limit of its endpoint (counted after gzip
// decoding; element counts are bounded too), retries 429 answers after
// Retry-After (at most MaxRetryAfter, never past the context deadline; not
// at all for a context from WithoutRetries) and turns every non-2xx answer
// into an *APIError.
//
// The token never appears in an error string or a log line: it travels only
// in a header (Go's transport never puts header values into its errors), the
// AppError detailed_error (where a 401 says "token=<token>") is not kept, and
// every other piece of server-supplied text that goes into an error has the
// token replaced before it is cut short (a proxy's page may echo it). The
// same goes for the server's strings the client returns for display (ping
// status, cluster node fields, client config values).
package mmclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/time/rate"
)

// Endpoint names: bounded route names used in errors, RequestInfo and metrics.
const (
	EndpointPing            = "system_ping"
	EndpointClientConfig    = "config_client"
	EndpointClusterStatus   = "cluster_status"
	EndpointSAMLCertificate = "saml_certificate_status"
	EndpointStatusesByIDs   = "users_status_ids"
	EndpointUserStatus      = "user_status" // GET and PUT /users/{id}/status
	EndpointUserActive      = "user_active"
	EndpointUsers           = "users"
	EndpointUserStats       = "users_stats"
)

// Defaults applied by New.
const (
	// DefaultMaxBodyBytes is the ceiling on every response body cap when
	// Options.MaxBodyBytes is 0; each endpoint has a smaller cap of its own
	// (see the maxBody* constants).
	DefaultMaxBodyBytes = 64 << 20
	DefaultMaxRetries   = 3
	// DefaultRetryAfter is waited after a 429 without a usable Retry-After.
	DefaultRetryAfter = time.Second
	// MaxPerPage is the largest page size GET /users honours.
	MaxPerPage = 200
)

// Response body caps per endpoint, in decoded bytes, sized from what real
// servers send (testdata/) with ample headroom. Options.MaxBodyBytes is a
// ceiling over all of them.
const (
	// maxBodySmall: ping, SAML certificate status, user stats, one user's
	// status, user active (real answers are under 300 bytes).
	maxBodySmall = 64 << 10
	// maxBodyClientConfig: GET /config/client (8.7 KB on 11.2, 10-30 KB
	// with plugins and custom texts).
	maxBodyClientConfig = 1 << 20
	// maxBodyBase is the fixed part of a list answer's cap, to which each
	// element allowed adds its own share:
	maxBodyBase = 4 << 10
	// maxBodyPerStatus per id sent to POST /users/status/ids (elements are
	// about 120 bytes; 1000 ids answer ~120 KB).
	maxBodyPerStatus = 512
	// maxBodyPerUser per_page share of GET /users (users are 0.6-0.8 KB;
	// a 200-user page is ~130-200 KB).
	maxBodyPerUser = 8 << 10
	// maxBodyPerNode per cluster node allowed by MaxItems (a node is a
	// few hundred bytes).
	maxBodyPerNode = 16 << 10
)

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// maxDrain bounds how much of an unread body is discarded so the connection
// can be reused; larger leftovers close the connection instead.
const maxDrain = 256 << 10

// Options configures a Client.
type Options struct {
	BaseURL            string            // server root, e.g. "https://chat.example.com" (client appends /api/v4)
	Token              string            // sent as "Authorization: Bearer <token>"; never logged or in errors
	UserAgent          string            // default "mattermost_exporter/<version from prometheus/common/version>"
	CAFile             string            // PEM bundle added to verify the server
	InsecureSkipVerify bool              // logs a warning through Logger at New()
	Logger             log.Logger        // go-kit; nil = log.NewNopLogger()
	MaxBodyBytes       int64             // ceiling on every endpoint's own response body cap (decoded bytes); 0 = DefaultMaxBodyBytes
	MaxRetries         int               // 429 retries per call; 0 = default 3; negative = none
	Transport          http.RoundTripper // optional (tests, the fleet's smaller buffers); default NewTransport()
	// WrapTransport, when set, wraps the transport built from Transport
	// and the TLS options (the fleet's background request limiter).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	Observer      func(RequestInfo) // optional; called once per HTTP response or transport error (possibly concurrently)
}

// RequestInfo describes one finished HTTP exchange (for metrics).
type RequestInfo struct {
	Endpoint           string // bounded route name, see Endpoint* constants
	Code               int    // HTTP status code, 0 for a transport error
	RateLimitRemaining int    // from X-Ratelimit-Remaining, -1 when absent
	RateLimitLimit     int    // from X-Ratelimit-Limit, -1 when absent
}

// Client talks to one Mattermost server. It is safe for concurrent use.
type Client struct {
	api        string // base URL + "/api/v4", no trailing slash
	creds      atomic.Pointer[credentials]
	userAgent  string
	logger     log.Logger
	maxBody    int64
	maxRetries int
	hc         *http.Client
	observer   func(RequestInfo)
	version    atomic.Pointer[ServerVersion]
	tls        *TLSRecorder
	// versionWarn spaces the warnings about an X-Version-Id that does
	// not parse (at most one an hour).
	versionWarn  rate.Sometimes
	sleepTimerFn func(time.Duration) *time.Timer // tests may shorten waits
}

// New validates opts and builds a Client.
func New(opts Options) (*Client, error) {
	base, err := ParseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("mmclient: base URL: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	c := &Client{
		api:          base + "/api/v4",
		userAgent:    opts.UserAgent,
		logger:       logger,
		maxBody:      opts.MaxBodyBytes,
		maxRetries:   opts.MaxRetries,
		observer:     opts.Observer,
		sleepTimerFn: time.NewTimer,
		versionWarn:  rate.Sometimes{Interval: time.Hour},
	}
	if err := c.SetToken(opts.Token); err != nil {
		return nil, err
	}
	if c.userAgent == "" {
		v := version.Version
		if v == "" {
			v = "unknown"
		}
		c.userAgent = "mattermost_exporter/" + v
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}

	rt := opts.Transport
	needTLS := opts.CAFile != "" || opts.InsecureSkipVerify
	if rt == nil || needTLS {
		var tr *http.Transport
		switch t := rt.(type) {
		case nil:
			tr = NewTransport()
		case *http.Transport:
			tr = t.Clone()
		default:
			return nil, errors.New("mmclient: CAFile and InsecureSkipVerify need the default transport or an *http.Transport")
		}
		if needTLS {
			cfg := &tls.Config{MinVersion: tls.VersionTLS12}
			if tr.TLSClientConfig != nil {
				cfg = tr.TLSClientConfig.Clone()
			}
			if opts.CAFile != "" {
				pool, err := LoadCAPool(opts.CAFile)
				if err != nil {
					return nil, err
				}
				cfg.RootCAs = pool
			}
			if opts.InsecureSkipVerify {
				cfg.InsecureSkipVerify = true
				level.Warn(logger).Log("msg", "TLS certificate verification of the Mattermost server is disabled (insecure-skip-verify); use a CA file instead", "url", base)
			}
			tr.TLSClientConfig = cfg
		}
		rt = tr
	}
	// The recorder reads the TLS settings of the transport before it is
	// wrapped (the fleet's limiter).
	c.tls = NewTLSRecorder(base, rt)
	if opts.WrapTransport != nil {
		rt = opts.WrapTransport(rt)
	}
	c.hc = &http.Client{
		Transport: rt,
		// Redirects would resend the request with our Authorization header
		// only to the same host (Go strips it on cross-host redirects);
		// an API endpoint that redirects is a misconfiguration we report.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// credentials is the token in use and its Authorization header value.
type credentials struct {
	token string
	auth  string // "Bearer <token>" or ""
}

// SetToken replaces the token sent with every later request (a rotated
// token file); requests in flight keep the old one. Errors from then on
// redact the new token.
func (c *Client) SetToken(token string) error {
	if !httpguts.ValidHeaderFieldValue(token) {
		// Fail here rather than on every request (the transport rejects
		// such a header value).
		return errors.New("mmclient: token contains control characters")
	}
	cr := &credentials{token: token}
	if token != "" {
		cr.auth = "Bearer " + token
	}
	c.creds.Store(cr)
	return nil
}

// NewTransport is http.DefaultTransport (proxy from the environment, HTTP/2,
// 90 s idle timeout) with room for the parallel status batches of a sweep to
// keep their connections (the default keeps 2 idle per host), and a shorter
// dial timeout. Each call is bounded by its context, not by the transport.
func NewTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return tr
}

// ParseBaseURL checks a Mattermost server root URL (an absolute http or
// https URL with a host, no credentials, query or fragment) and returns it
// normalised: no trailing slash and no "/api/v4" suffix. It is the one URL
// validator of the project (the daemon's flag check uses it too). Its errors
// never contain the URL's userinfo: a password typed into the URL must not
// end up in a log.
func ParseBaseURL(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errors.New("empty URL")
	}
	shown := redactUserinfo(raw)
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("%q is not a valid URL: %s", shown, redactUserinfo(err.Error()))
	}
	if u.User != nil {
		return "", errors.New("the URL must not contain credentials; give the token separately")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q must start with http:// or https://", shown)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("%q has no host; use e.g. https://chat.example.com", shown)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("%q must not have a query or fragment; give the server root, e.g. https://chat.example.com", shown)
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	path = strings.TrimSuffix(path, "/api/v4")
	return u.Scheme + "://" + u.Host + path, nil
}

// redactUserinfo replaces the userinfo of every "//userinfo@" in s (with or
// without a scheme before it) with "xxxxx", working on the text so that it
// also covers URLs url.Parse rejects. It may hide more than userinfo in odd
// paths; it never shows less.
func redactUserinfo(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "//")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+2])
		s = s[i+2:]
		end := strings.IndexAny(s, "/?#\\\" \t")
		if end < 0 {
			end = len(s)
		}
		if at := strings.LastIndexByte(s[:end], '@'); at >= 0 {
			b.WriteString("xxxxx")
			s = s[at:]
		}
	}
}

// maxCAFileSize bounds a CA bundle (a full system bundle is about 200 KB).
const maxCAFileSize = 1 << 20

// LoadCAPool returns the system pool plus the certificates of the PEM file
// at path (at most 1 MiB). The project's one reader of CA files: the
// Mattermost client, the fleet targets and the SAML IdP client use it.
//
// Files of the same content share one pool while any caller holds it (a
// copy of the system pool is about 30 KB, once per fleet target before):
// callers must not add certificates to it.
func LoadCAPool(path string) (*x509.CertPool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mmclient: reading CA file: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only
	pem, err := io.ReadAll(io.LimitReader(f, maxCAFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("mmclient: reading CA file: %w", err)
	}
	if len(pem) > maxCAFileSize {
		return nil, fmt.Errorf("mmclient: CA file %q is larger than %d bytes", path, maxCAFileSize)
	}
	key := sha256.Sum256(pem)
	caPools.Lock()
	defer caPools.Unlock()
	if pool := caPools.m[key].Value(); pool != nil {
		return pool, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("mmclient: CA file %q contains no PEM certificates", path)
	}
	for k, p := range caPools.m {
		if p.Value() == nil {
			delete(caPools.m, k)
		}
	}
	caPools.m[key] = weak.Make(pool)
	return pool, nil
}

// caPools are the pools LoadCAPool made, by the SHA-256 of their file's
// content, for as long as they are in use.
var caPools = struct {
	sync.Mutex
	m map[[sha256.Size]byte]weak.Pointer[x509.CertPool]
}{m: map[[sha256.Size]byte]weak.Pointer[x509.CertPool]{}}

// CloseIdleConnections closes the connections kept for reuse (a stopped
// target's); requests in flight keep theirs.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// BaseURL returns the server root the client talks to, as normalised by
// ParseBaseURL (never credentials: New refuses a URL with userinfo).
func (c *Client) BaseURL() string { return strings.TrimSuffix(c.api, "/api/v4") }

// ServerVersion returns the last X-Version-Id seen on any response.
func (c *Client) ServerVersion() (ServerVersion, bool) {
	v := c.version.Load()
	if v == nil {
		return ServerVersion{}, false
	}
	return *v, true
}

// TLSState returns what the last TLS handshake with the server showed
// (see TLSState); false before the first one and for an http:// URL. It
// comes from the connections of the client's own requests.
func (c *Client) TLSState() (TLSState, bool) { return c.tls.State() }

// recordTLS keeps the TLS state of an exchange and logs a change of the
// server's certificate (once per change, not per request).
func (c *Client) recordTLS(resp *http.Response, err error) {
	st := c.tls.Record(resp, err)
	if st == nil {
		return
	}
	kv := []any{"subject_cn", st.SubjectCN, "issuer_cn", st.IssuerCN,
		"earliest_not_after", st.EarliestNotAfter.UTC().Format(time.RFC3339), "chain", len(st.Chain)}
	if st.Verified {
		level.Debug(c.logger).Log(append([]any{"msg", "TLS certificate of the Mattermost server"}, kv...)...)
		return
	}
	level.Warn(c.logger).Log(append([]any{"msg", "the Mattermost server's TLS certificate chain does not verify (mattermost_tls_certificate_verified 0)",
		"err", cutUTF8(st.VerifyError.Error(), maxErrorText)}, kv...)...)
}

// noRetriesKey is the context key of WithoutRetries.
type noRetriesKey struct{}

// WithoutRetries returns a context that makes the Client answer a 429 of
// calls made with it at once, as an *APIError (with RetryAfter set), instead
// of waiting Retry-After and retrying up to Options.MaxRetries. For callers
// that pace themselves on rate limiting (they see every 429).
func WithoutRetries(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetriesKey{}, true)
}

// retriesFor is the number of 429 retries for a call made with ctx.
func (c *Client) retriesFor(ctx context.Context) int {
	if off, _ := ctx.Value(noRetriesKey{}).(bool); off {
		return 0
	}
	return c.maxRetries
}

// request describes one API call.
type request struct {
	endpoint string
	method   string
	path     string // escaped, relative to /api/v4, starting with "/"
	query    string // raw query without "?"
	body     []byte // replayed on every retry; nil = no body
	// maxBody caps the (decoded) response body, see bodyLimit; 0 = only
	// Options.MaxBodyBytes.
	maxBody int64
	// passStatus, when non-zero, is a non-2xx status whose response goes
	// to the handler instead of becoming an *APIError (the 500 of an
	// unhealthy ping carries the normal body).
	passStatus int
}

// responseHandler consumes a 2xx response (or one of the request's
// passStatus). body is limited to the request's cap (reading past it fails
// with an error wrapping ErrBodyTooLarge).
type responseHandler func(resp *http.Response, body io.Reader) error

// do runs req, retrying 429s, and passes a 2xx (or passStatus) response to
// handle. Errors are prefixed with the endpoint name; those of handle are
// also redacted and cut to maxErrorText bytes.
func (c *Client) do(ctx context.Context, req request, handle responseHandler) error {
	if ctx == nil {
		return fmt.Errorf("%s: nil context", req.endpoint)
	}
	target := c.api + req.path
	if req.query != "" {
		target += "?" + req.query
	}
	maxRetries := c.retriesFor(ctx)
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if req.body != nil {
			body = bytes.NewReader(req.body) // sets GetBody: replayable
		}
		hreq, err := http.NewRequestWithContext(ctx, req.method, target, body)
		if err != nil {
			return fmt.Errorf("%s: %w", req.endpoint, err)
		}
		if auth := c.creds.Load().auth; auth != "" {
			hreq.Header.Set("Authorization", auth)
		}
		hreq.Header.Set("User-Agent", c.userAgent)
		hreq.Header.Set("Accept", "application/json")
		if req.body != nil {
			hreq.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.hc.Do(hreq)
		c.recordTLS(resp, err)
		if err != nil {
			c.observe(req.endpoint, 0, nil)
			return fmt.Errorf("%s: %w", req.endpoint, err)
		}
		c.observe(req.endpoint, resp.StatusCode, resp.Header)
		c.captureVersion(resp.Header)

		if (resp.StatusCode < 200 || resp.StatusCode > 299) && resp.StatusCode != req.passStatus {
			apiErr := c.readAPIError(req.endpoint, resp)
			closeBody(resp.Body)
			if resp.StatusCode != http.StatusTooManyRequests || attempt >= maxRetries {
				return apiErr
			}
			wait := apiErr.RetryAfter
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
				return apiErr
			}
			level.Debug(c.logger).Log("msg", "rate limited by Mattermost, retrying", "endpoint", req.endpoint, "wait", wait, "attempt", attempt+1)
			t := c.sleepTimerFn(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%w (retry abandoned: %w)", apiErr, ctx.Err())
			case <-t.C:
			}
			continue
		}

		err = c.handleBody(resp, req, handle)
		if err != nil {
			if ae, ok := err.(*APIError); ok {
				return ae
			}
			return c.boundedError(fmt.Errorf("%s: %w", req.endpoint, err))
		}
		return nil
	}
}

// handleBody passes a response to handle through the size limit and closes
// the body even if handle panics (an unclosed body pins its connection).
// The limit counts the bytes handle reads, i.e. after the transport's
// transparent gzip decoding: a small compressed bomb cannot expand past it.
func (c *Client) handleBody(resp *http.Response, req request, handle responseHandler) error {
	defer closeBody(resp.Body)
	err := handle(resp, http.MaxBytesReader(nil, resp.Body, c.bodyLimit(req)))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) && !errors.Is(err, ErrBodyTooLarge) {
		return fmt.Errorf("%w (%d bytes): %w", ErrBodyTooLarge, tooLarge.Limit, err)
	}
	return err
}

// bodyLimit is the response body cap of req: its endpoint's own, never more
// than Options.MaxBodyBytes.
func (c *Client) bodyLimit(req request) int64 {
	if req.maxBody > 0 && req.maxBody < c.maxBody {
		return req.maxBody
	}
	return c.maxBody
}

// maxErrorText bounds the text of a response handling error (decode errors
// quote the server: a JSON pointer holds its object names, a type error its
// number literal).
const maxErrorText = 512

// boundedError is an error whose text has the token redacted and is cut to
// maxErrorText bytes; errors.Is and errors.As still see the original.
type boundedError struct {
	msg string
	err error
}

func (e *boundedError) Error() string { return e.msg }
func (e *boundedError) Unwrap() error { return e.err }

func (c *Client) boundedError(err error) error {
	return &boundedError{msg: cutUTF8(c.redact(err.Error()), maxErrorText), err: err}
}

// minRedactLen is the shortest token redact replaces. Mattermost tokens
// are 26 characters; a shorter one (a test's "t") would match ordinary words
// and mangle every message ("limi[REDACTED] exceeded") while hiding nothing.
const minRedactLen = 8

const redactedMark = "[REDACTED]"

// redact replaces every occurrence of the token in s.
func (c *Client) redact(s string) string {
	token := c.creds.Load().token
	if len(token) < minRedactLen {
		return s
	}
	return strings.ReplaceAll(s, token, redactedMark)
}

// excerpt renders server-supplied bytes for an error or for display: one
// line of at most max bytes (see sanitizeExcerpt) without the token. The
// token is replaced before the cut, so a cut through it cannot leave most
// of it behind.
func (c *Client) excerpt(b []byte, limit int) string {
	s := c.redact(sanitizeExcerpt(b, limit+len(c.creds.Load().token)))
	return cutUTF8(s, limit)
}

func closeBody(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, maxDrain)
	_ = b.Close()
}

func (c *Client) observe(endpoint string, code int, h http.Header) {
	if c.observer == nil {
		return
	}
	c.observer(RequestInfo{
		Endpoint:           endpoint,
		Code:               code,
		RateLimitRemaining: headerInt(h, "X-Ratelimit-Remaining"),
		RateLimitLimit:     headerInt(h, "X-Ratelimit-Limit"),
	})
}

// headerInt returns the smallest non-negative integer among the values of
// header key (a server limiting per IP and per user sends it twice), or -1.
func headerInt(h http.Header, key string) int {
	if h == nil {
		return -1
	}
	best := -1
	for _, v := range h.Values(key) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			continue
		}
		if best < 0 || n < best {
			best = n
		}
	}
	return best
}

func (c *Client) captureVersion(h http.Header) {
	raw := h.Get("X-Version-Id")
	if raw == "" {
		return
	}
	if cur := c.version.Load(); cur != nil && cur.Raw == raw {
		return
	}
	if v, ok := c.parseVersion(raw); ok {
		c.version.Store(&v)
		return
	}
	c.versionWarn.Do(func() {
		level.Warn(c.logger).Log("msg", "ignoring an X-Version-Id header that does not parse; mattermost_server_info is not exported until one does (logged at most once an hour)",
			"x_version_id", cutUTF8(c.redact(raw), 128))
	})
}

// parseVersion parses an X-Version-Id (bounded by ParseVersionID); one
// holding the token (a proxy echoing it) is refused like a malformed one.
// A refused one gives the zero ServerVersion.
func (c *Client) parseVersion(raw string) (ServerVersion, bool) {
	v, err := ParseVersionID(raw)
	if err != nil || c.redact(raw) != raw {
		return ServerVersion{}, false
	}
	return v, true
}

// readAPIError builds the *APIError of a non-2xx response.
func (c *Client) readAPIError(endpoint string, resp *http.Response) *APIError {
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := c.apiError(endpoint, resp.StatusCode, resp.Header, body)
	if e.Message == "" && readErr != nil {
		e.Message = "reading error body: " + readErr.Error()
	}
	return e
}

// apiError builds the *APIError of an answer with status code, headers h
// and body: the fields of an AppError body, else an excerpt of the body.
func (c *Client) apiError(endpoint string, code int, h http.Header, body []byte) *APIError {
	e := &APIError{Endpoint: endpoint, StatusCode: code}
	if ae, ok := parseAppError(body); ok {
		e.ID = c.excerpt([]byte(ae.ID), maxExcerpt)
		e.Message = c.excerpt([]byte(ae.Message), maxExcerpt)
		e.RequestID = c.excerpt([]byte(ae.RequestID), maxExcerpt)
	} else {
		e.Message = c.excerpt(body, maxExcerpt)
	}
	if e.RequestID == "" {
		e.RequestID = c.excerpt([]byte(h.Get("X-Request-Id")), maxExcerpt)
	}
	if code == http.StatusTooManyRequests {
		e.RetryAfter = parseRetryAfter(h.Get("Retry-After"), time.Now())
	}
	return e
}

// MaxRetryAfter caps the Retry-After of a 429, numeric or HTTP date: a
// server (or proxy) asking for more is waited for this long at most (and
// never past the call's context deadline).
const MaxRetryAfter = 5 * time.Minute

// parseRetryAfter accepts delay-seconds or an HTTP date, capped at
// MaxRetryAfter; anything else (absent, negative, garbage) gives
// DefaultRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultRetryAfter
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return DefaultRetryAfter
		}
		return time.Duration(min(n, int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), MaxRetryAfter)
	}
	return DefaultRetryAfter
}

// readAll reads the whole (limited) body.
func readAll(body io.Reader) ([]byte, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	return b, nil
}
