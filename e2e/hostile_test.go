package e2e

// TestHostile (issue 7): the exporter binary against a Mattermost, proxy
// or attacker answering hostile things (hostile_server_test.go). Every case
// asserts the same contract, measured on the real process:
//
//   - peak RSS (VmHWM of the exporter) < 64 MiB after one scrape and
//     < 100 MiB after 3 concurrent scrapes;
//   - every scrape answers within the scrape timeout + 1 s;
//   - the exposition parses (expfmt, and `promtool check metrics` when
//     installed; required when CI is set), has < 2000 samples and no label
//     value over 200 bytes;
//   - the token is in no log line and no scrape output; no log line
//     exceeds 4 KiB;
//
// plus what the case is about (users metrics back in time, idle
// connections closed, ...). A watchdog kills an exporter whose RSS passes
// 1.5 GiB so that today's unbounded behaviour cannot take the shared
// machine down. `make hostile` runs these tests and prints the summary.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const (
	hostileRSSOne        = 64 << 20  // after one scrape
	hostileRSSThree      = 100 << 20 // after 3 concurrent scrapes
	hostileRSSKill       = 1536 << 20
	hostileMaxSamples    = 2000
	hostileMaxLabelValue = 200
	hostileMaxLogLine    = 4 << 10
	hostileKeepOutput    = 16 << 20 // scrape output kept for parsing; more is a failure anyway
	hostileScrapeTimeout = "5"
)

// ---- the exporter process ----

// hostileLog collects the exporter's stdout and stderr (up to 64 MiB) and
// the length of its longest line.
type hostileLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
	cur     int
	maxLine int
}

func (l *hostileLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := 64<<20 - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
		l.dropped += int64(len(p) - min(len(p), room))
	} else {
		l.dropped += int64(len(p))
	}
	for q := p; len(q) > 0; {
		i := bytes.IndexByte(q, '\n')
		if i < 0 {
			l.cur += len(q)
			break
		}
		l.cur += i
		l.maxLine = max(l.maxLine, l.cur)
		l.cur = 0
		q = q[i+1:]
	}
	l.maxLine = max(l.maxLine, l.cur)
	return len(p), nil
}

func (l *hostileLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *hostileLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Len()
}

func (l *hostileLog) longest() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maxLine
}

type hostileProc struct {
	cmd   *exec.Cmd
	addr  string
	log   *hostileLog
	begun time.Time
	done  chan struct{} // closed when the process has exited
	err   error         // Wait's error, valid after done

	mu     sync.Mutex
	hwmKB  int64 // last VmHWM the watchdog read
	killed bool  // by the watchdog
}

// hostileRun starts the exporter binary with args and env; a watchdog
// kills it if its RSS passes hostileRSSKill. It is killed when the test
// ends.
func hostileRun(t *testing.T, env []string, args ...string) *hostileProc {
	t.Helper()
	p := &hostileProc{log: &hostileLog{}, done: make(chan struct{})}
	p.cmd = exec.Command(exporterBinary(t), args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.begun = time.Now()
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	go p.watch()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *hostileProc) watch() {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		rss, hwm, ok := hostileProcStatus(p.cmd.Process.Pid)
		if !ok {
			continue
		}
		p.mu.Lock()
		p.hwmKB = max(p.hwmKB, hwm)
		if rss<<10 > hostileRSSKill && !p.killed {
			p.killed = true
			_ = p.cmd.Process.Kill()
		}
		p.mu.Unlock()
	}
}

// hostileProcStatus reads VmRSS and VmHWM (KiB) of pid.
func hostileProcStatus(pid int) (rss, hwm int64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm, hwm > 0
}

// peak returns the exporter's peak RSS in bytes so far, and whether the
// watchdog killed it.
func (p *hostileProc) peak() (int64, bool) {
	if _, hwm, ok := hostileProcStatus(p.cmd.Process.Pid); ok {
		p.mu.Lock()
		p.hwmKB = max(p.hwmKB, hwm)
		p.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hwmKB << 10, p.killed
}

func (p *hostileProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// hostileStart starts the exporter against hs with the token in
// MATTERMOST_TOKEN and waits until it serves HTTP.
func hostileStart(t *testing.T, hs *hostileServer, args ...string) *hostileProc {
	t.Helper()
	addr := freeAddr(t)
	all := append([]string{"--mattermost.url=" + hs.URL(), "--web.listen-address=" + addr}, args...)
	exporterBinary(t) // built before the clock of downFor starts
	hs.mu.Lock()
	if hs.downFor > 0 {
		hs.downUntil = time.Now().Add(hs.downFor)
	}
	hs.mu.Unlock()
	p := hostileRun(t, exporterEnv("MATTERMOST_TOKEN="+hostileToken), all...)
	p.addr = addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		if p.exited() {
			t.Fatalf("exporter exited at start: %v\n%s", p.err, hostileCut(p.log.String(), 2000))
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter not listening on %s after 15 s\n%s", addr, hostileCut(p.log.String(), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hostileCut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("... (%d bytes)", len(s))
}

// ---- scrapes ----

type hostileScrape struct {
	code      int
	latency   time.Duration
	err       error
	size      int64
	samples   int // non-comment lines
	maxLine   int
	tokenSeen bool
	kept      []byte // the first hostileKeepOutput bytes
}

// hostileGet scrapes the exporter's /metrics with the scrape-timeout
// header, giving up after limit (the scrape then failed).
func hostileGet(addr, timeoutHeader string, limit time.Duration) hostileScrape {
	var res hostileScrape
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if timeoutHeader != "" {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeoutHeader)
	}
	// No compression: the size measured is what Prometheus parses.
	req.Header.Set("Accept-Encoding", "identity")
	begin := time.Now()
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		res.err, res.latency = err, time.Since(begin)
		return res
	}
	defer resp.Body.Close()
	res.code = resp.StatusCode
	tok := []byte(hostileToken)
	var (
		tail      []byte
		cur       int
		lineStart = true
		comment   bool
		buf       = make([]byte, 256<<10)
	)
	for {
		n, rerr := resp.Body.Read(buf)
		chunk := buf[:n]
		res.size += int64(n)
		if len(res.kept) < hostileKeepOutput {
			res.kept = append(res.kept, chunk[:min(len(chunk), hostileKeepOutput-len(res.kept))]...)
		}
		if bytes.Contains(append(tail, chunk...), tok) {
			res.tokenSeen = true
		}
		if n >= len(tok) {
			tail = append(tail[:0], chunk[n-len(tok)+1:]...)
		} else {
			tail = append(tail, chunk...)
			if len(tail) > len(tok) {
				tail = tail[len(tail)-len(tok):]
			}
		}
		for c := chunk; len(c) > 0; {
			if lineStart {
				comment, lineStart = c[0] == '#', false
			}
			i := bytes.IndexByte(c, '\n')
			if i < 0 {
				cur += len(c)
				break
			}
			cur += i
			res.maxLine = max(res.maxLine, cur)
			if !comment && cur > 0 {
				res.samples++
			}
			cur, lineStart, c = 0, true, c[i+1:]
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				res.err = fmt.Errorf("reading the scrape: %w", rerr)
			}
			break
		}
	}
	if cur > 0 {
		res.maxLine = max(res.maxLine, cur)
		if !comment {
			res.samples++
		}
	}
	res.latency = time.Since(begin)
	return res
}

// hostileParse parses an exposition.
func hostileParse(b []byte) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(b))
}

// hostileCheckScrape asserts the scrape contract on one scrape; it returns
// the parsed families (nil when the output is unusable).
func hostileCheckScrape(t *testing.T, what string, s hostileScrape, maxLatency time.Duration) map[string]*dto.MetricFamily {
	t.Helper()
	if s.err != nil {
		t.Errorf("%s: no answer after %.1f s: %v", what, s.latency.Seconds(), s.err)
		return nil
	}
	if s.code != http.StatusOK {
		t.Errorf("%s: HTTP %d", what, s.code)
	}
	if s.latency > maxLatency {
		t.Errorf("%s: answered after %.1f s, want within %.1f s (scrape timeout + 1 s)", what, s.latency.Seconds(), maxLatency.Seconds())
	}
	if s.tokenSeen {
		t.Errorf("%s: the token appears in the scrape output", what)
	}
	if s.samples >= hostileMaxSamples {
		t.Errorf("%s: %d samples (%d bytes), want fewer than %d", what, s.samples, s.size, hostileMaxSamples)
	}
	if s.size > int64(len(s.kept)) {
		t.Errorf("%s: output of %d bytes, too large to check (longest line %d bytes)", what, s.size, s.maxLine)
		return nil
	}
	mfs, err := hostileParse(s.kept)
	if err != nil {
		t.Errorf("%s: not a valid exposition: %v", what, err)
		return nil
	}
	longest, where := 0, ""
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if n := len(lp.GetValue()); n > longest {
					longest, where = n, name+"{"+lp.GetName()+"}"
				}
			}
		}
	}
	if longest > hostileMaxLabelValue {
		t.Errorf("%s: label value of %d bytes in %s, want at most %d", what, longest, where, hostileMaxLabelValue)
	}
	hostilePromtool(t, what, s.kept)
	return mfs
}

// hostilePromtool runs `promtool check metrics` when installed (required
// when CI is set).
func hostilePromtool(t *testing.T, what string, exposition []byte) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found in PATH (CI is set): install it with scripts/install-prometheus.sh")
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("%s: promtool check metrics: %v\n%s", what, err, hostileCut(out.String(), 2000))
	}
}

// hostileCheckLog asserts the log contract: no token, no line over 4 KiB.
func hostileCheckLog(t *testing.T, p *hostileProc) {
	t.Helper()
	log := p.log.String()
	if strings.Contains(log, hostileToken) {
		n := strings.Count(log, hostileToken)
		line := log[strings.LastIndex(log[:strings.Index(log, hostileToken)], "\n")+1:]
		t.Errorf("the token appears %d times in the log, first in: %s", n, hostileCut(line, 300))
	}
	if n := p.log.longest(); n > hostileMaxLogLine {
		t.Errorf("a log line of %d bytes, want at most %d", n, hostileMaxLogLine)
	}
}

// labelOf returns the value of m's label name ("" when m has none).
func labelOf(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// hostileValue returns the sum of the samples of family name (false when
// absent), with labels matching want (name=value pairs).
func hostileValue(mfs map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	sum, found := 0.0, false
	for _, m := range mf.GetMetric() {
		match := true
		for i := 0; i+1 < len(want); i += 2 {
			match = match && labelOf(m, want[i]) == want[i+1]
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, found
}

// hostileWaitUsers scrapes every second until mattermost_users sums to
// want and the id cache holds want ids, or until deadline. It returns when
// they did (zero time if never) and the last figures seen.
func hostileWaitUsers(p *hostileProc, want int, deadline time.Time) (time.Time, string) {
	last := "no scrape"
	for time.Now().Before(deadline) {
		s := hostileGet(p.addr, hostileScrapeTimeout, 10*time.Second)
		if s.err == nil && s.size <= int64(len(s.kept)) {
			if mfs, err := hostileParse(s.kept); err == nil {
				users, okU := hostileValue(mfs, "mattermost_users")
				cached, okC := hostileValue(mfs, "mattermost_exporter_users_cached")
				last = fmt.Sprintf("mattermost_users=%v (present %v), users_cached=%v (present %v)", users, okU, cached, okC)
				if okU && okC && int(users) == want && int(cached) == want {
					return time.Now(), last
				}
			}
		} else if s.err != nil {
			last = "scrape failed: " + s.err.Error()
		}
		if p.exited() {
			return time.Time{}, last + " (exporter exited)"
		}
		time.Sleep(time.Second)
	}
	return time.Time{}, last
}

// ---- the summary ----

type hostileRow struct {
	name             string
	rssOne, rssThree int64 // bytes; -1 = not measured
	killed           bool
	latOne, latThree time.Duration
	size             int64
	samples          int
	logMax           int // longest log line, bytes
	tokenInLog       int // occurrences of the token in the log
	proc             *hostileProc
	note             string
	failed           bool
}

type hostileSummary struct {
	mu   sync.Mutex
	rows []hostileRow
}

func (s *hostileSummary) add(r hostileRow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, r)
}

func (s *hostileSummary) table() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := append([]hostileRow(nil), s.rows...)
	sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	mib := func(b int64) string {
		if b < 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f", float64(b)/(1<<20))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-46s %-6s %9s %9s %8s %8s %10s %8s %9s %6s  %s\n", "case", "result", "RSS1 MiB", "RSS3 MiB", "lat1 s", "lat3 s", "out bytes", "samples", "log max B", "token", "note")
	for _, r := range rows {
		res := "PASS"
		if r.failed {
			res = "FAIL"
		}
		rss3 := mib(r.rssThree)
		if r.killed {
			rss3 = ">" + mib(hostileRSSKill) + "!"
		}
		fmt.Fprintf(&b, "%-46s %-6s %9s %9s %8.1f %8.1f %10d %8d %9d %6d  %s\n", r.name, res, mib(r.rssOne), rss3,
			r.latOne.Seconds(), r.latThree.Seconds(), r.size, r.samples, r.logMax, r.tokenInLog, r.note)
	}
	b.WriteString("(RSS: VmHWM of the exporter after 1 scrape, then after 3 concurrent; >N! = killed by the watchdog; lat: slowest scrape,\n" +
		" a scrape without answer counts as the time the test gave up; token: times the token appears in the exporter's log)\n")
	return b.String()
}

// ---- the cases ----

type hostileCase struct {
	name  string
	users int // active users of the hostile server (default 10)
	// setup switches the server to its hostile behaviour before the
	// exporter starts; it may return extra exporter flags.
	setup func(t *testing.T, hs *hostileServer) []string
	// header is the X-Prometheus-Scrape-Timeout-Seconds sent (default 5);
	// maxLatency the longest a scrape may take (default header + 1 s).
	header     string
	maxLatency time.Duration
	// slow cases wait on purpose: they run in parallel with each other.
	slow bool
	// check asserts what the case is about, after the common checks; it
	// returns a note for the summary.
	check func(t *testing.T, hs *hostileServer, p *hostileProc) string
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{
			name: "body_1GiB_every_endpoint",
			setup: func(_ *testing.T, hs *hostileServer) []string {
				hs.setAll(hostileOneGiB)
				return nil
			},
		},
		{
			name: "gzip_bomb_2GiB_every_endpoint",
			setup: func(_ *testing.T, hs *hostileServer) []string {
				hostileGzipMember() // built before the clock starts
				hs.setAll(hostileGzipBomb)
				return nil
			},
		},
		{
			name: "cluster_10M_empty_objects",
			setup: func(_ *testing.T, hs *hostileServer) []string {
				hs.set(hepCluster, hostileEmptyObjects)
				return nil
			},
		},
		{
			name: "users_page_beyond_per_page",
			setup: func(_ *testing.T, hs *hostileServer) []string {
				hs.set(hepUsers, hostileOversizedPage)
				return nil
			},
			check: func(t *testing.T, hs *hostileServer, p *hostileProc) string {
				// The walk ran at start (before the first scrape): give
				// it time to swallow or refuse the page, then measure.
				time.Sleep(2 * time.Second)
				hs.quiesce(10 * time.Second)
				rss, killed := p.peak()
				if killed || rss > hostileRSSThree {
					t.Errorf("peak RSS %.0f MiB (killed %v) after the user walk met a page of 900,000 users, want < %d MiB", float64(rss)/(1<<20), killed, hostileRSSThree>>20)
				}
				return fmt.Sprintf("%d GET /users; peak after walk %.0f MiB", hs.count(hepUsers), float64(rss)/(1<<20))
			},
		},
		{
			name: "cluster_1M_nodes_1MB_hostnames_900KB_version",
			setup: func(_ *testing.T, hs *hostileServer) []string {
				hs.mu.Lock()
				hs.versionID = hostileHugeVersionID()
				hs.mu.Unlock()
				hs.set(hepCluster, hostileManyNodes)
				return nil
			},
		},
		{
			name: "ping_echoes_authorization",
			setup: func(_ *testing.T, hs *hostileServer) []string {
				hs.set(hepPing, hostileEchoAuth)
				return nil
			},
		},
		{
			name:       "scrape_timeout_NaN_cluster_saml_hang",
			header:     "NaN",
			maxLatency: 11 * time.Second, // default --mattermost.timeout + 1 s
			setup: func(_ *testing.T, hs *hostileServer) []string {
				hs.set(hepCluster, hostileHang)
				hs.set(hepSAML, hostileHang)
				return nil
			},
		},
		{
			name: "retry_after_year_9999_on_users",
			slow: true,
			setup: func(_ *testing.T, hs *hostileServer) []string {
				until := time.Now().Add(5 * time.Second)
				hs.set(hepUsers, hostileRetryAfterForever(until))
				hs.mark = until
				return nil
			},
			check: func(t *testing.T, hs *hostileServer, p *hostileProc) string {
				normal := hs.mark
				time.Sleep(time.Until(normal))
				at, last := hostileWaitUsers(p, 10, normal.Add(60*time.Second))
				if at.IsZero() {
					t.Errorf("users metrics not back within 60 s of the server answering normally again (%d GET /users; last: %s)", hs.count(hepUsers), last)
					return "users not back after 60 s"
				}
				return fmt.Sprintf("users back %.1f s after the 429s ended", at.Sub(normal).Seconds())
			},
		},
		{
			name:  "user_renamed_across_page_boundary",
			slow:  true,
			users: 1000,
			setup: func(_ *testing.T, hs *hostileServer) []string {
				var once sync.Once
				hs.afterUsersPage = func(hs *hostileServer, page int) {
					if page == 0 {
						// u0999 (page 4) becomes a0999: it sorts first, every
						// later account moves one place down, u0199 is listed
						// again on page 1 and a0999 never.
						once.Do(func() { hs.renameUser("u0999", "a0999") })
					}
				}
				return nil
			},
			check: func(t *testing.T, hs *hostileServer, p *hostileProc) string {
				at, last := hostileWaitUsers(p, 1000, p.begun.Add(2*time.Minute))
				if at.IsZero() {
					t.Errorf("counts not right 2 min after start (%d GET /users; last: %s)", hs.count(hepUsers), last)
					return "not 1000 after 2 min: " + last
				}
				return fmt.Sprintf("1000 users counted %.1f s after start", at.Sub(p.begun).Seconds())
			},
		},
		{
			name: "idle_keepalive_300_connections",
			slow: true,
			setup: func(t *testing.T, _ *hostileServer) []string {
				if flag := hostileIdleFlag(t); flag != "" {
					return []string{flag + "=5s"}
				}
				return nil
			},
			check: hostileCheckIdle,
		},
		{
			name: "mattermost_down_first_31s",
			slow: true,
			setup: func(_ *testing.T, hs *hostileServer) []string {
				hs.downFor = 31 * time.Second
				return nil
			},
			check: func(t *testing.T, hs *hostileServer, p *hostileProc) string {
				hs.mu.Lock()
				back := hs.downUntil
				hs.mu.Unlock()
				time.Sleep(time.Until(back))
				at, last := hostileWaitUsers(p, 10, back.Add(30*time.Second))
				if at.IsZero() {
					t.Errorf("users metrics not present within 30 s of Mattermost's return (%d GET /users; last: %s)", hs.count(hepUsers), last)
					return "users not back 30 s after return"
				}
				return fmt.Sprintf("users back %.1f s after return (%.1f s after start)", at.Sub(back).Seconds(), at.Sub(p.begun).Seconds())
			},
		},
	}
}

func TestHostile(t *testing.T) {
	var summary hostileSummary
	t.Cleanup(func() { t.Log(summary.table()) })
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			if tc.slow {
				t.Parallel()
			}
			row := hostileRow{name: tc.name, rssOne: -1, rssThree: -1}
			defer func() {
				row.failed = t.Failed()
				summary.add(row)
			}()
			defer func() {
				if p := row.proc; p != nil {
					row.logMax, row.tokenInLog = p.log.longest(), strings.Count(p.log.String(), hostileToken)
				}
			}()
			hostileRunCase(t, tc, &row)
		})
	}
}

func hostileRunCase(t *testing.T, tc hostileCase, row *hostileRow) {
	users := tc.users
	if users == 0 {
		users = 10
	}
	hs := newHostileServer(t, users)
	var args []string
	if tc.setup != nil {
		args = tc.setup(t, hs)
	}
	header := tc.header
	if header == "" {
		header = hostileScrapeTimeout
	}
	maxLatency := tc.maxLatency
	if maxLatency == 0 {
		secs, _ := strconv.ParseFloat(header, 64)
		maxLatency = time.Duration(secs*float64(time.Second)) + time.Second
	}
	// Scrapes still running this long after their limit have failed.
	giveUp := maxLatency + 5*time.Second
	p := hostileStart(t, hs, args...)
	row.proc = p

	killedNote := func() bool {
		rss, killed := p.peak()
		if killed {
			row.killed = true
			t.Errorf("the watchdog killed the exporter: RSS over %d MiB", hostileRSSKill>>20)
			row.note = fmt.Sprintf("killed at RSS > %d MiB (peak seen %.0f MiB)", hostileRSSKill>>20, float64(rss)/(1<<20))
		}
		return killed
	}

	// One scrape.
	one := hostileGet(p.addr, header, giveUp)
	row.latOne, row.size, row.samples = one.latency, one.size, one.samples
	if one.err != nil {
		row.note = fmt.Sprintf("scrape: no answer after %.1f s", one.latency.Seconds())
	}
	hostileCheckScrape(t, "one scrape", one, maxLatency)
	hs.quiesce(3 * time.Second)
	rss, _ := p.peak()
	row.rssOne = rss
	if killedNote() {
		hostileCheckLog(t, p)
		return
	}
	if rss > hostileRSSOne {
		t.Errorf("peak RSS %.0f MiB after one scrape, want < %d MiB", float64(rss)/(1<<20), hostileRSSOne>>20)
	}

	// Three concurrent scrapes.
	var wg sync.WaitGroup
	three := make([]hostileScrape, 3)
	for i := range three {
		wg.Add(1)
		go func() {
			defer wg.Done()
			three[i] = hostileGet(p.addr, header, giveUp)
		}()
	}
	wg.Wait()
	for i, s := range three {
		row.latThree = max(row.latThree, s.latency)
		hostileCheckScrape(t, fmt.Sprintf("concurrent scrape %d", i+1), s, maxLatency)
	}
	hs.quiesce(3 * time.Second)
	rss, _ = p.peak()
	row.rssThree = rss
	if killedNote() {
		hostileCheckLog(t, p)
		return
	}
	if rss > hostileRSSThree {
		t.Errorf("peak RSS %.0f MiB after 3 concurrent scrapes, want < %d MiB", float64(rss)/(1<<20), hostileRSSThree>>20)
	}

	if tc.check != nil {
		row.note = tc.check(t, hs, p)
		if killedNote() {
			row.rssThree, _ = p.peak()
		}
	}
	if p.exited() && !row.killed {
		t.Errorf("the exporter exited: %v", p.err)
	}
	hostileCheckLog(t, p)
}

// hostileIdleFlag returns the exporter's idle-timeout flag, if it has one.
func hostileIdleFlag(t *testing.T) string {
	out, _ := exec.Command(exporterBinary(t), "--help").CombinedOutput()
	m := regexp.MustCompile(`--(web\.[a-z0-9.-]*idle[a-z0-9.-]*)=`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	return "--" + string(m[1])
}

// hostileCheckIdle opens 300 keep-alive connections to the exporter, makes
// one request on each and then leaves them idle: the exporter must close
// them after its idle timeout (within 130 s when it has no flag for it).
func hostileCheckIdle(t *testing.T, _ *hostileServer, p *hostileProc) string {
	const n = 300
	limit := 130 * time.Second
	if hostileIdleFlag(t) != "" {
		limit = 15 * time.Second // the case set it to 5 s
	}
	type idleConn struct {
		c net.Conn
		r *bufio.Reader
	}
	var conns []idleConn
	t.Cleanup(func() {
		for _, ic := range conns {
			ic.c.Close()
		}
	})
	for range n {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		ic := idleConn{c, bufio.NewReader(c)}
		conns = append(conns, ic)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: exporter\r\n\r\n"); err != nil {
			t.Fatalf("request: %v", err)
		}
		resp, err := http.ReadResponse(ic.r, nil)
		if err != nil {
			t.Fatalf("response: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			t.Fatalf("the exporter closed a keep-alive connection after its first request")
		}
		_ = c.SetDeadline(time.Time{})
	}
	opened := time.Now()
	open := func() int {
		k := 0
		for _, ic := range conns {
			_ = ic.c.SetReadDeadline(time.Now().Add(time.Millisecond))
			_, err := ic.r.Peek(1)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				k++
			}
		}
		return k
	}
	left := n
	for time.Since(opened) < limit {
		time.Sleep(5 * time.Second)
		if left = open(); left == 0 {
			return fmt.Sprintf("all %d idle connections closed %.0f s after their request", n, time.Since(opened).Seconds())
		}
	}
	t.Errorf("%d of %d idle keep-alive connections still open %.0f s after their request", left, n, time.Since(opened).Seconds())
	return fmt.Sprintf("%d/%d idle connections open after %.0f s", left, n, time.Since(opened).Seconds())
}

// ---- cases with their own setup ----

// TestHostileSIGHUP: SIGHUP (the signal of a log rotation or a "reload")
// must not kill the exporter; it logs a line about the token (reloaded
// from the token file).
func TestHostileSIGHUP(t *testing.T) {
	hs := newHostileServer(t, 10)
	tokenPath := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenPath, []byte(hostileToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := hostileRun(t, exporterEnv(), "--mattermost.url="+hs.URL(), "--web.listen-address="+addr, "--mattermost.token-file="+tokenPath)
	p.addr = addr
	hostileWaitListening(t, p)
	before := p.log.Len()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if p.exited() {
		t.Fatalf("the exporter exited on SIGHUP (%v); log after the signal: %q", p.err, hostileCut(p.log.String()[before:], 500))
	}
	after := p.log.String()[before:]
	if !strings.Contains(strings.ToLower(after), "token") {
		t.Errorf("no log line about the token after SIGHUP; log after the signal: %q", hostileCut(after, 500))
	}
	s := hostileGet(addr, hostileScrapeTimeout, 15*time.Second)
	hostileCheckScrape(t, "scrape after SIGHUP", s, 6*time.Second)
	hostileCheckLog(t, p)
}

func hostileWaitListening(t *testing.T, p *hostileProc) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("exporter not listening on %s: %v\n%s", p.addr, p.err, hostileCut(p.log.String(), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHostileTokenFile: a token file that never ends (/dev/zero) or never
// opens (a FIFO nobody writes) makes the exporter exit at once with one
// clear error line; a BOM and surrounding whitespace are stripped.
func TestHostileTokenFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(t *testing.T) string
	}{
		{"fifo", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "token.fifo")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			return p
		}},
		{"dev_zero", func(t *testing.T) string {
			if _, err := os.Stat("/dev/zero"); err != nil {
				t.Skip("no /dev/zero")
			}
			return "/dev/zero"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			p := hostileRun(t, exporterEnv(), "--mattermost.url=http://127.0.0.1:1", "--web.listen-address="+freeAddr(t), "--mattermost.token-file="+path)
			select {
			case <-p.done:
			case <-time.After(2 * time.Second):
				rss, _ := p.peak()
				_ = p.cmd.Process.Kill()
				<-p.done
				t.Fatalf("still running 2 s after start (peak RSS %.0f MiB, killed now); output: %q", float64(rss)/(1<<20), hostileCut(p.log.String(), 500))
			}
			elapsed := time.Since(p.begun)
			rss, killed := p.peak()
			if killed {
				t.Fatalf("killed by the watchdog at RSS > %d MiB", hostileRSSKill>>20)
			}
			var ee *exec.ExitError
			if !errors.As(p.err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("exit: %v, want a non-zero exit code", p.err)
			}
			out := strings.TrimSpace(p.log.String())
			lines := strings.Split(out, "\n")
			if out == "" || len(lines) != 1 {
				t.Errorf("want exactly one error line, got %d: %q", len(lines), hostileCut(out, 500))
			} else if !strings.Contains(out, "token") {
				t.Errorf("the error line does not mention the token file: %q", hostileCut(out, 500))
			}
			t.Logf("exited after %.2f s, peak RSS %.0f MiB: %s", elapsed.Seconds(), float64(rss)/(1<<20), hostileCut(out, 300))
		})
	}
	for _, tc := range []struct{ name, content string }{
		// What Windows Notepad saves: BOM, token, CRLF.
		{"bom_token_crlf", "\xef\xbb\xbf" + hostileToken + "\r\n"},
		{"bom_whitespace_token", "\xef\xbb\xbf \t" + hostileToken + " \r\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) { hostileTokenContent(t, tc.content) })
	}
}

// hostileTokenContent starts the exporter with a token file holding
// content and checks that the hostile server sees exactly the token.
func hostileTokenContent(t *testing.T, content string) {
	hs := newHostileServer(t, 10)
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := hostileRun(t, exporterEnv(), "--mattermost.url="+hs.URL(), "--web.listen-address="+addr, "--mattermost.token-file="+path)
	p.addr = addr
	hostileWaitListening(t, p)
	s := hostileGet(addr, hostileScrapeTimeout, 15*time.Second)
	mfs := hostileCheckScrape(t, "scrape", s, 6*time.Second)
	if up, ok := hostileValue(mfs, "mattermost_up"); !ok || up != 1 {
		t.Errorf("mattermost_up = %v (present %v), want 1", up, ok)
	}
	if bad := hs.badAuth.Load(); bad > 0 {
		t.Errorf("%d requests without the exact header \"Authorization: Bearer <token>\" (%d with it)", bad, hs.goodAuth.Load())
	}
	if hs.goodAuth.Load() == 0 {
		t.Errorf("no request carried the token")
	}
	hostileCheckLog(t, p)
}

// TestHostileURLUserinfo: a --mattermost.url with credentials is refused
// at start without echoing the password, whatever else is wrong with it.
func TestHostileURLUserinfo(t *testing.T) {
	for _, u := range []string{
		"https://user:pa55word@/x",
		"https://user:pa55word@chat.example.com/",
		"https://user:pa55word@chat.example.com:99999999/",
		"https://user:pa55word@chat example.com/",
		"https://user:pa55word@chat.example.com/?x=1",
		"ftp://user:pa55word@chat.example.com/",
		"https://user:pa55word@[::1/",
		"//user:pa55word@chat.example.com/",
	} {
		t.Run(u, func(t *testing.T) {
			p := hostileRun(t, exporterEnv("MATTERMOST_TOKEN="+hostileToken), "--mattermost.url="+u, "--web.listen-address="+freeAddr(t))
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				t.Fatalf("still running 5 s after start with --mattermost.url=%s; output: %q", u, hostileCut(p.log.String(), 500))
			}
			out := p.log.String()
			var ee *exec.ExitError
			if !errors.As(p.err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("exit: %v, want a non-zero exit code", p.err)
			}
			if strings.Contains(out, "pa55word") {
				t.Errorf("the password is in the start-up output: %q", hostileCut(out, 500))
			}
			if strings.Contains(out, hostileToken) {
				t.Errorf("the token is in the start-up output")
			}
		})
	}
}
