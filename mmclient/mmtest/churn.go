package mmtest

import "slices"

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
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.users.index[id]
	if !ok {
		return false
	}
	specs := s.users.specs()
	specs = slices.Delete(specs, int(i), int(i)+1)
	s.users = s.users.rebuilt(specs)
	return true
}

// RenameUser changes an account's username. GET /users lists accounts by
// username, so a rename moves the account to another place in the listing
// (another page, when far enough), shifting every account in between by
// one: a walk paging with OFFSET across the move skips or repeats one. It
// reports whether id was an account.
func (s *Server) RenameUser(id, username string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.users.index[id]
	if !ok {
		return false
	}
	specs := s.users.specs()
	specs[i].Username = username
	s.users = s.users.rebuilt(specs)
	return true
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
