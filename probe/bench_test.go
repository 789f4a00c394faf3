package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

const (
	benchTargets = 100
	benchUsers   = 2000
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkProbe100Targets runs one exporter with 100 targets of 2,000
// users each (100 fake servers in this process). It reports the exporter's
// heap per started target (id caches, clients, collectors: heap after every
// target's first probe and id-cache walk minus heap before, divided by 100)
// and, per probe, the process CPU time (exporter and fake server together:
// they share the process). The one-stalled sub-benchmark keeps a probe of a
// target whose server never answers in flight the whole time; compare its
// ns/op with healthy's.
func BenchmarkProbe100Targets(b *testing.B) {
	e := newEnv(b)
	var fakes []*mmtest.Server
	var cfg strings.Builder
	cfg.WriteString("targets:\n")
	for i := 0; i < benchTargets; i++ {
		s := mmtest.Start(b, mmtest.Config{Users: mmtest.GenerateUsers(benchUsers, int64(i+1))})
		fakes = append(fakes, s)
		cfg.WriteString(e.targetYAML(fmt.Sprintf("t%03d", i), s.URL))
	}
	opts := Options{ConfigFile: e.config(cfg.String()), IdleTimeout: time.Hour}
	f, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.Close)
	h := f.Handler(HandlerOpts{Timeout: func(*http.Request) time.Duration { return 10 * time.Second }})
	// The stalled probe's deadline outlasts the measurement.
	hStalled := f.Handler(HandlerOpts{Timeout: func(*http.Request) time.Duration { return time.Hour }})
	probe := func(ctx context.Context, i int) string {
		r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/probe?target=t%03d", i), nil).WithContext(ctx)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Body.String()
	}

	before := heapInUse()
	for i := 0; i < benchTargets; i++ {
		probe(context.Background(), i)
	}
	for i := 0; i < benchTargets; i++ {
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(probe(context.Background(), i), `mattermost_exporter_collector_success{collector="users"} 1`) {
			if time.Now().After(deadline) {
				b.Fatalf("target %d: users collector not ready", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	after := heapInUse()
	perTarget := (float64(after) - float64(before)) / benchTargets

	run := func(b *testing.B, first int) {
		b.ReportAllocs()
		cpu0 := cpuTime(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			out := probe(context.Background(), first+i%(benchTargets-first))
			if !strings.Contains(out, "\nmattermost_probe_success 1\n") {
				b.Fatalf("probe failed:\n%s", out)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/probe")
		b.ReportMetric(perTarget/1024, "heap-KiB/target")
	}
	b.Run("healthy", func(b *testing.B) { run(b, 0) })
	b.Run("one-stalled", func(b *testing.B) {
		stalled := fakes[0]
		stalled.SetFault(mmtest.EndpointAll, mmtest.Fault{Delay: time.Hour})
		defer stalled.ClearFaults()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		n0 := stalled.TotalRequests()
		go func() {
			defer close(done)
			r := httptest.NewRequest(http.MethodGet, "/probe?target=t000", nil).WithContext(ctx)
			hStalled.ServeHTTP(httptest.NewRecorder(), r)
		}()
		for stalled.TotalRequests() == n0 {
			time.Sleep(time.Millisecond)
		}
		run(b, 1)
		select {
		case <-done:
			b.Fatal("the stalled probe ended before the others were measured")
		default:
		}
		cancel()
		<-done
	})
}
