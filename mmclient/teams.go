package mmclient

import (
	"context"
	"fmt"
)

// The calls that find accounts created since a walk of GET /users without
// walking again (see the users collector's incremental refresh): GET /users
// has no "since", but within one team it can list the members newest
// account first, and it can list the accounts that are in no team.

// EndpointTeams is GET /teams. The filtered GET /users calls below count as
// EndpointUsers (same path).
const EndpointTeams = "teams"

// maxBodyPerTeam is the per_page share of GET /teams (a team is under 1 KB;
// a description can reach a few KB).
const maxBodyPerTeam = 8 << 10

// Team holds the fields of a team that the exporter needs.
type Team struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Type     string `json:"type"` // "O" open, "I" invite only
	DeleteAt int64  `json:"delete_at"`
}

// GetTeams calls GET /teams?page=&per_page=: every team (archived ones
// included) for a session with manage_system, otherwise only the teams
// open to anyone (allow_open_invite; not even the caller's own invite-only
// teams, as checked on 5.37 and 11), ordered by display name with OFFSET
// paging. perPage is clamped to 1..MaxPerPage.
func (c *Client) GetTeams(ctx context.Context, page, perPage int) ([]Team, error) {
	return getList[Team](ctx, c, EndpointTeams, "/teams", "", page, perPage, maxBodyPerTeam)
}

// GetTeamUsersNewestFirst calls GET
// /users?in_team=<teamID>&sort=create_at&page=&per_page=: the team's
// members (deactivated ones and, on real servers, former members
// included), newest account (create_at) first.
// teamID must be a Mattermost id (26 characters [a-z0-9]). perPage is
// clamped to 1..MaxPerPage.
func (c *Client) GetTeamUsersNewestFirst(ctx context.Context, teamID string, page, perPage int) ([]User, error) {
	if !IsUserID(teamID) { // team ids have the same shape
		return nil, fmt.Errorf("%s: invalid team id", EndpointUsers)
	}
	return getList[User](ctx, c, EndpointUsers, "/users", "in_team="+teamID+"&sort=create_at&", page, perPage, maxBodyPerUser)
}

// GetUsersWithoutTeam calls GET /users?without_team=true&page=&per_page=:
// the accounts in no team (deactivated ones included), ordered by username
// with OFFSET paging. perPage is clamped to 1..MaxPerPage.
func (c *Client) GetUsersWithoutTeam(ctx context.Context, page, perPage int) ([]User, error) {
	return getList[User](ctx, c, EndpointUsers, "/users", "without_team=true&", page, perPage, maxBodyPerUser)
}
