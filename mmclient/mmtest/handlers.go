package mmtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

const apiPrefix = "/api/v4"

// maxBodyBytes bounds what a delay fault buffers of a request body (5.37's
// limit, MaxFileSize + 512).
const maxBodyBytes = DefaultMaxPayload537 + payloadSlack

// maxStatusIDs is the most ids without a cached status one status request
// may carry: the real server looks them all up in one SQL query, and
// PostgreSQL takes at most 65535 parameters (65536 answered 500; cached ids
// do not count, so 65536 ids of which some were cached answered 200).
const maxStatusIDs = 65535

const (
	routeOK = iota
	routeNotFound
	routeBadMethod
)

type route struct {
	ep   int
	kind int
	id   string // path user id ("me" or an alphanumeric id)
}

func isAlnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func classify(method, path string) route {
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return route{ep: epOther, kind: routeNotFound}
	}
	want := func(ep int, methods ...string) route {
		for _, m := range methods {
			if m == method {
				return route{ep: ep}
			}
		}
		return route{ep: ep, kind: routeBadMethod}
	}
	switch rest {
	case "/system/ping":
		return want(epPing, http.MethodGet)
	case "/config/client":
		return want(epClientConfig, http.MethodGet)
	case "/cluster/status":
		return want(epCluster, http.MethodGet)
	case "/saml/certificate/status":
		return want(epSAML, http.MethodGet)
	case "/users/status/ids":
		return want(epStatusIDs, http.MethodPost)
	case "/users":
		return want(epUsers, http.MethodGet)
	case "/users/stats":
		return want(epUserStats, http.MethodGet)
	case "/users/me":
		return want(epUsersMe, http.MethodGet)
	case "/license/client":
		return want(epLicense, http.MethodGet)
	}
	if tail, ok := strings.CutPrefix(rest, "/users/"); ok {
		id, sub, hasSub := strings.Cut(tail, "/")
		var rt route
		switch {
		case !hasSub && method == http.MethodDelete && id != "status":
			// DELETE /users/{id} (churn.go); the fake serves no other
			// method there. /users/stats and /users/me matched above.
			rt = route{ep: epUserDelete}
		case !hasSub:
			return route{ep: epOther, kind: routeNotFound}
		case sub == "status":
			rt = want(epUserStatus, http.MethodGet, http.MethodPut)
		case sub == "active":
			rt = want(epUserActive, http.MethodPut)
		case sub == "patch":
			rt = want(epUserPatch, http.MethodPut)
		default:
			return route{ep: epOther, kind: routeNotFound}
		}
		if !isAlnum(id) {
			// The real router only matches [A-Za-z0-9]+ here.
			rt.kind = routeNotFound
		}
		rt.id = id
		return rt
	}
	return route{ep: epOther, kind: routeNotFound}
}

// reqCtx is one request being answered.
type reqCtx struct {
	s         *Server
	era       Era
	w         http.ResponseWriter
	r         *http.Request
	ep        int
	requestID string
	n         int // latency-model size

	malformed     bool
	malformedCode int

	// session
	userID string
	admin  bool
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rt := classifyTeams(r, classifyOps(r, classify(r.Method, r.URL.Path)))
	s.counts[rt.ep].Add(1)

	s.mu.RLock()
	down, era := s.down, s.era
	s.mu.RUnlock()
	if down {
		writeRaw(w, http.StatusBadGateway, "text/html", ProxyErrorPage)
		return
	}
	if ok, retryAfter := s.rateLimit(w.Header()); !ok {
		writeLimitExceeded(w, retryAfter)
		return
	}
	rc := &reqCtx{s: s, era: era, w: w, r: r, ep: rt.ep}
	if f, ok := s.takeFault(rt.ep); ok {
		if f.Delay > 0 && !bufferBody(r) {
			return
		}
		if !sleepCtx(r.Context(), f.Delay) {
			return
		}
		switch {
		case f.Hangup:
			hangup(w)
			return
		case f.Malformed:
			rc.malformed, rc.malformedCode = true, f.Code
		case f.Code == 0:
			// only slow
		case f.Code == http.StatusTooManyRequests && f.Body == "":
			writeLimitExceeded(w, f.RetryAfter)
			return
		case f.Body != "":
			if f.Code == http.StatusTooManyRequests {
				ra := f.RetryAfter
				if ra <= 0 {
					ra = 1
				}
				w.Header().Set("Retry-After", itoa(ra))
			}
			writeRaw(w, f.Code, f.ContentType, f.Body)
			return
		default:
			rc.apiHeaders()
			rc.appError(f.Code, FaultAppErrorID, "Injected fault.", "endpoint="+endpointNames[rt.ep])
			return
		}
	}
	switch rt.kind {
	case routeNotFound:
		writeRouterNotFound(w, r.URL.Path)
		return
	case routeBadMethod:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	rc.apiHeaders()
	switch rt.ep {
	case epPing:
		rc.ping()
	case epClientConfig:
		rc.clientConfig()
	case epCluster:
		rc.clusterStatus()
	case epSAML:
		rc.samlStatus()
	case epStatusIDs:
		rc.statusesByIDs()
	case epUserStatus:
		if r.Method == http.MethodGet {
			rc.getUserStatus(rt.id)
		} else {
			rc.putUserStatus(rt.id)
		}
	case epUserActive:
		rc.putUserActive(rt.id)
	case epUsers:
		rc.users()
	case epUserStats:
		rc.userStats()
	case epUsersMe:
		rc.usersMe()
	case epLicense:
		rc.clientLicense() // ops.go
	case epTeams:
		rc.teams() // teams.go
	case epUserDelete:
		rc.deleteUser(rt.id) // churn.go
	case epUserPatch:
		rc.patchUser(rt.id) // churn.go
	default:
		rc.serveOps(rt.ep)
	}
}

func writeRouterNotFound(w http.ResponseWriter, path string) {
	b := make([]byte, 0, 320)
	b = append(b, `{"id":"api.context.404.app_error","message":"Sorry, we could not find the page.","detailed_error":"There doesn't appear to be an api call for the url='`...)
	b = appendJSONStringBody(b, path)
	b = append(b, `'.  Typo? are you missing a team_id or user_id as part of the url?","status_code":404}`...)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", itoa(len(b)))
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(b)
}

const idEncoding = "ybndrfg8ejkmcpqxot1uwisza345h769"

// newID returns a 26-character Mattermost-style id.
func newID() string {
	var b [26]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range b {
		var v uint64
		if i < 12 {
			v = hi >> (5 * i)
		} else {
			v = lo >> (5 * (i - 12))
		}
		b[i] = idEncoding[v&31]
	}
	return string(b[:])
}

func (rc *reqCtx) apiHeaders() {
	rc.s.mu.RLock()
	version := rc.s.version
	rc.s.mu.RUnlock()
	rc.requestID = newID()
	h := rc.w.Header()
	h.Set("X-Request-Id", rc.requestID)
	h.Set("X-Version-Id", version)
	h.Set("Content-Type", "application/json")
	h.Set("Vary", "Accept-Encoding")
	if rc.r.Method == http.MethodGet {
		h.Set("Expires", "0")
	}
	if rc.era == Era11 {
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "")
	}
}

// respond applies the latency model and writes the answer (truncated when a
// Malformed fault is active).
func (rc *reqCtx) respond(code int, body []byte) {
	rc.s.mu.RLock()
	lat := rc.s.latency
	rc.s.mu.RUnlock()
	if lat != nil {
		if !sleepCtx(rc.r.Context(), lat(endpointNames[rc.ep], rc.n)) {
			return
		}
	}
	if rc.malformed {
		if rc.malformedCode != 0 {
			code = rc.malformedCode
		}
		body = body[:len(body)/2]
		if len(body) == 0 {
			body = []byte("{")
		}
	}
	rc.w.Header().Set("Content-Length", itoa(len(body)))
	rc.w.WriteHeader(code)
	_, _ = rc.w.Write(body)
}

func (rc *reqCtx) appError(code int, id, message, detail string) {
	if rc.era == Era11 && id != FaultAppErrorID {
		// 11.x sends detailed_error only with EnableDeveloper (off by
		// default): every recorded 11.2 error has it empty.
		detail = ""
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"id":"`...)
	b = appendJSONStringBody(b, id)
	b = append(b, `","message":"`...)
	b = appendJSONStringBody(b, message)
	b = append(b, `","detailed_error":"`...)
	b = appendJSONStringBody(b, detail)
	b = append(b, `","request_id":"`...)
	b = append(b, rc.requestID...)
	b = append(b, `","status_code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, '}')
	rc.respond(code, b)
}

func (rc *reqCtx) invalidBodyParam(name string) {
	rc.appError(http.StatusBadRequest, "api.context.invalid_body_param.app_error",
		"Invalid or missing "+name+" in request body.", "")
}

func (rc *reqCtx) permissionError(permission string) {
	rc.appError(http.StatusForbidden, "api.context.permissions.app_error",
		"You do not have the appropriate permissions.",
		"userId="+rc.userID+", permission="+permission+",")
}

// tokenOf returns the token of the Authorization header (Bearer or Token,
// case-insensitive) or of the MMAUTHTOKEN cookie.
func tokenOf(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		for _, p := range []string{"bearer ", "token "} {
			if len(a) > len(p) && strings.EqualFold(a[:len(p)], p) {
				return strings.TrimSpace(a[len(p):])
			}
		}
	}
	if c, err := r.Cookie("MMAUTHTOKEN"); err == nil {
		return c.Value
	}
	return ""
}

// requireSession resolves the session; it answers 401 and returns false
// without a valid token.
func (rc *reqCtx) requireSession() bool {
	tok := tokenOf(rc.r)
	switch rc.s.sessionOf(tok) {
	case sessionAdmin:
		rc.userID, rc.admin = AdminUserID, true
		return true
	case sessionUser:
		rc.userID = UserUserID
		return true
	}
	switch tok {
	case "":
		rc.appError(http.StatusUnauthorized, "api.context.session_expired.app_error",
			"Invalid or expired session, please login again.", "UserRequired")
		return false
	default:
		rc.w.Header().Set("Set-Cookie", "MMAUTHTOKEN=; Path=/; Max-Age=0; HttpOnly")
		rc.appError(http.StatusUnauthorized, "api.context.session_expired.app_error",
			"Invalid or expired session, please login again.", "token="+tok)
		return false
	}
}

// sessionUserID resolves the session (requireSession), then the path's
// user id: "me" is the session's account, any other id must have 26
// characters. It answers 401 or 400 and returns false when either fails.
func (rc *reqCtx) sessionUserID(id string) (string, bool) {
	if !rc.requireSession() {
		return "", false
	}
	if id == "me" {
		return rc.userID, true
	}
	if len(id) != 26 {
		rc.appError(http.StatusBadRequest, "api.context.invalid_url_param.app_error",
			"Invalid or missing user_id parameter in request URL.", "")
		return "", false
	}
	return id, true
}

func (rc *reqCtx) ping() {
	rc.s.mu.RLock()
	unhealthy := rc.s.unhealthy
	rc.s.mu.RUnlock()
	status, code := "OK", http.StatusOK
	if unhealthy {
		status, code = "UNHEALTHY", http.StatusInternalServerError
	}
	q := rc.r.URL.Query()
	if rc.era == Era11 {
		rc.ping11(q, status, code)
		return
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"AndroidLatestVersion":"","AndroidMinVersion":"","DesktopLatestVersion":"","DesktopMinVersion":"","IosLatestVersion":"","IosMinVersion":"",`...)
	if q.Get("get_server_status") != "" {
		b = append(b, `"database_status":"OK","filestore_status":"OK",`...)
		h := rc.w.Header()
		h.Set("Database_status", "OK")
		h.Set("Filestore_status", "OK")
		h.Set("Status", status)
	}
	b = append(b, `"status":"`...)
	b = append(b, status...)
	b = append(b, `"}`...)
	rc.respond(code, b)
}

// ping11 is the 11.x ping: keys in sorted order (a marshalled map),
// ActiveSearchBackend, no Desktop* fields; get_server_status only when it
// is exactly "true", adding root_status (a JSON boolean) for a system admin
// session; use_rest_semantics=true keeps an unhealthy answer at 200.
func (rc *reqCtx) ping11(q url.Values, status string, code int) {
	b := make([]byte, 0, 256)
	b = append(b, `{"ActiveSearchBackend":"database","AndroidLatestVersion":"","AndroidMinVersion":"","IosLatestVersion":"","IosMinVersion":"",`...)
	if q.Get("get_server_status") == "true" {
		b = append(b, `"database_status":"OK","filestore_status":"OK",`...)
		if rc.sessionIsAdmin() {
			b = append(b, `"root_status":true,`...)
		}
		h := rc.w.Header()
		h.Set("Database_status", "OK")
		h.Set("Filestore_status", "OK")
		h.Set("Status", status)
	}
	b = append(b, `"status":"`...)
	b = append(b, status...)
	b = append(b, `"}`...)
	if q.Get("use_rest_semantics") == "true" {
		code = http.StatusOK
	}
	rc.respond(code, b)
}

func (rc *reqCtx) clientConfig() {
	if rc.r.URL.Query().Get("format") != "old" {
		rc.appError(http.StatusNotImplemented, "api.config.client.old_format.app_error",
			"New format for the client configuration is not supported yet. Please specify format=old in the query string.", "")
		return
	}
	rc.s.mu.RLock()
	ver, enterprise, saml := rc.s.version, rc.s.enterpriseReady, rc.s.samlEnabled
	rc.s.mu.RUnlock()
	base := clientConfigBase
	if rc.era == Era11 {
		base = clientConfigBase11
	}
	m := make(map[string]string, len(base)+8)
	for k, v := range base {
		m[k] = v
	}
	if version, build, ok := versionParts(ver); ok {
		m["Version"], m["BuildNumber"] = version, build
	} else {
		m["Version"], m["BuildNumber"] = ver, ""
	}
	m["BuildEnterpriseReady"] = strconv.FormatBool(enterprise)
	m["EnableSaml"] = strconv.FormatBool(saml)
	b, err := json.Marshal(m)
	if err != nil {
		rc.appError(http.StatusInternalServerError, "api.marshal_error", "Failed to marshal.", err.Error())
		return
	}
	rc.respond(http.StatusOK, b)
}

// requireAdmin is requireSession for an endpoint only the admin session may
// call; other sessions get 403 naming permission.
func (rc *reqCtx) requireAdmin(permission string) bool {
	if !rc.requireSession() {
		return false
	}
	if !rc.admin {
		rc.permissionError(permission)
		return false
	}
	return true
}

func (rc *reqCtx) clusterStatus() {
	if !rc.requireAdmin("sysconsole_read_environment_high_availability") {
		return
	}
	rc.s.mu.RLock()
	nodes := rc.s.nodes
	rc.s.mu.RUnlock()
	b := make([]byte, 0, 2+200*len(nodes))
	b = append(b, '[')
	for i, n := range nodes {
		if i > 0 {
			b = append(b, ',')
		}
		if n.Version == "" {
			n = Node{ID: n.ID}
		}
		b = append(b, `{"id":"`...)
		b = appendJSONStringBody(b, n.ID)
		b = append(b, `","version":"`...)
		b = appendJSONStringBody(b, n.Version)
		b = append(b, `","schema_version":"`...)
		b = appendJSONStringBody(b, n.SchemaVersion)
		b = append(b, `","config_hash":"`...)
		b = appendJSONStringBody(b, n.ConfigHash)
		b = append(b, `","ipaddress":"`...)
		b = appendJSONStringBody(b, n.IPAddress)
		b = append(b, `","hostname":"`...)
		b = appendJSONStringBody(b, n.Hostname)
		b = append(b, `"}`...)
	}
	b = append(b, ']')
	rc.respond(http.StatusOK, b)
}

func (rc *reqCtx) samlStatus() {
	if !rc.requireAdmin("get_saml_cert_status") {
		return
	}
	rc.s.mu.RLock()
	idp, public, private := rc.s.samlIDP, rc.s.samlPublic, rc.s.samlPrivate
	rc.s.mu.RUnlock()
	b := make([]byte, 0, 96)
	b = append(b, `{"idp_certificate_file":`...)
	b = strconv.AppendBool(b, idp)
	b = append(b, `,"private_key_file":`...)
	b = strconv.AppendBool(b, private)
	b = append(b, `,"public_certificate_file":`...)
	b = strconv.AppendBool(b, public)
	b = append(b, '}')
	rc.respond(http.StatusOK, b)
}

// readBody reads the request body into bb under the payload limit
// (Config.MaximumPayloadSizeBytes + 512 bytes); tooLarge reports a longer
// body (bb then holds the limit plus one byte).
func (rc *reqCtx) readBody(bb *bytes.Buffer) (tooLarge bool, err error) {
	rc.s.mu.RLock()
	limit := rc.s.maxPayload
	rc.s.mu.RUnlock()
	if limit < 0 {
		_, err = bb.ReadFrom(rc.r.Body)
		return false, err
	}
	allowed := limit + payloadSlack
	if _, err = bb.ReadFrom(io.LimitReader(rc.r.Body, allowed+1)); err != nil {
		return false, err
	}
	return int64(bb.Len()) > allowed, nil
}

// bodyTooLarge answers 11.x's 413 for a body over the payload limit.
func (rc *reqCtx) bodyTooLarge() {
	rc.appError(http.StatusRequestEntityTooLarge, "api.context.request_body_too_large.app_error",
		"Unable to process request. Request body too large.", "")
}

// parseIDs decodes a status request body as a JSON array of strings, the
// way Mattermost's json.Decoder does: data after the array is ignored. ids
// is appended to (its contents are replaced); a JSON null leaves it empty.
func parseIDs(body []byte, ids []string) ([]string, error) {
	ids = ids[:0]
	err := json.Unmarshal(body, &ids)
	var se *json.SyntaxError
	if err != nil && errors.As(err, &se) {
		// json.Unmarshal refuses anything after the value; the server's
		// json.Decoder stops reading after it.
		ids = ids[:0]
		err = json.NewDecoder(bytes.NewReader(body)).Decode(&ids)
	}
	return ids, err
}

// decodeBody reads the body under the payload limit and decodes it into v
// with a json.Decoder, as Mattermost does. In Era11 a body over the limit
// is answered 413 and answered is true; in Era537 the truncated body is
// decoded (and fails).
func (rc *reqCtx) decodeBody(v any) (answered bool, err error) {
	var bb bytes.Buffer
	tooLarge, err := rc.readBody(&bb)
	if tooLarge && rc.era == Era11 {
		rc.bodyTooLarge()
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, json.NewDecoder(bytes.NewReader(bb.Bytes())).Decode(v)
}

func (rc *reqCtx) statusesByIDs() {
	if !rc.requireSession() {
		return
	}
	var bb bytes.Buffer
	tooLarge, err := rc.readBody(&bb)
	switch {
	case err != nil:
		rc.invalidBodyParam("user_ids")
		return
	case tooLarge && rc.era == Era11:
		rc.bodyTooLarge()
		return
	case tooLarge:
		// 5.37 decodes the truncated body, fails, and sees no ids.
		rc.invalidBodyParam("user_ids")
		return
	}
	ids, err := parseIDs(bb.Bytes(), nil)
	if err != nil {
		if rc.era == Era11 {
			// model.PayloadParseError; the id has no English text, so
			// the message is the id itself.
			rc.appError(http.StatusBadRequest, "api.payload.parse.error", "api.payload.parse.error", err.Error())
			return
		}
		// 5.37's ArrayFromJson ignores the error: an object, broken JSON
		// or a non-string element all end as an invalid id list.
		rc.invalidBodyParam("user_ids")
		return
	}
	if len(ids) == 0 {
		rc.invalidBodyParam("user_ids")
		return
	}
	for _, id := range ids {
		if len(id) != 26 {
			rc.invalidBodyParam("user_ids")
			return
		}
	}
	rc.s.statusIDs.Add(int64(len(ids)))
	if rc.era == Era11 {
		// SortedArrayFromJSON sorts and removes duplicates.
		slices.Sort(ids)
		ids = slices.Compact(ids)
	}
	n := len(ids)
	rc.n = n
	b := make([]byte, 0, 2+n*132)
	b = append(b, '[')
	first := true
	uncached := 0
	rc.s.mu.RLock()
	st := rc.s.users
	// Stored statuses first (like Mattermost's cache hits), then synthesized
	// offline entries, each in request order (5.37) or sorted (11.x).
	for pass := 0; pass < 2 && uncached <= maxStatusIDs; pass++ {
		for _, id := range ids {
			code, manual, lastAct, ok := st.lookup(id)
			if ok != (pass == 0) {
				if pass == 0 {
					uncached++
				}
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendStatusHead(b)
			b = appendJSONStringBody(b, id)
			b = appendStatusTail(b, code, manual, lastAct)
		}
	}
	rc.s.mu.RUnlock()
	b = append(b, ']')
	if uncached > maxStatusIDs {
		rc.appError(http.StatusInternalServerError, "app.status.get.app_error",
			"Encountered an error retrieving the status.",
			"failed to find Statuses: pq: got "+itoa(uncached)+" parameters but PostgreSQL only supports 65535 parameters")
		return
	}
	rc.respond(http.StatusOK, b)
}

func (rc *reqCtx) getUserStatus(pathID string) {
	id, ok := rc.sessionUserID(pathID)
	if !ok {
		return
	}
	rc.s.mu.RLock()
	code, manual, lastAct, _ := rc.s.users.lookup(id)
	rc.s.mu.RUnlock()
	rc.n = 1
	rc.respond(http.StatusOK, appendStatusString(make([]byte, 0, 128), id, code, manual, lastAct))
}

func (rc *reqCtx) putUserStatus(pathID string) {
	id, ok := rc.sessionUserID(pathID)
	if !ok {
		return
	}
	var body struct {
		UserID     string `json:"user_id"`
		Status     string `json:"status"`
		DNDEndTime int64  `json:"dnd_end_time"`
	}
	if answered, err := rc.decodeBody(&body); answered {
		return
	} else if err != nil {
		rc.invalidBodyParam("status")
		return
	}
	if body.UserID != id {
		rc.invalidBodyParam("user_id")
		return
	}
	if id != rc.userID && !rc.admin {
		rc.permissionError("edit_other_users")
		return
	}
	now := nowMillis()
	rc.s.mu.Lock()
	st := rc.s.users
	_, _, prevLast, _ := st.lookup(id)
	var code uint8
	manual, last := true, prevLast
	switch body.Status {
	case mmclient.StatusOnline:
		code, manual, last = stOnline, false, now
	case mmclient.StatusOffline:
		code, last = stOffline, now
	case mmclient.StatusAway:
		code = stAway
	case mmclient.StatusDND:
		// 5.37 ignores dnd_end_time unless the TimedDND feature flag is on
		// (off by default).
		code = stDND
	default:
		rc.s.mu.Unlock()
		rc.invalidBodyParam("status")
		return
	}
	st.setStatus(id, code, manual, last)
	rc.s.mu.Unlock()
	rc.respond(http.StatusOK, appendStatusString(make([]byte, 0, 128), id, code, manual, last))
}

func (rc *reqCtx) putUserActive(pathID string) {
	id, ok := rc.sessionUserID(pathID)
	if !ok {
		return
	}
	var props map[string]any
	if answered, _ := rc.decodeBody(&props); answered {
		return
	}
	active, ok := props["active"].(bool)
	if !ok {
		rc.invalidBodyParam("active")
		return
	}
	selfDeactivate := !active && id == rc.userID
	if !selfDeactivate && !rc.admin {
		rc.appError(http.StatusForbidden, "api.user.update_active.permissions.app_error",
			"You do not have the appropriate permissions.", "userId="+id)
		return
	}
	if selfDeactivate {
		// TeamSettings.EnableUserDeactivation is false by default.
		rc.appError(http.StatusUnauthorized, "api.user.update_active.not_enable.app_error",
			"You cannot deactivate yourself because this feature is not enabled. Please contact your System Administrator.",
			"userId="+id)
		return
	}
	rc.s.mu.Lock()
	found := rc.s.users.setActive(id, active, nowMillis())
	rc.s.mu.Unlock()
	if !found {
		rc.appError(http.StatusNotFound, "app.user.missing_account.const", "Unable to find the user.", "")
		return
	}
	rc.respond(http.StatusOK, []byte(`{"status":"OK"}`))
}

const (
	perPageDefault = 60
	perPageMaximum = 200
)

// pageParams parses page and per_page as Mattermost does (defaults 0 and
// 60, per_page at most 200).
func (rc *reqCtx) pageParams() (page, perPage int) {
	q := rc.r.URL.Query()
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 0 {
		page = 0
	}
	perPage, err = strconv.Atoi(q.Get("per_page"))
	switch {
	case err != nil || perPage < 0:
		perPage = perPageDefault
	case perPage > perPageMaximum:
		perPage = perPageMaximum
	}
	return page, perPage
}

// pageBounds returns the [lo, hi) slice of a list of total elements.
func pageBounds(page, perPage, total int) (lo, hi int) {
	off := min(int64(page)*int64(perPage), int64(total))
	return int(off), int(min(off+int64(perPage), int64(total)))
}

func (rc *reqCtx) users() {
	if !rc.requireSession() {
		return
	}
	if rc.usersFiltered() { // teams.go
		return
	}
	q := rc.r.URL.Query()
	page, perPage := rc.pageParams()
	// active=true lists only active accounts, inactive=true only
	// deactivated ones (active wins when both are set).
	var pos []int32
	filter := q.Get("active") == "true" || q.Get("inactive") == "true"
	b := append(make([]byte, 0, 64<<10), '[')
	rc.s.mu.RLock()
	st := rc.s.users
	total := st.n
	if filter {
		pos = st.positions(q.Get("active") != "true")
		total = len(pos)
	}
	lo, hi := pageBounds(page, perPage, total)
	for k := lo; k < hi; k++ {
		if k > lo {
			b = append(b, ',')
		}
		i := k
		if filter {
			i = int(pos[k])
		}
		b = st.appendUser(b, i, rc.era)
	}
	rc.s.mu.RUnlock()
	b = append(b, ']')
	rc.n = lo
	rc.respond(http.StatusOK, b)
}

func (rc *reqCtx) userStats() {
	if !rc.requireSession() {
		return
	}
	rc.s.mu.RLock()
	active := rc.s.users.active
	rc.s.mu.RUnlock()
	b := append([]byte(`{"total_users_count":`), itoa(active)...)
	rc.respond(http.StatusOK, append(b, '}'))
}

func (rc *reqCtx) usersMe() {
	if !rc.requireSession() {
		return
	}
	id, name, roles := UserUserID, UserUsername, "system_user"
	if rc.admin {
		id, name, roles = AdminUserID, AdminUsername, "system_admin system_user"
	}
	created := strconv.FormatInt(baseMillis, 10)
	b := `{"id":"` + id + `","create_at":` + created + `,"update_at":` + created +
		`,"delete_at":0,"username":"` + name + `","auth_data":"","auth_service":"","email":"` + name +
		`@example.test","nickname":"","first_name":"","last_name":"","position":"","roles":"` + roles +
		`","notify_props":{"channel":"true","comments":"never","desktop":"mention","desktop_sound":"true","email":"true","first_name":"false","mention_keys":"","push":"mention","push_status":"away"},"last_password_update":` +
		created + `,"locale":"en","timezone":{"automaticTimezone":"","manualTimezone":"","useAutomaticTimezone":"true"},"disable_welcome_email":false}`
	rc.respond(http.StatusOK, []byte(b))
}

func itoa(n int) string { return strconv.Itoa(n) }

// Latency model measured on a real 5.37 server (2 cores, PostgreSQL,
// loopback); see RealisticLatency.
const (
	statusBase  = time.Millisecond
	statusPerID = 4 * time.Microsecond
	usersBase   = 5 * time.Millisecond
	// UsersOffsetCostPer1000 is what a /users page costs per 1,000 rows
	// its OFFSET skips: 0.95 ms, measured on a real 5.37 server with
	// 100,000 users (5 ms for the first page, about 100 ms for the last).
	UsersOffsetCostPer1000 = 950 * time.Microsecond
	otherEndpoints         = 700 * time.Microsecond
)

// RealisticLatency returns the latency model measured on a real server: a
// status request takes about 1 ms plus 4 µs per id; a /users page about 5 ms
// plus UsersOffsetCostPer1000 (0.95 ms) per 1,000 users skipped by its
// offset (OFFSET paging, so a walk costs the square of the user count); any
// other request about 0.7 ms.
func RealisticLatency() func(endpoint string, n int) time.Duration {
	return RealisticLatencyOffset(UsersOffsetCostPer1000)
}

// RealisticLatencyOffset is RealisticLatency with another cost per 1,000
// rows skipped by a /users page's OFFSET (0 = paging costs nothing extra).
func RealisticLatencyOffset(per1000 time.Duration) func(endpoint string, n int) time.Duration {
	return func(endpoint string, n int) time.Duration {
		switch endpoint {
		case EndpointStatusesByIDs:
			return statusBase + time.Duration(n)*statusPerID
		case EndpointUsers:
			return usersBase + time.Duration(n)*per1000/1000
		default:
			return otherEndpoints
		}
	}
}
