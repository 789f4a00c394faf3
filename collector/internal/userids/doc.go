// Package userids keeps the list of a Mattermost server's active user ids,
// built off the scrape path, for the users collector's status sweeps.
//
// Types:
//   - Cache: the background loop (loop.go) that walks GET /users (walk.go),
//     brings the list up to date between walks from the teams' newest
//     members (incremental.go), and keeps it across restarts in a file
//     (cachefile.go); it publishes one Snapshot at a time.
//   - Snapshot: one published list (IDs) and facts about the walk behind
//     it; immutable.
//   - IDs: the ids themselves, sorted, 26 bytes each in one string (ids.go).
//   - Stats: the Cache's figures for the exporter's self-metrics.
//   - Config, Option: the settings, and the options tests use.
//
// Who calls whom: the collector calls New, then Start once (the loop runs
// until the context ends; Stopped tells when it has); on each scrape it
// reads Snapshot, Err and Stats, and hands Snapshot().IDs to the sweeper
// (package sweep). The loop calls Refresh (a walk) and RefreshIncremental;
// both publish through the same lock, one at a time, and write the cache
// file after each. Nothing here exports metrics or reads flags.
package userids
