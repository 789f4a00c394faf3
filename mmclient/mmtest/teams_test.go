package mmtest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

func teamsClient(t *testing.T, s *Server, token string) *mmclient.Client {
	t.Helper()
	c, err := mmclient.New(mmclient.Options{BaseURL: s.URL, Token: token, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func teamServer(t *testing.T, n, teams int) (*Server, []UserSpec, []TeamSpec) {
	t.Helper()
	ts := GenerateTeams(teams)
	users := GenerateUsers(n, 5)
	AssignTeams(users, ts, 1)
	return Start(t, Config{Users: users, Teams: ts}), users, ts
}

func TestGenerateTeamsAndAssignTeams(t *testing.T) {
	ts := GenerateTeams(8)
	if ts[0].Name != "team01" || !ts[0].Open || ts[3].Open || ts[7].Open || len(ts[0].ID) != 26 {
		t.Fatalf("teams %+v", ts)
	}
	users := GenerateUsers(20000, 1)
	AssignTeams(users, ts, 1)
	per := map[string]int{}
	for _, u := range users {
		per[u.Team]++
	}
	// About 1% in no team, the rest spread over the 8 teams.
	if per[""] < 120 || per[""] > 280 || len(per) != 9 {
		t.Fatalf("assignment %v", per)
	}
	again := GenerateUsers(20000, 1)
	AssignTeams(again, ts, 1)
	if !slices.EqualFunc(users, again, func(a, b UserSpec) bool { return a.Team == b.Team }) {
		t.Fatal("AssignTeams is not deterministic")
	}
}

// GET /teams: the admin sees every team, the plain user the open ones, by
// name, paged.
func TestTeamsListing(t *testing.T) {
	s, _, ts := teamServer(t, 100, 8)
	ctx := context.Background()
	all, err := teamsClient(t, s, AdminToken).GetTeams(ctx, 0, 200)
	if err != nil || len(all) != 8 {
		t.Fatalf("admin: %d teams, %v", len(all), err)
	}
	open, err := teamsClient(t, s, UserToken).GetTeams(ctx, 0, 200)
	if err != nil || len(open) != 6 {
		t.Fatalf("user: %d teams, %v; want the 6 open ones", len(open), err)
	}
	for _, tm := range open {
		if tm.Type != "O" {
			t.Fatalf("user sees invite-only team %+v", tm)
		}
	}
	p1, err := teamsClient(t, s, AdminToken).GetTeams(ctx, 1, 3)
	if err != nil || len(p1) != 3 || p1[0].ID != ts[3].ID || p1[0].Type != "I" {
		t.Fatalf("page 1 of 3: %+v, %v", p1, err)
	}
	if r := doRequest(t, s, http.MethodGet, "/api/v4/teams", "", nil); r.code != http.StatusUnauthorized {
		t.Fatalf("no token: HTTP %d", r.code)
	}
	if got := s.Requests(EndpointTeams); got != 4 {
		t.Fatalf("teams requests counted %d, want 4", got)
	}
}

// A team's members newest account first, accounts added later on top;
// without_team lists the others; every account is in exactly one listing.
func TestTeamMembersNewestFirstAndWithoutTeam(t *testing.T) {
	s, users, ts := teamServer(t, 3000, 3)
	ctx := context.Background()
	c := teamsClient(t, s, AdminToken)
	seen := map[string]int{}
	for _, tm := range ts {
		var prev int64 = 1 << 62
		for page := 0; ; page++ {
			us, err := c.GetTeamUsersNewestFirst(ctx, tm.ID, page, 200)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range us {
				if u.CreateAt > prev || u.CreateAt == 0 {
					t.Fatalf("team %s: create_at %d after %d", tm.Name, u.CreateAt, prev)
				}
				prev = u.CreateAt
				seen[u.ID]++
			}
			if len(us) < 200 {
				break
			}
		}
	}
	none, err := c.GetUsersWithoutTeam(ctx, 0, 200)
	if err != nil || len(none) == 0 || len(none) == 200 {
		t.Fatalf("without_team: %d, %v", len(none), err)
	}
	if !slices.IsSortedFunc(none, func(a, b mmclient.User) int { return strings.Compare(a.Username, b.Username) }) {
		t.Fatal("without_team not sorted by username")
	}
	for _, u := range none {
		seen[u.ID]++
	}
	if len(seen) != len(users) {
		t.Fatalf("%d accounts listed, want %d", len(seen), len(users))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s listed %d times", id, n)
		}
	}

	// Added accounts are the newest: first in their team, with a
	// create_at later than every other.
	first, _ := c.GetTeamUsersNewestFirst(ctx, ts[1].ID, 0, 1)
	s.AddUsers([]UserSpec{
		{ID: "addedaccount00000000000001", Username: "added1", Team: ts[1].ID},
		{ID: "addedaccount00000000000002", Username: "aaa-added2", Team: ts[1].ID, IsBot: true},
		{ID: "addedaccount00000000000003", Username: "added3"},
	})
	top, err := c.GetTeamUsersNewestFirst(ctx, ts[1].ID, 0, 3)
	if err != nil || len(top) != 3 || top[0].ID != "addedaccount00000000000002" || top[1].ID != "addedaccount00000000000001" || top[2].ID != first[0].ID {
		t.Fatalf("team after AddUsers: %+v, %v", top, err)
	}
	if top[1].CreateAt <= first[0].CreateAt || top[0].CreateAt <= top[1].CreateAt || !top[0].IsBot {
		t.Fatalf("create_at of added accounts %d, %d; newest before %d", top[1].CreateAt, top[0].CreateAt, first[0].CreateAt)
	}
	after, _ := c.GetUsersWithoutTeam(ctx, 0, 200)
	if !slices.ContainsFunc(after, func(u mmclient.User) bool { return u.ID == "addedaccount00000000000003" }) {
		t.Fatal("added account in no team missing from without_team")
	}
	st, err := c.GetUserStats(ctx)
	if err != nil || st.TotalUsersCount != int64(CountStatuses(users).Active+3) {
		t.Fatalf("stats after AddUsers: %+v, %v", st, err)
	}
	// The plain listing has them too, in username order.
	p0, _ := c.GetUsers(ctx, 0, 1)
	if p0[0].Username != "aaa-added2" {
		t.Fatalf("first account by username %q", p0[0].Username)
	}
}

// AddUsers keeps statuses, deactivations and statuses of non-accounts.
func TestAddUsersKeepsState(t *testing.T) {
	users := GenerateUsers(50, 3)
	s := Start(t, Config{Users: users})
	s.SetActive(users[0].ID, false)
	s.SetStatus(users[1].ID, mmclient.StatusDND, true)
	s.SetStatus("notanaccount00000000000000", mmclient.StatusAway, false)
	s.AddUsers([]UserSpec{{ID: "addedaccount00000000000001", Username: "added", Status: mmclient.StatusOnline}})
	c := teamsClient(t, s, AdminToken)
	got, err := c.GetStatusesByIDs(context.Background(), []string{users[1].ID, "notanaccount00000000000000", "addedaccount00000000000001"})
	if err != nil {
		t.Fatal(err)
	}
	if got[users[1].ID].Status != mmclient.StatusDND || got["notanaccount00000000000000"].Status != mmclient.StatusAway || got["addedaccount00000000000001"].Status != mmclient.StatusOnline {
		t.Fatalf("statuses after AddUsers: %+v", got)
	}
	st, _ := c.GetUserStats(context.Background())
	if want := int64(CountStatuses(users).Active); st.TotalUsersCount != want { // one deactivated, one added
		t.Fatalf("stats %d, want %d", st.TotalUsersCount, want)
	}
}

// As Mattermost: sort=create_at needs in_team (400 invalid_url_param
// otherwise), an unknown sort is refused, and the plain user may not list
// an invite-only team's members (403).
func TestUsersFilterErrors(t *testing.T) {
	s, _, ts := teamServer(t, 100, 4)
	for _, tc := range []struct {
		path, token string
		code        int
		id          string
	}{
		{"/api/v4/users?sort=create_at", AdminToken, 400, "api.context.invalid_url_param.app_error"},
		{"/api/v4/users?sort=create_at&in_team=" + ts[0].ID + "&without_team=true", AdminToken, 400, "api.context.invalid_url_param.app_error"},
		{"/api/v4/users?sort=username&in_team=" + ts[0].ID, AdminToken, 400, "api.context.invalid_url_param.app_error"},
		{"/api/v4/users?in_team=" + ts[3].ID + "&sort=create_at", UserToken, 403, "api.context.permissions.app_error"},
		{"/api/v4/users?in_team=" + ts[0].ID + "&sort=create_at", UserToken, 200, ""},
		{"/api/v4/users?in_team=" + ts[3].ID + "&sort=create_at", AdminToken, 200, ""},
	} {
		r := doRequest(t, s, http.MethodGet, tc.path, tc.token, nil)
		if r.code != tc.code {
			t.Errorf("%s: HTTP %d, want %d", tc.path, r.code, tc.code)
			continue
		}
		if tc.id != "" {
			if m := decodeAppError(t, r); m["id"] != tc.id {
				t.Errorf("%s: id %v, want %s", tc.path, m["id"], tc.id)
			}
		}
	}
	_, err := teamsClient(t, s, UserToken).GetTeamUsersNewestFirst(context.Background(), ts[3].ID, 0, 200)
	var apiErr *mmclient.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
		t.Fatalf("client on an invite-only team: %v", err)
	}
	if _, err := teamsClient(t, s, AdminToken).GetTeamUsersNewestFirst(context.Background(), "bad id", 0, 200); err == nil {
		t.Fatal("invalid team id accepted")
	}
}

// A team page's offset (within the team) drives the latency model.
func TestTeamPagesOffsetLatency(t *testing.T) {
	s, _, ts := teamServer(t, 2000, 2)
	var mu sync.Mutex
	var offsets []int
	s.SetLatency(func(endpoint string, n int) time.Duration {
		if endpoint == EndpointUsers {
			mu.Lock()
			offsets = append(offsets, n)
			mu.Unlock()
		}
		return 0
	})
	c := teamsClient(t, s, AdminToken)
	for _, p := range []int{0, 2} {
		if _, err := c.GetTeamUsersNewestFirst(context.Background(), ts[0].ID, p, 100); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.GetUsersWithoutTeam(context.Background(), 1, 5); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(offsets, []int{0, 200, 5}) {
		t.Fatalf("offsets %v, want [0 200 5]", offsets)
	}
}

// Both recorded servers send create_at on every account of a user listing,
// and the client decodes it (the incremental refresh depends on it).
func TestRecordedUsersHaveCreateAt(t *testing.T) {
	for _, f := range []struct{ set, file string }{
		{"../../testdata/real-mattermost", "users_page0_per_page200.json"},
		{"../../testdata/current-mattermost", "users_page0_per_page5.json"},
	} {
		body, err := os.ReadFile(filepath.Join(f.set, f.file))
		if err != nil {
			t.Fatal(err)
		}
		var raw []map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}))
		t.Cleanup(srv.Close)
		c, err := mmclient.New(mmclient.Options{BaseURL: srv.URL, Token: "x", MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		users, err := c.GetUsers(context.Background(), 0, 200)
		if err != nil || len(users) != len(raw) || len(users) == 0 {
			t.Fatalf("%s: %d users, %v", f.file, len(users), err)
		}
		for i, u := range users {
			if want, _ := raw[i]["create_at"].(float64); u.CreateAt <= 0 || float64(u.CreateAt) != want {
				t.Fatalf("%s: user %d create_at %d, recorded %v", f.file, i, u.CreateAt, raw[i]["create_at"])
			}
		}
	}
}
