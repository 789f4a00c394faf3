package probe

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// -fleet.heapprofile writes BenchmarkProbe1000Targets' heap profiles at its
// measurement, every target started, to <file>.http and <file>.https (and
// their goroutines to <file>.http.goroutines...): -memprofile is written
// after the benchmark's cleanup has stopped them.
var fleetHeapProfile = flag.String("fleet.heapprofile", "", "write the heap profile of BenchmarkProbe1000Targets' started fleet to this file")

// fakeFleetEnv makes the test binary a child process serving fake
// deployments ("<n>,<users>[,<ca file>]") instead of running tests.
const fakeFleetEnv = "PROBE_BENCH_FAKE_FLEET"

// serveFakeFleet serves n deployments of users users each on one listener
// (mmtest.Deployments; over TLS with a third field, the file the
// certificate is written to), prints its URL and serves until stdin closes.
func serveFakeFleet(spec string) {
	n, users, caFile, err := parseFleetSpec(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg := func(i int) mmtest.Config {
		return mmtest.Config{Users: mmtest.GenerateUsers(users, int64(i+1))}
	}
	var d *mmtest.Deployments
	if caFile == "" {
		d = mmtest.NewDeployments(n, cfg)
	} else {
		d = mmtest.NewTLSDeployments(n, cfg)
		if err := os.WriteFile(caFile, d.CertificatePEM(), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	fmt.Println(d.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	d.Close()
	os.Exit(0)
}

func parseFleetSpec(spec string) (n, users int, caFile string, err error) {
	f := strings.SplitN(spec, ",", 3)
	if len(f) < 2 {
		return 0, 0, "", fmt.Errorf("%s=%q: want <targets>,<users>[,<ca file>]", fakeFleetEnv, spec)
	}
	if n, err = strconv.Atoi(f[0]); err == nil {
		users, err = strconv.Atoi(f[1])
	}
	if len(f) == 3 {
		caFile = f[2]
	}
	return n, users, caFile, err
}

// startFakeFleet runs serveFakeFleet in a child process, so that the fakes'
// users, connections and goroutines are not in the measured process, and
// returns the listener's URL. caFile, if not empty, makes it HTTPS with
// its certificate written there.
func startFakeFleet(b *testing.B, n, users int, caFile string) (url string, pid int) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%d,%s", fakeFleetEnv, n, users, caFile))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close() // the child exits
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("fake fleet: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}

// childCPUTime is the user and system CPU time of the process pid, from
// /proc/<pid>/stat.
func childCPUTime(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name (which may hold spaces): state
	// is the first, utime the 12th, stime the 13th; in clock ticks,
	// 100 a second on Linux.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatalf("stat: %q", raw)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// memStats is what the benchmark measures of the process.
type memStats struct{ heap, stack, rss uint64 }

func readMem(b *testing.B) memStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memStats{heap: ms.HeapAlloc, stack: ms.StackInuse, rss: rss(b)}
}

// rss is the process's resident set size from /proc/self/statm (0 where
// there is none).
func rss(b *testing.B) uint64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		b.Fatalf("statm: %q", raw)
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return pages * uint64(os.Getpagesize())
}

const (
	bench1000Targets = 1000
	bench1000Users   = 500
)

// BenchmarkProbe1000Targets is issue 26's fleet: one exporter with 1,000
// targets of 500 users each, the fakes in a child process (one listener,
// mmtest.Deployments), over plain HTTP and over HTTPS (HTTP/2, each target
// with the certificate as its ca_file). Every target is probed until its
// users collector has its id cache and a sweep (success 1); then, with
// every target started and as between two scrapes (connections closed, or
// idle in their pools with keep), it reports per started target the heap in use after GC
// (heap-B/target), the goroutine stacks (stack-B/target) and the resident
// set (rss-B/target), each as after minus before divided by 1,000. The
// loop probes the targets in turn and counts the connections they open
// (dials/probe). Run each sub-benchmark alone for its RSS (the second of a
// run starts with the first's freed pages still resident):
//
//	go test -run '^$' -bench 'BenchmarkProbe1000Targets/http$' ./probe/ \
//		-args -fleet.heapprofile=/tmp/fleet.heap
//	go tool pprof -top -sample_index=inuse_space /tmp/fleet.heap.http
func BenchmarkProbe1000Targets(b *testing.B) {
	b.Run("http", func(b *testing.B) { benchFleet(b, false, false) })
	b.Run("https", func(b *testing.B) { benchFleet(b, true, false) })
	b.Run("http-keep", func(b *testing.B) { benchFleet(b, false, true) })
	b.Run("https-keep", func(b *testing.B) { benchFleet(b, true, true) })
}

func benchFleet(b *testing.B, https, keep bool) {
	e := newEnv(b)
	var caFile, tls string
	if https {
		caFile = filepath.Join(e.dir, "ca.pem")
		tls = "tls: {ca_file: " + caFile + "}"
	}
	url, server := startFakeFleet(b, bench1000Targets, bench1000Users, caFile)
	var cfg strings.Builder
	cfg.WriteString("targets:\n")
	for i := 0; i < bench1000Targets; i++ {
		cfg.WriteString(e.targetYAML(fmt.Sprintf("t%04d", i), fmt.Sprintf("%s/d/%d", url, i), tls))
	}
	f, err := New(Options{ConfigFile: e.config(cfg.String()), IdleTimeout: time.Hour, KeepConnections: keep})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.Close)
	h := f.Handler(HandlerOpts{Timeout: func(*http.Request) time.Duration { return 30 * time.Second }})
	probe := func(i int) string {
		r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/probe?target=t%04d", i), nil).WithContext(context.Background())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Body.String()
	}

	before := readMem(b)
	pending := make([]int, bench1000Targets)
	for i := range pending {
		pending[i] = i
	}
	deadline := time.Now().Add(10 * time.Minute)
	for len(pending) > 0 {
		var next []int
		for _, i := range pending {
			if !strings.Contains(probe(i), `mattermost_exporter_collector_success{collector="users"} 1`) {
				next = append(next, i)
			}
		}
		if len(next) > 0 && time.Now().After(deadline) {
			b.Fatalf("%d targets' users collector not ready, e.g. t%04d", len(next), next[0])
		}
		if len(next) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		pending = next
	}
	if n := f.StartedTargets(); n != bench1000Targets {
		b.Fatalf("%d targets started, want %d", n, bench1000Targets)
	}
	// Between two scrapes: the connections of the last probes and walks
	// have been idle for DefaultConnIdleTimeout (unless keep).
	time.Sleep(DefaultConnIdleTimeout + 500*time.Millisecond)
	conns := f.conns.open.Load()
	after := readMem(b)
	if *fleetHeapProfile != "" {
		writeProfiles(b, *fleetHeapProfile+"."+strings.TrimPrefix(b.Name(), "BenchmarkProbe1000Targets/"))
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / bench1000Targets }

	dials0 := f.conns.dials.Load()
	cpu0, serverCPU0 := cpuTime(b), childCPUTime(b, server)
	b.ReportAllocs()
	n := 0
	for b.Loop() { // the setup above runs once, however long the loop
		if out := probe(n % bench1000Targets); !strings.Contains(out, "mattermost_probe_success 1") {
			b.Fatalf("probe failed:\n%s", out)
		}
		n++
	}
	b.ReportMetric(float64(f.conns.dials.Load()-dials0)/float64(n), "dials/probe")
	b.ReportMetric(float64(conns)/bench1000Targets, "conns/target")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(n), "cpu-ns/probe")
	b.ReportMetric(float64(childCPUTime(b, server)-serverCPU0)/float64(n), "server-cpu-ns/probe")
	b.ReportMetric(per(after.heap, before.heap), "heap-B/target")
	b.ReportMetric(per(after.stack, before.stack), "stack-B/target")
	b.ReportMetric(per(after.rss, before.rss), "rss-B/target")
	b.ReportMetric(float64(runtime.NumGoroutine())/bench1000Targets, "goroutines/target")
}

// writeProfiles writes the heap profile to path and the goroutines (debug=1,
// counted by stack) to path.goroutines.
func writeProfiles(b *testing.B, path string) {
	for _, p := range []struct{ name, file string }{{"heap", path}, {"goroutine", path + ".goroutines"}} {
		out, err := os.Create(p.file)
		if err != nil {
			b.Fatal(err)
		}
		debug := 0
		if p.name == "goroutine" {
			debug = 1
		}
		if err := pprof.Lookup(p.name).WriteTo(out, debug); err != nil {
			b.Fatal(err)
		}
		if err := out.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
