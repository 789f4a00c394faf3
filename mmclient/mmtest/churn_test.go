package mmtest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// allListed pages through GET /users and returns the usernames in order.
func allListed(t *testing.T, c *mmclient.Client) []string {
	t.Helper()
	var names []string
	for page := 0; ; page++ {
		us, err := c.GetUsers(context.Background(), page, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			names = append(names, u.Username)
		}
		if len(us) < 10 {
			return names
		}
	}
}

func TestDeleteUserRemovesAccountAndStatus(t *testing.T) {
	users := GenerateUsers(25, 3)
	s := Start(t, Config{Users: users})
	c := teamsClient(t, s, AdminToken)
	victim := users[7]
	s.SetStatus(victim.ID, "dnd", true)
	before := s.Counts()
	if !s.DeleteUser(victim.ID) {
		t.Fatal("DeleteUser of an account = false")
	}
	if s.DeleteUser(victim.ID) {
		t.Fatal("DeleteUser of a deleted account = true")
	}
	names := allListed(t, c)
	if len(names) != 24 || slices.Contains(names, victim.Username) {
		t.Fatalf("GET /users after the deletion lists %d accounts (%v)", len(names), names)
	}
	st, err := c.GetUserStats(context.Background())
	if err != nil || st.TotalUsersCount != int64(before.Active-1) {
		t.Fatalf("GET /users/stats = %+v, %v; want %d", st, err, before.Active-1)
	}
	// The status row went with the account: synthesized offline.
	got, err := c.GetStatusesByIDs(context.Background(), []string{victim.ID})
	if err != nil || got[victim.ID].Status != "offline" || got[victim.ID].LastActivityAt != 0 {
		t.Fatalf("status of the deleted account = %+v, %v", got, err)
	}
	after := s.Counts()
	if after.Total != before.Total-1 || after.Humans["dnd"] != before.Humans["dnd"]-1 {
		t.Fatalf("Counts before %+v after %+v", before, after)
	}
}

func TestRenameUserMovesAccountAcrossPages(t *testing.T) {
	users := GenerateUsers(30, 4)
	s := Start(t, Config{Users: users})
	c := teamsClient(t, s, AdminToken)
	before := allListed(t, c)
	last := s.Users()[29]
	s.SetActive(last.ID, false)
	if !s.RenameUser(last.ID, "aaa-first") {
		t.Fatal("RenameUser of an account = false")
	}
	if s.RenameUser("nosuchuser0000000000000000", "x") {
		t.Fatal("RenameUser of no account = true")
	}
	after := allListed(t, c)
	if after[0] != "aaa-first" || len(after) != len(before) {
		t.Fatalf("after the rename the listing starts %v (%d accounts, was %d)", after[:3], len(after), len(before))
	}
	// Every other account moved one place down: the one that ended page
	// 0 now starts page 1.
	if after[10] != before[9] {
		t.Fatalf("page 1 starts with %q, want %q", after[10], before[9])
	}
	u := s.Users()[0]
	if u.ID != last.ID || !u.Deactivated || s.Username(last.ID) != "aaa-first" {
		t.Fatalf("renamed account %+v lost its state", u)
	}
}

func TestAddedBotsAndChurnCounts(t *testing.T) {
	s := Start(t, Config{Users: GenerateUsers(10, 5)})
	before := s.Counts()
	s.AddUsers([]UserSpec{{ID: "newbot00000000000000000000", Username: "new-bot", IsBot: true, Status: "online"}})
	after := s.Counts()
	if after.ActiveBots != before.ActiveBots+1 || after.All["online"] != before.All["online"]+1 || after.Humans["online"] != before.Humans["online"] {
		t.Fatalf("a new bot: before %+v after %+v", before, after)
	}
}

func TestSetEraSwitchesAnswers(t *testing.T) {
	s := Start(t, Config{Users: GenerateUsers(5, 6)})
	get := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+"/api/v4/system/ping", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if v := get().Header.Get("X-Version-Id"); v != DefaultVersion {
		t.Fatalf("5.37 X-Version-Id %q", v)
	}
	s.SetEra(Era11)
	r := get()
	if v := r.Header.Get("X-Version-Id"); v != DefaultVersion11 || s.Era() != Era11 {
		t.Fatalf("after SetEra(Era11): X-Version-Id %q, era %v", v, s.Era())
	}
	if r.Header.Get("X-Content-Type-Options") == "" {
		t.Fatal("11.x security headers missing after SetEra(Era11)")
	}
	// The body limit follows: 11.x's 300,000 bytes answer 413 above it.
	c := teamsClient(t, s, AdminToken)
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = strings.Repeat("a", 20) + strings.Repeat("0", 6-len(itoa(i))) + itoa(i)
	}
	if _, err := c.GetStatusesByIDs(context.Background(), ids); err == nil || !strings.Contains(err.Error(), "413") {
		t.Fatalf("20,000 ids after SetEra(Era11): %v, want a 413", err)
	}
	// A version set by hand stays across a switch.
	s.SetVersion("9.11.0.9.11.0.abcdef0123456789abcdef0123456789.false")
	s.SetEra(Era537)
	if v := get().Header.Get("X-Version-Id"); !strings.HasPrefix(v, "9.11.0") {
		t.Fatalf("a version set by hand became %q", v)
	}
}

func TestAddAndRevokeTokens(t *testing.T) {
	s := Start(t, Config{Users: GenerateUsers(5, 7)})
	stats := func(tok string) error {
		_, err := teamsClient(t, s, tok).GetUserStats(context.Background())
		return err
	}
	const rotated = "rotatedadmintoken000000000"
	if err := stats(rotated); err == nil {
		t.Fatal("an unknown token was accepted")
	}
	s.AddAdminToken(rotated)
	if err := stats(rotated); err != nil {
		t.Fatalf("an added admin token: %v", err)
	}
	if err := stats(AdminToken); err != nil {
		t.Fatalf("the fixed admin token before its revocation: %v", err)
	}
	s.RevokeToken(AdminToken)
	if err := stats(AdminToken); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a revoked token: %v, want a 401", err)
	}
	if err := stats(rotated); err != nil {
		t.Fatalf("the added token after the revocation of the old one: %v", err)
	}
}

func TestAccountAdministrationOverHTTP(t *testing.T) {
	users := GenerateUsers(30, 8)
	s := Start(t, Config{Users: users})
	c := teamsClient(t, s, AdminToken)
	var a, b UserSpec
	for _, u := range users {
		if !u.Deactivated && !u.IsBot {
			if a.ID == "" {
				a = u
			} else if b.ID == "" {
				b = u
			}
		}
	}
	// A rename through PUT /users/{id}/patch moves the account in GET /users.
	if code := doRequest(t, s, "PUT", "/api/v4/users/"+a.ID+"/patch", UserToken, []byte(`{"username":"aaa-patched"}`)).code; code != http.StatusForbidden {
		t.Fatalf("a plain user renaming another: %d, want 403", code)
	}
	if code := doRequest(t, s, "PUT", "/api/v4/users/"+a.ID+"/patch", AdminToken, []byte(`{"username":"Not Valid"}`)).code; code != http.StatusBadRequest {
		t.Fatalf("an invalid username: %d, want 400", code)
	}
	if code := doRequest(t, s, "PUT", "/api/v4/users/"+a.ID+"/patch", AdminToken, []byte(`{"username":"aaa-patched"}`)).code; code != http.StatusOK {
		t.Fatalf("rename: %d", code)
	}
	if names := allListed(t, c); names[0] != "aaa-patched" {
		t.Fatalf("after the rename GET /users starts with %q", names[0])
	}
	// DELETE /users/{id} deactivates; ?permanent=true deletes for good.
	before := s.Counts()
	if code := doRequest(t, s, "DELETE", "/api/v4/users/"+b.ID, UserToken, nil).code; code != http.StatusForbidden {
		t.Fatalf("a plain user deleting another: %d, want 403", code)
	}
	if code := doRequest(t, s, "DELETE", "/api/v4/users/"+b.ID, AdminToken, nil).code; code != http.StatusOK {
		t.Fatalf("deactivation: %d", code)
	}
	if got := s.Counts(); got.Total != before.Total || got.Active != before.Active-1 {
		t.Fatalf("after DELETE: %+v, before %+v", got, before)
	}
	if code := doRequest(t, s, "DELETE", "/api/v4/users/"+b.ID+"?permanent=true", AdminToken, nil).code; code != http.StatusOK {
		t.Fatalf("permanent deletion: %d", code)
	}
	if got := s.Counts(); got.Total != before.Total-1 || s.Username(b.ID) != "" {
		t.Fatalf("after DELETE ?permanent=true: %+v", got)
	}
	if code := doRequest(t, s, "DELETE", "/api/v4/users/"+b.ID+"?permanent=true", AdminToken, nil).code; code != http.StatusNotFound {
		t.Fatalf("deleting a deleted account: %d, want 404", code)
	}
	if s.Requests(EndpointUserDelete) != 4 || s.Requests(EndpointUserPatch) != 3 {
		t.Fatalf("counted %d deletes and %d patches, want 4 and 3", s.Requests(EndpointUserDelete), s.Requests(EndpointUserPatch))
	}
	// Routes next to them are unchanged.
	if code := doRequest(t, s, "DELETE", "/api/v4/users/stats", AdminToken, nil).code; code != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE /users/stats: %d, want 405", code)
	}
}
