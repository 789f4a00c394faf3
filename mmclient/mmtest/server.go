package mmtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// Tokens of the two sessions the fake knows. They are fake values for tests
// and the demo only.
const (
	AdminToken = "fake-admin-token" // system_admin session
	UserToken  = "fake-user-token"  // plain system_user session
)

// Ids and usernames of the accounts behind AdminToken and UserToken.
const (
	AdminUserID   = "fakeadminuser0000000000000"
	AdminUsername = "fake-admin"
	UserUserID    = "fakeplainuser0000000000000"
	UserUsername  = "fake-user"
)

// DefaultVersion is the X-Version-Id sent in Era537 when Config.Version is
// empty; it is the value recorded from the real 5.37.0 Team Edition server.
// See DefaultVersion11 for Era11.
const DefaultVersion = "5.37.0.dev.69eecffd97ac52aa7ded7e85cca56e52.false"

// Endpoint names used by the request counters and SetFault: the client's
// route names, so that a test can compare the fake's counters with the
// exporter's mattermost_exporter_api_requests_total, plus a few of the fake's own.
const (
	EndpointPing            = mmclient.EndpointPing
	EndpointClientConfig    = mmclient.EndpointClientConfig
	EndpointClusterStatus   = mmclient.EndpointClusterStatus
	EndpointSAMLCertificate = mmclient.EndpointSAMLCertificate
	EndpointStatusesByIDs   = mmclient.EndpointStatusesByIDs
	EndpointUserStatus      = mmclient.EndpointUserStatus // GET and PUT /users/{id}/status
	EndpointUserActive      = mmclient.EndpointUserActive
	EndpointUsers           = mmclient.EndpointUsers
	EndpointUserStats       = mmclient.EndpointUserStats
	EndpointUsersMe         = "users_me"
	EndpointLicenseClient   = "license_client" // GET /license/client, not called by the exporter
	EndpointOther           = "other"          // any other path, including paths outside /api/v4
	// EndpointAll, given to SetFault, applies the fault to every endpoint
	// that has no fault of its own.
	EndpointAll = "*"
)

// endpoint indexes for the counters.
const (
	epPing = iota
	epClientConfig
	epCluster
	epSAML
	epStatusIDs
	epUserStatus
	epUserActive
	epUsers
	epUserStats
	epUsersMe
	epLicense
	epOther
	epOpsBase                 // first endpoint of ops.go
	numEndpoints = epChurnEnd // ops.go's, teams.go's, then churn.go's endpoints follow
)

var endpointNames = [numEndpoints]string{
	EndpointPing, EndpointClientConfig, EndpointClusterStatus, EndpointSAMLCertificate,
	EndpointStatusesByIDs, EndpointUserStatus, EndpointUserActive, EndpointUsers,
	EndpointUserStats, EndpointUsersMe, EndpointLicenseClient, EndpointOther,
}

// Endpoints lists every endpoint name the counters know, in a stable order.
func Endpoints() []string { return append([]string(nil), endpointNames[:]...) }

func endpointIndex(name string) int {
	for i, n := range endpointNames {
		if n == name {
			return i
		}
	}
	return -1
}

// Node is one cluster node of GET /cluster/status. A node with an empty
// Version is one the cluster cannot reach: it is emitted with every field but
// id empty, as Mattermost does.
type Node struct {
	ID, Hostname, IPAddress, Version, SchemaVersion, ConfigHash string
}

// UserSpec describes one account. Status is the stored status ("online",
// "away", "dnd", "offline", "ooo"); "" means the user has no status row and
// is answered as a synthesized offline entry with last_activity_at 0.
type UserSpec struct {
	ID             string // 26 characters
	Username       string
	IsBot          bool
	Deactivated    bool
	Manual         bool
	Status         string
	LastActivityAt int64 // epoch ms reported with a stored status
	// BotDescription is a bot's bot_description ("" is sent as "" in
	// Era537 and left out in Era11, as the real servers do).
	BotDescription string
	// CreateAt is the account's create_at (epoch ms); 0 = baseMillis plus
	// the account's index in Config.Users, so accounts listed later are
	// newer. AddUsers gives added accounts a newer one.
	CreateAt int64
	// Team is the ID of the one team (of Config.Teams) the account is a
	// member of; "" = in no team.
	Team string
}

// Fault is an injected failure for one endpoint (see SetFault).
//
// Delay is applied first: the request body is read (and kept for the
// answer), then the handler waits, ending early when the client goes away
// (the request's context; net/http notices a hang-up only once the body has
// been read). Then, in order:
// Hangup closes the connection without an answer; Code 0 without Malformed
// answers normally (a slow answer when Delay is set); Malformed answers the
// normal body truncated to invalid JSON, with status Code (the normal status
// if 0) and the normal headers; Code 429 answers like Mattermost's rate limiter
// (text/plain "limit exceeded\n", Retry-After, no X-Request-Id/X-Version-Id);
// a non-empty Body is sent raw with ContentType (default: text/html when it
// starts with '<', else text/plain) and no Mattermost headers, like a proxy;
// otherwise the answer is an AppError JSON with status Code and the normal
// Mattermost headers.
type Fault struct {
	Code        int
	RetryAfter  int    // seconds, for 429; 0 = 1
	Body        string // raw body; "" = AppError JSON, or "limit exceeded\n" for 429
	ContentType string // for Body
	Malformed   bool
	Hangup      bool
	Delay       time.Duration
	Times       int // answers to fault; 0 = until cleared
}

// FaultAppErrorID is the AppError id of injected AppError faults.
const FaultAppErrorID = "mmtest.injected_fault.app_error"

// ProxyErrorPage is the body answered while the server is down (SetDown), an
// nginx-style 502 page.
const ProxyErrorPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

// BadGatewayFault is a Fault answering ProxyErrorPage with status 502.
func BadGatewayFault() Fault {
	return Fault{Code: http.StatusBadGateway, Body: ProxyErrorPage, ContentType: "text/html"}
}

// RateLimit configures the token-bucket emulation of Mattermost's limiter:
// PerSec tokens per second, Burst+1 tokens at most (Mattermost reports
// X-Ratelimit-Limit = MaxBurst+1). All clients share one bucket (the real
// limiter keys on the client address; tests all come from 127.0.0.1).
type RateLimit struct {
	PerSec float64
	Burst  int
}

// Config is the initial state of a fake server. Every field can be changed
// later with a setter.
type Config struct {
	Nodes []Node // nil/empty: GET /cluster/status answers [] (not clustered)

	SAMLIDP, SAMLPublic, SAMLPrivateKey bool // the three certificate files present
	SAMLEnabled                         bool // EnableSaml in the client config

	Users []UserSpec
	// Teams are the teams of GET /teams (see TeamSpec); users join them
	// through UserSpec.Team (AssignTeams spreads generated users).
	Teams []TeamSpec

	// Version is the X-Version-Id value; "" = DefaultVersion. The client
	// config's Version and BuildNumber are derived from it.
	Version string
	// Era selects the Mattermost version whose behaviour the fake
	// reproduces (zero value: Era537). It also picks the default Version.
	Era Era
	// MaximumPayloadSizeBytes bounds request bodies as the real servers do:
	// a body longer than this plus 512 bytes is refused (Era11: 413
	// api.context.request_body_too_large.app_error; Era537: the 400 of the
	// endpoint's body parameter, since 5.37 sees a truncated body). 0 =
	// the era's default, Era.DefaultMaxPayload (11: 300,000, 5.37:
	// 100 MiB); negative = no limit.
	MaximumPayloadSizeBytes int64
	// EnterpriseReady sets the client config's BuildEnterpriseReady.
	EnterpriseReady bool

	// Latency, when set, is called once per API request with the endpoint
	// name and n = the number of ids of a status request, or the offset of a
	// /users page (0 otherwise); the answer is delayed by the result.
	Latency func(endpoint string, n int) time.Duration

	RateLimit *RateLimit // nil = no rate limiting

	// CertChain, for NewTLSServer, is the certificate chain served instead
	// of httptest's self-signed certificate (see SetCertChain).
	CertChain *CertChain
}

type faultState struct {
	f    Fault
	left int // remaining answers when f.Times > 0
}

// Server is a running (or unstarted) fake Mattermost server.
type Server struct {
	// URL is the server root ("http://127.0.0.1:port", no /api/v4) for a
	// server from NewServer/NewTLSServer; "" for New.
	URL string

	ts    *httptest.Server
	chain atomic.Pointer[CertChain] // served by a TLS server when set

	mu              sync.RWMutex
	users           *userStore
	nodes           []Node
	samlIDP         bool
	samlPublic      bool
	samlPrivate     bool
	samlEnabled     bool
	version         string
	era             Era
	maxPayload      int64 // <0: none
	enterpriseReady bool
	latency         func(string, int) time.Duration
	unhealthy       bool
	down            bool
	faults          map[string]*faultState
	tokens          map[string]session // tokens.go: added and revoked tokens
	ops             opsState           // ops.go

	rlMu     sync.Mutex
	rl       *RateLimit
	rlTokens float64
	rlLast   time.Time

	counts    [numEndpoints]atomic.Int64
	statusIDs atomic.Int64
}

// New returns a fake server that is not listening; serve it with Handler().
func New(cfg Config) *Server {
	s := &Server{faults: map[string]*faultState{}, tokens: map[string]session{}}
	s.nodes = cloneNodes(cfg.Nodes)
	s.samlIDP, s.samlPublic, s.samlPrivate = cfg.SAMLIDP, cfg.SAMLPublic, cfg.SAMLPrivateKey
	s.samlEnabled = cfg.SAMLEnabled
	s.era = cfg.Era
	s.version = cfg.Version
	if s.version == "" {
		s.version = s.era.DefaultVersion()
	}
	s.maxPayload = cfg.MaximumPayloadSizeBytes
	if s.maxPayload == 0 {
		s.maxPayload = s.era.DefaultMaxPayload()
	}
	s.enterpriseReady = cfg.EnterpriseReady
	s.latency = cfg.Latency
	s.users = newUserStore(cfg.Users, cfg.Teams)
	s.SetRateLimit(cfg.RateLimit)
	return s
}

// NewServer starts a fake server on 127.0.0.1 on a free port. Close it when
// done (t.Cleanup(s.Close)).
func NewServer(cfg Config) *Server {
	s := New(cfg)
	s.ts = httptest.NewServer(s.Handler())
	s.URL = s.ts.URL
	return s
}

// TB is the part of testing.TB that Start uses.
type TB interface {
	Helper()
	Cleanup(func())
}

// Start is NewServer for a test: the server closes when tb's test ends.
func Start(tb TB, cfg Config) *Server {
	tb.Helper()
	s := NewServer(cfg)
	tb.Cleanup(s.Close)
	return s
}

// NewTLSServer is NewServer over HTTPS (HTTP/1.1), with httptest's
// self-signed certificate or Config.CertChain; see CertificatePEM.
func NewTLSServer(cfg Config) *Server {
	s := New(cfg)
	s.chain.Store(cfg.CertChain)
	s.ts = httptest.NewUnstartedServer(s.Handler())
	s.ts.TLS = &tls.Config{GetConfigForClient: s.tlsConfigForClient}
	s.ts.StartTLS()
	s.URL = s.ts.URL
	return s
}

// tlsConfigForClient serves the chain of SetCertChain when there is one
// (nil: the server's own configuration, with httptest's certificate).
func (s *Server) tlsConfigForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	c := s.chain.Load()
	if c == nil {
		return nil, nil
	}
	return &tls.Config{Certificates: []tls.Certificate{c.TLSCertificate()}, NextProtos: []string{"http/1.1"}}, nil
}

// SetCertChain makes a TLS server present c in the handshakes from now on
// (nil: httptest's certificate again), as a server whose certificate was
// renewed: connections already open keep the chain of their handshake
// (CloseClientConnections ends them).
func (s *Server) SetCertChain(c *CertChain) { s.chain.Store(c) }

// CloseClientConnections closes the connections of the server's clients.
func (s *Server) CloseClientConnections() {
	if s.ts != nil {
		s.ts.CloseClientConnections()
	}
}

// CertificatePEM returns the PEM of the certificate a client of a TLS server
// trusts (see Certificate; nil for a plain HTTP or unstarted server), for a
// client's CA file.
func (s *Server) CertificatePEM() []byte {
	c := s.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Certificate returns the certificate a client of a TLS server trusts:
// httptest's self-signed one, or the root CA of the CertChain served. nil
// for a plain HTTP or unstarted server.
func (s *Server) Certificate() *x509.Certificate {
	if s.ts == nil || s.ts.TLS == nil {
		return nil
	}
	if c := s.chain.Load(); c != nil {
		return c.Root
	}
	return s.ts.Certificate()
}

// Client returns an *http.Client configured for this server (it trusts the
// certificate of Certificate); nil for an unstarted server.
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return nil
	}
	if c := s.chain.Load(); c != nil {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.RootPool(), MinVersion: tls.VersionTLS12}}}
	}
	return s.ts.Client()
}

// Close stops a started server and closes its client connections. It is a
// no-op for an unstarted one.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
}

// Handler returns the fake's HTTP handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// SetNodes replaces the cluster nodes.
func (s *Server) SetNodes(nodes []Node) {
	n := cloneNodes(nodes)
	s.mu.Lock()
	s.nodes = n
	s.mu.Unlock()
}

// SetSAML sets which SAML certificate files are present.
func (s *Server) SetSAML(idp, public, private bool) {
	s.mu.Lock()
	s.samlIDP, s.samlPublic, s.samlPrivate = idp, public, private
	s.mu.Unlock()
}

// SetSAMLEnabled sets EnableSaml in the client config.
func (s *Server) SetSAMLEnabled(enabled bool) {
	s.mu.Lock()
	s.samlEnabled = enabled
	s.mu.Unlock()
}

// SetVersion sets the X-Version-Id value ("" = the era's default,
// DefaultVersion or DefaultVersion11).
func (s *Server) SetVersion(v string) {
	s.mu.Lock()
	if v == "" {
		v = s.era.DefaultVersion()
	}
	s.version = v
	s.mu.Unlock()
}

// Version returns the X-Version-Id the server sends.
func (s *Server) Version() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

// Era returns the era the server reproduces (set by New and SetEra).
func (s *Server) Era() Era {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.era
}

// SetMaximumPayloadSizeBytes changes the request body limit (see
// Config.MaximumPayloadSizeBytes: 0 = the era's default, negative = none).
func (s *Server) SetMaximumPayloadSizeBytes(n int64) {
	s.mu.Lock()
	if n == 0 {
		n = s.era.DefaultMaxPayload()
	}
	s.maxPayload = n
	s.mu.Unlock()
}

// SetUsers replaces every account (and drops statuses stored for ids that
// are not accounts); the teams stay.
func (s *Server) SetUsers(users []UserSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = newUserStore(users, s.users.teams)
}

// SetStatus stores a status for id, as if set through the API (it need not
// be an account: Mattermost stores statuses for any 26-character id).
// status "" removes the stored status (answered as synthesized offline).
func (s *Server) SetStatus(id, status string, manual bool) {
	s.SetStatusAt(id, status, manual, 0)
}

// SetStatusAt is SetStatus with the last_activity_at value to report.
func (s *Server) SetStatusAt(id, status string, manual bool, lastActivityAt int64) {
	code := statusCode(status)
	if code < 0 {
		panic("mmtest: unknown status " + status)
	}
	s.mu.Lock()
	s.users.setStatus(id, uint8(code), manual, lastActivityAt)
	s.mu.Unlock()
}

// SetActive activates or deactivates an account; it reports whether the id
// is an account. Deactivation turns a non-manual status into offline, as
// Mattermost does.
func (s *Server) SetActive(id string, active bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users.setActive(id, active, nowMillis())
}

// SetLatency replaces the latency model (nil = none).
func (s *Server) SetLatency(f func(endpoint string, n int) time.Duration) {
	s.mu.Lock()
	s.latency = f
	s.mu.Unlock()
}

// SetUnhealthy makes GET /system/ping answer 500 with status "UNHEALTHY"
// (as Mattermost does when a health check fails).
func (s *Server) SetUnhealthy(unhealthy bool) {
	s.mu.Lock()
	s.unhealthy = unhealthy
	s.mu.Unlock()
}

// SetDown makes every request answer 502 with ProxyErrorPage (text/html, no
// Mattermost headers), as a reverse proxy does when Mattermost is down.
// Requests are still counted. For closed connections instead, use
// SetFault(EndpointAll, Fault{Hangup: true}).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// SetFault injects f for endpoint (an Endpoint* name, or EndpointAll for
// every endpoint without a fault of its own), replacing any previous fault
// there.
func (s *Server) SetFault(endpoint string, f Fault) {
	if endpoint != EndpointAll && endpointIndex(endpoint) < 0 {
		panic("mmtest: unknown endpoint " + endpoint)
	}
	s.mu.Lock()
	s.faults[endpoint] = &faultState{f: f, left: f.Times}
	s.mu.Unlock()
}

// ClearFault removes the fault of one endpoint.
func (s *Server) ClearFault(endpoint string) {
	s.mu.Lock()
	delete(s.faults, endpoint)
	s.mu.Unlock()
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = map[string]*faultState{}
	s.mu.Unlock()
}

// SetRateLimit enables (non-nil) or disables (nil) the rate-limit emulation;
// the bucket starts full.
func (s *Server) SetRateLimit(rl *RateLimit) {
	s.rlMu.Lock()
	defer s.rlMu.Unlock()
	if rl == nil || rl.PerSec <= 0 || rl.Burst < 0 {
		s.rl = nil
		return
	}
	c := *rl
	s.rl = &c
	s.rlTokens = float64(c.Burst + 1)
	s.rlLast = time.Now()
}

// Requests returns how many requests reached endpoint since the start or the
// last ResetCounters (whatever they were answered: faults, 429 and down
// answers count too). Unknown names count 0.
func (s *Server) Requests(endpoint string) int64 {
	i := endpointIndex(endpoint)
	if i < 0 {
		return 0
	}
	return s.counts[i].Load()
}

// RequestCounts returns every endpoint's counter.
func (s *Server) RequestCounts() map[string]int64 {
	m := make(map[string]int64, numEndpoints)
	for i, n := range endpointNames {
		m[n] = s.counts[i].Load()
	}
	return m
}

// TotalRequests returns the sum of every endpoint's counter.
func (s *Server) TotalRequests() int64 {
	var t int64
	for i := range s.counts {
		t += s.counts[i].Load()
	}
	return t
}

// StatusIDsReceived returns how many ids well-formed POST /users/status/ids
// requests carried (duplicates included).
func (s *Server) StatusIDsReceived() int64 { return s.statusIDs.Load() }

// ResetCounters zeroes the request and status-id counters.
func (s *Server) ResetCounters() {
	for i := range s.counts {
		s.counts[i].Store(0)
	}
	s.statusIDs.Store(0)
}

func cloneNodes(n []Node) []Node { return append([]Node(nil), n...) }

func nowMillis() int64 { return time.Now().UnixMilli() }

// takeFault returns the fault for endpoint index ep, consuming one use.
func (s *Server) takeFault(ep int) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	key := endpointNames[ep]
	fs, ok := s.faults[key]
	if !ok {
		key = EndpointAll
		if fs, ok = s.faults[key]; !ok {
			return Fault{}, false
		}
	}
	if fs.f.Times > 0 {
		fs.left--
		if fs.left <= 0 {
			delete(s.faults, key)
		}
	}
	return fs.f, true
}

// rateLimit takes one token; it sets the X-Ratelimit-* headers and reports
// whether the request may proceed (false: retryAfter seconds).
func (s *Server) rateLimit(h http.Header) (ok bool, retryAfter int) {
	s.rlMu.Lock()
	defer s.rlMu.Unlock()
	if s.rl == nil {
		return true, 0
	}
	capacity := float64(s.rl.Burst + 1)
	now := time.Now()
	s.rlTokens += now.Sub(s.rlLast).Seconds() * s.rl.PerSec
	if s.rlTokens > capacity {
		s.rlTokens = capacity
	}
	s.rlLast = now
	ok = s.rlTokens >= 1
	if ok {
		s.rlTokens--
	}
	remaining := int(s.rlTokens)
	reset := ceilSeconds((capacity - s.rlTokens) / s.rl.PerSec)
	h.Set("X-Ratelimit-Limit", itoa(s.rl.Burst+1))
	h.Set("X-Ratelimit-Remaining", itoa(remaining))
	h.Set("X-Ratelimit-Reset", itoa(reset))
	if !ok {
		retryAfter = ceilSeconds((1 - s.rlTokens) / s.rl.PerSec)
		if retryAfter < 1 {
			retryAfter = 1
		}
	}
	return ok, retryAfter
}

func ceilSeconds(sec float64) int {
	n := int(sec)
	if float64(n) < sec {
		n++
	}
	if n < 0 {
		n = 0
	}
	return n
}

// bufferBody reads r's body (up to maxBodyBytes+1 bytes) before a delay and
// puts what it read back in front of the rest for the handler. Reading the
// body to its end is what lets net/http watch the connection and cancel
// r.Context() when the client hangs up. It reports false when reading failed
// (the client went away).
func bufferBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return false
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
	return true
}

// sleepCtx waits d or until ctx ends; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func writeLimitExceeded(w http.ResponseWriter, retryAfter int) {
	if retryAfter <= 0 {
		retryAfter = 1
	}
	w.Header().Set("Retry-After", itoa(retryAfter))
	http.Error(w, "limit exceeded", http.StatusTooManyRequests)
}

func writeRaw(w http.ResponseWriter, code int, contentType, body string) {
	if contentType == "" {
		if strings.HasPrefix(strings.TrimSpace(body), "<") {
			contentType = "text/html"
		} else {
			contentType = "text/plain; charset=utf-8"
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func hangup(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a recorder: abort the handler, which drops the
		// connection (or resets the stream) without an answer.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
