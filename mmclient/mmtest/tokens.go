package mmtest

// Token rotation: tests add system admin tokens and revoke tokens (the
// fixed AdminToken and UserToken included) while a client uses them, as an
// admin does when rotating the exporter's token.

type session int

const (
	sessionNone session = iota // no session: an unknown or revoked token
	sessionAdmin
	sessionUser
)

// AddAdminToken makes tok a valid token of the system admin session (as a
// new personal access token of the same account would be).
func (s *Server) AddAdminToken(tok string) { s.setToken(tok, sessionAdmin) }

// RevokeToken makes tok invalid from now on: requests with it are answered
// 401, like any unknown token.
func (s *Server) RevokeToken(tok string) { s.setToken(tok, sessionNone) }

func (s *Server) setToken(tok string, st session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = st
}

// sessionOf resolves a token: the added and revoked ones, then the fixed
// ones.
func (s *Server) sessionOf(tok string) session {
	s.mu.RLock()
	st, ok := s.tokens[tok]
	s.mu.RUnlock()
	switch {
	case ok:
		return st
	case tok == AdminToken:
		return sessionAdmin
	case tok == UserToken:
		return sessionUser
	}
	return sessionNone
}
