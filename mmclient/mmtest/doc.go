// Package mmtest is a fake Mattermost server for tests and demos, in the
// spirit of net/http/httptest.
//
// It answers the API v4 endpoints the exporter uses with the shapes, status
// codes, error bodies and headers recorded from real servers: Mattermost 5.37
// (testdata/real-mattermost, Config.Era = Era537, the default) or 11.2
// (testdata/current-mattermost, Era11). See Era11 for what differs.
//
//	GET  /api/v4/system/ping[?get_server_status=true]   no auth
//	GET  /api/v4/config/client?format=old               no auth (501 without format=old)
//	GET  /api/v4/cluster/status                          admin only
//	GET  /api/v4/saml/certificate/status                 admin only
//	POST /api/v4/users/status/ids                        any session
//	GET  /api/v4/users/{id|me}/status                    any session
//	PUT  /api/v4/users/{id|me}/status                    self, or admin for others
//	PUT  /api/v4/users/{id|me}/active                    admin (self-deactivation: 401)
//	GET  /api/v4/users?page=&per_page=[&active=true]    any session (also &inactive=true)
//	GET  /api/v4/users?in_team=&sort=create_at          member (admin: any team), newest account first
//	GET  /api/v4/users?without_team=true                system admin, accounts in no team
//	GET  /api/v4/teams?page=&per_page=                  any session (admin: all teams, others: open ones)
//	GET  /api/v4/users/stats                             any session
//	GET  /api/v4/users/me                                any session
//	DELETE /api/v4/users/{id}[?permanent=true]         system admin (deactivate, or delete for good)
//	PUT  /api/v4/users/{id}/patch                       system admin or self (the username)
//	GET  /api/v4/license/client?format=old              no auth (without format: 501 on 5.37, 400 on 11)
//
// Two sessions exist (AddAdminToken and RevokeToken change which tokens
// open them): AdminToken (a system admin, user id AdminUserID) and
// UserToken (a plain system_user, user id UserUserID). Any other token, or
// none, gets the real server's 401. The accounts behind the tokens are not
// listed by GET /users unless Config.Users contains their ids.
//
// Every API response carries X-Request-Id (26 characters, equal to the
// request_id of an error body), X-Version-Id, Content-Type application/json
// and Vary: Accept-Encoding; GET responses add Expires: 0. Router 404s (an
// invalid id in the path, an unknown route) have a JSON body with Content-Type
// text/plain and no X-Request-Id/X-Version-Id, like the real router.
//
// POST /users/status/ids: entries of ids with a stored status come first,
// then synthesized offline entries (last_activity_at 0) for ids without one.
// In Era537 both parts are in request order and duplicates are answered as
// sent; in Era11 the ids are sorted and deduplicated first. More than 65,535
// ids without a stored status answer 500 app.status.get.app_error (the real
// server looks up the ids missing from its status cache in one SQL query,
// and PostgreSQL takes 65,535 parameters). Request bodies longer than
// Config.MaximumPayloadSizeBytes + 512 are refused: 413
// api.context.request_body_too_large.app_error in Era11 (default limit
// 300,000), the endpoint's 400 in Era537 (default 100 MiB).
//
// Failures are injected with SetFault (per endpoint, or EndpointAll), SetDown
// (every request answers a proxy's 502 HTML page), SetUnhealthy (ping answers
// 500 UNHEALTHY) and Config.RateLimit (a token bucket with the real limiter's
// headers and 429). Config.Latency adds a delay per request; RealisticLatency
// implements the latency measured on a real server.
//
// The server counts requests per endpoint (the Endpoint* names, equal to the
// mmclient.Endpoint* constants, plus EndpointUsersMe and EndpointOther) so a
// test can assert what a scrape costs. All setters are safe for concurrent use
// while the server is serving.
//
// Teams (Config.Teams, see TeamSpec, GenerateTeams, AssignTeams) hold the
// accounts whose UserSpec.Team names them; AddUsers creates accounts at run
// time, newer than every other (teams.go says what is simplified).
//
// The users store is built for benchmarks with up to a few million users:
// users are kept sorted by username in parallel slices, /users pages are
// slices of it, and status bodies are encoded by appending bytes.
package mmtest
