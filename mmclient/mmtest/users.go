package mmtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// status codes in the store; 0 = no status row.
const (
	stNone uint8 = iota
	stOnline
	stAway
	stDND
	stOffline
	stOOO
)

var statusNames = [...]string{"", mmclient.StatusOnline, mmclient.StatusAway, mmclient.StatusDND, mmclient.StatusOffline, mmclient.StatusOOO}

func statusCode(s string) int {
	for i, n := range statusNames {
		if n == s {
			return i
		}
	}
	return -1
}

const (
	flagBot uint8 = 1 << iota
	flagManual
)

// baseMillis is the epoch-ms time the fake's accounts were "created" at
// (2026-11-28, the day the fixtures were recorded).
const baseMillis int64 = 1795901488000

type extraStatus struct {
	code    uint8
	manual  bool
	lastAct int64
}

// userStore keeps accounts sorted by username in parallel slices. Reads need
// the server's read lock, writes its write lock.
type userStore struct {
	n        int
	ids      []string
	names    []string
	flags    []uint8
	status   []uint8
	lastAct  []int64
	deleteAt []int64
	createAt []int64 // epoch ms
	team     []int16 // index in teams, -1 = in no team
	teams    []TeamSpec
	teamIdx  map[string]int16 // teams by id, built by newUserStore
	index    map[string]int32
	extra    map[string]extraStatus // statuses stored for ids that are not accounts
	active   int                    // accounts with deleteAt == 0 (bots included)
	botDesc  map[int32]string       // non-empty bot descriptions by position

	// Positions of the active (0) and deactivated (1) accounts, for
	// ?active=true and ?inactive=true; built on first use, dropped by
	// setActive (which holds the server's write lock).
	filterMu sync.Mutex
	filtered [2][]int32

	// Team listings (teams.go), built on first use: members of each team
	// in username order and newest account first, and the accounts in no
	// team. Membership never changes within a store.
	teamOnce    sync.Once
	teamByName  [][]int32
	teamNewest  [][]int32
	noTeamByPos []int32
}

// newUserStore builds the store; users' Team must name one of teams (or
// be ""). A user's CreateAt of 0 becomes baseMillis plus its index in users.
func newUserStore(users []UserSpec, teams []TeamSpec) *userStore {
	n := len(users)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	less := func(a, b int32) int {
		if c := strings.Compare(users[a].Username, users[b].Username); c != 0 {
			return c
		}
		return strings.Compare(users[a].ID, users[b].ID)
	}
	if !slices.IsSortedFunc(order, less) {
		slices.SortFunc(order, less)
	}
	st := &userStore{
		n:        n,
		ids:      make([]string, n),
		names:    make([]string, n),
		flags:    make([]uint8, n),
		status:   make([]uint8, n),
		lastAct:  make([]int64, n),
		deleteAt: make([]int64, n),
		createAt: make([]int64, n),
		team:     make([]int16, n),
		teams:    sortedTeams(teams),
		index:    make(map[string]int32, n),
		extra:    map[string]extraStatus{},
		botDesc:  map[int32]string{},
	}
	st.teamIdx = make(map[string]int16, len(st.teams))
	for i := range st.teams {
		st.teamIdx[st.teams[i].ID] = int16(i)
	}
	for pos, oi := range order {
		u := &users[oi]
		if len(u.ID) != 26 {
			panic(fmt.Sprintf("mmtest: user %q: id %q is not 26 characters", u.Username, u.ID))
		}
		if _, dup := st.index[u.ID]; dup {
			panic(fmt.Sprintf("mmtest: duplicate user id %q", u.ID))
		}
		code := statusCode(u.Status)
		if code < 0 {
			panic(fmt.Sprintf("mmtest: user %q: unknown status %q", u.Username, u.Status))
		}
		st.index[u.ID] = int32(pos)
		st.ids[pos] = u.ID
		st.createAt[pos] = u.CreateAt
		if u.CreateAt == 0 {
			st.createAt[pos] = baseMillis + int64(oi)
		}
		if st.team[pos] = st.teamIndex(u.Team); st.team[pos] < 0 && u.Team != "" {
			panic(fmt.Sprintf("mmtest: user %q: unknown team %q", u.Username, u.Team))
		}
		st.names[pos] = u.Username
		var f uint8
		if u.IsBot {
			f |= flagBot
			if u.BotDescription != "" {
				st.botDesc[int32(pos)] = u.BotDescription
			}
		}
		if u.Manual && code != int(stNone) {
			f |= flagManual
		}
		st.flags[pos] = f
		st.status[pos] = uint8(code)
		if code != int(stNone) {
			st.lastAct[pos] = u.LastActivityAt
		}
		if u.Deactivated {
			st.deleteAt[pos] = baseMillis + int64(n) + int64(pos) + 1000
		} else {
			st.active++
		}
	}
	return st
}

// lookup returns the stored status of id (ok false: none stored).
func (st *userStore) lookup(id string) (code uint8, manual bool, lastAct int64, ok bool) {
	if i, found := st.index[id]; found {
		c := st.status[i]
		if c == stNone {
			return 0, false, 0, false
		}
		return c, st.flags[i]&flagManual != 0, st.lastAct[i], true
	}
	if e, found := st.extra[id]; found {
		return e.code, e.manual, e.lastAct, true
	}
	return 0, false, 0, false
}

func (st *userStore) setStatus(id string, code uint8, manual bool, lastAct int64) {
	if i, found := st.index[id]; found {
		st.status[i] = code
		st.flags[i] &^= flagManual
		if manual && code != stNone {
			st.flags[i] |= flagManual
		}
		st.lastAct[i] = lastAct
		if code == stNone {
			st.lastAct[i] = 0
		}
		return
	}
	if code == stNone {
		delete(st.extra, id)
		return
	}
	st.extra[id] = extraStatus{code: code, manual: manual, lastAct: lastAct}
}

func (st *userStore) setActive(id string, active bool, now int64) bool {
	i, found := st.index[id]
	if !found {
		return false
	}
	st.filterMu.Lock()
	st.filtered = [2][]int32{}
	st.filterMu.Unlock()
	switch {
	case !active && st.deleteAt[i] == 0:
		st.deleteAt[i] = now
		st.active--
		// Deactivation sets a non-manual (or missing) status to offline.
		if st.status[i] == stNone || st.flags[i]&flagManual == 0 {
			st.status[i] = stOffline
			st.flags[i] &^= flagManual
			st.lastAct[i] = now
		}
	case active && st.deleteAt[i] != 0:
		st.deleteAt[i] = 0
		st.active++
	}
	return true
}

// positions returns the positions of the active (inactive false) or
// deactivated accounts, in username order. Callers hold the server's read
// lock.
func (st *userStore) positions(inactive bool) []int32 {
	k := 0
	if inactive {
		k = 1
	}
	st.filterMu.Lock()
	defer st.filterMu.Unlock()
	if st.filtered[k] == nil {
		p := make([]int32, 0, st.n)
		for i := 0; i < st.n; i++ {
			if (st.deleteAt[i] != 0) == inactive {
				p = append(p, int32(i))
			}
		}
		st.filtered[k] = p
	}
	return st.filtered[k]
}

func appendStatusHead(b []byte) []byte { return append(b, `{"user_id":"`...) }

// appendStatusTail completes an entry after its (already escaped) user id.
func appendStatusTail(b []byte, code uint8, manual bool, lastAct int64) []byte {
	if code == stNone {
		code = stOffline
	}
	b = append(b, `","status":"`...)
	b = append(b, statusNames[code]...)
	b = append(b, `","manual":`...)
	b = strconv.AppendBool(b, manual)
	b = append(b, `,"last_activity_at":`...)
	b = strconv.AppendInt(b, lastAct, 10)
	b = append(b, `,"dnd_end_time":0}`...)
	return b
}

func appendStatusString(b []byte, id string, code uint8, manual bool, lastAct int64) []byte {
	b = appendStatusHead(b)
	b = appendJSONStringBody(b, id)
	return appendStatusTail(b, code, manual, lastAct)
}

// notifyProps11 is the notify_props of an 11.x account with default
// settings.
const notifyProps11 = `"notify_props":{"channel":"true","comments":"never","desktop":"mention","desktop_sound":"true","desktop_threads":"all","email":"true","email_threads":"all","first_name":"false","mention_keys":"","push":"mention","push_status":"online","push_threads":"all"},`

// appendUser appends the JSON of account i, with the fields of a user
// listing of era e: 5.37 has auth_data and an empty bot_description;
// 11.x has notify_props, remote_id for humans and no auth_data, and leaves
// out an empty bot_description.
func (st *userStore) appendUser(b []byte, i int, e Era) []byte {
	create := st.createAt[i]
	update := create
	if st.deleteAt[i] > update {
		update = st.deleteAt[i]
	}
	b = append(b, `{"id":"`...)
	b = appendJSONStringBody(b, st.ids[i])
	b = append(b, `","create_at":`...)
	b = strconv.AppendInt(b, create, 10)
	b = append(b, `,"update_at":`...)
	b = strconv.AppendInt(b, update, 10)
	b = append(b, `,"delete_at":`...)
	b = strconv.AppendInt(b, st.deleteAt[i], 10)
	b = append(b, `,"username":"`...)
	b = appendJSONStringBody(b, st.names[i])
	if e == Era11 {
		b = append(b, `","auth_service":"","email":"`...)
	} else {
		b = append(b, `","auth_data":"","auth_service":"","email":"`...)
	}
	b = appendJSONStringBody(b, st.names[i])
	b = append(b, `@example.test","nickname":"","first_name":"","last_name":"","position":"","roles":"system_user",`...)
	if e == Era11 {
		b = append(b, notifyProps11...)
	}
	b = append(b, `"locale":"en","timezone":{"automaticTimezone":"","manualTimezone":"","useAutomaticTimezone":"true"},`...)
	bot := st.flags[i]&flagBot != 0
	switch desc := st.botDesc[int32(i)]; {
	case bot && (desc != "" || e != Era11):
		b = append(b, `"is_bot":true,"bot_description":"`...)
		b = appendJSONStringBody(b, desc)
		b = append(b, `",`...)
	case bot:
		b = append(b, `"is_bot":true,`...)
	case e == Era11:
		b = append(b, `"remote_id":"",`...)
	}
	b = append(b, `"disable_welcome_email":false}`...)
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONStringBody appends s escaped for the inside of a JSON string.
func appendJSONStringBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// GenerateUsers returns n accounts, deterministic for (n, seed), sorted by
// username. Ids are 26 characters of [a-z0-9]. Each account is drawn
// independently:
//
//   - 1% are bots (username "botNNNN"), the rest humans ("userNNNN"); NNNN is
//     the 1-based index, zero-padded to at least 4 digits;
//   - 1% are deactivated (bots and humans alike);
//   - status: 10% online (not manual), 5% away (half of them manual), 3% dnd
//     (manual), 1% ooo (manual), 81% offline, of which one in five has an
//     explicit manual offline status and the rest no status row (answered
//     as synthesized offline, not manual);
//   - a deactivated account's non-manual or missing status becomes a stored
//     non-manual offline, as Mattermost does on deactivation.
//
// Use CountStatuses to get the resulting counts instead of hard-coding them.
func GenerateUsers(n int, seed int64) []UserSpec {
	if n <= 0 {
		return nil
	}
	width := len(strconv.Itoa(n))
	if width < 4 {
		width = 4
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d6d746573745553))
	users := make([]UserSpec, n)
	idb := make([]byte, 26)
	for i := range users {
		for j := range idb {
			idb[j] = idAlphabet[rng.IntN(len(idAlphabet))]
		}
		kind := rng.IntN(100)
		deact := rng.IntN(100)
		st := rng.IntN(100)
		sub := rng.IntN(10)
		lastAct := baseMillis - rng.Int64N(7*24*3600*1000)
		u := UserSpec{ID: string(idb), IsBot: kind < 1, Deactivated: deact < 1, LastActivityAt: lastAct}
		prefix := "user"
		if u.IsBot {
			prefix = "bot"
		}
		u.Username = prefix + zeroPad(i+1, width)
		switch {
		case st < 10:
			u.Status = mmclient.StatusOnline
		case st < 15:
			u.Status, u.Manual = mmclient.StatusAway, sub < 5
		case st < 18:
			u.Status, u.Manual = mmclient.StatusDND, true
		case st < 19:
			u.Status, u.Manual = mmclient.StatusOOO, true
		case sub < 2:
			u.Status, u.Manual = mmclient.StatusOffline, true
		default:
			u.Status, u.LastActivityAt = "", 0
		}
		if u.Deactivated && (u.Status == "" || !u.Manual) {
			u.Status, u.Manual, u.LastActivityAt = mmclient.StatusOffline, false, baseMillis
		}
		users[i] = u
	}
	slices.SortFunc(users, func(a, b UserSpec) int { return strings.Compare(a.Username, b.Username) })
	return users
}

func zeroPad(v, width int) string {
	s := strconv.Itoa(v)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// StatusCounts are the counts an exporter should report for a set of
// accounts. Every map has the five status keys.
type StatusCounts struct {
	Humans       map[string]int // active non-bot accounts by status
	HumansManual map[string]int // of those, with a manual status
	All          map[string]int // active accounts (bots included) by status
	AllManual    map[string]int // of those, with a manual status
	Total        int            // every account
	Active       int            // accounts not deactivated (what /users/stats reports)
	Bots         int            // bots, active or not
	ActiveBots   int
	Deactivated  int
}

// CountStatuses returns the counts by status of users as the fake serves
// them (a missing status counts as offline, not manual).
func CountStatuses(users []UserSpec) StatusCounts {
	c := StatusCounts{
		Humans: zeroCounts(), HumansManual: zeroCounts(),
		All: zeroCounts(), AllManual: zeroCounts(),
		Total: len(users),
	}
	for _, u := range users {
		if u.IsBot {
			c.Bots++
		}
		if u.Deactivated {
			c.Deactivated++
			continue
		}
		c.Active++
		st, manual := u.Status, u.Manual
		if st == "" {
			st, manual = mmclient.StatusOffline, false
		}
		c.All[st]++
		if manual {
			c.AllManual[st]++
		}
		if u.IsBot {
			c.ActiveBots++
			continue
		}
		c.Humans[st]++
		if manual {
			c.HumansManual[st]++
		}
	}
	return c
}

func zeroCounts() map[string]int {
	m := make(map[string]int, len(mmclient.KnownStatuses))
	for _, s := range mmclient.KnownStatuses {
		m[s] = 0
	}
	return m
}

// DemoNodes returns n cluster nodes ("mm-app-1".."mm-app-n", 10.0.0.11..)
// on version 5.37.0 with one config hash; the last skewed reachable nodes run
// 5.36.1 with another config hash, and the last unreachable nodes are nodes
// the cluster cannot reach (empty Version).
func DemoNodes(n, skewed, unreachable int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		num := strconv.Itoa(i + 1)
		nodes[i] = Node{
			ID:            "node" + strings.Repeat("0", 22-len(num)) + num,
			Hostname:      "mm-app-" + num,
			IPAddress:     "10.0.0." + strconv.Itoa(11+i),
			Version:       "5.37.0",
			SchemaVersion: "5.37.0",
			ConfigHash:    "3f2a9c1e7b4d8a6f0e5c2b1a9d8e7f60",
		}
	}
	for k := 0; k < unreachable && k < n; k++ {
		nodes[n-1-k].Version = ""
	}
	for k := 0; k < skewed && unreachable+k < n; k++ {
		i := n - 1 - unreachable - k
		nodes[i].Version = "5.36.1"
		nodes[i].SchemaVersion = "5.36.0"
		nodes[i].ConfigHash = "9b8e1d0c6a5f4e3d2c1b0a9f8e7d6c5b"
	}
	return nodes
}

// DemoNodesEra is DemoNodes for a cluster of era e: in Era11 the nodes run
// 11.2.0 and the skewed ones 11.1.0.
func DemoNodesEra(e Era, n, skewed, unreachable int) []Node {
	nodes := DemoNodes(n, skewed, unreachable)
	if e != Era11 {
		return nodes
	}
	for i := range nodes {
		switch nodes[i].Version {
		case "5.37.0":
			nodes[i].Version, nodes[i].SchemaVersion = "11.2.0", "11.2.0"
		case "5.36.1":
			nodes[i].Version, nodes[i].SchemaVersion = "11.1.0", "11.1.0"
		}
	}
	return nodes
}
