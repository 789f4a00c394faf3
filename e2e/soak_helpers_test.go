package e2e

// Helpers of the tests that change the fake Mattermost while the real
// exporter binary watches it (issue 28): soak_test.go (churn), crash_test.go
// (SIGKILL at any instant), upgrade_test.go, ha_test.go and
// rotation_test.go.

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// logTail returns the last n bytes of a file.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// soakScrape GETs /metrics once, like Prometheus with a 10 s timeout, and
// parses it.
func soakScrape(addr string) (map[string]*dto.MetricFamily, error) {
	body, err := scrapeText("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	return hostileParse([]byte(body))
}

// soakUsers returns mattermost_users by status, and whether the users
// collector succeeded and exported them.
func soakUsers(mfs map[string]*dto.MetricFamily) (map[string]int, bool) {
	if ok, found := hostileValue(mfs, "mattermost_exporter_collector_success", "collector", "users"); !found || ok != 1 {
		return nil, false
	}
	if _, found := hostileValue(mfs, "mattermost_users"); !found {
		return nil, false
	}
	out := map[string]int{}
	for _, st := range mmclient.KnownStatuses {
		v, _ := hostileValue(mfs, "mattermost_users", "status", st)
		out[st] = int(v)
	}
	return out, true
}

// soakL1 is the sum over statuses of |got - want|.
func soakL1(got, want map[string]int) int {
	d := 0
	for _, st := range mmclient.KnownStatuses {
		d += absInt(got[st] - want[st])
	}
	return d
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// soakFmt prints counts by status in a stable order.
func soakFmt(m map[string]int) string {
	if m == nil {
		return "none"
	}
	var parts []string
	for _, st := range mmclient.KnownStatuses {
		parts = append(parts, fmt.Sprintf("%s=%d", st, m[st]))
	}
	return strings.Join(parts, " ")
}

// soakWait polls cond every 100 ms until it holds or timeout passes; it
// returns whether it held and cond's last explanation. (promWaitFor is the
// same wait failing the test.)
func soakWait(timeout time.Duration, cond func() (bool, string)) (bool, string) {
	begin := time.Now()
	for {
		ok, why := cond()
		if ok {
			return true, why
		}
		if time.Since(begin) > timeout {
			return false, why
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// soakWaitExact waits until the exporter at addr serves the fake's counts
// of humans by status and check (unless nil) finds nothing wrong with the
// scrape; it fails the test after timeout.
func soakWaitExact(t *testing.T, addr string, fake *mmtest.Server, timeout time.Duration, what string, check func(map[string]*dto.MetricFamily) string) {
	t.Helper()
	promWaitFor(t, timeout, what, func() (bool, string) {
		mfs, err := soakScrape(addr)
		if err != nil {
			return false, err.Error()
		}
		if check != nil {
			if why := check(mfs); why != "" {
				return false, why
			}
		}
		got, ok := soakUsers(mfs)
		truth := fake.Counts().Humans
		return ok && soakL1(got, truth) == 0, fmt.Sprintf("served %s, truth %s", soakFmt(got), soakFmt(truth))
	})
}

// soakSeries is one resource measured at every checkpoint.
type soakSeries struct {
	t []float64 // seconds since the start
	v []float64
}

func (s *soakSeries) add(at time.Duration, v float64) {
	s.t = append(s.t, at.Seconds())
	s.v = append(s.v, v)
}

// slope is the least-squares slope of the samples from fraction skip of
// the run on (the warm-up left out), per second.
func (s *soakSeries) slope(skip float64) float64 {
	lo := int(float64(len(s.t)) * skip)
	ts, vs := s.t[lo:], s.v[lo:]
	n := float64(len(ts))
	if n < 2 {
		return 0
	}
	var st, sv float64
	for i := range ts {
		st += ts[i]
		sv += vs[i]
	}
	mt, mv := st/n, sv/n
	var num, den float64
	for i := range ts {
		num += (ts[i] - mt) * (vs[i] - mv)
		den += (ts[i] - mt) * (ts[i] - mt)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// median of the samples from fraction skip on.
func (s *soakSeries) median(skip float64) float64 {
	vs := append([]float64(nil), s.v[int(float64(len(s.v))*skip):]...)
	if len(vs) == 0 {
		return math.NaN()
	}
	sort.Float64s(vs)
	return vs[len(vs)/2]
}

// floor is the smallest sample of the first (from false) or last quarter
// of the run: the idle level, which a leak raises (a walk or a scrape in
// flight adds goroutines and connections for a moment).
func (s *soakSeries) floor(last bool) float64 {
	q := max(len(s.v)/4, 1)
	vs := s.v[:q]
	if last {
		vs = s.v[len(s.v)-q:]
	}
	m := math.Inf(1)
	for _, v := range vs {
		m = min(m, v)
	}
	return m
}

// first and last are the mean of the first and last tenth of the samples
// (a single reading is noise).
func (s *soakSeries) first() float64 { return s.meanOf(0, max(len(s.v)/10, 1)) }
func (s *soakSeries) last() float64 {
	return s.meanOf(len(s.v)-max(len(s.v)/10, 1), len(s.v))
}

func (s *soakSeries) meanOf(lo, hi int) float64 {
	if lo < 0 || hi > len(s.v) || lo >= hi {
		return math.NaN()
	}
	sum := 0.0
	for _, v := range s.v[lo:hi] {
		sum += v
	}
	return sum / float64(hi-lo)
}

// soakWatcher scrapes an exporter every interval in the background and
// judges every answer with check ("" = right, else what is wrong).
type soakWatcher struct {
	stopc, done chan struct{}

	mu          sync.Mutex
	scrapes     int // answered
	failed      int // no answer (not listening yet, killed) or not 200
	wrong       []string
	last        map[string]*dto.MetricFamily
	firstAnswer time.Time
}

func soakWatch(addr string, every time.Duration, check func(mfs map[string]*dto.MetricFamily) string) *soakWatcher {
	w := &soakWatcher{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			mfs, err := soakScrape(addr)
			w.mu.Lock()
			if err != nil {
				w.failed++
			} else {
				if w.scrapes == 0 {
					w.firstAnswer = time.Now()
				}
				w.scrapes++
				w.last = mfs
				if why := check(mfs); why != "" && len(w.wrong) < 20 {
					w.wrong = append(w.wrong, time.Now().Format("15:04:05.000")+" "+why)
				}
			}
			w.mu.Unlock()
			select {
			case <-w.stopc:
				return
			case <-time.After(every):
			}
		}
	}()
	return w
}

// stop ends the scrapes and waits for the one in flight.
func (w *soakWatcher) stop() {
	select {
	case <-w.stopc:
	default:
		close(w.stopc)
	}
	<-w.done
}

// results returns the number of answered scrapes, what check found wrong
// (at most 20) and the last answer so far.
func (w *soakWatcher) results() (scrapes int, wrong []string, last map[string]*dto.MetricFamily) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.scrapes, slices.Clone(w.wrong), w.last
}

func (w *soakWatcher) lastScrape() map[string]*dto.MetricFamily {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// soakPageSignal makes the fake answer every GET /users page after delay
// and returns a channel that receives (without blocking the fake) when a
// page is being answered: a walk is under way.
func soakPageSignal(fake *mmtest.Server, delay time.Duration) <-chan struct{} {
	c := make(chan struct{}, 1)
	fake.SetLatency(func(ep string, _ int) time.Duration {
		if ep != mmtest.EndpointUsers {
			return 0
		}
		select {
		case c <- struct{}{}:
		default:
		}
		return delay
	})
	return c
}
