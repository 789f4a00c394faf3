package collector

// Benchmarks of the users collector (issue 3), run by `make bench`:
//
//	go test -run '^$' -bench '^BenchmarkUsers$' -benchtime 5x -timeout 30m ./collector/
//
// The fake Mattermost (mmtest, with mmtest.RealisticLatency) runs in a
// separate process (this test binary re-executed as a helper, see
// TestUsersBenchFakeProcess), so the CPU and memory measured in this process
// are the exporter's alone. For each N the benchmark:
//
//   - starts the collector's background refresh and scrapes at once (the cold
//     scrape must answer "not ready" without waiting for the walk), then waits
//     for the walk and reports its page requests and duration (at N = 1M the
//     walk runs with the /users latency turned off, or it would take ~35 min;
//     the status latency stays on);
//   - N=<n>/floor: a bare loop of net/http requests doing the same status
//     POSTs (same batches, same concurrency, pre-encoded bodies, answers read
//     and discarded);
//   - N=<n>/scrape: warm scrapes of the users collector (Update with a 10 s
//     deadline), reporting wall time, the ratio to the floor, status requests,
//     bytes read, allocations, heap, and CPU per scrape.
//
// MMEXP_BENCH_SIZES (e.g. "1000,10000") restricts the sizes.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

const (
	benchFakeEnv        = "MMEXP_BENCH_FAKE_USERS"
	benchWalkLatencyEnv = "MMEXP_BENCH_WALK_LATENCY"
	// benchOffsetCostEnv sets the fake's cost of a /users page per 1,000
	// rows skipped by its OFFSET (a duration, default
	// mmtest.UsersOffsetCostPer1000 = 0.95ms, as measured).
	benchOffsetCostEnv = "MMEXP_BENCH_OFFSET_COST"
	// benchServerCoresEnv: how many /users pages the fake serves at once
	// (a database with that many cores); 0 or unset = no limit.
	benchServerCoresEnv = "MMEXP_BENCH_SERVER_CORES"
	// benchWalkLatencyMaxEnv: above this N the walk runs without the
	// /users latency model (default: always with it; a modelled 1M walk
	// takes about 10 minutes with 4 pages in flight, 40 one at a time).
	benchWalkLatencyMaxEnv = "MMEXP_BENCH_WALK_LATENCY_MAX"
	// benchFakeCPUsEnv: a taskset CPU list for the fake process (e.g.
	// "1"); run the benchmark itself under taskset on the other CPUs, so
	// that the two never compete for a core.
	benchFakeCPUsEnv = "MMEXP_BENCH_FAKE_CPUS"
	benchSeed        = 20261128
	benchDeadline    = 10 * time.Second
)

// benchOffsetCost is the fake's OFFSET cost per 1,000 rows skipped.
func benchOffsetCost() time.Duration {
	if d, err := time.ParseDuration(os.Getenv(benchOffsetCostEnv)); err == nil && d >= 0 {
		return d
	}
	return mmtest.UsersOffsetCostPer1000
}

func benchServerCores() int {
	n, _ := strconv.Atoi(os.Getenv(benchServerCoresEnv))
	return max(n, 0)
}

func benchWalkLatencyMax() int {
	if n, err := strconv.Atoi(os.Getenv(benchWalkLatencyMaxEnv)); err == nil {
		return n
	}
	return math.MaxInt
}

// TestUsersBenchFakeProcess is not a test: it is the helper process of
// BenchmarkUsers, serving a fake Mattermost when started with
// MMEXP_BENCH_FAKE_USERS=<n>. It prints the server URL, then answers
// commands read from stdin ("counts", "reset", "add <k>": create k
// accounts) until stdin closes.
func TestUsersBenchFakeProcess(t *testing.T) {
	nStr := os.Getenv(benchFakeEnv)
	if nStr == "" {
		t.Skip("helper process of BenchmarkUsers")
	}
	n, err := strconv.Atoi(nStr)
	if err != nil {
		t.Fatal(err)
	}
	model := mmtest.RealisticLatencyOffset(benchOffsetCost())
	walkLatency := os.Getenv(benchWalkLatencyEnv) != "0"
	var cores chan struct{}
	if c := benchServerCores(); c > 0 {
		cores = make(chan struct{}, c)
	}
	users, teams := benchTeamUsers(n)
	srv := mmtest.NewServer(mmtest.Config{
		Users: users, Teams: teams,
		Latency: func(endpoint string, k int) time.Duration {
			if endpoint == mmtest.EndpointUsers && !walkLatency {
				return 0
			}
			if endpoint == mmtest.EndpointUsers && cores != nil {
				// The page holds one of the database's cores
				// for its whole cost.
				cores <- struct{}{}
				time.Sleep(model(endpoint, k))
				<-cores
				return 0
			}
			return model(endpoint, k)
		},
	})
	defer srv.Close()
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "URL %s\n", srv.URL)
	out.Flush()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "add "); ok { // users_incremental_bench_test.go
			benchAddUsers(srv, k)
			fmt.Fprintln(out, "OK")
			out.Flush()
			continue
		}
		switch sc.Text() {
		case "counts":
			b, _ := json.Marshal(srv.RequestCounts())
			fmt.Fprintf(out, "COUNTS %s\n", b)
		case "reset":
			srv.ResetCounters()
			fmt.Fprintln(out, "OK")
		default:
			fmt.Fprintln(out, "ERR unknown command")
		}
		out.Flush()
	}
}

// benchFake is the fake server process.
type benchFake struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	url   string
}

func startBenchFake(b *testing.B, n int, walkLatency bool) *benchFake {
	b.Helper()
	args := []string{os.Args[0], "-test.run", "^TestUsersBenchFakeProcess$", "-test.count", "1", "-test.timeout", "0"}
	if cpus := os.Getenv(benchFakeCPUsEnv); cpus != "" {
		// The fake on CPUs of its own (taskset), as Mattermost is on
		// another machine in production: its work does not take the
		// exporter's CPU time.
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", benchFakeEnv, n))
	if !walkLatency {
		cmd.Env = append(cmd.Env, benchWalkLatencyEnv+"=0")
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	f := &benchFake{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	f.out.Buffer(make([]byte, 1<<16), 1<<20)
	for f.out.Scan() {
		if line := f.out.Text(); strings.HasPrefix(line, "URL ") {
			f.url = strings.TrimPrefix(line, "URL ")
			break
		}
	}
	if f.url == "" {
		f.close()
		b.Fatalf("fake server process did not start")
	}
	return f
}

func (f *benchFake) command(b *testing.B, cmd, prefix string) string {
	b.Helper()
	if _, err := io.WriteString(f.stdin, cmd+"\n"); err != nil {
		b.Fatal(err)
	}
	for f.out.Scan() {
		if line := f.out.Text(); strings.HasPrefix(line, prefix) {
			return strings.TrimPrefix(line, prefix)
		}
	}
	b.Fatalf("fake server process: no answer to %q", cmd)
	return ""
}

func (f *benchFake) counts(b *testing.B) map[string]int64 {
	var m map[string]int64
	if err := json.Unmarshal([]byte(f.command(b, "counts", "COUNTS ")), &m); err != nil {
		b.Fatal(err)
	}
	return m
}

func (f *benchFake) reset(b *testing.B) { f.command(b, "reset", "OK") }

func (f *benchFake) close() {
	_ = f.stdin.Close()
	done := make(chan struct{})
	go func() { _ = f.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = f.cmd.Process.Kill()
		<-done
	}
}

// countingTransport counts response body bytes.
type countingTransport struct {
	base  http.RoundTripper
	bytes atomic.Int64
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{ReadCloser: resp.Body, n: &t.bytes}
	}
	return resp, err
}

// benchTransport matches mmclient's default transport settings.
func benchTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tr.MaxIdleConns = 64
	return tr
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapSampler records the peak of heap in use (objects + fragmentation
// inside spans), sampled every few milliseconds with runtime/metrics.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	read := func() {
		metrics.Read(samples)
		v := samples[0].Value.Uint64() + samples[1].Value.Uint64()
		if v > h.peak.Load() {
			h.peak.Store(v)
		}
	}
	go func() {
		defer close(h.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-h.stop:
				read()
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

const mib = 1 << 20

// benchRow is one line of the summary table.
type benchRow struct {
	n                                 int
	walkLatency                       bool
	coldScrapeMs                      float64
	coldErr                           string
	refreshPages                      int
	refreshS                          float64
	walkConcurrency                   int
	firstCountsS, restartCountsS      float64
	refreshRequests                   int64
	restartPages, restartStatusReq    int64
	restartOther                      int64
	refreshPeakMiB                    float64
	floorMs, floorCPUMs               float64
	scrapeMs, maxScrapeMs, ratio      float64
	ratioSeparate                     float64
	statusReq                         float64
	bytesRead, allocs, allocBytes     float64
	heapAfterMiB, heapPeakMiB, liveMi float64
	cpuMs                             float64
	pastDeadline                      int
	// every default collector (benchScrapeAll)
	allCollectors                   string
	allRatio, allScrapeMs, allCPUMs float64
	allRequests                     float64
}

func benchSizes() []int {
	sizes := []int{1_000, 10_000, 100_000, 1_000_000}
	if s := os.Getenv("MMEXP_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err == nil && n > 0 {
				sizes = append(sizes, n)
			}
		}
	}
	return sizes
}

func BenchmarkUsers(b *testing.B) {
	var rows []*benchRow
	for _, n := range benchSizes() {
		row := benchUsersSize(b, n)
		if row != nil {
			rows = append(rows, row)
		}
	}
	printBenchTable(rows)
}

func benchUsersSize(b *testing.B, n int) *benchRow {
	row := &benchRow{n: n, walkLatency: n <= benchWalkLatencyMax()}
	fake := startBenchFake(b, n, row.walkLatency)
	defer fake.close()

	ct := &countingTransport{base: benchTransport()}
	client, err := mmclient.New(mmclient.Options{BaseURL: fake.url, Token: mmtest.AdminToken, Transport: ct})
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultUsersConfig()
	if v, err := strconv.Atoi(os.Getenv("MMEXP_BENCH_WALK_CONCURRENCY")); err == nil {
		cfg.WalkConcurrency = v
	}
	row.walkConcurrency = cfg.WalkConcurrency
	cfg.CacheFile = filepath.Join(b.TempDir(), "users.ids")
	c, err := NewUsersCollector(Deps{Client: client}, cfg)
	if err != nil {
		b.Fatal(err)
	}

	// Cold start: the refresh starts in the background; a scrape right away
	// answers without waiting for it.
	runtime.GC()
	hs := startHeapSampler()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Start(ctx)
	start := time.Now()
	err = benchScrape(c)
	row.coldScrapeMs = msSince(start)
	if err != nil {
		row.coldErr = err.Error()
	}
	if err == nil || !errors.Is(err, ErrNotReady) {
		b.Errorf("N=%d: cold scrape: err = %v, want not-ready", n, err)
	}
	row.firstCountsS = benchFirstCounts(b, c, start)
	for float64(c.ids.Stats().Refreshes) == 0 || float64(c.ids.Stats().CacheFileWrites) == 0 {
		if float64(c.ids.Stats().RefreshErrors) > 0 || float64(c.ids.Stats().CacheFileWriteErrors) > 0 {
			b.Fatalf("N=%d: refresh or cache file write failed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	snap := c.ids.Snapshot()
	row.refreshPeakMiB = float64(hs.finish()) / mib
	row.refreshPages = snap.Pages
	row.refreshS = snap.Duration.Seconds()
	firstCounts := fake.counts(b)
	if got := firstCounts[mmtest.EndpointUsers]; got != int64(snap.Pages) {
		b.Errorf("N=%d: fake counted %d page requests, walk says %d", n, got, snap.Pages)
	}
	for ep, v := range firstCounts {
		if ep != mmtest.EndpointStatusesByIDs {
			row.refreshRequests += v // pages, stats, client config
		}
	}

	// Restart: a second collector (a new exporter process) with the file
	// the first one wrote serves counts without walking.
	fake.reset(b)
	restart, err := NewUsersCollector(Deps{Client: client}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	t0 := time.Now()
	restart.Start(rctx)
	row.restartCountsS = benchFirstCounts(b, restart, t0)
	rcancel()
	<-restart.Stopped()
	rc := fake.counts(b)
	row.restartPages = rc[mmtest.EndpointUsers]
	row.restartStatusReq = rc[mmtest.EndpointStatusesByIDs]
	for ep, v := range rc {
		if ep != mmtest.EndpointStatusesByIDs {
			row.restartOther += v
		}
	}
	if row.restartPages != 0 || loadResult(b, restart, "loaded") != 1 {
		b.Errorf("N=%d: restart walked %d pages; cache file not loaded", n, row.restartPages)
	}
	fake.reset(b)
	cached := snap.IDs.Len()
	batches := (cached + cfg.BatchSize - 1) / cfg.BatchSize

	// The floor: the same status POSTs with bare net/http, bodies encoded
	// beforehand. The bodies are dropped while the scrapes' heap is measured
	// (they are the benchmark's memory, not the exporter's).
	var bodies [][]byte
	buildBodies := func() {
		bodies = make([][]byte, batches)
		for i := range bodies {
			lo, hi := i*cfg.BatchSize, min((i+1)*cfg.BatchSize, cached)
			var buf bytes.Buffer
			buf.Grow(2 + (hi-lo)*(mmclient.UserIDLen+3))
			buf.WriteByte('[')
			for k := lo; k < hi; k++ {
				if k > lo {
					buf.WriteByte(',')
				}
				buf.WriteByte('"')
				buf.WriteString(snap.IDs.At(k))
				buf.WriteByte('"')
			}
			buf.WriteByte(']')
			bodies[i] = buf.Bytes()
		}
	}
	hc := &http.Client{Transport: benchTransport()}
	floorOnce := func() {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < cfg.Concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(bodies) {
						return
					}
					req, _ := http.NewRequest(http.MethodPost, fake.url+"/api/v4/users/status/ids", bytes.NewReader(bodies[i]))
					req.Header.Set("Authorization", "Bearer "+mmtest.UserToken)
					req.Header.Set("Content-Type", "application/json")
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("floor: HTTP %d", resp.StatusCode)
					}
				}
			}()
		}
		wg.Wait()
	}
	b.Run(fmt.Sprintf("N=%d/floor", n), func(b *testing.B) {
		buildBodies()
		defer func() { bodies = nil }()
		floorOnce() // warm connections
		cpu0 := cpuTime()
		times := make([]float64, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			floorOnce()
			times = append(times, msSince(t0))
		}
		b.StopTimer()
		row.floorMs = median(times)
		row.floorCPUMs = float64((cpuTime() - cpu0).Microseconds()) / 1000 / float64(b.N)
		b.ReportMetric(row.floorMs, "floor_median_ms")
		b.ReportMetric(row.floorCPUMs, "cpu_ms/op")
	})

	b.Run(fmt.Sprintf("N=%d/scrape", n), func(b *testing.B) {
		if err := benchScrape(c); err != nil { // warm
			b.Fatalf("warm-up scrape: %v", err)
		}
		fake.reset(b)
		ct.bytes.Store(0)
		row.pastDeadline, row.maxScrapeMs = 0, 0
		var heapAfter uint64
		runtime.GC()
		hs := startHeapSampler()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		cpu0 := cpuTime()
		times := make([]float64, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s0 := time.Now()
			err := benchScrape(c)
			d := msSince(s0)
			times = append(times, d)
			row.maxScrapeMs = max(row.maxScrapeMs, d)
			if err != nil {
				row.pastDeadline++
				b.Errorf("scrape: %v", err)
			}
			b.StopTimer()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heapAfter = max(heapAfter, ms.HeapInuse)
			b.StartTimer()
		}
		b.StopTimer()
		cpu := cpuTime() - cpu0
		bytesRead := ct.bytes.Load()
		runtime.ReadMemStats(&ms1)
		row.heapPeakMiB = float64(hs.finish()) / mib
		runtime.GC()
		var live runtime.MemStats
		runtime.ReadMemStats(&live)
		counts := fake.counts(b)
		bn := float64(b.N)
		row.scrapeMs = median(times)
		// The ratio to the floor from interleaved pairs (floor, scrape), so
		// that both sides of each pair see the same machine load; the
		// median of the pair ratios.
		var ratios []float64
		buildBodies()
		defer func() { bodies = nil }()
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			floorOnce()
			f := msSince(t0)
			t0 = time.Now()
			if err := benchScrape(c); err != nil {
				b.Errorf("paired scrape: %v", err)
			}
			ratios = append(ratios, msSince(t0)/f)
		}
		row.ratio = median(ratios)
		row.ratioSeparate = row.scrapeMs / row.floorMs
		row.statusReq = float64(counts[mmtest.EndpointStatusesByIDs]) / bn
		row.bytesRead = float64(bytesRead) / bn
		row.allocs = float64(ms1.Mallocs-ms0.Mallocs) / bn
		row.allocBytes = float64(ms1.TotalAlloc-ms0.TotalAlloc) / bn
		row.heapAfterMiB = float64(heapAfter) / mib
		row.liveMi = float64(live.HeapAlloc) / mib
		row.cpuMs = float64(cpu.Microseconds()) / 1000 / bn
		if got := counts[mmtest.EndpointStatusesByIDs]; got != int64(batches*b.N) {
			b.Errorf("status requests = %d for %d scrapes, want %d each", got, b.N, batches)
		}
		var others int64
		for ep, v := range counts {
			if ep != mmtest.EndpointStatusesByIDs && ep != mmtest.EndpointUserStats {
				others += v
			}
		}
		if others != 0 {
			b.Errorf("scrapes made other requests: %v", counts)
		}
		b.ReportMetric(row.scrapeMs, "scrape_median_ms")
		b.ReportMetric(row.floorMs, "floor_median_ms")
		b.ReportMetric(row.ratio, "ratio_paired")
		b.ReportMetric(row.ratioSeparate, "ratio_medians")
		b.ReportMetric(row.statusReq, "status_req/op")
		b.ReportMetric(row.bytesRead, "bytes_read/op")
		b.ReportMetric(row.cpuMs, "cpu_ms/op")
		b.ReportMetric(row.heapAfterMiB, "heap_inuse_after_MiB")
		b.ReportMetric(row.heapPeakMiB, "heap_peak_MiB")
		b.ReportMetric(row.maxScrapeMs, "max_scrape_ms")
		b.ReportMetric(float64(row.refreshPages), "refresh_list_req")
		b.ReportMetric(row.refreshS, "refresh_s")
	})
	b.Run(fmt.Sprintf("N=%d/scrape-all", n), func(b *testing.B) {
		benchScrapeAll(b, row, c, fake, floorOnce, buildBodies)
		bodies = nil
	})
	cancel()
	<-c.Stopped()
	benchIncremental(b, fake, c, row)
	return row
}

// benchScrapeAll scrapes the whole exporter with every collector enabled by
// default (users is c, warm; the others are new, with an admin token so that
// each gets real answers) and reports the ratio of interleaved pairs (floor,
// scrape) and the exporter CPU per scrape.
func benchScrapeAll(b *testing.B, row *benchRow, users *UsersCollector, fake *benchFake, floorOnce, buildBodies func()) {
	admin, err := mmclient.New(mmclient.Options{BaseURL: fake.url, Token: mmtest.AdminToken, Transport: benchTransport()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := map[string]Collector{"users": users}
	for _, name := range Names() {
		reg := registrations[name]
		if !reg.enabledByDefault || name == "users" {
			continue
		}
		col, err := reg.factory(Deps{Client: admin})
		if err != nil {
			b.Fatalf("collector %s: %v", name, err)
		}
		if s, ok := col.(Starter); ok {
			s.Start(ctx)
		}
		cs[name] = col
	}
	e := NewExporter(Deps{Client: admin}, cs)
	row.allCollectors = strings.Join(e.Collectors(), ",")
	scrape := func() {
		sctx, scancel := context.WithTimeout(context.Background(), benchDeadline)
		defer scancel()
		reg := prometheus.NewRegistry()
		reg.MustRegister(e.ScrapeCollector(sctx))
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatalf("gather: %v", err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "mattermost_exporter_collector_success" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetGauge().GetValue() != 1 {
					b.Fatalf("collector %s failed in the all-collectors scrape", m.GetLabel()[0].GetValue())
				}
			}
		}
	}
	scrape() // warm (and the health collector's first deep ping)
	buildBodies()
	fake.reset(b)
	var ratios, times []float64
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		floorOnce()
		f := msSince(t0)
		c0 := cpuTime()
		t0 = time.Now()
		scrape()
		d := msSince(t0)
		cpu += cpuTime() - c0
		times = append(times, d)
		ratios = append(ratios, d/f)
	}
	b.StopTimer()
	row.allRatio = median(ratios)
	row.allScrapeMs = median(times)
	row.allCPUMs = float64(cpu.Microseconds()) / 1000 / float64(b.N)
	counts := fake.counts(b)
	row.allRequests = 0
	for ep, v := range counts {
		if ep != mmtest.EndpointStatusesByIDs {
			row.allRequests += float64(v) / float64(b.N)
		}
	}
	b.ReportMetric(row.allRatio, "ratio_paired")
	b.ReportMetric(row.allScrapeMs, "scrape_median_ms")
	b.ReportMetric(row.allCPUMs, "cpu_ms/op")
	b.ReportMetric(row.allRequests, "other_req/op")
}

// benchFirstCounts scrapes c every 50 ms from start until a scrape serves
// counts, and returns the seconds since start.
func benchFirstCounts(b *testing.B, c *UsersCollector, start time.Time) float64 {
	for {
		if c.ids.Snapshot() != nil {
			if err := benchScrape(c); err == nil {
				return time.Since(start).Seconds()
			} else if !errors.Is(err, ErrNotReady) {
				b.Fatalf("scrape: %v", err)
			}
		} else if float64(c.ids.Stats().RefreshErrors) > 0 {
			b.Fatal("first refresh failed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// benchScrape is one users collector Update with the scrape deadline,
// metrics drained as a registry would.
func benchScrape(c *UsersCollector) error {
	ctx, cancel := context.WithTimeout(context.Background(), benchDeadline)
	defer cancel()
	ch := make(chan prometheus.Metric, 64)
	done := make(chan struct{})
	go func() {
		for range ch {
		}
		close(done)
	}()
	err := c.Update(ctx, ch)
	close(ch)
	<-done
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return err
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func printBenchTable(rows []*benchRow) {
	if len(rows) == 0 {
		return
	}
	cpuModel := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpuModel = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	w := os.Stdout
	fakeCPUs := "sharing the benchmark's CPUs"
	if c := os.Getenv(benchFakeCPUsEnv); c != "" {
		fakeCPUs = "on CPU " + c + " of its own"
	}
	fmt.Fprintf(w, "\nusers collector benchmark: %d CPUs (%s), GOMAXPROCS %d, %s; fake Mattermost in a separate process (%s) with mmtest.RealisticLatency; batch 1000, concurrency 4, scrape deadline %s\n",
		runtime.NumCPU(), cpuModel, runtime.GOMAXPROCS(0), runtime.Version(), fakeCPUs, benchDeadline)
	fmt.Fprintln(w, "| N | warm scrape (median) | floor (median) | ratio (paired median; of medians) | status req/scrape | refresh: list req, duration | bytes read/scrape | allocs/scrape | bytes alloc/scrape | heap in use after sweep | heap peak (scrapes / refresh) | live heap | exporter CPU/scrape (floor CPU) | max scrape, past deadline | cold scrape |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		walk := fmt.Sprintf("%d, %.2f s", r.refreshPages, r.refreshS)
		if !r.walkLatency {
			walk += " (latency off)"
		}
		cold := fmt.Sprintf("%.1f ms", r.coldScrapeMs)
		if r.coldErr != "" {
			cold += " (not ready)"
		}
		fmt.Fprintf(w, "| %d | %.1f ms | %.1f ms | %.2f; %.2f | %.0f | %s | %.0f | %.0f | %.0f | %.1f MiB | %.1f / %.1f MiB | %.1f MiB | %.1f ms (%.1f ms) | %.0f ms, %d | %s |\n",
			r.n, r.scrapeMs, r.floorMs, r.ratio, r.ratioSeparate, r.statusReq, walk, r.bytesRead, r.allocs, r.allocBytes,
			r.heapAfterMiB, r.heapPeakMiB, r.refreshPeakMiB, r.liveMi, r.cpuMs, r.floorCPUMs, r.maxScrapeMs, r.pastDeadline, cold)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "warm scrape of the whole exporter, every collector enabled by default (%s), admin token, paired with the floor\n", rows[0].allCollectors)
	fmt.Fprintln(w, "| N | scrape (median) | ratio to the floor (paired median) | exporter CPU/scrape | requests/scrape besides the status POSTs |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %.1f ms | %.2f | %.1f ms | %.1f |\n", r.n, r.allScrapeMs, r.allRatio, r.allCPUMs, r.allRequests)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "time to first counts (GET /users OFFSET cost %s per 1,000 rows skipped, %s): first start = walk + stats + first sweep; restart = with the cache file the first start wrote\n",
		benchOffsetCost(), benchCoresText())
	fmt.Fprintln(w, "| N | walk concurrency | first start: first counts | walk: pages, requests (all endpoints) | restart: first counts | restart: pages, status req, other req |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rows {
		note := ""
		if !r.walkLatency {
			note = " (walk latency off)"
		}
		fmt.Fprintf(w, "| %d | %d | %.1f s%s | %d, %d | %.2f s | %d, %d, %d |\n",
			r.n, r.walkConcurrency, r.firstCountsS, note, r.refreshPages, r.refreshRequests, r.restartCountsS, r.restartPages, r.restartStatusReq, r.restartOther)
	}
	fmt.Fprintln(w)
	printBenchIncrTable(w, rows)
}

func benchCoresText() string {
	if c := benchServerCores(); c > 0 {
		return fmt.Sprintf("the fake serves %d /users pages at once (%s)", c, benchServerCoresEnv)
	}
	return "the fake serves any number of /users pages at once"
}
