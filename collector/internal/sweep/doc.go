// Package sweep counts users by status: it asks POST /users/status/ids for
// every id of a userids.IDs list and keeps only counts.
//
// Types:
//   - Sweeper: runs one sweep at a time (concurrent callers share it) and
//     keeps the last complete Result (sweeper.go); its workers (worker.go)
//     send the batches and decode the answers.
//   - Result, Counts: one complete sweep's counts by status.
//   - Stats: the Sweeper's figures for the exporter's self-metrics.
//   - Config, Option: the settings, and the option tests use.
//
// Who calls whom: the collector calls New, then Start with the context
// sweeps run under; on each scrape it calls Counts with the id cache's
// current ids (userids.Cache.Snapshot) and reads Stats. Nothing here
// exports metrics or reads flags; the one package-level value is the pool
// of worker buffers every Sweeper of the process shares (worker.go).
package sweep
