package mmtest

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// Teams and team memberships: GET /teams, and the GET /users filters that
// list a team's members (in_team, sort=create_at newest account first) and
// the accounts in no team (without_team=true), as the users collector's
// incremental refresh uses them.
//
// The fake's simplifications: every account is in at most one team, nobody
// leaves a team, and the UserToken session counts as a member of every open
// team (and of no invite-only one), so it may list the members of open
// teams only; the admin session sees everything.

// EndpointTeams is GET /teams (the client's route name).
const EndpointTeams = mmclient.EndpointTeams

// Counter indexes, after those of ops.go.
const (
	epTeams = epOpsEnd + iota
	epTeamsEnd
)

func init() { endpointNames[epTeams] = EndpointTeams }

// TeamSpec is one team. Open teams (type "O", allow_open_invite) are
// listed to every session; the others (type "I") to the admin session only.
type TeamSpec struct {
	ID   string // 26 characters
	Name string // name and display name
	Open bool
}

// GenerateTeams returns n teams "team01".."teamNN" with ids derived from
// their names; every fourth one (team04, team08, ...) is invite-only, the
// others open.
func GenerateTeams(n int) []TeamSpec {
	teams := make([]TeamSpec, n)
	for i := range teams {
		name := "team" + zeroPad(i+1, 2)
		teams[i] = TeamSpec{ID: "faketeam" + zeroPad(i+1, 18), Name: name, Open: (i+1)%4 != 0}
	}
	return teams
}

// AssignTeams puts each user in one of teams, or in none for about
// noTeamPercent percent of them, deterministically from the user's id.
func AssignTeams(users []UserSpec, teams []TeamSpec, noTeamPercent float64) {
	for i := range users {
		h := fnv.New64a()
		_, _ = h.Write([]byte(users[i].ID))
		v := h.Sum64()
		if len(teams) == 0 || float64(v%10000) < noTeamPercent*100 {
			users[i].Team = ""
			continue
		}
		users[i].Team = teams[(v/10000)%uint64(len(teams))].ID
	}
}

func sortedTeams(teams []TeamSpec) []TeamSpec {
	t := slices.Clone(teams)
	slices.SortStableFunc(t, func(a, b TeamSpec) int { return strings.Compare(a.Name, b.Name) })
	if len(t) > 30000 {
		panic("mmtest: too many teams")
	}
	seen := make(map[string]bool, len(t))
	for i := range t {
		if len(t[i].ID) != 26 {
			panic(fmt.Sprintf("mmtest: team %q: id %q is not 26 characters", t[i].Name, t[i].ID))
		}
		if seen[t[i].ID] {
			panic(fmt.Sprintf("mmtest: duplicate team id %q", t[i].ID))
		}
		seen[t[i].ID] = true
	}
	return t
}

// teamIndex returns the index of team id in st.teams, -1 for "" or an
// unknown id.
func (st *userStore) teamIndex(id string) int16 {
	if id == "" {
		return -1
	}
	if i, ok := st.teamIdx[id]; ok {
		return i
	}
	return -1
}

// buildTeamLists fills the team listings once.
func (st *userStore) buildTeamLists() {
	st.teamOnce.Do(func() {
		st.teamByName = make([][]int32, len(st.teams))
		for i := 0; i < st.n; i++ {
			if t := st.team[i]; t >= 0 {
				st.teamByName[t] = append(st.teamByName[t], int32(i))
			} else {
				st.noTeamByPos = append(st.noTeamByPos, int32(i))
			}
		}
		st.teamNewest = make([][]int32, len(st.teams))
		for t, members := range st.teamByName {
			newest := slices.Clone(members)
			// ORDER BY Users.CreateAt DESC (ties by id, for a stable fake).
			slices.SortFunc(newest, func(a, b int32) int {
				if c := cmp.Compare(st.createAt[b], st.createAt[a]); c != 0 {
					return c
				}
				return strings.Compare(st.ids[a], st.ids[b])
			})
			st.teamNewest[t] = newest
		}
	})
}

// withAdded returns a new store holding st's accounts (their statuses,
// deactivation times and the statuses stored for non-accounts included) and
// users, the added accounts being the newest: a CreateAt of 0 becomes
// later than every account's and now. Callers hold the server's write lock.
func (st *userStore) withAdded(users []UserSpec, now int64) *userStore {
	specs := st.specs()
	newest := now
	for i := range specs {
		newest = max(newest, specs[i].CreateAt)
	}
	for _, u := range users {
		if u.CreateAt == 0 {
			newest++
			u.CreateAt = newest
		}
		specs = append(specs, u)
	}
	return st.rebuilt(specs)
}

// specs returns st's accounts as UserSpecs (their CreateAt set), in
// username order. Callers hold the server's lock.
func (st *userStore) specs() []UserSpec {
	specs := make([]UserSpec, 0, st.n+1)
	for i := 0; i < st.n; i++ {
		u := UserSpec{
			ID: st.ids[i], Username: st.names[i], IsBot: st.flags[i]&flagBot != 0,
			Deactivated: st.deleteAt[i] != 0, Manual: st.flags[i]&flagManual != 0,
			Status: statusNames[st.status[i]], LastActivityAt: st.lastAct[i],
			BotDescription: st.botDesc[int32(i)], CreateAt: st.createAt[i],
		}
		if t := st.team[i]; t >= 0 {
			u.Team = st.teams[t].ID
		}
		specs = append(specs, u)
	}
	return specs
}

// rebuilt returns a new store of specs with st's teams, keeping the
// deactivation times of st's accounts and the statuses st stored for ids
// that are not accounts of the new store.
func (st *userStore) rebuilt(specs []UserSpec) *userStore {
	out := newUserStore(specs, st.teams)
	for i := 0; i < out.n; i++ {
		if j, ok := st.index[out.ids[i]]; ok && st.deleteAt[j] != 0 && out.deleteAt[i] != 0 {
			out.deleteAt[i] = st.deleteAt[j]
		}
	}
	for id, e := range st.extra {
		if _, isAccount := out.index[id]; !isAccount {
			out.extra[id] = e
		}
	}
	return out
}

// AddUsers adds accounts, as if created now: each gets a create_at later
// than every existing account's (unless its CreateAt is set), so it comes
// first in its team's newest-first listing. It rebuilds the store (the cost
// of one pass over every account). Ids must be new.
func (s *Server) AddUsers(users []UserSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = s.users.withAdded(users, nowMillis())
}

// Teams returns the teams, ordered by name.
func (s *Server) Teams() []TeamSpec {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.users.teams)
}

// classifyTeams routes GET /teams.
func classifyTeams(r *http.Request, rt route) route {
	if rt.ep != epOther || r.URL.Path != apiPrefix+"/teams" {
		return rt
	}
	if r.Method != http.MethodGet {
		return route{ep: epTeams, kind: routeBadMethod}
	}
	return route{ep: epTeams}
}

// teams answers GET /teams: all teams for the admin session, the open ones
// for the others, by display name.
func (rc *reqCtx) teams() {
	if !rc.requireSession() {
		return
	}
	page, perPage := rc.pageParams()
	rc.s.mu.RLock()
	var visible []TeamSpec
	for _, t := range rc.s.users.teams {
		if t.Open || rc.admin {
			visible = append(visible, t)
		}
	}
	rc.s.mu.RUnlock()
	lo, hi := pageBounds(page, perPage, len(visible))
	b := make([]byte, 0, 2+400*(hi-lo))
	b = append(b, '[')
	for k, t := range visible[lo:hi] {
		if k > 0 {
			b = append(b, ',')
		}
		typ, open := "I", "false"
		if t.Open {
			typ, open = "O", "true"
		}
		created := strconv.FormatInt(baseMillis, 10)
		b = append(b, `{"id":"`...)
		b = appendJSONStringBody(b, t.ID)
		b = append(b, `","create_at":`+created+`,"update_at":`+created+`,"delete_at":0,"display_name":"`...)
		b = appendJSONStringBody(b, t.Name)
		b = append(b, `","name":"`...)
		b = appendJSONStringBody(b, t.Name)
		b = append(b, `","description":"","email":"","type":"`+typ+`","company_name":"","allowed_domains":"","invite_id":"","allow_open_invite":`+open+`,"scheme_id":null,"group_constrained":null}`...)
	}
	b = append(b, ']')
	rc.n = lo
	rc.respond(http.StatusOK, b)
}

// usersFiltered answers GET /users with in_team, without_team or sort; it
// returns false when none is set (the plain listing answers). As
// Mattermost: sort must be "", create_at or last_activity_at (the fake has
// no channels for sort=status), and the last two need in_team without
// without_team (400 invalid_url_param "sort" otherwise); a session that is
// not a member of in_team gets 403 view_team, and without_team needs a
// system admin (403 list_users_without_team), as checked on 5.37 and 11.
func (rc *reqCtx) usersFiltered() bool {
	q := rc.r.URL.Query()
	inTeam, withoutTeam, sort := q.Get("in_team"), q.Get("without_team") == "true", q.Get("sort")
	if inTeam == "" && !withoutTeam && sort == "" {
		return false
	}
	if (sort != "" && sort != "create_at" && sort != "last_activity_at") || (sort != "" && (inTeam == "" || withoutTeam)) {
		rc.appError(http.StatusBadRequest, "api.context.invalid_url_param.app_error",
			"Invalid or missing sort parameter in request URL.", "")
		return true
	}
	page, perPage := rc.pageParams()
	rc.s.mu.RLock()
	st := rc.s.users
	st.buildTeamLists()
	var list []int32
	if inTeam != "" {
		t := int(st.teamIndex(inTeam))
		if !rc.admin && (t < 0 || !st.teams[t].Open) {
			rc.s.mu.RUnlock()
			rc.permissionError("view_team")
			return true
		}
		switch {
		case t < 0 || withoutTeam:
		case sort == "create_at":
			list = st.teamNewest[t]
		case sort == "last_activity_at":
			list = slices.Clone(st.teamByName[t])
			slices.SortStableFunc(list, func(a, b int32) int { return cmp.Compare(st.lastAct[b], st.lastAct[a]) })
		default:
			list = st.teamByName[t]
		}
	} else {
		// Only list_users_without_team (system admins) may list the
		// accounts in no team, on 5.37 as on 11.
		if !rc.admin {
			rc.s.mu.RUnlock()
			rc.permissionError("list_users_without_team")
			return true
		}
		list = st.noTeamByPos
	}
	if q.Get("active") == "true" || q.Get("inactive") == "true" {
		wantActive := q.Get("active") == "true"
		list = slices.DeleteFunc(slices.Clone(list), func(i int32) bool { return (st.deleteAt[i] == 0) != wantActive })
	}
	lo, hi := pageBounds(page, perPage, len(list))
	b := append(make([]byte, 0, 64<<10), '[')
	for k := lo; k < hi; k++ {
		if k > lo {
			b = append(b, ',')
		}
		b = st.appendUser(b, int(list[k]), rc.era)
	}
	rc.s.mu.RUnlock()
	b = append(b, ']')
	// OFFSET within the filtered list: the same cost model as GET /users.
	rc.n = lo
	rc.respond(http.StatusOK, b)
	return true
}
