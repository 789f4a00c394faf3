package userids

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/go-kit/log/level"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// The user id cache file (--collector.users.cache-file) lets a restarted
// exporter serve counts without walking GET /users first. Layout:
//
//	mattermost_exporter user ids v<N>\n       magic and format version
//	{"url":...,"server_id":...,...}\n        one JSON header line (cacheFileHeader)
//	<count*26 bytes>                         the ids, sorted, no separator
//	<64 hex digits of SHA-256>\n             checksum of everything above
//
// It is written after every successful walk and applied incremental
// refresh, to a temporary file in the same directory, fsynced, then renamed
// over the old one (and the directory fsynced), so a crash leaves either the
// old file or the new one. At start it is read once and trusted only if
// every check passes (checkFile); any failure is logged and the
// exporter walks as if there were no file.

const (
	cacheFileMagic   = "mattermost_exporter user ids v"
	cacheFileVersion = 1
	// cacheFileMaxHeader bounds the header line (the ids are bounded by
	// maxCachedIDs).
	cacheFileMaxHeader = 4096
	// cacheFileFutureSkew: a file finished further in the future than this
	// is not trusted (a clock gone wrong would defer the next walk).
	cacheFileFutureSkew = 5 * time.Minute
)

// cacheFileHeader is the JSON header line.
type cacheFileHeader struct {
	URL         string `json:"url"`
	ServerID    string `json:"server_id"` // DiagnosticId of GET /config/client; "" when unknown
	IncludeBots bool   `json:"include_bots"`
	Finished    int64  `json:"finished_unix_ms"`
	DurationMs  int64  `json:"duration_ms"`
	ActiveAll   int64  `json:"active_accounts"`
	Bots        int64  `json:"bots"`
	// StatsTotal is GET /users/stats total_users_count right after the
	// walk, -1 when it was not known; compared at load.
	StatsTotal int64 `json:"stats_total"`
	Count      int   `json:"count"`
	// Pages of the walk, and the newest create_at it saw (for the
	// incremental refresh); absent from files of older exporters (same
	// format version: such a file loads, and its first GET /users/stats
	// change brings a full walk forward).
	Pages          int   `json:"pages,omitempty"`
	NewestCreateAt int64 `json:"newest_create_at,omitempty"`
}

// Reasons a cache file is not used, the values of the result label of
// mattermost_exporter_users_cache_file_loads_total.
const (
	cacheLoaded     = "loaded"
	cacheAbsent     = "absent"
	cacheUnreadable = "unreadable"
	cacheCorrupt    = "corrupt"
	cacheOldFormat  = "other_format"
	cacheForeign    = "other_server"
	cacheSettings   = "other_settings"
	cacheChanged    = "user_count_changed"
	cacheUnchecked  = "server_unavailable"
)

// CacheFileResults are the values of that label, in the order of
// Stats.CacheFileLoads.
var CacheFileResults = [...]string{cacheLoaded, cacheAbsent, cacheUnreadable, cacheCorrupt, cacheOldFormat, cacheForeign, cacheSettings, cacheChanged, cacheUnchecked}

// cacheFileError is why a file was not used: a reason (a label value) and
// the detail for the log.
type cacheFileError struct {
	reason string
	err    error
}

func (e *cacheFileError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *cacheFileError) Unwrap() error { return e.err }

func cacheErr(reason, format string, a ...any) error {
	return &cacheFileError{reason: reason, err: fmt.Errorf(format, a...)}
}

// testCacheWriteDelay is for tests only (e2e/crash_test.go): the env
// variable MMEXP_TEST_CACHE_WRITE_DELAY (a Go duration, at most 10 s)
// makes every cache file write stop this long halfway through the ids, so
// that a test can kill the exporter while the temporary file is half
// written. Never set it in production: it only delays the write.
var testCacheWriteDelay = parseTestCacheWriteDelay(os.Getenv("MMEXP_TEST_CACHE_WRITE_DELAY"))

func parseTestCacheWriteDelay(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0
	}
	return min(d, 10*time.Second)
}

// cacheTempPattern is the glob of writeCacheFile's temporary files for
// path (os.CreateTemp replaces the '*').
func cacheTempPattern(path string) string {
	return "." + filepath.Base(path) + ".tmp-*"
}

// removeCacheTemps removes the temporary files an exporter killed while
// writing path left behind (each as big as the file): without it every
// such crash would leak one. It returns how many it removed.
func removeCacheTemps(path string) int {
	dir := filepath.Dir(path)
	matches, err := filepath.Glob(filepath.Join(dir, cacheTempPattern(path)))
	if err != nil {
		return 0
	}
	n := 0
	for _, m := range matches {
		if st, err := os.Lstat(m); err == nil && st.Mode().IsRegular() && os.Remove(m) == nil {
			n++
		}
	}
	return n
}

// writeCacheFile stores header h and ids atomically at path.
func writeCacheFile(path string, h cacheFileHeader, ids *IDs) (err error) {
	h.Count = ids.Len()
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, cacheTempPattern(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// The write already failed: that error is the one to report.
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	sum := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(tmp, sum), 1<<16)
	// bufio.Writer keeps its first error and returns it from Flush.
	_, _ = fmt.Fprintf(w, "%s%d\n", cacheFileMagic, cacheFileVersion)
	_, _ = w.Write(hdr)
	_ = w.WriteByte('\n')
	if testCacheWriteDelay > 0 {
		half := ids.s[:len(ids.s)/2]
		_, _ = w.WriteString(half)
		_ = w.Flush()
		time.Sleep(testCacheWriteDelay)
		_, _ = w.WriteString(ids.s[len(half):])
	} else {
		_, _ = w.WriteString(ids.s)
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if _, err = io.WriteString(tmp, hex.EncodeToString(sum.Sum(nil))+"\n"); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// The rename is durable once the directory is synced (best effort:
	// some filesystems do not support it).
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// readCacheFile reads and checks the file's own consistency (format,
// checksum, ids); whether it belongs to this server is checked by the
// caller.
func readCacheFile(path string) (cacheFileHeader, IDs, error) {
	var h cacheFileHeader
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return h, IDs{}, cacheErr(cacheAbsent, "%w", err)
	}
	if err != nil {
		return h, IDs{}, cacheErr(cacheUnreadable, "%w", err)
	}
	defer func() { _ = f.Close() }() // read-only
	st, err := f.Stat()
	if err != nil {
		return h, IDs{}, cacheErr(cacheUnreadable, "%w", err)
	}
	maxSize := int64(len(cacheFileMagic)+12+cacheFileMaxHeader) + int64(maxCachedIDs)*mmclient.UserIDLen + 65
	if !st.Mode().IsRegular() {
		return h, IDs{}, cacheErr(cacheUnreadable, "not a regular file")
	}
	if st.Size() > maxSize {
		return h, IDs{}, cacheErr(cacheCorrupt, "%d bytes, more than any valid file", st.Size())
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return h, IDs{}, cacheErr(cacheUnreadable, "%w", err)
	}
	// Magic and version.
	nl := bytes.IndexByte(b[:min(len(b), len(cacheFileMagic)+12)], '\n')
	if nl < 0 || !bytes.HasPrefix(b, []byte(cacheFileMagic)) {
		return h, IDs{}, cacheErr(cacheCorrupt, "not a user id cache file")
	}
	v, err := strconv.Atoi(string(b[len(cacheFileMagic):nl]))
	if err != nil {
		return h, IDs{}, cacheErr(cacheCorrupt, "bad format version")
	}
	if v != cacheFileVersion {
		return h, IDs{}, cacheErr(cacheOldFormat, "format version %d, this exporter reads %d", v, cacheFileVersion)
	}
	// Checksum of everything before the last line.
	if len(b) < 65 || b[len(b)-1] != '\n' {
		return h, IDs{}, cacheErr(cacheCorrupt, "truncated (no checksum line)")
	}
	body, want := b[:len(b)-65], b[len(b)-65:len(b)-1]
	got := sha256.Sum256(body)
	if hex.EncodeToString(got[:]) != string(want) {
		return h, IDs{}, cacheErr(cacheCorrupt, "checksum mismatch (truncated or damaged)")
	}
	// Header.
	rest := body[nl+1:]
	hl := bytes.IndexByte(rest[:min(len(rest), cacheFileMaxHeader)], '\n')
	if hl < 0 {
		return h, IDs{}, cacheErr(cacheCorrupt, "no header line")
	}
	if err := json.Unmarshal(rest[:hl], &h); err != nil {
		return h, IDs{}, cacheErr(cacheCorrupt, "header: %v", err)
	}
	raw := rest[hl+1:]
	if h.Count < 0 || h.Count > maxCachedIDs || len(raw) != h.Count*mmclient.UserIDLen {
		return h, IDs{}, cacheErr(cacheCorrupt, "%d bytes of ids for a count of %d", len(raw), h.Count)
	}
	if h.ActiveAll < int64(h.Count) || h.ActiveAll > maxCachedIDs || h.Bots < 0 || h.Bots > h.ActiveAll {
		return h, IDs{}, cacheErr(cacheCorrupt, "inconsistent counts (%d ids, %d active accounts, %d bots)", h.Count, h.ActiveAll, h.Bots)
	}
	ids := IDs{s: string(raw)}
	// Ids must be what a walk keeps: 26 lowercase letters or digits,
	// strictly ascending (sorted, no repeats).
	for i := range ids.Len() {
		id := ids.At(i)
		if !mmclient.IsUserID(id) {
			return h, IDs{}, cacheErr(cacheCorrupt, "id %d is not a Mattermost id", i)
		}
		if i > 0 && ids.At(i-1) >= id {
			return h, IDs{}, cacheErr(cacheCorrupt, "ids not sorted at %d", i)
		}
	}
	return h, ids, nil
}

// serverID asks GET /config/client?format=old for DiagnosticId, the
// server's installation id (answered without a token on 5.37 and 11.x);
// "" when it is not available.
func (c *Cache) serverID(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(mmclient.WithoutRetries(ctx), statsTimeout)
	defer cancel()
	cfg, err := c.client.GetClientConfig(sctx)
	if err != nil {
		level.Debug(c.logger).Log("msg", "GET /config/client failed; the cache file is matched by URL alone", "err", err)
		return ""
	}
	id := cfg["DiagnosticId"]
	if len(id) > 64 {
		return ""
	}
	return id
}

// saveFile writes snap to the cache file (no-op without one); stats is
// GET /users/stats after the walk, or -1.
func (c *Cache) saveFile(ctx context.Context, snap *Snapshot, stats int64) {
	if c.cfg.CacheFile == "" || ctx.Err() != nil {
		return
	}
	h := cacheFileHeader{
		URL: c.client.BaseURL(), ServerID: c.serverID(ctx), IncludeBots: c.cfg.IncludeBots,
		Finished: snap.Finished.UnixMilli(), DurationMs: snap.Duration.Milliseconds(),
		ActiveAll: snap.ActiveAll, Bots: snap.Bots, StatsTotal: stats,
		Pages: snap.Pages, NewestCreateAt: snap.NewestCreateAt,
	}
	if err := writeCacheFile(c.cfg.CacheFile, h, &snap.IDs); err != nil {
		c.n.fileWriteErrors.Add(1)
		level.Warn(c.logger).Log("msg", "could not write the user id cache file; a restart will walk GET /users again", "file", c.cfg.CacheFile, "err", err)
		return
	}
	c.n.fileWrites.Add(1)
	level.Debug(c.logger).Log("msg", "user id cache file written", "file", c.cfg.CacheFile, "ids", snap.IDs.Len())
}

// loadFile reads the cache file and checks that it belongs to this
// server and still matches it: same URL, same server id (when the server
// tells it), same --collector.users.include-bots, and GET /users/stats
// equal to what it was after the walk that wrote the file. It returns the
// snapshot to serve and GET /users/stats' answer, or nil; every outcome is
// logged and counted, none is fatal.
func (c *Cache) loadFile(ctx context.Context) (*Snapshot, int64) {
	if c.cfg.CacheFile == "" {
		return nil, 0
	}
	if n := removeCacheTemps(c.cfg.CacheFile); n > 0 {
		level.Info(c.logger).Log("msg", "removed temporary user id cache files left by an interrupted write", "file", c.cfg.CacheFile, "removed", n)
	}
	snap, total, err := c.checkFile(ctx)
	reason := cacheLoaded
	if ce, ok := errors.AsType[*cacheFileError](err); ok {
		reason = ce.reason
	} else if err != nil {
		reason = cacheUnreadable
	}
	c.n.fileLoads[slices.Index(CacheFileResults[:], reason)].Add(1)
	switch reason {
	case cacheLoaded:
		level.Info(c.logger).Log("msg", "user id cache loaded from file; serving it now, next walk as scheduled", "file", c.cfg.CacheFile, "ids", snap.IDs.Len(), "written", snap.Finished.UTC().Format(time.RFC3339))
		return snap, total
	case cacheAbsent:
		level.Info(c.logger).Log("msg", "no user id cache file yet; walking GET /users", "file", c.cfg.CacheFile)
	default:
		level.Warn(c.logger).Log("msg", "user id cache file ignored; walking GET /users", "file", c.cfg.CacheFile, "reason", reason, "err", err)
	}
	return nil, 0
}

func (c *Cache) checkFile(ctx context.Context) (*Snapshot, int64, error) {
	h, ids, err := readCacheFile(c.cfg.CacheFile)
	if err != nil {
		return nil, 0, err
	}
	if url := c.client.BaseURL(); h.URL != url {
		return nil, 0, cacheErr(cacheForeign, "written for %q, this exporter watches %q", Truncate(h.URL, 200), url)
	}
	if h.IncludeBots != c.cfg.IncludeBots {
		return nil, 0, cacheErr(cacheSettings, "written with include-bots %t", h.IncludeBots)
	}
	finished := time.UnixMilli(h.Finished)
	if finished.After(time.Now().Add(cacheFileFutureSkew)) {
		return nil, 0, cacheErr(cacheCorrupt, "written in the future (%s)", finished.UTC().Format(time.RFC3339))
	}
	if id := c.serverID(ctx); id != h.ServerID {
		if id == "" {
			return nil, 0, cacheErr(cacheUnchecked, "the server's id is not available to check the file's (%q)", Truncate(h.ServerID, 64))
		}
		return nil, 0, cacheErr(cacheForeign, "written for server id %q, the server at this URL is %q", Truncate(h.ServerID, 64), id)
	}
	total, err := c.statsTotal(ctx)
	if err != nil {
		return nil, 0, cacheErr(cacheUnchecked, "GET /users/stats: %w", err)
	}
	want := h.StatsTotal
	if want < 0 {
		want = h.ActiveAll
	}
	if total != want {
		return nil, 0, cacheErr(cacheChanged, "GET /users/stats says %d active accounts, %d when the file was written", total, want)
	}
	if h.Pages < 0 || h.NewestCreateAt < 0 {
		return nil, 0, cacheErr(cacheCorrupt, "negative pages or newest create_at")
	}
	return &Snapshot{IDs: ids, ActiveAll: h.ActiveAll, Bots: h.Bots, Finished: finished,
		Duration: time.Duration(h.DurationMs) * time.Millisecond, FromFile: true,
		Pages: h.Pages, NewestCreateAt: h.NewestCreateAt}, total, nil
}
