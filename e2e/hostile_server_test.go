package e2e

// The hostile Mattermost of TestHostile (issue 7): an HTTP server on a free
// 127.0.0.1 port whose handlers give minimal correct Mattermost answers
// (ping with X-Version-Id, cluster status, SAML certificate status,
// config/client?format=old, users pages, users/stats, status/ids) until a
// case switches an endpoint to a hostile behaviour. Large bodies are
// streamed from generators, never held in memory, so the test stays small
// whatever the exporter is asked to swallow. Helpers start with "hostile".

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hostileToken is the API token of every hostile case: 26 lowercase
// alphanumerics like a real Mattermost token, so that no redaction rule
// can skip it for being short.
const hostileToken = "h0st1let0kenq7x9w2m4v8r6zp"

// hostileVersionID is a well-formed X-Version-Id (5.x-era layout: 32-hex
// client config hash).
const hostileVersionID = "11.2.0.11.2.0.0123456789abcdef0123456789abcdef.false"

// Endpoint keys of the hostile server.
const (
	hepPing      = "ping"
	hepConfig    = "config"
	hepCluster   = "cluster"
	hepSAML      = "saml"
	hepUsers     = "users"
	hepStats     = "stats"
	hepStatusIDs = "status_ids"
)

// hostileEndpoints lists every endpoint the exporter calls.
var (
	hostileEndpointsArr = [...]string{hepPing, hepConfig, hepCluster, hepSAML, hepUsers, hepStats, hepStatusIDs}
	hostileEndpoints    = hostileEndpointsArr[:]
)

// hostileUser is one account of the hostile server's user list.
type hostileUser struct {
	ID       string
	Username string
}

// hostileHandler answers one request in a hostile way; it returns false to
// let the normal answer through.
type hostileHandler func(hs *hostileServer, w http.ResponseWriter, r *http.Request) bool

type hostileServer struct {
	srv  *httptest.Server
	stop chan struct{} // closed at the end: hanging handlers return

	mu        sync.Mutex
	users     []hostileUser // sorted by username, as GET /users pages them
	override  map[string]hostileHandler
	downUntil time.Time // before it every request is dropped unanswered
	// downFor, when set, makes downUntil that long after the exporter's start.
	downFor time.Duration
	// versionID is sent as X-Version-Id on every answer.
	versionID string
	// afterUsersPage, when set, runs after page n of GET /users was served.
	afterUsersPage func(hs *hostileServer, page int)
	// mark is a time a case's setup hands to its check.
	mark time.Time

	inflight atomic.Int64
	goodAuth atomic.Int64
	badAuth  atomic.Int64
	requests [len(hostileEndpointsArr)]atomic.Int64
}

// newHostileServer starts a server answering normally with nUsers active
// users; it is closed when the test ends.
func newHostileServer(t *testing.T, nUsers int) *hostileServer {
	t.Helper()
	hs := &hostileServer{
		stop:      make(chan struct{}),
		override:  map[string]hostileHandler{},
		versionID: hostileVersionID,
		users:     hostileUsers(nUsers),
	}
	hs.srv = httptest.NewServer(http.HandlerFunc(hs.serve))
	t.Cleanup(func() {
		close(hs.stop)
		hs.srv.CloseClientConnections()
		hs.srv.Close()
	})
	return hs
}

func (hs *hostileServer) URL() string { return hs.srv.URL }

// set switches endpoint ep to h (nil restores the normal answer).
func (hs *hostileServer) set(ep string, h hostileHandler) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if h == nil {
		delete(hs.override, ep)
		return
	}
	hs.override[ep] = h
}

// setAll switches every endpoint to h.
func (hs *hostileServer) setAll(h hostileHandler) {
	for _, ep := range hostileEndpoints {
		hs.set(ep, h)
	}
}

// quiesce waits until no handler runs (at most limit).
func (hs *hostileServer) quiesce(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for hs.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func (hs *hostileServer) count(ep string) int64 {
	for i, e := range hostileEndpointsArr {
		if e == ep {
			return hs.requests[i].Load()
		}
	}
	return 0
}

// hostileUsers returns n users u0000, u0001, ... with distinct 26-character
// ids, sorted by username.
func hostileUsers(n int) []hostileUser {
	out := make([]hostileUser, n)
	for i := range out {
		out[i] = hostileUser{ID: hostileUserID(i), Username: fmt.Sprintf("u%04d", i)}
	}
	return out
}

// hostileUserID is a deterministic 26-character [a-z0-9] id for index i.
func hostileUserID(i int) string {
	s := strconv.FormatInt(int64(i), 36)
	return "hostileuser" + strings.Repeat("0", 15-len(s)) + s
}

func hostileEndpointOf(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/api/v4")
	switch {
	case p == "/system/ping":
		return hepPing
	case p == "/config/client":
		return hepConfig
	case p == "/cluster/status":
		return hepCluster
	case p == "/saml/certificate/status":
		return hepSAML
	case p == "/users" && r.Method == http.MethodGet:
		return hepUsers
	case p == "/users/stats":
		return hepStats
	case p == "/users/status/ids" && r.Method == http.MethodPost:
		return hepStatusIDs
	}
	return ""
}

func (hs *hostileServer) serve(w http.ResponseWriter, r *http.Request) {
	hs.inflight.Add(1)
	defer hs.inflight.Add(-1)
	ep := hostileEndpointOf(r)
	for i, e := range hostileEndpointsArr {
		if e == ep {
			hs.requests[i].Add(1)
		}
	}
	hs.mu.Lock()
	h := hs.override[ep]
	down := time.Now().Before(hs.downUntil)
	version := hs.versionID
	hs.mu.Unlock()

	if down {
		// Mattermost is down: the connection is dropped unanswered.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	// The exact header a correct exporter sends (checked for every
	// endpoint, ping included, although Mattermost does not need it there).
	if r.Header.Get("Authorization") == "Bearer "+hostileToken {
		hs.goodAuth.Add(1)
	} else {
		hs.badAuth.Add(1)
		hostileJSON(w, version, http.StatusUnauthorized, `{"id":"api.context.session_expired.app_error","message":"Invalid or expired session, please login again.","detailed_error":"","request_id":"hostile","status_code":401}`)
		return
	}
	if h != nil && h(hs, w, r) {
		return
	}
	switch ep {
	case hepPing:
		hostileJSON(w, version, http.StatusOK, `{"AndroidLatestVersion":"","AndroidMinVersion":"","IosLatestVersion":"","IosMinVersion":"","status":"OK"}`)
	case hepConfig:
		hostileJSON(w, version, http.StatusOK, `{"BuildEnterpriseReady":"true","BuildNumber":"11.2.0","EnableSaml":"false","Version":"11.2.0"}`)
	case hepCluster:
		hostileJSON(w, version, http.StatusOK, `[]`)
	case hepSAML:
		hostileJSON(w, version, http.StatusOK, `{"idp_certificate_file":false,"private_key_file":false,"public_certificate_file":false}`)
	case hepStats:
		hs.mu.Lock()
		n := len(hs.users)
		hs.mu.Unlock()
		hostileJSON(w, version, http.StatusOK, fmt.Sprintf(`{"total_users_count":%d}`, n))
	case hepUsers:
		hs.usersPage(w, r, version)
	case hepStatusIDs:
		hs.statusIDs(w, r, version)
	default:
		hostileJSON(w, version, http.StatusNotFound, `{"id":"api.context.404.app_error","message":"Sorry, we could not find the page.","detailed_error":"","request_id":"hostile","status_code":404}`)
	}
}

func hostileJSON(w http.ResponseWriter, version string, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Version-Id", version)
	h.Set("X-Request-Id", "hostilerequestid0000000000")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func (hs *hostileServer) usersPage(w http.ResponseWriter, r *http.Request, version string) {
	q := r.URL.Query()
	page, err1 := strconv.Atoi(q.Get("page"))
	per, err2 := strconv.Atoi(q.Get("per_page"))
	if err1 != nil || err2 != nil || page < 0 || per < 1 {
		hostileJSON(w, version, http.StatusBadRequest, `{"id":"api.context.invalid_url_param.app_error","message":"Invalid or missing page in request URL.","detailed_error":"","request_id":"hostile","status_code":400}`)
		return
	}
	per = min(per, 200)
	hs.mu.Lock()
	var b bytes.Buffer
	b.WriteByte('[')
	for i := page * per; i < (page+1)*per && i < len(hs.users); i++ {
		if i > page*per {
			b.WriteByte(',')
		}
		u := hs.users[i]
		fmt.Fprintf(&b, `{"id":%q,"create_at":1,"update_at":1,"delete_at":0,"username":%q,"auth_service":"","email":"%s@localhost","roles":"system_user","is_bot":false}`, u.ID, u.Username, u.Username)
	}
	b.WriteByte(']')
	after := hs.afterUsersPage
	hs.mu.Unlock()
	hostileJSON(w, version, http.StatusOK, b.String())
	if after != nil {
		after(hs, page)
	}
}

func (hs *hostileServer) statusIDs(w http.ResponseWriter, r *http.Request, version string) {
	var ids []string
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ids); err != nil {
		hostileJSON(w, version, http.StatusBadRequest, `{"id":"api.context.invalid_body_param.app_error","message":"Invalid or missing user_ids in request body.","detailed_error":"","request_id":"hostile","status_code":400}`)
		return
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"user_id":%q,"status":"online","manual":false,"last_activity_at":1796000196299,"dnd_end_time":0}`, id)
	}
	b.WriteByte(']')
	hostileJSON(w, version, http.StatusOK, b.String())
}

// renameUser renames the user called from to to and keeps the list sorted
// by username (GET /users pages it in that order).
func (hs *hostileServer) renameUser(from, to string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for i := range hs.users {
		if hs.users[i].Username == from {
			hs.users[i].Username = to
		}
	}
	sort.Slice(hs.users, func(i, j int) bool { return hs.users[i].Username < hs.users[j].Username })
}

// ---- streamed bodies ----

// hostileRepeat reads n bytes cycling through pattern.
type hostileRepeat struct {
	pattern []byte
	off     int
	n       int64
}

func (r *hostileRepeat) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.pattern[r.off:])
		n += c
		r.off = (r.off + c) % len(r.pattern)
	}
	r.n -= int64(n)
	return n, nil
}

// hostileElems reads prefix, then elem(i) for i in [0, n) separated by
// commas, then suffix: a JSON array of n generated elements.
type hostileElems struct {
	prefix, suffix string
	n, i           int
	elem           func(b []byte, i int) []byte
	buf            []byte
	started, ended bool
}

func (g *hostileElems) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case !g.started:
			g.started = true
			g.buf = append(g.buf[:0], g.prefix...)
		case g.i < g.n:
			g.buf = g.buf[:0]
			// Refill in batches of up to 64 KiB (or one larger element)
			// so that Read is not called per element.
			for g.i < g.n && len(g.buf) < 64<<10 {
				if g.i > 0 {
					g.buf = append(g.buf, ',')
				}
				g.buf = g.elem(g.buf, g.i)
				g.i++
			}
		case !g.ended:
			g.ended = true
			g.buf = append(g.buf[:0], g.suffix...)
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// hostileStream sends a 200 answer whose body is read from body (chunked:
// no Content-Length, so the reader cannot tell the size in advance). It
// stops when the exporter stops reading.
func hostileStream(hs *hostileServer, w http.ResponseWriter, body io.Reader, gzipped bool) {
	hs.mu.Lock()
	version := hs.versionID
	hs.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Version-Id", version)
	if gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 64<<10)
	for {
		select {
		case <-hs.stop:
			return
		default:
		}
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// hostileOneGiB answers every endpoint with a 1 GiB body that starts like
// its normal answer (an object or an array of objects) and never ends its
// first string.
func hostileOneGiB(hs *hostileServer, w http.ResponseWriter, r *http.Request) bool {
	prefix := `{"status":"`
	switch hostileEndpointOf(r) {
	case hepCluster, hepUsers, hepStatusIDs:
		prefix = `[{"id":"`
	}
	hostileStream(hs, w, hostileLongStringBody(prefix, 1<<30), false)
	return true
}

// hostileLongStringBody is size bytes: prefix, then letters, then `"}`.
func hostileLongStringBody(prefix string, size int64) io.Reader {
	return io.MultiReader(strings.NewReader(prefix),
		&hostileRepeat{pattern: []byte("abcdefghijklmnopqrstuvwxyz012345"), n: size - int64(len(prefix)) - 2},
		strings.NewReader(`"}`))
}

// hostileGzipMember is one gzip member holding 16 MiB of spaces; 128 of
// them back to back are one 2 GiB gzip stream (readers are multistream).
var hostileGzipMember = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	spaces := bytes.Repeat([]byte{' '}, 1<<20)
	for range 16 {
		_, _ = zw.Write(spaces)
	}
	_ = zw.Close()
	return b.Bytes()
})

// hostileGzipBomb answers every endpoint with 2 GiB of spaces, gzip
// compressed (about 2 MB on the wire).
func hostileGzipBomb(hs *hostileServer, w http.ResponseWriter, _ *http.Request) bool {
	hostileStream(hs, w, hostileGzipBody(128), true)
	return true
}

// hostileGzipBody is members gzip members of 16 MiB of spaces each.
func hostileGzipBody(members int) io.Reader {
	member := hostileGzipMember()
	readers := make([]io.Reader, members)
	for i := range readers {
		readers[i] = bytes.NewReader(member)
	}
	return io.MultiReader(readers...)
}

// hostileEmptyObjects answers /cluster/status with an array of 10 million
// {} (30 MB).
func hostileEmptyObjects(hs *hostileServer, w http.ResponseWriter, _ *http.Request) bool {
	hostileStream(hs, w, hostileEmptyObjectsBody(10_000_000), false)
	return true
}

func hostileEmptyObjectsBody(n int) io.Reader {
	return &hostileElems{prefix: "[", suffix: "]", n: n,
		elem: func(b []byte, _ int) []byte { return append(b, "{}"...) }}
}

// hostileOversizedPage answers every GET /users page, whatever per_page
// asked, with 900,000 distinct active users (63 MB: under the 64 MiB body
// limit of today's client, so that it is decoded).
func hostileOversizedPage(hs *hostileServer, w http.ResponseWriter, r *http.Request) bool {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	hostileStream(hs, w, hostileUsersBody(page*900_000, 900_000), false)
	return true
}

// hostileUsersBody is a GET /users answer of n active users numbered from
// base.
func hostileUsersBody(base, n int) io.Reader {
	return &hostileElems{prefix: "[", suffix: "]", n: n,
		elem: func(b []byte, i int) []byte {
			b = append(b, `{"id":"`...)
			b = append(b, hostileUserID(base+i)...)
			b = append(b, `","username":"x`...)
			b = strconv.AppendInt(b, int64(base+i), 10)
			return append(b, `","delete_at":0}`...)
		}}
}

// hostileManyNodes answers /cluster/status with 20 nodes whose hostnames
// are 1 MB each, then 1 million distinct small nodes (56 MB in all: under
// the 64 MiB body limit of today's client, so that it is decoded).
func hostileManyNodes(hs *hostileServer, w http.ResponseWriter, _ *http.Request) bool {
	hostileStream(hs, w, hostileNodesBody(20, 1<<20, 1_000_000), false)
	return true
}

// hostileNodesBody is a /cluster/status answer of bigHosts nodes with
// hostnames of hostLen bytes, then nodes small nodes; all ids distinct.
func hostileNodesBody(bigHosts, hostLen, nodes int) io.Reader {
	return &hostileElems{prefix: "[", suffix: "]", n: bigHosts + nodes,
		elem: func(b []byte, i int) []byte {
			b = append(b, `{"id":"n`...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, `","version":"11.2.0"`...)
			if i < bigHosts {
				b = append(b, `,"hostname":"`...)
				for range hostLen {
					b = append(b, 'h')
				}
				b = append(b, '"')
			}
			return append(b, '}')
		}}
}

// hostileHugeVersionID is a valid X-Version-Id of about 900 KB (a long
// build number).
func hostileHugeVersionID() string {
	return "11.2.0." + strings.Repeat("7", 900<<10) + ".0123456789abcdef0123456789abcdef.false"
}

// hostileEchoAuth answers the ping 200 with the request's Authorization
// header as the status, followed by 64 KiB of filler.
func hostileEchoAuth(hs *hostileServer, w http.ResponseWriter, r *http.Request) bool {
	status := r.Header.Get("Authorization") + " " + strings.Repeat("x", 64<<10)
	b, _ := json.Marshal(map[string]string{"status": status})
	hostileJSON(w, hostileVersionID, http.StatusOK, string(b))
	return true
}

// hostileHang never answers; it returns when the exporter hangs up or the
// test ends.
func hostileHang(hs *hostileServer, _ http.ResponseWriter, r *http.Request) bool {
	select {
	case <-r.Context().Done():
	case <-hs.stop:
	}
	return true
}

// hostileRetryAfterForever answers 429 with a Retry-After at the end of
// year 9999 until the deadline, then lets normal answers through.
func hostileRetryAfterForever(until time.Time) hostileHandler {
	return func(hs *hostileServer, w http.ResponseWriter, _ *http.Request) bool {
		if time.Now().After(until) {
			return false
		}
		w.Header().Set("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")
		w.Header().Set("X-Ratelimit-Limit", "10")
		w.Header().Set("X-Ratelimit-Remaining", "0")
		hostileJSON(w, hostileVersionID, http.StatusTooManyRequests, `{"id":"api.context.rate_limit.app_error","message":"Too many requests","detailed_error":"","request_id":"hostile","status_code":429}`)
		return true
	}
}

// TestHostileGenerators checks that the hostile bodies are what the cases
// say they are (sizes, valid JSON where they claim to be), without sending
// them anywhere.
func TestHostileGenerators(t *testing.T) {
	size := func(r io.Reader) int64 {
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := size(hostileLongStringBody(`{"status":"`, 1<<30)); n != 1<<30 {
		t.Errorf("1 GiB body: %d bytes", n)
	}
	var obj map[string]string
	if err := json.NewDecoder(hostileLongStringBody(`{"status":"`, 1000)).Decode(&obj); err != nil || len(obj["status"]) != 1000-13 {
		t.Errorf("long string body: %v, %d bytes of status", err, len(obj["status"]))
	}

	var empties []struct{}
	if err := json.NewDecoder(hostileEmptyObjectsBody(5)).Decode(&empties); err != nil || len(empties) != 5 {
		t.Errorf("empty objects: %v, %d elements", err, len(empties))
	}
	if n := size(hostileEmptyObjectsBody(10_000_000)); n < 20_000_000 {
		t.Errorf("10M empty objects: only %d bytes", n)
	}

	var users []struct {
		ID       string `json:"id"`
		DeleteAt int64  `json:"delete_at"`
	}
	if err := json.NewDecoder(hostileUsersBody(7, 3)).Decode(&users); err != nil || len(users) != 3 {
		t.Fatalf("users body: %v, %d users", err, len(users))
	}
	seen := map[string]bool{}
	for _, u := range users {
		if len(u.ID) != 26 || seen[u.ID] || u.DeleteAt != 0 {
			t.Errorf("users body: user %+v (want distinct active 26-character ids)", u)
		}
		seen[u.ID] = true
	}
	// The oversized page must stay under today's 64 MiB body limit, or
	// the case would test the limit instead of the element count.
	if n := size(hostileUsersBody(0, 900_000)); n >= 64<<20 || n < 50_000_000 {
		t.Errorf("900,000 users: %d bytes, want 50 MB to 64 MiB", n)
	}

	var nodes []struct {
		ID       string `json:"id"`
		Hostname string `json:"hostname"`
		Version  string `json:"version"`
	}
	if err := json.NewDecoder(hostileNodesBody(2, 10, 3)).Decode(&nodes); err != nil || len(nodes) != 5 {
		t.Fatalf("nodes body: %v, %d nodes", err, len(nodes))
	}
	if len(nodes[1].Hostname) != 10 || nodes[2].Hostname != "" || nodes[4].ID == nodes[3].ID {
		t.Errorf("nodes body: %+v", nodes)
	}
	if n := size(hostileNodesBody(20, 1<<20, 1_000_000)); n >= 64<<20 || n < 50_000_000 {
		t.Errorf("1M nodes: %d bytes, want 50 MB to 64 MiB", n)
	}

	wire := size(hostileGzipBody(128))
	if wire > 4<<20 {
		t.Errorf("gzip bomb: %d bytes on the wire, want at most 4 MiB", wire)
	}
	zr, err := gzip.NewReader(hostileGzipBody(2))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || len(plain) != 32<<20 || strings.Trim(string(plain), " ") != "" {
		t.Errorf("2 gzip members: %v, %d bytes, want 32 MiB of spaces", err, len(plain))
	}
	t.Logf("gzip bomb: %d bytes on the wire for 2 GiB of spaces", wire)

	v := hostileHugeVersionID()
	if len(v) < 900<<10 {
		t.Errorf("huge X-Version-Id: %d bytes", len(v))
	}
}
