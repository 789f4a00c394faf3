package mmtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

func TestParseEra(t *testing.T) {
	for _, e := range Eras() {
		got, err := ParseEra(e.String())
		if err != nil || got != e {
			t.Errorf("ParseEra(%q) = %v, %v", e.String(), got, err)
		}
	}
	if e, err := ParseEra(""); err != nil || e != Era537 {
		t.Errorf(`ParseEra("") = %v, %v`, e, err)
	}
	if e, err := ParseEra("11.2"); err != nil || e != Era11 {
		t.Errorf(`ParseEra("11.2") = %v, %v`, e, err)
	}
	for _, bad := range []string{"5", "10", "latest", "11.3"} {
		if _, err := ParseEra(bad); err == nil {
			t.Errorf("ParseEra(%q): no error", bad)
		}
	}
	var zero Config
	if zero.Era != Era537 {
		t.Error("the zero Config is not era 5.37")
	}
}

func TestEraHeadersAndVersion(t *testing.T) {
	security := []string{"X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"}
	for _, tc := range []struct {
		era     Era
		version string
	}{{Era537, DefaultVersion}, {Era11, DefaultVersion11}} {
		s := Start(t, Config{Era: tc.era})
		r := doRequest(t, s, "GET", "/api/v4/cluster/status", AdminToken, nil)
		if got := r.header.Get("X-Version-Id"); got != tc.version {
			t.Errorf("era %v: X-Version-Id %q, want %q", tc.era, got, tc.version)
		}
		for _, h := range security {
			_, present := r.header[h]
			if present != (tc.era == Era11) {
				t.Errorf("era %v: header %s present=%v", tc.era, h, present)
			}
		}
		if tc.era == Era11 && (r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") != "no-referrer") {
			t.Errorf("era 11 security headers: %v", r.header)
		}
		s.SetVersion("")
		if got := doRequest(t, s, "GET", "/api/v4/system/ping", "", nil).header.Get("X-Version-Id"); got != tc.version {
			t.Errorf("era %v: after SetVersion(\"\"): %q", tc.era, got)
		}
		// The client config derives Version and BuildNumber from the
		// header, whatever the length of its config hash.
		r = doRequest(t, s, "GET", "/api/v4/config/client?format=old", "", nil)
		cfg := decodeGeneric(t, "config", r.body).(map[string]any)
		wantVersion, wantBuild := "5.37.0", "dev"
		if tc.era == Era11 {
			wantVersion, wantBuild = "11.2.0", "11.2.0"
		}
		if cfg["Version"] != wantVersion || cfg["BuildNumber"] != wantBuild {
			t.Errorf("era %v: client config Version %v BuildNumber %v", tc.era, cfg["Version"], cfg["BuildNumber"])
		}
	}
}

func TestEraErrorDetail(t *testing.T) {
	for _, era := range Eras() {
		s := Start(t, Config{Era: era})
		e := decodeAppError(t, doRequest(t, s, "GET", "/api/v4/users/stats", "", nil))
		want := "UserRequired"
		if era == Era11 {
			want = ""
		}
		if e["id"] != "api.context.session_expired.app_error" || e["detailed_error"] != want {
			t.Errorf("era %v: 401 %v", era, e)
		}
	}
}

func TestEra11StatusIDsDeduplicated(t *testing.T) {
	a, b, c := strings.Repeat("a", 26), strings.Repeat("b", 26), strings.Repeat("c", 26)
	body := mustJSON(t, []string{c, a, c, b, a})
	for _, tc := range []struct {
		era  Era
		want []string
	}{
		// 5.37: stored first, then synthesized, each in request order,
		// duplicates as sent. 11.x: sorted and deduplicated, stored first.
		{Era537, []string{c, c, a, b, a}},
		{Era11, []string{c, a, b}},
	} {
		s := Start(t, Config{Era: tc.era})
		s.SetStatus(c, mmclient.StatusDND, true)
		got := statusEntries(t, doRequest(t, s, "POST", "/api/v4/users/status/ids", UserToken, body))
		var order []string
		for _, e := range got {
			order = append(order, e["user_id"].(string))
		}
		if strings.Join(order, ",") != strings.Join(tc.want, ",") {
			t.Errorf("era %v: order %v, want %v", tc.era, order, tc.want)
		}
		if got[0]["status"] != "dnd" || got[len(got)-1]["status"] != "offline" {
			t.Errorf("era %v: entries %v", tc.era, got)
		}
		if n := s.StatusIDsReceived(); n != 5 {
			t.Errorf("era %v: StatusIDsReceived %d, want 5 (duplicates counted)", tc.era, n)
		}
	}
}

func TestEra11StatusIDsErrors(t *testing.T) {
	s := Start(t, Config{Era: Era11})
	id := strings.Repeat("a", 26)
	for _, tc := range []struct{ body, wantID string }{
		{`{"user_ids":["` + id + `"]}`, "api.payload.parse.error"},
		{`{"user_ids": [`, "api.payload.parse.error"},
		{`[1]`, "api.payload.parse.error"},
		{``, "api.payload.parse.error"},
		{`[]`, "api.context.invalid_body_param.app_error"},
		{`null`, "api.context.invalid_body_param.app_error"},
		{`["` + id + `","short"]`, "api.context.invalid_body_param.app_error"},
	} {
		r := doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, []byte(tc.body))
		e := decodeAppError(t, r)
		if r.code != http.StatusBadRequest || e["id"] != tc.wantID || e["detailed_error"] != "" || e["status_code"] != float64(400) {
			t.Errorf("%q: HTTP %d %v, want 400 %s", tc.body, r.code, e, tc.wantID)
		}
	}
}

// compactIDs returns a compact JSON array of n distinct 26-character ids:
// 29n+1 bytes.
func compactIDs(t *testing.T, n int) []byte {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%026d", i)
	}
	b := mustJSON(t, ids)
	if len(b) != 29*n+1 {
		t.Fatalf("body of %d ids is %d bytes", n, len(b))
	}
	return b
}

func TestPayloadLimit(t *testing.T) {
	s := Start(t, Config{Era: Era11})
	// 11.2 accepted 10,362 ids in compact JSON (300,499 bytes, within
	// 300,000 + 512) and refused more with 413.
	if r := doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, compactIDs(t, 10362)); r.code != http.StatusOK {
		t.Fatalf("10362 ids: HTTP %d %s", r.code, excerpt(r.body))
	}
	for _, n := range []int{10363, 20000} {
		r := doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, compactIDs(t, n))
		e := decodeAppError(t, r)
		if r.code != http.StatusRequestEntityTooLarge || e["id"] != "api.context.request_body_too_large.app_error" ||
			e["message"] != "Unable to process request. Request body too large." || e["detailed_error"] != "" ||
			e["status_code"] != float64(413) || e["request_id"] != r.header.Get("X-Request-Id") {
			t.Errorf("%d ids: HTTP %d %v", n, r.code, e)
		}
		if r.header.Get("X-Version-Id") != DefaultVersion11 || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%d ids: headers %v", n, r.header)
		}
	}
	// Every body is bounded, not only the status list.
	big := `{"user_id":"` + UserUserID + `","status":"away","pad":"` + strings.Repeat("x", 400000) + `"}`
	if r := doRequest(t, s, "PUT", "/api/v4/users/me/status", UserToken, []byte(big)); r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("large PUT status: HTTP %d", r.code)
	}
	// Lowered, raised, removed.
	s.SetMaximumPayloadSizeBytes(1000)
	if r := doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, compactIDs(t, 52)); r.code != http.StatusOK { // 1509 bytes
		t.Errorf("1509 bytes under a 1000+512 limit: HTTP %d", r.code)
	}
	if r := doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, compactIDs(t, 53)); r.code != http.StatusRequestEntityTooLarge { // 1538 bytes
		t.Errorf("1538 bytes over a 1000+512 limit: HTTP %d", r.code)
	}
	s.SetMaximumPayloadSizeBytes(-1)
	if r := doRequest(t, s, "POST", "/api/v4/users/status/ids", AdminToken, compactIDs(t, 20000)); r.code != http.StatusOK {
		t.Errorf("no limit: HTTP %d", r.code)
	}

	// 5.37 caps bodies at 100 MiB + 512 and answers an oversize list like
	// any unreadable one: 400 invalid user_ids.
	old := Start(t, Config{MaximumPayloadSizeBytes: 1000})
	if r := doRequest(t, old, "POST", "/api/v4/users/status/ids", AdminToken, compactIDs(t, 52)); r.code != http.StatusOK {
		t.Errorf("5.37 within the limit: HTTP %d", r.code)
	}
	r := doRequest(t, old, "POST", "/api/v4/users/status/ids", AdminToken, compactIDs(t, 53))
	if e := decodeAppError(t, r); r.code != http.StatusBadRequest || e["id"] != "api.context.invalid_body_param.app_error" {
		t.Errorf("5.37 over the limit: HTTP %d %v", r.code, e)
	}
	old.SetMaximumPayloadSizeBytes(0) // back to the default
	if r := doRequest(t, old, "POST", "/api/v4/users/status/ids", AdminToken, compactIDs(t, 20000)); r.code != http.StatusOK {
		t.Errorf("5.37 default limit: HTTP %d", r.code)
	}
}

func TestEra11Ping(t *testing.T) {
	s := Start(t, Config{Era: Era11})
	base := `{"ActiveSearchBackend":"database","AndroidLatestVersion":"","AndroidMinVersion":"","IosLatestVersion":"","IosMinVersion":"",`
	for _, tc := range []struct {
		query, token string
		code         int
		body         string
		deepHeaders  bool
	}{
		{"", AdminToken, 200, base + `"status":"OK"}`, false},
		{"?get_server_status=1", AdminToken, 200, base + `"status":"OK"}`, false},
		{"?get_server_status=true", AdminToken, 200, base + `"database_status":"OK","filestore_status":"OK","root_status":true,"status":"OK"}`, true},
		{"?get_server_status=true", UserToken, 200, base + `"database_status":"OK","filestore_status":"OK","status":"OK"}`, true},
		{"?get_server_status=true", "", 200, base + `"database_status":"OK","filestore_status":"OK","status":"OK"}`, true},
		{"?get_server_status=true", "not-a-token", 200, base + `"database_status":"OK","filestore_status":"OK","status":"OK"}`, true},
	} {
		r := doRequest(t, s, "GET", "/api/v4/system/ping"+tc.query, tc.token, nil)
		if r.code != tc.code || string(r.body) != tc.body {
			t.Errorf("%s (token %q): HTTP %d %s, want %d %s", tc.query, tc.token, r.code, r.body, tc.code, tc.body)
		}
		if (r.header.Get("Database_status") != "") != tc.deepHeaders {
			t.Errorf("%s: Database_status header %q", tc.query, r.header.Get("Database_status"))
		}
	}
	s.SetUnhealthy(true)
	if r := doRequest(t, s, "GET", "/api/v4/system/ping?get_server_status=true", "", nil); r.code != 500 || !strings.Contains(string(r.body), `"status":"UNHEALTHY"`) || r.header.Get("Status") != "UNHEALTHY" {
		t.Errorf("unhealthy: HTTP %d %s", r.code, r.body)
	}
	if r := doRequest(t, s, "GET", "/api/v4/system/ping?get_server_status=true&use_rest_semantics=true", "", nil); r.code != 200 || !strings.Contains(string(r.body), `"status":"UNHEALTHY"`) {
		t.Errorf("unhealthy with use_rest_semantics: HTTP %d %s", r.code, r.body)
	}
	// 5.37 keeps 500 whatever use_rest_semantics says, and takes any
	// non-empty get_server_status.
	old := Start(t, Config{})
	old.SetUnhealthy(true)
	if r := doRequest(t, old, "GET", "/api/v4/system/ping?get_server_status=1&use_rest_semantics=true", "", nil); r.code != 500 || !strings.Contains(string(r.body), `"database_status":"OK"`) {
		t.Errorf("5.37 unhealthy: HTTP %d %s", r.code, r.body)
	}
}

func TestLicenseClient(t *testing.T) {
	for _, tc := range []struct {
		era     Era
		version string
		noFmt   int
		body    string
	}{
		{Era537, "", http.StatusNotImplemented, `{"IsLicensed":"false"}`},
		{Era11, "", http.StatusBadRequest, `{"IsLicensed":"false"}`},
		{Era11, "11.2.0.11.2.0." + strings.Repeat("ab", 32) + ".true", http.StatusBadRequest, `{"IsLicensed":"true"}`},
	} {
		s := Start(t, Config{Era: tc.era, Version: tc.version})
		r := doRequest(t, s, "GET", "/api/v4/license/client?format=old", "", nil)
		if r.code != 200 || string(r.body) != tc.body {
			t.Errorf("era %v: format=old: HTTP %d %s", tc.era, r.code, r.body)
		}
		r = doRequest(t, s, "GET", "/api/v4/license/client", AdminToken, nil)
		if e := decodeAppError(t, r); r.code != tc.noFmt || e["id"] != "api.license.client.old_format.app_error" {
			t.Errorf("era %v: no format: HTTP %d %v", tc.era, r.code, e)
		}
		if s.Requests(EndpointLicenseClient) != 2 {
			t.Errorf("era %v: license requests counted %d", tc.era, s.Requests(EndpointLicenseClient))
		}
	}
}

func TestUsersActiveFilterAndEra11Listing(t *testing.T) {
	users := GenerateUsers(1000, 5)
	counts := CountStatuses(users)
	for _, era := range Eras() {
		s := Start(t, Config{Users: users, Era: era})
		walk := func(query string) []map[string]any {
			var all []map[string]any
			for page := 0; ; page++ {
				r := doRequest(t, s, "GET", fmt.Sprintf("/api/v4/users?page=%d&per_page=200%s", page, query), AdminToken, nil)
				var got []map[string]any
				for _, u := range decodeGenericStd(t, r.body).([]any) {
					got = append(got, u.(map[string]any))
				}
				if len(got) == 0 {
					return all
				}
				all = append(all, got...)
			}
		}
		if got := walk(""); len(got) != counts.Total {
			t.Errorf("era %v: unfiltered walk %d users, want %d", era, len(got), counts.Total)
		}
		active := walk("&active=true")
		inactive := walk("&inactive=true")
		if len(active) != counts.Active || len(inactive) != counts.Deactivated {
			t.Errorf("era %v: active %d (want %d), inactive %d (want %d)", era, len(active), counts.Active, len(inactive), counts.Deactivated)
		}
		for _, u := range active {
			if u["delete_at"].(float64) != 0 {
				t.Errorf("era %v: deactivated %v in active=true", era, u["username"])
			}
		}
		for _, u := range inactive {
			if u["delete_at"].(float64) == 0 {
				t.Errorf("era %v: active %v in inactive=true", era, u["username"])
			}
		}
		for i := 1; i < len(active); i++ {
			if active[i-1]["username"].(string) >= active[i]["username"].(string) {
				t.Fatalf("era %v: active=true not sorted by username at %d", era, i)
			}
		}
		// Deactivating one account moves it between the filtered lists.
		id := active[0]["id"].(string)
		s.SetActive(id, false)
		if got := walk("&active=true"); len(got) != counts.Active-1 || got[0]["id"] == id {
			t.Errorf("era %v: after deactivation, active=true lists %d", era, len(got))
		}
		if got := walk("&inactive=true"); len(got) != counts.Deactivated+1 {
			t.Errorf("era %v: after deactivation, inactive=true lists %d", era, len(got))
		}

		// Field sets of each era's listing.
		for _, u := range active[1:] {
			_, authData := u["auth_data"]
			_, notify := u["notify_props"]
			_, remote := u["remote_id"]
			bot := u["is_bot"] == true
			_, desc := u["bot_description"]
			switch era {
			case Era537:
				if !authData || notify || remote || bot != desc {
					t.Fatalf("5.37 listing fields: %v", u)
				}
			case Era11:
				if authData || !notify || remote == bot || desc {
					t.Fatalf("11 listing fields: %v", u)
				}
			}
		}
	}
	// A bot description is sent in both eras.
	for _, era := range Eras() {
		s := Start(t, Config{Era: era, Users: []UserSpec{{ID: strings.Repeat("b", 26), Username: "bot", IsBot: true, BotDescription: `says "hi"`}}})
		r := doRequest(t, s, "GET", "/api/v4/users", AdminToken, nil)
		if !strings.Contains(string(r.body), `"is_bot":true,"bot_description":"says \"hi\""`) {
			t.Errorf("era %v: bot listing %s", era, r.body)
		}
	}
}
