package mmclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/mmexporter/mattermost_exporter/internal/testhelp"
)

const (
	testToken   = "thisisnotavalidtoken000000" // the token of the *_bad_token fixtures
	testVersion = "5.37.0.dev.69eecffd97ac52aa7ded7e85cca56e52.false"
)

// fixture is one captured response of the 5.37 server.
type fixture = testhelp.Fixture

func loadFixture(t testing.TB, name string) fixture {
	t.Helper()
	f := testhelp.LoadFixture(t, filepath.Join("..", "testdata", "real-mattermost"), name)
	if f.Body == nil {
		t.Fatalf("%s has no body file", name)
	}
	return f
}

// seenRequest is what the test server received.
type seenRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// replayServer answers each "METHOD /path" with its list of responders in
// turn (the last one repeats) and records requests. It listens on
// 127.0.0.1:0 and stops with the test.
type replayServer struct {
	*httptest.Server
	mu       sync.Mutex
	routes   map[string][]http.HandlerFunc
	calls    map[string]int
	requests []seenRequest
	newConns atomic.Int64
}

func newReplayServer(t *testing.T, tls bool) *replayServer {
	t.Helper()
	s := &replayServer{routes: map[string][]http.HandlerFunc{}, calls: map[string]int{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.newConns.Add(1)
		}
	}
	if tls {
		s.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // expected handshake failures
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *replayServer) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.requests = append(s.requests, seenRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	hs := s.routes[key]
	i := s.calls[key]
	s.calls[key]++
	s.mu.Unlock()
	if len(hs) == 0 {
		http.Error(w, "no route for "+key, http.StatusTeapot)
		return
	}
	if i >= len(hs) {
		i = len(hs) - 1
	}
	hs[i](w, r)
}

// on registers responders: fixture names (string) or http.HandlerFunc.
func (s *replayServer) on(t *testing.T, key string, responders ...any) {
	t.Helper()
	var hs []http.HandlerFunc
	for _, r := range responders {
		switch v := r.(type) {
		case string:
			f := loadFixture(t, v)
			hs = append(hs, func(w http.ResponseWriter, _ *http.Request) { f.Serve(w) })
		case http.HandlerFunc:
			hs = append(hs, v)
		case func(http.ResponseWriter, *http.Request):
			hs = append(hs, v)
		default:
			t.Fatalf("bad responder %T", r)
		}
	}
	s.mu.Lock()
	s.routes[key] = hs
	s.mu.Unlock()
}

func (s *replayServer) seen() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.requests...)
}

type observed struct {
	mu    sync.Mutex
	infos []RequestInfo
}

func (o *observed) add(ri RequestInfo) { o.mu.Lock(); o.infos = append(o.infos, ri); o.mu.Unlock() }
func (o *observed) all() []RequestInfo {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]RequestInfo(nil), o.infos...)
}

func newTestClient(t *testing.T, s *replayServer, mod func(*Options)) (*Client, *observed) {
	t.Helper()
	obs := &observed{}
	opts := Options{BaseURL: s.URL, Token: testToken, Observer: obs.add}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, obs
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func asAPIError(t *testing.T, err error) *APIError {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	return ae
}

func TestNewValidation(t *testing.T) {
	bad := []Options{
		{BaseURL: ""},
		{BaseURL: "chat.example.com"},
		{BaseURL: "ftp://chat.example.com"},
		{BaseURL: "https://"},
		{BaseURL: "https://user:pass@chat.example.com"},
		{BaseURL: "https://chat.example.com/?x=1"},
		{BaseURL: "https://chat.example.com", Token: "abc\r\nX-Evil: 1"},
		{BaseURL: "https://chat.example.com", Token: "abcdefgh\x01"}, // the transport would refuse it on every request
		{BaseURL: "https://chat.example.com", Token: "abcdefgh\x7f"},
		{BaseURL: "https://chat.example.com", CAFile: filepath.Join(t.TempDir(), "missing.pem")},
	}
	for _, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded, want error", o)
		} else if o.Token != "" && strings.Contains(err.Error(), o.Token) {
			t.Errorf("error leaks token: %v", err)
		}
	}
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{BaseURL: "https://x.example", CAFile: garbage}); err == nil || !strings.Contains(err.Error(), "no PEM certificates") {
		t.Errorf("CA file without certificates: err = %v", err)
	}
	for in, want := range map[string]string{
		"https://chat.example.com":               "https://chat.example.com/api/v4",
		"https://chat.example.com/":              "https://chat.example.com/api/v4",
		"https://chat.example.com/api/v4/":       "https://chat.example.com/api/v4",
		"http://10.0.0.1:8065/mattermost":        "http://10.0.0.1:8065/mattermost/api/v4",
		"http://10.0.0.1:8065/mattermost/api/v4": "http://10.0.0.1:8065/mattermost/api/v4",
	} {
		c, err := New(Options{BaseURL: in})
		if err != nil {
			t.Fatalf("New(%q): %v", in, err)
		}
		if c.api != want {
			t.Errorf("New(%q).api = %q, want %q", in, c.api, want)
		}
	}
}

func TestPingAndVersion(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/system/ping", "system_ping")
	c, obs := newTestClient(t, s, nil)
	if _, ok := c.ServerVersion(); ok {
		t.Fatal("ServerVersion known before any request")
	}
	p, err := c.Ping(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want := ServerVersion{Version: "5.37.0", BuildNumber: "dev", ClientConfigHash: "69eecffd97ac52aa7ded7e85cca56e52", Licensed: false, Raw: testVersion}
	if p.Status != "OK" || !p.HasVersion || p.Version != want {
		t.Fatalf("ping = %+v", p)
	}
	if v, ok := c.ServerVersion(); !ok || v != want {
		t.Fatalf("ServerVersion() = %+v, %v", v, ok)
	}
	reqs := s.seen()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	h := reqs[0].Header
	if got := h.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
	if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "mattermost_exporter/") || len(ua) <= len("mattermost_exporter/") {
		t.Errorf("User-Agent = %q", ua)
	}
	infos := obs.all()
	if len(infos) != 1 || infos[0] != (RequestInfo{Endpoint: EndpointPing, Code: 200, RateLimitRemaining: -1, RateLimitLimit: -1}) {
		t.Errorf("observer got %+v", infos)
	}
}

func TestCustomUserAgentAndNoToken(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/system/ping", "system_ping")
	c, _ := newTestClient(t, s, func(o *Options) { o.Token = ""; o.UserAgent = "probe/1.0" })
	if _, err := c.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	h := s.seen()[0].Header
	if h.Get("User-Agent") != "probe/1.0" || h.Get("Authorization") != "" {
		t.Fatalf("headers: %v", h)
	}
}

func TestPingUnhealthy(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/system/ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Version-Id", testVersion)
		w.WriteHeader(500)
		// Current servers sort keys: "status" comes last, past 200 bytes.
		_, _ = io.WriteString(w, `{"ActiveSearchBackend":"database","AndroidLatestVersion":"","AndroidMinVersion":"","IosLatestVersion":"","IosMinVersion":"",`+
			`"database_status":"UNHEALTHY","filestore_status":"OK","padding":"`+strings.Repeat("p", 300)+`","status":"UNHEALTHY"}`)
	})
	c, _ := newTestClient(t, s, nil)
	p, err := c.Ping(ctxT(t))
	ae := asAPIError(t, err)
	if ae.StatusCode != 500 || err.Error() != "system_ping: HTTP 500: server reports status UNHEALTHY" {
		t.Fatalf("err = %v", err)
	}
	if p == nil || p.Status != "UNHEALTHY" || !p.HasVersion {
		t.Fatalf("ping = %+v", p)
	}
	// A 500 that is an AppError (hardened mode) gives no *Ping.
	s.on(t, "GET /api/v4/system/ping", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(500)
		_, _ = io.WriteString(w, `{"id":"","message":"Internal Server Error","detailed_error":"","request_id":"r1","status_code":500}`)
	})
	p, err = c.Ping(ctxT(t))
	if ae := asAPIError(t, err); p != nil || ae.Message != "Internal Server Error" || ae.RequestID != "r1" {
		t.Fatalf("ping = %+v, err = %+v", p, ae)
	}
}

func TestClientConfig(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/config/client", "config_client_old_format_no_token")
	c, _ := newTestClient(t, s, nil)
	cfg, err := c.GetClientConfig(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg) != 87 || cfg["Version"] != "5.37.0" || cfg["BuildNumber"] != "dev" || cfg["EnableSaml"] != "false" {
		t.Fatalf("config: %d keys, Version=%q BuildNumber=%q EnableSaml=%q", len(cfg), cfg["Version"], cfg["BuildNumber"], cfg["EnableSaml"])
	}
	if q := s.seen()[0].RawQuery; q != "format=old" {
		t.Fatalf("query = %q", q)
	}
}

func TestClientConfigNonStringValues(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/config/client", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"A":"x\u00e9","B":true,"C":12}`)
	})
	c, _ := newTestClient(t, s, nil)
	cfg, err := c.GetClientConfig(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, map[string]string{"A": "xé", "B": "true", "C": "12"}) {
		t.Fatalf("cfg = %v", cfg)
	}
}

func TestClusterAndSAML(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/cluster/status", "cluster_status_admin", "cluster_status_nonadmin",
		func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "null\n") },
		func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `[{"id":"k3j4h5g6f7d8s9a0q1w2e3r4t5","version":"9.11.0","schema_version":"123","config_hash":"abc","ipaddress":"10.0.0.11","hostname":"mm-app-1","is_alive":true},{"id":"z","version":"","config_hash":"","ipaddress":"","hostname":""}]`)
		})
	s.on(t, "GET /api/v4/saml/certificate/status", "saml_certificate_status_admin", "saml_certificate_status_nonadmin")
	c, _ := newTestClient(t, s, nil)
	ctx := ctxT(t)

	nodes, err := c.GetClusterStatus(ctx)
	if err != nil || nodes == nil || len(nodes) != 0 {
		t.Fatalf("cluster admin: %v %v", nodes, err)
	}
	_, err = c.GetClusterStatus(ctx)
	ae := asAPIError(t, err)
	if !IsForbidden(err) || IsUnauthorized(err) || ae.ID != "api.context.permissions.app_error" || ae.RequestID != "uxewfuy3qirt7ygtjbpxxrjioa" || ae.Endpoint != EndpointClusterStatus {
		t.Fatalf("cluster nonadmin: %+v", ae)
	}
	wantMsg := "cluster_status: HTTP 403 api.context.permissions.app_error: You do not have the appropriate permissions. (request_id=uxewfuy3qirt7ygtjbpxxrjioa)"
	if err.Error() != wantMsg {
		t.Fatalf("Error() = %q\nwant %q", err.Error(), wantMsg)
	}
	nodes, err = c.GetClusterStatus(ctx)
	if err != nil || nodes == nil || len(nodes) != 0 {
		t.Fatalf("cluster null: %v %v", nodes, err)
	}
	nodes, err = c.GetClusterStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []ClusterInfo{
		{ID: "k3j4h5g6f7d8s9a0q1w2e3r4t5", Version: "9.11.0", SchemaVersion: "123", ConfigHash: "abc", IPAddress: "10.0.0.11", Hostname: "mm-app-1"},
		{ID: "z"},
	}
	if !reflect.DeepEqual(nodes, want) {
		t.Fatalf("nodes = %+v", nodes)
	}

	saml, err := c.GetSAMLCertificateStatus(ctx)
	if err != nil || *saml != (SAMLCertificateStatus{}) {
		t.Fatalf("saml admin: %+v %v", saml, err)
	}
	_, err = c.GetSAMLCertificateStatus(ctx)
	if ae := asAPIError(t, err); ae.StatusCode != 403 || ae.ID != "api.context.permissions.app_error" || ae.RequestID == "" {
		t.Fatalf("saml nonadmin: %+v", ae)
	}
}

func TestStatusesByIDsFixtures(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "POST /api/v4/users/status/ids", "status_ids_mixed", "status_ids_duplicates", "status_ids_all_real_users")
	c, _ := newTestClient(t, s, nil)
	ctx := ctxT(t)
	ids := []string{"5t9ttqdq5bbmif3xuzhznk9k7a", "oh6nwkutzpyzjgqd4rzdgww66w", "xf4eosjakjymzps789y6tfukge",
		"3mb37ajg1jrapyjw84ungo3i3e", "n7g1s41xct8j5k4zuxy7bnr7sy", "korqid3idffztb7jqek96foftc", "8btxqegf5nbfpqbc4qhtyk5itj"}
	got, err := c.GetStatusesByIDs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{
		"5t9ttqdq5bbmif3xuzhznk9k7a": {UserID: "5t9ttqdq5bbmif3xuzhznk9k7a", Status: StatusOnline, LastActivityAt: 1795901562106},
		"oh6nwkutzpyzjgqd4rzdgww66w": {UserID: "oh6nwkutzpyzjgqd4rzdgww66w", Status: StatusAway, Manual: true},
		"xf4eosjakjymzps789y6tfukge": {UserID: "xf4eosjakjymzps789y6tfukge", Status: StatusDND, Manual: true},
		"3mb37ajg1jrapyjw84ungo3i3e": {UserID: "3mb37ajg1jrapyjw84ungo3i3e", Status: StatusOffline, Manual: true, LastActivityAt: 1795901562470},
		"n7g1s41xct8j5k4zuxy7bnr7sy": {UserID: "n7g1s41xct8j5k4zuxy7bnr7sy", Status: StatusOOO, Manual: true},
		"korqid3idffztb7jqek96foftc": {UserID: "korqid3idffztb7jqek96foftc", Status: StatusOffline},
		"8btxqegf5nbfpqbc4qhtyk5itj": {UserID: "8btxqegf5nbfpqbc4qhtyk5itj", Status: StatusOffline},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	req := s.seen()[0]
	var sent []string
	if err := json.Unmarshal(req.Body, &sent); err != nil || !reflect.DeepEqual(sent, ids) {
		t.Fatalf("request body %q (%v)", req.Body, err)
	}
	if req.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("Content-Type = %q", req.Header.Get("Content-Type"))
	}

	dup, err := c.GetStatusesByIDs(ctx, []string{"5t9ttqdq5bbmif3xuzhznk9k7a", "5t9ttqdq5bbmif3xuzhznk9k7a", "5t9ttqdq5bbmif3xuzhznk9k7a", "korqid3idffztb7jqek96foftc", "korqid3idffztb7jqek96foftc"})
	if err != nil || len(dup) != 2 || dup["korqid3idffztb7jqek96foftc"].Status != StatusOffline {
		t.Fatalf("duplicates: %v %v", dup, err)
	}

	counts := map[string]int{}
	n := 0
	err = c.StreamStatusesByIDs(ctx, fixtureStatusIDs(t, "status_ids_all_real_users.json"), func(st *Status) error {
		counts[st.Status]++
		if !IsUserID(st.UserID) {
			t.Errorf("bad user id %q", st.UserID)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := map[string]int{StatusOnline: 99, StatusAway: 101, StatusDND: 100, StatusOOO: 20, StatusOffline: 1683}
	if n != 2003 || !reflect.DeepEqual(counts, wantCounts) {
		t.Fatalf("n=%d counts=%v", n, counts)
	}
}

func TestStatusesByIDsValidation(t *testing.T) {
	s := newReplayServer(t, false)
	c, _ := newTestClient(t, s, nil)
	ctx := ctxT(t)
	cases := [][]string{
		nil,
		{"short"},
		{"5t9ttqdq5bbmif3xuzhznk9k7a", "5T9TTQDQ5BBMIF3XUZHZNK9K7A"},
		{`5t9ttqdq5bbmif3xuzhznk9k"]`},
		{"me"},
	}
	for _, ids := range cases {
		if _, err := c.GetStatusesByIDs(ctx, ids); err == nil {
			t.Errorf("ids %q accepted", ids)
		}
	}
	if _, err := c.GetUserStatus(ctx, "../../config"); err == nil || !strings.Contains(err.Error(), "invalid user id") {
		t.Errorf("path id not validated: %v", err)
	}
	if _, err := c.UpdateUserStatus(ctx, "me", "away", 0); err == nil {
		t.Error("UpdateUserStatus accepted me")
	}
	if _, err := c.UpdateUserStatus(ctx, "6kd98hk7sifo3qjpho591uwkkh", "ooo", 0); err == nil {
		t.Error("UpdateUserStatus accepted ooo")
	}
	if err := c.UpdateUserActive(ctx, "not-a-valid-id", false); err == nil {
		t.Error("UpdateUserActive accepted bad id")
	}
	if _, err := c.GetUsers(ctx, -1, 10); err == nil {
		t.Error("negative page accepted")
	}
	if _, err := c.GetUsers(ctx, 0, 0); err == nil {
		t.Error("per_page 0 accepted")
	}
	if n := len(s.seen()); n != 0 {
		t.Fatalf("%d requests sent for invalid input", n)
	}
}

func TestUserStatusEndpoints(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/users/xf4eosjakjymzps789y6tfukge/status", "get_user_status_admin", "get_user_status_invalid_id")
	s.on(t, "GET /api/v4/users/me/status", "put_user_status_nonadmin_self")
	s.on(t, "PUT /api/v4/users/6kd98hk7sifo3qjpho591uwkkh/status", "put_user_status_admin_other", "put_user_status_nonadmin_other", "put_user_status_invalid_value")
	c, _ := newTestClient(t, s, nil)
	ctx := ctxT(t)

	st, err := c.GetUserStatus(ctx, "xf4eosjakjymzps789y6tfukge")
	if err != nil || *st != (Status{UserID: "xf4eosjakjymzps789y6tfukge", Status: StatusDND, Manual: true}) {
		t.Fatalf("get: %+v %v", st, err)
	}
	// The router 404 is AppError JSON labelled text/plain, without X-Request-Id.
	_, err = c.GetUserStatus(ctx, "xf4eosjakjymzps789y6tfukge")
	ae := asAPIError(t, err)
	if ae.StatusCode != 404 || ae.ID != "api.context.404.app_error" || ae.Message != "Sorry, we could not find the page." || ae.RequestID != "" {
		t.Fatalf("404: %+v", ae)
	}
	if st, err := c.GetUserStatus(ctx, "me"); err != nil || st.Status != StatusOnline {
		t.Fatalf("me: %+v %v", st, err)
	}

	st, err = c.UpdateUserStatus(ctx, "6kd98hk7sifo3qjpho591uwkkh", StatusAway, 0)
	if err != nil || st.Status != StatusAway || !st.Manual {
		t.Fatalf("put: %+v %v", st, err)
	}
	_, err = c.UpdateUserStatus(ctx, "6kd98hk7sifo3qjpho591uwkkh", StatusDND, 1795905162)
	if !IsForbidden(err) {
		t.Fatalf("put nonadmin: %v", err)
	}
	_, err = c.UpdateUserStatus(ctx, "6kd98hk7sifo3qjpho591uwkkh", StatusOnline, 0)
	if ae := asAPIError(t, err); ae.StatusCode != 400 || ae.ID != "api.context.invalid_body_param.app_error" || ae.RequestID == "" {
		t.Fatalf("put invalid: %+v", ae)
	}
	var bodies []map[string]any
	for _, r := range s.seen() {
		if r.Method == http.MethodPut {
			var m map[string]any
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, m)
		}
	}
	want := []map[string]any{
		{"user_id": "6kd98hk7sifo3qjpho591uwkkh", "status": "away"},
		{"user_id": "6kd98hk7sifo3qjpho591uwkkh", "status": "dnd", "dnd_end_time": float64(1795905162)},
		{"user_id": "6kd98hk7sifo3qjpho591uwkkh", "status": "online"},
	}
	if !reflect.DeepEqual(bodies, want) {
		t.Fatalf("PUT bodies = %v", bodies)
	}
}

func TestUpdateUserActive(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "PUT /api/v4/users/6kd98hk7sifo3qjpho591uwkkh/active",
		"put_active_admin_deactivate", "put_active_admin_reactivate", "put_active_nonadmin_other", "put_active_bad_body",
		func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Request-Id", "hdrrequestid00000000000000")
			_, _ = io.WriteString(w, `{"status":"OK"}`+"\n"+`{"id":"app.user.update.find.app_error","message":"Unable to find the existing account to update.","detailed_error":"","status_code":400}`)
		},
		func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"status":"OK"}{"status":"OK"}`)
		},
	)
	s.on(t, "PUT /api/v4/users/me/active", "put_active_nonadmin_self")
	c, _ := newTestClient(t, s, nil)
	ctx := ctxT(t)
	const id = "6kd98hk7sifo3qjpho591uwkkh"
	if err := c.UpdateUserActive(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateUserActive(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	err := c.UpdateUserActive(ctx, id, false)
	if ae := asAPIError(t, err); ae.StatusCode != 403 || ae.ID != "api.user.update_active.permissions.app_error" {
		t.Fatalf("nonadmin other: %+v", ae)
	}
	err = c.UpdateUserActive(ctx, id, false)
	if ae := asAPIError(t, err); ae.StatusCode != 400 {
		t.Fatalf("bad body: %+v", ae)
	}
	err = c.UpdateUserActive(ctx, id, true)
	ae := asAPIError(t, err)
	if ae.StatusCode != 400 || ae.ID != "app.user.update.find.app_error" || ae.RequestID != "hdrrequestid00000000000000" {
		t.Fatalf("concatenated AppError: %+v", ae)
	}
	if err := c.UpdateUserActive(ctx, id, true); err == nil || !strings.Contains(err.Error(), "unexpected data") {
		t.Fatalf("two OK objects: %v", err)
	}
	err = c.UpdateUserActive(ctx, "me", false)
	if !IsUnauthorized(err) || asAPIError(t, err).ID != "api.user.update_active.not_enable.app_error" {
		t.Fatalf("self: %v", err)
	}
	var bodies []string
	for _, r := range s.seen() {
		bodies = append(bodies, string(r.Body))
	}
	if bodies[0] != `{"active":false}` || bodies[1] != `{"active":true}` {
		t.Fatalf("bodies %q", bodies)
	}
}

func TestUsersAndStats(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/users", "users_page0_per_page200", "users_page_beyond_end")
	s.on(t, "GET /api/v4/users/stats", "users_stats_admin")
	c, _ := newTestClient(t, s, nil)
	ctx := ctxT(t)
	users, err := c.GetUsers(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	bots, deleted := 0, 0
	for _, u := range users {
		if u.IsBot {
			bots++
		}
		if u.DeleteAt > 0 {
			deleted++
		}
		if !IsUserID(u.ID) || u.Username == "" {
			t.Fatalf("bad user %+v", u)
		}
	}
	if len(users) != 200 || bots != 1 || deleted != 2 {
		t.Fatalf("%d users, %d bots, %d deleted", len(users), bots, deleted)
	}
	if users[1].Username != "sysadmin" || users[1].Roles != "system_admin system_user" {
		t.Fatalf("users[1] = %+v", users[1])
	}
	if q := s.seen()[0].RawQuery; q != "page=0&per_page=200" {
		t.Fatalf("query %q (per_page must be clamped to 200)", q)
	}
	users, err = c.GetUsers(ctx, 50, 200)
	if err != nil || users == nil || len(users) != 0 {
		t.Fatalf("beyond end: %v %v", users, err)
	}
	stats, err := c.GetUserStats(ctx)
	if err != nil || stats.TotalUsersCount != 1991 {
		t.Fatalf("stats: %+v %v", stats, err)
	}
}

func TestGzipTransparent(t *testing.T) {
	s := newReplayServer(t, false)
	body := readFixture(t, "users_page0_per_page200.json")
	s.on(t, "GET /api/v4/users", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding = %q", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write(body)
		_ = zw.Close()
	})
	c, _ := newTestClient(t, s, nil)
	users, err := c.GetUsers(ctxT(t), 0, 200)
	if err != nil || len(users) != 200 {
		t.Fatalf("%d users, %v", len(users), err)
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "POST /api/v4/users/status/ids", "status_ids_bad_token")
	s.on(t, "GET /api/v4/users/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(502)
		_, _ = io.WriteString(w, "<html><body>upstream said token="+testToken+"</body></html>")
	})
	// The token straddles the 200-byte cut of the excerpt: cutting first
	// and redacting after would leave 19 of its 26 characters.
	s.on(t, "GET /api/v4/cluster/status", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(502)
		_, _ = io.WriteString(w, strings.Repeat("a", 174)+" token="+testToken+" and more text after it")
	})
	// A 200 answer that is not JSON (a proxy's debug page) goes into a decode
	// error with an excerpt.
	s.on(t, "GET /api/v4/saml/certificate/status", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Bearer "+testToken)
	})
	s.on(t, "GET /api/v4/users", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Bearer "+testToken)
	})
	s.on(t, "PUT /api/v4/users/me/active", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"status":"`+testToken+`"}`)
	})
	s.on(t, "GET /api/v4/system/ping", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(500)
		_, _ = io.WriteString(w, `{"status":"token=`+testToken+`"}`)
	})
	c, _ := newTestClient(t, s, nil)
	ctx := ctxT(t)
	_, err := c.GetStatusesByIDs(ctx, []string{"5t9ttqdq5bbmif3xuzhznk9k7a", "oh6nwkutzpyzjgqd4rzdgww66w"})
	ae := asAPIError(t, err)
	if !IsUnauthorized(err) || ae.ID != "api.context.session_expired.app_error" || ae.RequestID != "hsjn6jna9pne5qkumwrdkmum3y" {
		t.Fatalf("401: %+v", ae)
	}
	_, err2 := c.GetUserStats(ctx)
	_, err3 := c.GetClusterStatus(ctx)
	if ae := asAPIError(t, err3); !strings.Contains(ae.Message, "token=[REDACTED]") || len(ae.Message) > maxExcerpt {
		t.Fatalf("cut excerpt: %q (%d bytes)", ae.Message, len(ae.Message))
	}
	_, err4 := c.GetSAMLCertificateStatus(ctx)
	_, err5 := c.GetUsers(ctx, 0, 10)
	err6 := c.UpdateUserActive(ctx, "me", true)
	_, err7 := c.Ping(ctx)
	for i, e := range []error{err, err2, err3, err4, err5, err6, err7} {
		if e == nil {
			t.Fatalf("error %d: want an error", i+1)
		}
		for _, s := range []string{e.Error(), fmtAll(e)} {
			if strings.Contains(s, testToken[:10]) {
				t.Fatalf("error %d: token leaked: %s", i+1, s)
			}
		}
	}
}

// A short token (not a real Mattermost token) is not redacted: replacing
// it would mangle every message while hiding nothing.
func TestShortTokenDoesNotMangleMessages(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/system/ping", "ratelimit_429_unauthenticated_ping")
	s.on(t, "GET /api/v4/cluster/status", "cluster_status_nonadmin")
	c, _ := newTestClient(t, s, func(o *Options) { o.Token, o.MaxRetries = "t", -1 })
	_, err := c.Ping(ctxT(t))
	if ae := asAPIError(t, err); ae.Message != "limit exceeded" {
		t.Fatalf("429 message %q", ae.Message)
	}
	_, err = c.GetClusterStatus(ctxT(t))
	if ae := asAPIError(t, err); ae.ID != "api.context.permissions.app_error" || ae.Message != "You do not have the appropriate permissions." {
		t.Fatalf("403: %+v", ae)
	}
}

func fmtAll(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		b, _ := json.Marshal(ae)
		return string(b)
	}
	return err.Error()
}

func TestRateLimitRetry(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "POST /api/v4/users/status/ids", "ratelimit_429", "ratelimit_after_retry_after")
	c, obs := newTestClient(t, s, nil)
	var waits []time.Duration
	c.sleepTimerFn = func(d time.Duration) *time.Timer { waits = append(waits, d); return time.NewTimer(0) }
	ids := []string{"5t9ttqdq5bbmif3xuzhznk9k7a", "oh6nwkutzpyzjgqd4rzdgww66w", "xf4eosjakjymzps789y6tfukge", "3mb37ajg1jrapyjw84ungo3i3e", "n7g1s41xct8j5k4zuxy7bnr7sy"}
	got, err := c.GetStatusesByIDs(ctxT(t), ids)
	if err != nil || len(got) != 5 {
		t.Fatalf("%v %v", got, err)
	}
	if !reflect.DeepEqual(waits, []time.Duration{time.Second}) {
		t.Fatalf("waits = %v, want [1s]", waits)
	}
	reqs := s.seen()
	if len(reqs) != 2 || !bytes.Equal(reqs[0].Body, reqs[1].Body) || len(reqs[1].Body) == 0 {
		t.Fatalf("retry did not replay the body: %q vs %q", reqs[0].Body, reqs[1].Body)
	}
	infos := obs.all()
	if len(infos) != 2 || infos[0] != (RequestInfo{EndpointStatusesByIDs, 429, 0, 101}) || infos[1].Code != 200 || infos[1].RateLimitLimit != 101 || infos[1].RateLimitRemaining < 0 {
		t.Fatalf("observer: %+v", infos)
	}
}

func TestRateLimitExhausted(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/system/ping", "ratelimit_429_unauthenticated_ping")
	c, _ := newTestClient(t, s, func(o *Options) { o.MaxRetries = 2 })
	c.sleepTimerFn = func(time.Duration) *time.Timer { return time.NewTimer(0) }
	_, err := c.Ping(ctxT(t))
	ae := asAPIError(t, err)
	if ae.StatusCode != 429 || ae.Message != "limit exceeded" || ae.ID != "" || ae.RequestID != "" || ae.RetryAfter != time.Second || !IsTooManyRequests(err) {
		t.Fatalf("429: %+v", ae)
	}
	if n := len(s.seen()); n != 3 {
		t.Fatalf("%d requests, want 1 + 2 retries", n)
	}
	if err.Error() != "system_ping: HTTP 429: limit exceeded" {
		t.Fatalf("Error() = %q", err.Error())
	}

	c2, _ := newTestClient(t, s, func(o *Options) { o.MaxRetries = -1 })
	if _, err := c2.Ping(ctxT(t)); !IsTooManyRequests(err) {
		t.Fatalf("no retries: %v", err)
	}
	if n := len(s.seen()); n != 4 {
		t.Fatalf("MaxRetries<0 retried: %d requests", n)
	}
}

func TestRateLimitDeadline(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/system/ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "limit exceeded", http.StatusTooManyRequests)
	})
	c, _ := newTestClient(t, s, nil)
	slept := false
	c.sleepTimerFn = func(d time.Duration) *time.Timer { slept = true; return time.NewTimer(d) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Ping(ctx)
	if ae := asAPIError(t, err); ae.StatusCode != 429 || ae.RetryAfter != 30*time.Second {
		t.Fatalf("%+v", ae)
	}
	if slept || len(s.seen()) != 1 {
		t.Fatalf("waited past the deadline (slept=%v, %d requests)", slept, len(s.seen()))
	}
	if ctx.Err() != nil {
		t.Fatal("returned only after the deadline")
	}
}

func TestRateLimitCancelWhileWaiting(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/system/ping", "ratelimit_429_unauthenticated_ping")
	c, _ := newTestClient(t, s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	c.sleepTimerFn = func(d time.Duration) *time.Timer { cancel(); return time.NewTimer(time.Hour) }
	_, err := c.Ping(ctx)
	if !errors.Is(err, context.Canceled) || !IsTooManyRequests(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 21, 34, 21, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                               time.Second,
		"1":                              time.Second,
		"0":                              0,
		" 7 ":                            7 * time.Second,
		"-3":                             time.Second,
		"soon":                           time.Second,
		"Sat, 28 Nov 2026 21:34:31 GMT":  10 * time.Second,
		"Sat, 28 Nov 2026 21:00:00 GMT":  0,
		"300":                            MaxRetryAfter,
		"301":                            MaxRetryAfter,
		"86400":                          MaxRetryAfter,
		"99999999999999999999":           time.Second, // not an int64: garbage
		"9223372036854775807":            MaxRetryAfter,
		"Sat, 28 Nov 2026 21:39:21 GMT":  MaxRetryAfter,
		"Sat, 28 Nov 2026 21:39:20 GMT":  MaxRetryAfter - time.Second,
		"Fri, 31 Dec 9999 23:59:59 GMT":  MaxRetryAfter,
		"Sunday, 29-Nov-26 21:34:21 GMT": MaxRetryAfter, // RFC 850 form
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNonJSONErrorBodies(t *testing.T) {
	html := "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.25.3</center>\n" +
		strings.Repeat("<!-- a padding to disable MSIE and Chrome friendly error page -->\n", 20) + "</body>\n</html>\n"
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/cluster/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		_, _ = io.WriteString(w, html)
	})
	s.on(t, "GET /api/v4/users/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(503)
		_, _ = w.Write(bytes.Repeat([]byte("x\x00\xff"), 100000))
	})
	c, _ := newTestClient(t, s, nil)
	_, err := c.GetClusterStatus(ctxT(t))
	ae := asAPIError(t, err)
	if ae.StatusCode != 502 || ae.ID != "" || ae.Message != "502 Bad Gateway 502 Bad Gateway nginx/1.25.3" {
		t.Fatalf("%+v", ae)
	}
	_, err = c.GetUserStats(ctxT(t))
	ae = asAPIError(t, err)
	if ae.StatusCode != 503 || len(ae.Message) > 200 || strings.ContainsAny(ae.Message, "\x00\n<") || !strings.HasPrefix(ae.Message, "x x x") {
		t.Fatalf("%q", ae.Message)
	}
}

func TestMalformedAndOversizeBodies(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/cluster/status", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `[{"id":"a",`) })
	s.on(t, "GET /api/v4/saml/certificate/status", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `<html>login</html>`) })
	s.on(t, "GET /api/v4/users/stats", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"total_users_count":1} trailing`)
	})
	s.on(t, "POST /api/v4/users/status/ids", "status_ids_n1000", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `[{"user_id":"5t9ttqdq5bbmif3xuzhznk9k7a","status":"online"},{"user_id":`)
	})
	s.on(t, "GET /api/v4/users", "users_page0_per_page200")
	c, _ := newTestClient(t, s, func(o *Options) { o.MaxBodyBytes = 4096 })
	ctx := ctxT(t)
	if _, err := c.GetClusterStatus(ctx); err == nil || !strings.Contains(err.Error(), "cluster_status: decode response") {
		t.Fatalf("truncated JSON: %v", err)
	}
	if _, err := c.GetSAMLCertificateStatus(ctx); err == nil || !strings.Contains(err.Error(), "want a JSON object") {
		t.Fatalf("HTML 200: %v", err)
	}
	if _, err := c.GetUserStats(ctx); err == nil {
		t.Fatal("trailing data accepted")
	}
	ids := fixtureStatusIDs(t, "status_ids_n1000.json")
	n := 0
	err := c.StreamStatusesByIDs(ctx, ids, func(*Status) error { n++; return nil })
	if !errors.Is(err, ErrBodyTooLarge) || !strings.Contains(err.Error(), "4096") {
		t.Fatalf("oversize stream: %v", err)
	}
	ids = ids[:2]
	if _, err := c.GetStatusesByIDs(ctx, ids); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated stream: %v", err)
	}
	if _, err := c.GetUsers(ctx, 0, 200); !errors.Is(err, ErrBodyTooLarge) || !strings.HasPrefix(err.Error(), "users: ") {
		t.Fatalf("oversize users: %v", err)
	}
}

// fixtureStatusIDs returns the user ids of a status array fixture, in order.
func fixtureStatusIDs(t testing.TB, name string) []string {
	t.Helper()
	var sts []Status
	if err := json.Unmarshal(readFixture(t, name), &sts); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(sts))
	for i, st := range sts {
		ids[i] = st.UserID
	}
	return ids
}

func TestConnectionReuse(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/cluster/status", "cluster_status_nonadmin")
	s.on(t, "GET /api/v4/users", "users_page0_per_page200")
	s.on(t, "POST /api/v4/users/status/ids", "status_ids_n1000")
	c, _ := newTestClient(t, s, nil)
	ctx := ctxT(t)
	for i := 0; i < 5; i++ {
		_, _ = c.GetClusterStatus(ctx)
		if _, err := c.GetUsers(ctx, 0, 200); err != nil {
			t.Fatal(err)
		}
		// Stop the stream early: the rest of the body must still be drained.
		stop := errors.New("stop")
		if err := c.StreamStatusesByIDs(ctx, []string{"5t9ttqdq5bbmif3xuzhznk9k7a"}, func(*Status) error { return stop }); !errors.Is(err, stop) {
			t.Fatal(err)
		}
	}
	if n := s.newConns.Load(); n != 1 {
		t.Fatalf("%d connections for 15 sequential requests, want 1", n)
	}
}

func TestTransportError(t *testing.T) {
	s := newReplayServer(t, false)
	url := s.URL
	s.Close()
	obs := &observed{}
	c, err := New(Options{BaseURL: url, Token: testToken, Observer: obs.add})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetClusterStatus(ctxT(t))
	if err == nil || !strings.HasPrefix(err.Error(), "cluster_status: ") || strings.Contains(err.Error(), testToken) {
		t.Fatalf("err = %v", err)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		t.Fatal("transport error must not be an APIError")
	}
	if infos := obs.all(); len(infos) != 1 || infos[0] != (RequestInfo{EndpointClusterStatus, 0, -1, -1}) {
		t.Fatalf("observer: %+v", infos)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func writeServerCA(t *testing.T, s *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTLSOptions(t *testing.T) {
	s := newReplayServer(t, true)
	s.on(t, "GET /api/v4/system/ping", "system_ping")
	ctx := ctxT(t)

	plain, err := New(Options{BaseURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Ping(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted server accepted: %v", err)
	}

	withCA, err := New(Options{BaseURL: s.URL, CAFile: writeServerCA(t, s.Server)})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := withCA.Ping(ctx); err != nil || p.Status != "OK" {
		t.Fatalf("CA file: %v", err)
	}

	var logBuf bytes.Buffer
	insecure, err := New(Options{BaseURL: s.URL, InsecureSkipVerify: true, Logger: log.NewLogfmtLogger(log.NewSyncWriter(&logBuf))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logBuf.String(), "level=warn") || !strings.Contains(logBuf.String(), "insecure") {
		t.Fatalf("no warning logged: %q", logBuf.String())
	}
	if _, err := insecure.Ping(ctx); err != nil {
		t.Fatalf("insecure: %v", err)
	}

	// Custom non-*http.Transport cannot take TLS options.
	if _, err := New(Options{BaseURL: s.URL, InsecureSkipVerify: true, Transport: roundTripFunc(nil)}); err == nil {
		t.Fatal("TLS options accepted with a custom RoundTripper")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestParseVersionID(t *testing.T) {
	const h = "69eecffd97ac52aa7ded7e85cca56e52"
	good := map[string]ServerVersion{
		"5.37.0.dev." + h + ".false":         {Version: "5.37.0", BuildNumber: "dev", ClientConfigHash: h},
		"9.11.2.1234.5." + h + ".true":       {Version: "9.11.2", BuildNumber: "1234.5", ClientConfigHash: h, Licensed: true},
		"10.0.0.10.0.0.abc-1." + h + ".true": {Version: "10.0.0", BuildNumber: "10.0.0.abc-1", ClientConfigHash: h, Licensed: true},
		// 11.x: the hash is SHA-256 (captured from a real 11.2.0 server).
		"11.2.0.11.2.0.cc2418492a0e65e2ee76e38279ee463874ff842fe741fe22f790b86fa9cb48f8.false": {Version: "11.2.0", BuildNumber: "11.2.0", ClientConfigHash: "cc2418492a0e65e2ee76e38279ee463874ff842fe741fe22f790b86fa9cb48f8"},
		// The hash is opaque: any printable token is accepted.
		"5.37.0.dev.abc.false":                             {Version: "5.37.0", BuildNumber: "dev", ClientConfigHash: "abc"},
		"5.37.0.dev.zzeecffd97ac52aa7ded7e85cca56e52.true": {Version: "5.37.0", BuildNumber: "dev", ClientConfigHash: "zzeecffd97ac52aa7ded7e85cca56e52", Licensed: true},
		// A 5.37 built with plain go build (no Makefile), from a real server.
		"5.37.0..841a7c8af77efe981604fbc96050a701.false": {Version: "5.37.0", ClientConfigHash: "841a7c8af77efe981604fbc96050a701"},
	}
	for in, want := range good {
		want.Raw = in
		got, err := ParseVersionID(in)
		if err != nil || got != want {
			t.Errorf("ParseVersionID(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "5.37.0", "5.37.0.dev", "5.37.0." + h + ".true", "5.37.0.dev." + h + ".yes",
		"v5.37.0.dev." + h + ".true", "5..0.dev." + h + ".true", "5.37.0..dev." + h + ".true", "5.37.0.dev.." + h + ".true", "5.37.0..." + h + ".true", "5.37.0.de v." + h + ".true",
		"5.37.0.dev." + h + ".false.", "5.37.0.dev.a\x01b.true", "5.37.0.dev." + strings.Repeat("a", 129) + ".true",
		"5.37.0.dev." + strings.Repeat("b", 900<<10) + ".true",
	} {
		if v, err := ParseVersionID(in); err == nil {
			t.Errorf("ParseVersionID(%q) = %+v, want error", in, v)
		}
	}
}

func TestMalformedVersionHeaderIgnored(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "GET /api/v4/system/ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Version-Id", "garbage")
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	})
	var logs bytes.Buffer
	c, _ := newTestClient(t, s, func(o *Options) { o.Logger = log.NewLogfmtLogger(log.NewSyncWriter(&logs)) })
	for range 3 {
		p, err := c.Ping(ctxT(t))
		if err != nil || p.HasVersion {
			t.Fatalf("%+v %v", p, err)
		}
	}
	if _, ok := c.ServerVersion(); ok {
		t.Fatal("malformed version stored")
	}
	// Said once (not per request), with the value.
	if n := strings.Count(logs.String(), "X-Version-Id header that does not parse"); n != 1 || !strings.Contains(logs.String(), "x_version_id=garbage") {
		t.Fatalf("%d warnings, log:\n%s", n, logs.String())
	}
}

func TestObserverRateLimitHeaders(t *testing.T) {
	h := http.Header{}
	h.Add("X-Ratelimit-Remaining", "40")
	h.Add("X-Ratelimit-Remaining", "12")
	h.Set("X-Ratelimit-Limit", "junk")
	if got := headerInt(h, "X-Ratelimit-Remaining"); got != 12 {
		t.Errorf("remaining = %d, want the smaller value 12", got)
	}
	if got := headerInt(h, "X-Ratelimit-Limit"); got != -1 {
		t.Errorf("limit = %d, want -1", got)
	}
}

func TestSanitizeExcerpt(t *testing.T) {
	long := strings.Repeat("é", 300)
	if got := sanitizeExcerpt([]byte(long), maxExcerpt); len(got) > 200 || !strings.HasPrefix(got, "éé") || !utf8Valid(got) {
		t.Fatalf("len %d", len(got))
	}
	if got := sanitizeExcerpt([]byte("limit exceeded\n"), maxExcerpt); got != "limit exceeded" {
		t.Fatalf("%q", got)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

// TestConcurrentStreams runs many streams at once (shared
// client) and checks every result against encoding/json; run with -race.
func TestConcurrentStreams(t *testing.T) {
	s := newReplayServer(t, false)
	s.on(t, "POST /api/v4/users/status/ids", "status_ids_n1000")
	var want []Status
	if err := json.Unmarshal(readFixture(t, "status_ids_n1000.json"), &want); err != nil {
		t.Fatal(err)
	}
	wantMap := map[string]Status{}
	var ids []string
	for _, st := range want {
		wantMap[st.UserID] = st
		ids = append(ids, st.UserID)
	}
	c, obs := newTestClient(t, s, nil)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				got, err := c.GetStatusesByIDs(ctx, ids)
				if err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(got, wantMap) {
					errs <- errors.New("concurrent stream decoded differently")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(obs.all()); n != 40 {
		t.Fatalf("observer saw %d requests, want 40", n)
	}
	if len(wantMap) != 1000 {
		t.Fatalf("fixture has %d distinct ids", len(wantMap))
	}
}

// BenchmarkStreamStatusesHTTP measures a whole StreamStatusesByIDs call
// (100,000 ids posted and answered) through a local server.
func BenchmarkStreamStatusesHTTP(b *testing.B) {
	body := makeStatusArray(100000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, Token: "t"})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 100000)
	for i := range ids {
		ids[i] = fmt.Sprintf("%026d", i)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := c.StreamStatusesByIDs(ctx, ids, func(*Status) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 100000 {
			b.Fatalf("%d statuses", n)
		}
	}
}

func TestSetTokenRotates(t *testing.T) {
	var got atomic.Value
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		// A proxy page that echoes the header: the error must redact it.
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "bad gateway for "+r.Header.Get("Authorization"))
	}))
	defer s.Close()
	const oldTok, newTok = "oldtoken-abcdefghijklmnop", "newtoken-qrstuvwxyz012345"
	c, err := New(Options{BaseURL: s.URL, Token: oldTok})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUserStats(context.Background()); err == nil || strings.Contains(err.Error(), oldTok) {
		t.Fatalf("err = %v, want an error without the token", err)
	}
	if got.Load() != "Bearer "+oldTok {
		t.Fatalf("Authorization = %q", got.Load())
	}
	if err := c.SetToken(newTok); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUserStats(context.Background())
	if got.Load() != "Bearer "+newTok {
		t.Fatalf("after SetToken, Authorization = %q", got.Load())
	}
	if err == nil || strings.Contains(err.Error(), newTok) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Fatalf("err = %v, want the new token redacted", err)
	}
	if err := c.SetToken("bad\ntoken"); err == nil {
		t.Fatal("a token with a newline was accepted")
	}
	if got := c.creds.Load().token; got != newTok {
		t.Fatalf("a refused token replaced the old one: %q", got)
	}
}

func TestClusterStatusMaxItems(t *testing.T) {
	var body atomic.Value
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body.Load().(string))
	}))
	defer s.Close()
	c, err := New(Options{BaseURL: s.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	nodes := func(n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(`{"id":"n","hostname":"h"},`, n), ",") + "]"
	}
	body.Store(nodes(3))
	if got, err := c.GetClusterStatus(ctxT(t), MaxItems(3)); err != nil || len(got) != 3 {
		t.Fatalf("3 nodes, max 3: %d, %v", len(got), err)
	}
	if _, err := c.GetClusterStatus(ctxT(t), MaxItems(2)); !errors.Is(err, ErrTooManyItems) {
		t.Fatalf("3 nodes, max 2: err = %v, want ErrTooManyItems", err)
	}
	body.Store(nodes(DefaultMaxClusterNodes + 1))
	if _, err := c.GetClusterStatus(ctxT(t)); !errors.Is(err, ErrTooManyItems) {
		t.Fatalf("%d nodes, default max: err = %v, want ErrTooManyItems", DefaultMaxClusterNodes+1, err)
	}
	body.Store(`"` + strings.Repeat("x", 1000) + `"`)
	if _, err := c.GetClusterStatus(ctxT(t)); err == nil || strings.Contains(err.Error(), "xxxx") {
		t.Fatalf("err = %v, want an error without the server's text", err)
	}
	body.Store(`null`)
	if got, err := c.GetClusterStatus(ctxT(t)); err != nil || len(got) != 0 {
		t.Fatalf("null: %v, %v", got, err)
	}
}
