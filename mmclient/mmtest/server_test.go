package mmtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

func decodeAppError(t *testing.T, r fakeResponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode error body %q: %v", excerpt(r.body), err)
	}
	return m
}

func statusEntries(t *testing.T, r fakeResponse) []map[string]any {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("status request: HTTP %d %s", r.code, excerpt(r.body))
	}
	var out []map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decode statuses: %v", err)
	}
	return out
}

func TestPermissions(t *testing.T) {
	users := GenerateUsers(10, 1)
	s := Start(t, Config{Users: users})
	other := users[3].ID
	cases := []struct {
		method, path, body string
		want               map[string]int // token -> code
	}{
		{"GET", "/api/v4/system/ping", "", map[string]int{AdminToken: 200, UserToken: 200, "": 200, "bad": 200}},
		{"GET", "/api/v4/config/client?format=old", "", map[string]int{AdminToken: 200, UserToken: 200, "": 200, "bad": 200}},
		{"GET", "/api/v4/cluster/status", "", map[string]int{AdminToken: 200, UserToken: 403, "": 401, "bad": 401}},
		{"GET", "/api/v4/saml/certificate/status", "", map[string]int{AdminToken: 200, UserToken: 403, "": 401, "bad": 401}},
		{"POST", "/api/v4/users/status/ids", `["` + other + `"]`, map[string]int{AdminToken: 200, UserToken: 200, "": 401, "bad": 401}},
		{"GET", "/api/v4/users/" + other + "/status", "", map[string]int{AdminToken: 200, UserToken: 200, "": 401, "bad": 401}},
		{"PUT", "/api/v4/users/" + other + "/status", `{"user_id":"` + other + `","status":"away"}`, map[string]int{AdminToken: 200, UserToken: 403, "": 401, "bad": 401}},
		{"PUT", "/api/v4/users/me/status", `{"user_id":"` + UserUserID + `","status":"dnd"}`, map[string]int{UserToken: 200}},
		{"PUT", "/api/v4/users/" + other + "/active", `{"active":true}`, map[string]int{AdminToken: 200, UserToken: 403, "": 401, "bad": 401}},
		{"PUT", "/api/v4/users/" + UserUserID + "/active", `{"active":false}`, map[string]int{UserToken: 401}},
		{"GET", "/api/v4/users?per_page=5", "", map[string]int{AdminToken: 200, UserToken: 200, "": 401, "bad": 401}},
		{"GET", "/api/v4/users/stats", "", map[string]int{AdminToken: 200, UserToken: 200, "": 401, "bad": 401}},
		{"GET", "/api/v4/users/me", "", map[string]int{AdminToken: 200, UserToken: 200, "": 401, "bad": 401}},
	}
	for _, c := range cases {
		for token, want := range c.want {
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			r := doRequest(t, s, c.method, c.path, token, body)
			if r.code != want {
				t.Errorf("%s %s token=%q: HTTP %d, want %d (%s)", c.method, c.path, token, r.code, want, excerpt(r.body))
				continue
			}
			switch want {
			case 401:
				e := decodeAppError(t, r)
				wantID := "api.context.session_expired.app_error"
				if token == UserToken {
					wantID = "api.user.update_active.not_enable.app_error"
				}
				if e["id"] != wantID {
					t.Errorf("%s %s: 401 id %v", c.method, c.path, e["id"])
				}
				if (token == "bad") != strings.Contains(r.header.Get("Set-Cookie"), "MMAUTHTOKEN=;") &&
					!strings.HasSuffix(c.path, "/active") {
					t.Errorf("%s %s token=%q: Set-Cookie %q", c.method, c.path, token, r.header.Get("Set-Cookie"))
				}
			case 403:
				e := decodeAppError(t, r)
				if !strings.HasSuffix(e["id"].(string), "permissions.app_error") || e["request_id"] != r.header.Get("X-Request-Id") {
					t.Errorf("%s %s: 403 body %v", c.method, c.path, e)
				}
			}
		}
	}
}

func TestStatusIDsValidation(t *testing.T) {
	s := Start(t, Config{})
	id := "abcdefghijklmnopqrstuvwxyz"
	escaped := `"\u0061bcdefghijklmnopqrstuvwxyz"`
	cases := []struct {
		name, body string
		want       int
		entries    int
	}{
		{"one id", `["` + id + `"]`, 200, 1},
		{"whitespace", " [ \"" + id + "\" ,\n\"" + id + "\" ] ", 200, 2},
		{"escaped id decoded to 26 chars", "[" + escaped + "]", 200, 1},
		{"trailing data ignored like json.Decoder", `["` + id + `"] trailing`, 200, 1},
		{"empty array", `[]`, 400, 0},
		{"null", `null`, 400, 0},
		{"object", `{"user_ids":["` + id + `"]}`, 400, 0},
		{"truncated", `{"user_ids": [`, 400, 0},
		{"truncated array", `["` + id + `",`, 400, 0},
		{"short id", `["` + id + `","abc"]`, 400, 0},
		{"long id", `["` + id + `x"]`, 400, 0},
		{"number element", `[1]`, 400, 0},
		{"trailing comma", `["` + id + `",]`, 400, 0},
		{"empty body", ``, 400, 0},
	}
	for _, c := range cases {
		r := doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, []byte(c.body))
		if r.code != c.want {
			t.Errorf("%s: HTTP %d, want %d (%s)", c.name, r.code, c.want, excerpt(r.body))
			continue
		}
		if c.want == 400 {
			e := decodeAppError(t, r)
			if e["id"] != "api.context.invalid_body_param.app_error" || e["message"] != "Invalid or missing user_ids in request body." {
				t.Errorf("%s: error %v", c.name, e)
			}
			continue
		}
		if got := statusEntries(t, r); len(got) != c.entries || got[0]["user_id"] != id {
			t.Errorf("%s: entries %v", c.name, got)
		}
	}
}

// TestParseIDsAgreesWithDecoder checks that parseIDs (json.Unmarshal, with
// a json.Decoder retry for data after the array) accepts exactly what
// Mattermost's json.Decoder accepts, with the same ids.
func TestParseIDsAgreesWithDecoder(t *testing.T) {
	id := "abcdefghijklmnopqrstuvwxyz"
	inputs := []string{
		`["` + id + `"]`, `[ "` + id + `" , "` + id + `" ]`, `[]`, `[ ]`, `null`, `{}`, `[`, `["`, `["` + id,
		`["` + id + `"`, `["` + id + `",`, `["` + id + `" "` + id + `"]`, `["a"]`, `[true]`, `["` + id + `",1]`,
		`["` + id + `\n"]`, "[\"" + id[:25] + "\x01\"]", `["` + strings.Repeat("é", 13) + `"]`, `"` + id + `"`,
		`["` + id + `"]]`, `[["` + id + `"]]`, `["` + id + `"] trailing`, ``, `{"user_ids":["` + id + `"]}`,
	}
	for _, in := range inputs {
		ids, err := parseIDs([]byte(in), []string{"stale"})
		var ref []string
		refErr := json.NewDecoder(strings.NewReader(in)).Decode(&ref)
		if (err == nil) != (refErr == nil) {
			t.Errorf("%q: error %v, json.Decoder error %v", in, err, refErr)
			continue
		}
		if err == nil && !slices.Equal(ids, ref) {
			t.Errorf("%q: ids %q, json.Decoder %q", in, ids, ref)
		}
	}
}

func TestStatusIDsOrderDuplicatesAndLimit(t *testing.T) {
	users := GenerateUsers(50, 3)
	for i := range users {
		users[i].Status, users[i].Manual, users[i].LastActivityAt, users[i].Deactivated = "", false, 0, false
	}
	users[10].Status, users[10].LastActivityAt = mmclient.StatusOnline, 1234
	users[20].Status, users[20].Manual = mmclient.StatusDND, true
	s := Start(t, Config{Users: users})
	unknown := "zzzzzzzzzzzzzzzzzzzzzzzzzz"
	s.SetStatus(unknown[:25]+"y", mmclient.StatusAway, true) // a status row for an id that is not an account
	req := []string{unknown, users[1].ID, users[20].ID, users[10].ID, users[10].ID, unknown[:25] + "y", users[1].ID}
	got := statusEntries(t, doRequest(t, s, "POST", "/api/v4/users/status/ids", UserToken, mustJSON(t, req)))
	wantOrder := []string{users[20].ID, users[10].ID, users[10].ID, unknown[:25] + "y", unknown, users[1].ID, users[1].ID}
	var order []string
	for _, e := range got {
		order = append(order, e["user_id"].(string))
	}
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("order %v, want %v (stored first, then synthesized, each in request order)", order, wantOrder)
	}
	if got[0]["status"] != "dnd" || got[0]["manual"] != true || got[1]["last_activity_at"] != float64(1234) {
		t.Errorf("stored entries wrong: %v %v", got[0], got[1])
	}
	for _, e := range got[4:] {
		if e["status"] != "offline" || e["manual"] != false || e["last_activity_at"] != float64(0) || e["dnd_end_time"] != float64(0) {
			t.Errorf("synthesized entry wrong: %v", e)
		}
	}

	ids := randomIDs(maxStatusIDs, 5)
	if got := statusEntries(t, doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, mustJSON(t, ids))); len(got) != maxStatusIDs {
		t.Errorf("65535 ids: %d entries", len(got))
	}
	r := doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, mustJSON(t, append(ids, unknown)))
	e := decodeAppError(t, r)
	if r.code != 500 || e["id"] != "app.status.get.app_error" || !strings.Contains(e["detailed_error"].(string), "got 65536 parameters") {
		t.Errorf("65536 ids: HTTP %d %v", r.code, e)
	}
	// Ids with a stored status (the real server's cache hits) do not
	// count toward the database's limit.
	if got := statusEntries(t, doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, mustJSON(t, append(ids, users[20].ID)))); len(got) != maxStatusIDs+1 || got[0]["user_id"] != users[20].ID {
		t.Errorf("65535 uncached + 1 stored id: %d entries", len(got))
	}
}

func TestUpdateStatusAndActive(t *testing.T) {
	users := []UserSpec{
		{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaa", Username: "alice", Status: mmclient.StatusOnline, LastActivityAt: 5},
		{ID: "bbbbbbbbbbbbbbbbbbbbbbbbbb", Username: "bob", Status: mmclient.StatusAway, Manual: true, LastActivityAt: 7},
		{ID: "cccccccccccccccccccccccccc", Username: "carol"},
	}
	s := Start(t, Config{Users: users})
	get := func(id string) map[string]any {
		r := doRequest(t, s, "GET", "/api/v4/users/"+id+"/status", AdminToken, nil)
		if r.code != 200 {
			t.Fatalf("get status: HTTP %d", r.code)
		}
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	put := func(id, body string) fakeResponse {
		return doRequest(t, s, "PUT", "/api/v4/users/"+id+"/status", AdminToken, []byte(body))
	}
	c := users[2].ID
	if r := put(c, `{"user_id":"`+c+`","status":"dnd","dnd_end_time":99}`); r.code != 200 {
		t.Fatalf("put dnd: %d %s", r.code, r.body)
	}
	if m := get(c); m["status"] != "dnd" || m["manual"] != true || m["dnd_end_time"] != float64(0) || m["last_activity_at"] != float64(0) {
		t.Errorf("after dnd: %v", m)
	}
	if r := put(c, `{"user_id":"`+c+`","status":"online"}`); r.code != 200 {
		t.Fatalf("put online: %d", r.code)
	}
	if m := get(c); m["status"] != "online" || m["manual"] != false || m["last_activity_at"].(float64) < float64(time.Now().Add(-time.Hour).UnixMilli()) {
		t.Errorf("after online: %v", m)
	}
	for body, param := range map[string]string{
		`{"user_id":"` + c + `","status":"ooo"}`:            "status",
		`{"user_id":"` + c + `","status":"busy"}`:           "status",
		`{"user_id":"` + users[0].ID + `","status":"away"}`: "user_id",
		`not json`: "status",
	} {
		r := put(c, body)
		if e := decodeAppError(t, r); r.code != 400 || e["message"] != "Invalid or missing "+param+" in request body." {
			t.Errorf("put %s: HTTP %d %v", body, r.code, e)
		}
	}
	if r := doRequest(t, s, "GET", "/api/v4/users/abc/status", AdminToken, nil); r.code != 400 ||
		decodeAppError(t, r)["id"] != "api.context.invalid_url_param.app_error" {
		t.Errorf("short path id: HTTP %d %s", r.code, r.body)
	}

	stats := func() float64 {
		var m map[string]float64
		if err := json.Unmarshal(doRequest(t, s, "GET", "/api/v4/users/stats", UserToken, nil).body, &m); err != nil {
			t.Fatal(err)
		}
		return m["total_users_count"]
	}
	if n := stats(); n != 3 {
		t.Fatalf("stats %v, want 3", n)
	}
	active := func(id, body string) fakeResponse {
		return doRequest(t, s, "PUT", "/api/v4/users/"+id+"/active", AdminToken, []byte(body))
	}
	a, b := users[0].ID, users[1].ID
	for _, id := range []string{a, b} {
		if r := active(id, `{"active":false}`); r.code != 200 || string(r.body) != `{"status":"OK"}` {
			t.Fatalf("deactivate: %d %s", r.code, r.body)
		}
	}
	if r := active(b, `{"active":false}`); r.code != 200 {
		t.Errorf("deactivate again: %d", r.code)
	}
	if n := stats(); n != 1 {
		t.Errorf("stats after deactivations %v, want 1", n)
	}
	if m := get(a); m["status"] != "offline" || m["manual"] != false {
		t.Errorf("deactivated online user: %v", m)
	}
	if m := get(b); m["status"] != "away" || m["manual"] != true {
		t.Errorf("deactivated manual away user: %v", m)
	}
	if r := active(a, `{"active":true}`); r.code != 200 || stats() != 2 {
		t.Errorf("reactivate: %d, stats %v", r.code, stats())
	}
	if r := active(a, `{"active":"true"}`); r.code != 400 || decodeAppError(t, r)["message"] != "Invalid or missing active in request body." {
		t.Errorf("string active: %d %s", r.code, r.body)
	}
	if r := active("dddddddddddddddddddddddddd", `{"active":false}`); r.code != 404 {
		t.Errorf("unknown user: %d", r.code)
	}
	var page []map[string]any
	if err := json.Unmarshal(doRequest(t, s, "GET", "/api/v4/users", AdminToken, nil).body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 || page[1]["username"] != "bob" || page[1]["delete_at"].(float64) <= 0 || page[0]["delete_at"] != float64(0) {
		t.Errorf("users after changes: %v", page)
	}
}

func TestUsersPaging(t *testing.T) {
	users := GenerateUsers(1003, 9)
	s := Start(t, Config{Users: users})
	page := func(q string) []map[string]any {
		r := doRequest(t, s, "GET", "/api/v4/users"+q, AdminToken, nil)
		if r.code != 200 || r.header.Get("Expires") != "0" {
			t.Fatalf("users%s: HTTP %d, Expires %q", q, r.code, r.header.Get("Expires"))
		}
		var out []map[string]any
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatalf("decode page: %v", err)
		}
		return out
	}
	var all []map[string]any
	for p := 0; ; p++ {
		got := page(fmt.Sprintf("?page=%d&per_page=200", p))
		all = append(all, got...)
		if len(got) < 200 {
			if p != 5 || len(got) != 3 {
				t.Errorf("last page %d has %d users", p, len(got))
			}
			break
		}
	}
	if len(all) != len(users) {
		t.Fatalf("walk returned %d users, want %d", len(all), len(users))
	}
	var bots, deact int
	for i, u := range all {
		if u["id"] != users[i].ID || u["username"] != users[i].Username {
			t.Fatalf("user %d: %v, want %s %s", i, u, users[i].ID, users[i].Username)
		}
		if i > 0 && all[i-1]["username"].(string) >= u["username"].(string) {
			t.Errorf("not sorted at %d", i)
		}
		if u["is_bot"] == true {
			bots++
		}
		if u["delete_at"].(float64) > 0 {
			deact++
		}
	}
	c := CountStatuses(users)
	if bots != c.Bots || deact != c.Deactivated || bots == 0 || deact == 0 {
		t.Errorf("bots %d deactivated %d, want %d and %d (both > 0)", bots, deact, c.Bots, c.Deactivated)
	}
	for q, want := range map[string]int{"": 60, "?per_page=-5": 60, "?per_page=x": 60, "?per_page=1000": 200, "?page=50&per_page=200": 0, "?per_page=0": 0, "?page=-1&per_page=7": 7} {
		if got := page(q); len(got) != want {
			t.Errorf("users%s: %d users, want %d", q, len(got), want)
		}
	}
	if r := doRequest(t, s, "GET", "/api/v4/users?page=50&per_page=200", AdminToken, nil); string(r.body) != "[]" {
		t.Errorf("page past the end: %q", r.body)
	}
}

func TestClusterSAMLConfigAndPing(t *testing.T) {
	s := Start(t, Config{Nodes: DemoNodes(4, 1, 1), SAMLIDP: true})
	r := doRequest(t, s, "GET", "/api/v4/cluster/status", AdminToken, nil)
	var nodes []map[string]string
	if err := json.Unmarshal(r.body, &nodes); err != nil || len(nodes) != 4 {
		t.Fatalf("cluster: %v %s", err, r.body)
	}
	if !strings.Contains(string(r.body), `{"id":"node0000000000000000000004","version":"","schema_version":"","config_hash":"","ipaddress":"","hostname":""}`) {
		t.Errorf("unreachable node not emitted with empty fields: %s", r.body)
	}
	if nodes[2]["version"] != "5.36.1" || nodes[0]["version"] != "5.37.0" || nodes[0]["config_hash"] == nodes[2]["config_hash"] || nodes[0]["hostname"] != "mm-app-1" {
		t.Errorf("skewed node wrong: %v", nodes)
	}
	s.SetNodes(nil)
	if r := doRequest(t, s, "GET", "/api/v4/cluster/status", AdminToken, nil); string(r.body) != "[]" {
		t.Errorf("no nodes: %s", r.body)
	}

	saml := func() string {
		return string(doRequest(t, s, "GET", "/api/v4/saml/certificate/status", AdminToken, nil).body)
	}
	if got := saml(); got != `{"idp_certificate_file":true,"private_key_file":false,"public_certificate_file":false}` {
		t.Errorf("saml: %s", got)
	}
	s.SetSAML(false, true, true)
	if got := saml(); got != `{"idp_certificate_file":false,"private_key_file":true,"public_certificate_file":true}` {
		t.Errorf("saml after SetSAML: %s", got)
	}

	cfg := func() map[string]string {
		var m map[string]string
		if err := json.Unmarshal(doRequest(t, s, "GET", "/api/v4/config/client?format=old", "", nil).body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := cfg(); m["EnableSaml"] != "false" || m["Version"] != "5.37.0" || m["BuildNumber"] != "dev" || m["BuildEnterpriseReady"] != "false" {
		t.Errorf("client config: %v", m)
	}
	s.SetSAMLEnabled(true)
	s.SetVersion("9.11.2.9.11.2.0123456789abcdef0123456789abcdef.true")
	if m := cfg(); m["EnableSaml"] != "true" || m["Version"] != "9.11.2" || m["BuildNumber"] != "9.11.2" {
		t.Errorf("client config after setters: %v", m)
	}
	r = doRequest(t, s, "GET", "/api/v4/config/client", "", nil)
	if r.code != 501 || decodeAppError(t, r)["id"] != "api.config.client.old_format.app_error" {
		t.Errorf("config without format: HTTP %d %s", r.code, r.body)
	}
	if r.header.Get("X-Version-Id") != "9.11.2.9.11.2.0123456789abcdef0123456789abcdef.true" {
		t.Errorf("X-Version-Id %q", r.header.Get("X-Version-Id"))
	}

	s.SetUnhealthy(true)
	r = doRequest(t, s, "GET", "/api/v4/system/ping?get_server_status=true", "", nil)
	if r.code != 500 || r.header.Get("Status") != "UNHEALTHY" || !strings.Contains(string(r.body), `"status":"UNHEALTHY"`) {
		t.Errorf("unhealthy ping: HTTP %d %s %v", r.code, r.body, r.header)
	}
}

func TestRouterNotFound(t *testing.T) {
	s := Start(t, Config{})
	for _, p := range []string{"/api/v4/users/not-a-valid-id/status", "/api/v4/nope", "/elsewhere", "/api/v4/users/abc/posts"} {
		r := doRequest(t, s, "GET", p, AdminToken, nil)
		if r.code != 404 || r.header.Get("Content-Type") != "text/plain; charset=utf-8" || r.header.Get("X-Request-Id") != "" || r.header.Get("X-Version-Id") != "" {
			t.Errorf("%s: HTTP %d headers %v", p, r.code, r.header)
		}
		if e := decodeAppError(t, r); e["id"] != "api.context.404.app_error" || !strings.Contains(e["detailed_error"].(string), p) {
			t.Errorf("%s: body %v", p, e)
		}
	}
	if r := doRequest(t, s, "DELETE", "/api/v4/cluster/status", AdminToken, nil); r.code != 405 {
		t.Errorf("wrong method: HTTP %d", r.code)
	}
	if got := s.Requests(EndpointOther); got != 3 {
		t.Errorf("other counter %d, want 3", got)
	}
}

func TestFaults(t *testing.T) {
	s := Start(t, Config{Users: GenerateUsers(20, 1)})
	ping := func() fakeResponse { return doRequest(t, s, "GET", "/api/v4/system/ping", "", nil) }

	s.SetFault(EndpointPing, Fault{Code: 503, Times: 2})
	for i := 0; i < 2; i++ {
		r := ping()
		e := decodeAppError(t, r)
		if r.code != 503 || e["id"] != FaultAppErrorID || e["status_code"] != float64(503) || e["request_id"] != r.header.Get("X-Request-Id") || r.header.Get("X-Version-Id") == "" {
			t.Errorf("fault %d: HTTP %d %v", i, r.code, e)
		}
	}
	if r := ping(); r.code != 200 {
		t.Errorf("after Times ran out: HTTP %d", r.code)
	}

	s.SetFault(EndpointUserStats, Fault{Code: 429, RetryAfter: 7})
	r := doRequest(t, s, "GET", "/api/v4/users/stats", AdminToken, nil)
	if r.code != 429 || r.header.Get("Retry-After") != "7" || string(r.body) != "limit exceeded\n" ||
		r.header.Get("Content-Type") != "text/plain; charset=utf-8" || r.header.Get("X-Request-Id") != "" || r.header.Get("X-Version-Id") != "" {
		t.Errorf("429 fault: HTTP %d %q %v", r.code, r.body, r.header)
	}

	s.SetFault(EndpointUsers, Fault{Malformed: true})
	r = doRequest(t, s, "GET", "/api/v4/users", AdminToken, nil)
	if r.code != 200 || json.Valid(r.body) || len(r.body) == 0 || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("malformed fault: HTTP %d valid=%v", r.code, json.Valid(r.body))
	}

	s.SetFault(EndpointClusterStatus, BadGatewayFault())
	r = doRequest(t, s, "GET", "/api/v4/cluster/status", AdminToken, nil)
	if r.code != 502 || r.header.Get("Content-Type") != "text/html" || string(r.body) != ProxyErrorPage || r.header.Get("X-Request-Id") != "" {
		t.Errorf("proxy fault: HTTP %d %v", r.code, r.header)
	}

	s.ClearFaults()
	s.SetFault(EndpointAll, Fault{Code: 500})
	s.SetFault(EndpointPing, Fault{Code: 502})
	if r := doRequest(t, s, "GET", "/api/v4/users/stats", AdminToken, nil); r.code != 500 {
		t.Errorf("EndpointAll fault: HTTP %d", r.code)
	}
	if r := ping(); r.code != 502 {
		t.Errorf("endpoint fault over EndpointAll: HTTP %d", r.code)
	}
	s.ClearFault(EndpointPing)
	if r := ping(); r.code != 500 {
		t.Errorf("after ClearFault(ping): HTTP %d", r.code)
	}
	s.ClearFaults()

	// Until cleared: Go's transport retries an idempotent request once on
	// a reused connection that closes.
	s.SetFault(EndpointPing, Fault{Hangup: true})
	resp, err := http.Get(s.URL + "/api/v4/system/ping")
	if err == nil {
		resp.Body.Close()
		t.Errorf("hangup fault: got HTTP %d, want a transport error", resp.StatusCode)
	}
	s.ClearFaults()

	// A delay longer than the client's deadline: the client gives up and
	// the handler stops waiting (context cancellation).
	s.SetFault(EndpointPing, Fault{Delay: time.Hour, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/v4/system/ping", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		if resp != nil {
			resp.Body.Close()
		}
		t.Errorf("slow fault: err %v, want deadline exceeded", err)
	}
	// The delayed fault was consumed; the next ping is normal.
	if r := ping(); r.code != 200 {
		t.Errorf("after slow fault: HTTP %d", r.code)
	}
}

func TestDown(t *testing.T) {
	s := Start(t, Config{})
	s.SetDown(true)
	for _, p := range []string{"/api/v4/system/ping", "/api/v4/users/stats"} {
		r := doRequest(t, s, "GET", p, AdminToken, nil)
		if r.code != 502 || !strings.Contains(string(r.body), "502 Bad Gateway") || r.header.Get("X-Version-Id") != "" {
			t.Errorf("down %s: HTTP %d", p, r.code)
		}
	}
	if s.Requests(EndpointPing) != 1 || s.Requests(EndpointUserStats) != 1 {
		t.Errorf("down requests not counted: %v", s.RequestCounts())
	}
	s.SetDown(false)
	if r := doRequest(t, s, "GET", "/api/v4/system/ping", "", nil); r.code != 200 {
		t.Errorf("after SetDown(false): HTTP %d", r.code)
	}
}

func TestRateLimit(t *testing.T) {
	// A refill so slow that no token comes back during the test.
	s := Start(t, Config{RateLimit: &RateLimit{PerSec: 0.001, Burst: 4}})
	for i := 0; i < 5; i++ {
		r := doRequest(t, s, "GET", "/api/v4/users/stats", AdminToken, nil)
		if r.code != 200 || r.header.Get("X-Ratelimit-Limit") != "5" || r.header.Get("X-Ratelimit-Remaining") != fmt.Sprint(4-i) || r.header.Get("X-Ratelimit-Reset") == "" {
			t.Fatalf("request %d: HTTP %d %v", i, r.code, r.header)
		}
	}
	r := doRequest(t, s, "GET", "/api/v4/system/ping", "", nil)
	if r.code != 429 || r.header.Get("Retry-After") == "" || r.header.Get("Retry-After") == "0" || r.header.Get("X-Ratelimit-Remaining") != "0" ||
		string(r.body) != "limit exceeded\n" || r.header.Get("X-Request-Id") != "" {
		t.Errorf("limited: HTTP %d %q %v", r.code, r.body, r.header)
	}
	s.SetRateLimit(nil)
	if r := doRequest(t, s, "GET", "/api/v4/system/ping", "", nil); r.code != 200 || r.header.Get("X-Ratelimit-Limit") != "" {
		t.Errorf("after disabling: HTTP %d %v", r.code, r.header)
	}
	s.SetRateLimit(&RateLimit{PerSec: 0.001, Burst: 0})
	if r := doRequest(t, s, "GET", "/api/v4/system/ping", "", nil); r.code != 200 || r.header.Get("X-Ratelimit-Remaining") != "0" {
		t.Errorf("burst 0 first request: HTTP %d %v", r.code, r.header)
	}
	if r := doRequest(t, s, "GET", "/api/v4/system/ping", "", nil); r.code != 429 {
		t.Errorf("burst 0 second request: HTTP %d", r.code)
	}
}

func TestLatencyHook(t *testing.T) {
	var mu sync.Mutex
	calls := map[string][]int{}
	s := Start(t, Config{Users: GenerateUsers(300, 2), Latency: func(ep string, n int) time.Duration {
		mu.Lock()
		calls[ep] = append(calls[ep], n)
		mu.Unlock()
		return 0
	}})
	doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, mustJSON(t, randomIDs(7, 1)))
	doRequest(t, s, "GET", "/api/v4/users?page=2&per_page=50", AdminToken, nil)
	doRequest(t, s, "GET", "/api/v4/system/ping", "", nil)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(calls[EndpointStatusesByIDs], []int{7}) || !slices.Equal(calls[EndpointUsers], []int{100}) || !slices.Equal(calls[EndpointPing], []int{0}) {
		t.Errorf("latency calls %v", calls)
	}

	lat := RealisticLatency()
	for _, c := range []struct {
		ep   string
		n    int
		want time.Duration
	}{
		{EndpointStatusesByIDs, 0, time.Millisecond},
		{EndpointStatusesByIDs, 1000, 5 * time.Millisecond},
		{EndpointUsers, 0, 5 * time.Millisecond},
		{EndpointUsers, 100000, 100 * time.Millisecond},
		{EndpointPing, 0, 700 * time.Microsecond},
	} {
		if got := lat(c.ep, c.n); got != c.want {
			t.Errorf("RealisticLatency(%s, %d) = %v, want %v", c.ep, c.n, got, c.want)
		}
	}
	if got, want := RealisticLatencyOffset(2*time.Millisecond)(EndpointUsers, 10000), 25*time.Millisecond; got != want {
		t.Errorf("RealisticLatencyOffset(2ms)(users, 10000) = %v, want %v", got, want)
	}
}

func TestCounters(t *testing.T) {
	s := Start(t, Config{Users: GenerateUsers(10, 1)})
	doRequest(t, s, "GET", "/api/v4/system/ping", "", nil)
	doRequest(t, s, "GET", "/api/v4/system/ping", "", nil)
	doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, mustJSON(t, randomIDs(5, 1)))
	doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, mustJSON(t, randomIDs(3, 2)))
	doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, []byte(`[]`)) // invalid: no ids counted
	doRequest(t, s, "GET", "/api/v4/users/me", AdminToken, nil)
	doRequest(t, s, "GET", "/api/v4/users/me/status", AdminToken, nil)
	doRequest(t, s, "GET", "/favicon.ico", "", nil)
	want := map[string]int64{EndpointPing: 2, EndpointStatusesByIDs: 3, EndpointUsersMe: 1, EndpointUserStatus: 1, EndpointOther: 1}
	for _, ep := range Endpoints() {
		if got := s.Requests(ep); got != want[ep] {
			t.Errorf("Requests(%s) = %d, want %d", ep, got, want[ep])
		}
	}
	if s.TotalRequests() != 8 || s.StatusIDsReceived() != 8 || s.Requests("nope") != 0 {
		t.Errorf("total %d, ids %d", s.TotalRequests(), s.StatusIDsReceived())
	}
	s.ResetCounters()
	if s.TotalRequests() != 0 || s.StatusIDsReceived() != 0 {
		t.Errorf("after reset: total %d, ids %d", s.TotalRequests(), s.StatusIDsReceived())
	}
}

func TestGenerateUsers(t *testing.T) {
	a, b := GenerateUsers(20000, 42), GenerateUsers(20000, 42)
	if !slices.Equal(a, b) {
		t.Fatal("GenerateUsers is not deterministic")
	}
	if c := GenerateUsers(20000, 43); slices.Equal(a, c) {
		t.Fatal("different seeds give the same users")
	}
	ids := map[string]bool{}
	for i, u := range a {
		if len(u.ID) != 26 || strings.Trim(u.ID, idAlphabet) != "" || ids[u.ID] {
			t.Fatalf("bad or duplicate id %q", u.ID)
		}
		ids[u.ID] = true
		if i > 0 && a[i-1].Username >= u.Username {
			t.Fatalf("usernames not sorted at %d", i)
		}
		if u.IsBot != strings.HasPrefix(u.Username, "bot") {
			t.Fatalf("bot naming: %+v", u)
		}
	}
	c := CountStatuses(a)
	frac := func(n int) float64 { return float64(n) / float64(c.Active) }
	for st, want := range map[string]float64{mmclient.StatusOnline: 0.10, mmclient.StatusAway: 0.05, mmclient.StatusDND: 0.03, mmclient.StatusOOO: 0.01, mmclient.StatusOffline: 0.81} {
		if got := frac(c.All[st]); got < want*0.8-0.002 || got > want*1.2+0.002 {
			t.Errorf("%s fraction %.4f, want about %.2f", st, got, want)
		}
	}
	if f := float64(c.Bots) / float64(c.Total); f < 0.005 || f > 0.015 {
		t.Errorf("bot fraction %.4f", f)
	}
	if f := float64(c.Deactivated) / float64(c.Total); f < 0.005 || f > 0.015 {
		t.Errorf("deactivated fraction %.4f", f)
	}
	if c.HumansManual[mmclient.StatusDND] != c.Humans[mmclient.StatusDND] || c.HumansManual[mmclient.StatusOnline] != 0 || c.HumansManual[mmclient.StatusAway] == 0 || c.HumansManual[mmclient.StatusAway] == c.Humans[mmclient.StatusAway] {
		t.Errorf("manual mix: %v of %v", c.HumansManual, c.Humans)
	}
	sum := 0
	for _, n := range c.All {
		sum += n
	}
	if sum != c.Active || c.Active+c.Deactivated != c.Total {
		t.Errorf("counts do not add up: %+v", c)
	}
}

// TestServedCountsMatchCountStatuses sweeps the fake like the exporter does
// (page through /users, post the active ids in batches) and checks the
// result equals CountStatuses.
func TestServedCountsMatchCountStatuses(t *testing.T) {
	users := GenerateUsers(5000, 7)
	s := Start(t, Config{Users: users})
	var humans, all []string
	for p := 0; ; p++ {
		var page []struct {
			ID       string `json:"id"`
			DeleteAt int64  `json:"delete_at"`
			IsBot    bool   `json:"is_bot"`
		}
		if err := json.Unmarshal(doRequest(t, s, "GET", fmt.Sprintf("/api/v4/users?page=%d&per_page=200", p), AdminToken, nil).body, &page); err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			if u.DeleteAt == 0 {
				all = append(all, u.ID)
				if !u.IsBot {
					humans = append(humans, u.ID)
				}
			}
		}
		if len(page) < 200 {
			break
		}
	}
	count := func(ids []string) (map[string]int, map[string]int) {
		byStatus, manual := zeroCounts(), zeroCounts()
		for i := 0; i < len(ids); i += 1000 {
			for _, e := range statusEntries(t, doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, mustJSON(t, ids[i:min(i+1000, len(ids))]))) {
				byStatus[e["status"].(string)]++
				if e["manual"] == true {
					manual[e["status"].(string)]++
				}
			}
		}
		return byStatus, manual
	}
	want := CountStatuses(users)
	h, hm := count(humans)
	a, am := count(all)
	for _, st := range mmclient.KnownStatuses {
		if h[st] != want.Humans[st] || hm[st] != want.HumansManual[st] || a[st] != want.All[st] || am[st] != want.AllManual[st] {
			t.Errorf("%s: served humans %d/%d manual, all %d/%d; want %d/%d, %d/%d", st, h[st], hm[st], a[st], am[st],
				want.Humans[st], want.HumansManual[st], want.All[st], want.AllManual[st])
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	users := GenerateUsers(2000, 1)
	s := Start(t, Config{Users: users, RateLimit: &RateLimit{PerSec: 1e6, Burst: 1000}})
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = users[i].ID
	}
	body := mustJSON(t, ids)
	var wg sync.WaitGroup
	var served atomic.Int64
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var r fakeResponse
				switch i % 3 {
				case 0:
					r = doRequest(t, s, "POST", "/api/v4/users/status/ids", UserToken, body)
				case 1:
					r = doRequest(t, s, "GET", "/api/v4/users?per_page=200&page=3", AdminToken, nil)
				default:
					r = doRequest(t, s, "GET", "/api/v4/cluster/status", AdminToken, nil)
				}
				if r.code != 200 && r.code != 503 {
					t.Errorf("concurrent request: HTTP %d", r.code)
					return
				}
				served.Add(1)
			}
		}()
	}
	// Keep changing the state until the readers served enough requests.
	for i := 0; (i < 200 || served.Load() < 100) && i < 200000; i++ {
		s.SetStatus(ids[i%len(ids)], mmclient.KnownStatuses[i%4], i%2 == 0)
		s.SetActive(ids[i%50], i%2 == 0)
		s.SetNodes(DemoNodes(i%5, 0, 0))
		s.SetSAML(i%2 == 0, true, false)
		s.SetFault(EndpointClusterStatus, Fault{Code: 503, Times: 1})
		s.SetLatency(nil)
		s.SetVersion("")
		if i%50 == 0 {
			s.SetUsers(users)
			s.ResetCounters()
		}
	}
	close(stop)
	wg.Wait()
	if served.Load() < 100 {
		t.Errorf("only %d requests served", served.Load())
	}
}

func TestTLSServer(t *testing.T) {
	s := NewTLSServer(Config{})
	t.Cleanup(s.Close)
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") || !bytes.Contains(s.CertificatePEM(), []byte("BEGIN CERTIFICATE")) || s.Certificate() == nil {
		t.Fatalf("TLS server: %s", s.URL)
	}
	resp, err := s.Client().Get(s.URL + "/api/v4/system/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HTTPS ping: %d", resp.StatusCode)
	}
	plain := Start(t, Config{})
	if plain.CertificatePEM() != nil || New(Config{}).Client() != nil {
		t.Error("plain or unstarted server reports TLS material")
	}
}

func BenchmarkStatusIDs1000Of1M(b *testing.B) {
	users := GenerateUsers(1_000_000, 1)
	s := NewServer(Config{Users: users})
	defer s.Close()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = users[i*997].ID
	}
	body, _ := json.Marshal(ids)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("POST", s.URL+"/api/v4/users/status/ids", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = bytes.NewBuffer(nil).ReadFrom(resp.Body)
		resp.Body.Close()
	}
}

func BenchmarkUsersPageOf1M(b *testing.B) {
	s := NewServer(Config{Users: GenerateUsers(1_000_000, 1)})
	defer s.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/users?page=%d&per_page=200", s.URL, i%5000), nil)
		req.Header.Set("Authorization", "Bearer "+AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = bytes.NewBuffer(nil).ReadFrom(resp.Body)
		resp.Body.Close()
	}
}
