package mmtest

import (
	"net/http"
	"slices"
	"strings"
)

// Endpoint names of the account administration endpoints of this file.
const (
	// EndpointUserDelete is DELETE /api/v4/users/{id}: deactivation, or
	// with ?permanent=true a permanent deletion (DeleteUser).
	EndpointUserDelete = "user_delete"
	// EndpointUserPatch is PUT /api/v4/users/{id}/patch; the fake applies
	// a new username (RenameUser) and ignores the other fields.
	EndpointUserPatch = "user_patch"
)

const (
	epUserDelete = epTeamsEnd + iota
	epUserPatch
	epChurnEnd
)

func init() {
	endpointNames[epUserDelete], endpointNames[epUserPatch] = EndpointUserDelete, EndpointUserPatch
}

// deleteUser answers DELETE /users/{id}: a system admin deactivates the
// account, or with ?permanent=true deletes it for good (the real server
// also wants ServiceSettings.EnableAPIUserDeletion, which the fake takes
// as on).
func (rc *reqCtx) deleteUser(pathID string) {
	id, ok := rc.sessionUserID(pathID)
	if !ok {
		return
	}
	if !rc.admin {
		rc.permissionError("edit_other_users")
		return
	}
	var found bool
	if rc.r.URL.Query().Get("permanent") == "true" {
		found = rc.s.DeleteUser(id)
	} else {
		found = rc.s.SetActive(id, false)
	}
	if !found {
		rc.appError(http.StatusNotFound, "app.user.missing_account.const", "Unable to find the user.", "")
		return
	}
	rc.respond(http.StatusOK, []byte(`{"status":"OK"}`))
}

// patchUser answers PUT /users/{id}/patch for the username (a system
// admin, or the account itself) with the patched user.
func (rc *reqCtx) patchUser(pathID string) {
	id, ok := rc.sessionUserID(pathID)
	if !ok {
		return
	}
	var body struct {
		Username *string `json:"username"`
	}
	if answered, err := rc.decodeBody(&body); answered {
		return
	} else if err != nil {
		rc.invalidBodyParam("user")
		return
	}
	if id != rc.userID && !rc.admin {
		rc.permissionError("edit_other_users")
		return
	}
	if body.Username != nil && !validUsername(*body.Username) {
		rc.appError(http.StatusBadRequest, "model.user.is_valid.username.app_error", "Invalid username.", "user_id="+id)
		return
	}
	if body.Username != nil {
		rc.s.RenameUser(id, *body.Username) // a missing account gets its 404 below
	}
	rc.s.mu.RLock()
	i, found := rc.s.users.index[id]
	var b []byte
	if found {
		b = rc.s.users.appendUser(nil, int(i), rc.era)
	}
	rc.s.mu.RUnlock()
	if !found {
		rc.appError(http.StatusNotFound, "app.user.missing_account.const", "Unable to find the user.", "")
		return
	}
	rc.respond(http.StatusOK, b)
}

// validUsername is Mattermost's rule: 3 to 22 characters of a-z, 0-9,
// '.', '-' and '_', starting with a letter.
func validUsername(u string) bool {
	if len(u) < 3 || len(u) > 22 || u[0] < 'a' || u[0] > 'z' {
		return false
	}
	return strings.Trim(u, "abcdefghijklmnopqrstuvwxyz0123456789.-_") == ""
}

// Account changes beyond AddUsers and SetActive, for tests that change the
// fake while an exporter watches it (e2e/soak_test.go): hard deletion,
// renames, and an upgrade of the server underneath (SetEra). Each rebuilds
// the user store (one pass over every account), like AddUsers.

// DeleteUser removes an account for good, as `mmctl user delete` (a
// permanent deletion) does: it leaves GET /users, GET /users/stats and the
// teams, and its status row goes with it (a status request for the id is
// then answered with a synthesized offline entry, as for any unknown id).
// It reports whether id was an account.
func (s *Server) DeleteUser(id string) bool {
	return s.rebuildAccount(id, func(specs []UserSpec, i int) []UserSpec { return slices.Delete(specs, i, i+1) })
}

// rebuildAccount rebuilds the store from its accounts as change makes
// them, given the position of account id; false when id is not one.
func (s *Server) rebuildAccount(id string, change func(specs []UserSpec, i int) []UserSpec) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.users.index[id]
	if !ok {
		return false
	}
	s.users = s.users.rebuilt(change(s.users.specs(), int(i)))
	return true
}

// RenameUser changes an account's username. GET /users lists accounts by
// username, so a rename moves the account to another place in the listing
// (another page, when far enough), shifting every account in between by
// one: a walk paging with OFFSET across the move skips or repeats one. It
// reports whether id was an account.
func (s *Server) RenameUser(id, username string) bool {
	return s.rebuildAccount(id, func(specs []UserSpec, i int) []UserSpec {
		specs[i].Username = username
		return specs
	})
}

// Users returns every account as it is now (statuses, deactivations and
// creation times included), in username order; CountStatuses of it is what
// an exporter should report at this moment.
func (s *Server) Users() []UserSpec {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.users.specs()
}

// Counts returns CountStatuses of the accounts as they are now.
func (s *Server) Counts() StatusCounts { return CountStatuses(s.Users()) }

// Username returns the username of account id ("" when id is not one).
func (s *Server) Username(id string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if i, ok := s.users.index[id]; ok {
		return s.users.names[i]
	}
	return ""
}

// SetEra switches the Mattermost version the fake reproduces, as an
// upgrade (or downgrade) of the server underneath a running exporter
// would: every later answer has the new era's shapes. The X-Version-Id and
// the request body limit follow the era when they were its defaults
// (SetVersion and SetMaximumPayloadSizeBytes values stay).
func (s *Server) SetEra(e Era) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.version == s.era.DefaultVersion() {
		s.version = e.DefaultVersion()
	}
	if s.maxPayload == s.era.DefaultMaxPayload() {
		s.maxPayload = e.DefaultMaxPayload()
	}
	s.era = e
}
