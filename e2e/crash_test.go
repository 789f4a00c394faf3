package e2e

// Crash at any instant (issue 28, item 2): the real exporter, with a user
// id cache file, is killed with SIGKILL again and again — at random
// instants, during a walk of GET /users and while the cache file is
// being written (held halfway by MMEXP_TEST_CACHE_WRITE_DELAY, a test-only
// variable) — and restarted each time against a Mattermost whose statuses
// and accounts change between runs. Every run must start, never serve a
// count that differs from the truth, detect and ignore a stale or torn
// file (logged once), clean up the temporary file a killed write left,
// and serve exact counts again within the bound of docs/operations.md.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

const (
	crashKills   = 54
	crashRefresh = time.Second
	// crashBound: exact counts within the refresh interval plus two walks
	// (a walk of 10 pages at 40 ms, 4 at a time, is about 0.15 s) after a
	// start, plus slack for a loaded machine.
	crashBound = crashRefresh + 5*time.Second
	// crashStartBy: a run must answer a scrape this soon after its start.
	crashStartBy = 3 * time.Second
)

// crashFileHeader reads the JSON header line of the cache file (nil when
// there is no readable file).
func crashFileHeader(path string) map[string]any {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r := bufio.NewReader(f)
	if _, err := r.ReadString('\n'); err != nil {
		return nil
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return nil
	}
	var h map[string]any
	if json.Unmarshal([]byte(line), &h) != nil {
		return nil
	}
	return h
}

// crashTemps lists the cache file's temporary files.
func crashTemps(path string) []string {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	return m
}

// crashLoadResult is the result label of the one cache file load counted
// so far ("" before the load).
func crashLoadResult(mfs map[string]*dto.MetricFamily) string {
	for _, m := range mfs["mattermost_exporter_users_cache_file_loads_total"].GetMetric() {
		if m.GetCounter().GetValue() > 0 {
			return labelOf(m, "result")
		}
	}
	return ""
}

func TestCrashAtAnyInstant(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	exporterBinary(t) // built before the first run's clock starts
	users := mmtest.GenerateUsers(2000, 29)
	fake := mmtest.NewServer(mmtest.Config{Users: users})
	t.Cleanup(fake.Close)
	pageServed := soakPageSignal(fake, 40*time.Millisecond)
	dir := t.TempDir()
	cacheFile := filepath.Join(dir, "state", "users.ids")
	if err := os.Mkdir(filepath.Dir(cacheFile), 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--collector.users.cache-file=" + cacheFile,
		"--collector.users.refresh-interval=" + crashRefresh.String(),
	}
	env := []string{"MMEXP_TEST_CACHE_WRITE_DELAY=250ms"}
	rng := rand.New(rand.NewPCG(28, 2))

	var (
		modes                   = []string{"random", "walk", "write"}
		killed                  = map[string]int{}
		tornTemps, cleaned      int
		results                 = map[string]int{}
		worstBack               time.Duration
		wrongServed, scrapesAll int
		planted                 = map[string]int{}
		torn                    []byte // the torn file planted, until a run replaces it
	)
	for i := 0; i <= crashKills; i++ {
		final := i == crashKills
		// Between runs (the exporter is dead): the world changes.
		switch k := rng.IntN(6); {
		case k == 0 && crashFileHeader(cacheFile) != nil:
			// A torn file at the path (a disk that lost the end of a write).
			b, err := os.ReadFile(cacheFile)
			if err != nil {
				t.Fatal(err)
			}
			torn = b[:len(b)/2]
			if err := os.WriteFile(cacheFile, torn, 0o600); err != nil {
				t.Fatal(err)
			}
			planted["torn file"]++
		case k == 1:
			// An account deactivated: the file's total is stale.
			for _, u := range fake.Users() {
				if !u.Deactivated && !u.IsBot && rng.IntN(50) == 0 {
					fake.SetActive(u.ID, false)
					planted["deactivation"]++
					break
				}
			}
		case k == 2:
			// Statuses changed while the exporter was down.
			for _, u := range fake.Users()[:200] {
				fake.SetStatus(u.ID, []string{mmclient.StatusOnline, mmclient.StatusAway, mmclient.StatusDND, mmclient.StatusOffline}[rng.IntN(4)], rng.IntN(2) == 0)
			}
			planted["statuses"]++
		}
		truth := fake.Counts()
		expect := "absent"
		if b, err := os.ReadFile(cacheFile); err == nil && torn != nil && string(b) == string(torn) {
			expect = "corrupt"
		} else if h := crashFileHeader(cacheFile); h != nil {
			expect = "loaded"
			total, _ := h["stats_total"].(float64)
			if total < 0 {
				total, _ = h["active_accounts"].(float64)
			}
			if int(total) != truth.Active {
				expect = "user_count_changed"
			}
		}
		tempsBefore := crashTemps(cacheFile)

		begun := time.Now()
		p := goldenExec(t, exporterBinary(t), exporterEnv(append(env, "MATTERMOST_TOKEN="+mmtest.AdminToken)...),
			append([]string{"--mattermost.url=" + fake.URL}, args...))
		logPath := p.logPath
		var firstExact time.Time
		w := soakWatch(p.addr, 20*time.Millisecond, func(mfs map[string]*dto.MetricFamily) string {
			got, ok := soakUsers(mfs)
			if !ok {
				return "" // no counts yet: allowed
			}
			if d := soakL1(got, truth.Humans); d != 0 {
				return fmt.Sprintf("served %s, truth %s", soakFmt(got), soakFmt(truth.Humans))
			}
			if firstExact.IsZero() {
				firstExact = time.Now()
			}
			return ""
		})

		mode := modes[i%len(modes)]
		inWrite := false
		if final {
			mode = "none"
		}
		switch mode {
		case "random":
			// Every sixth one lives long enough to be required to start
			// and to serve exact counts.
			d := time.Duration(rng.IntN(1500)) * time.Millisecond
			if i%18 == 0 {
				d += crashStartBy
			}
			time.Sleep(d)
		case "walk":
			// Kill once a page is being answered: a walk is under way.
			select {
			case <-pageServed:
			default:
			}
			for range rng.IntN(6) + 1 {
				select {
				case <-pageServed:
				case <-time.After(15 * time.Second):
					t.Fatalf("run %d: no walk within 15 s", i)
				}
			}
			time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		case "write":
			// Kill once this run's temporary file appears: the write is
			// held halfway for 250 ms.
			deadline := time.Now().Add(15 * time.Second)
			for !inWrite {
				for _, tmp := range crashTemps(cacheFile) {
					if !slices.Contains(tempsBefore, tmp) {
						inWrite = true
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("run %d: no cache file write within 15 s", i)
				}
				time.Sleep(3 * time.Millisecond)
			}
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		case "none":
			promWaitFor(t, crashBound, "exact counts in the final run", func() (bool, string) {
				return !firstExactZero(w, &firstExact), "none yet"
			})
		}
		lived := time.Since(begun)
		if !final {
			p.kill()
			killed[mode]++
		}
		w.stop()
		if final {
			p.kill()
		}

		scrapes, wrong, last := w.results()
		scrapesAll += scrapes
		wrongServed += len(wrong)
		if len(wrong) > 0 {
			t.Errorf("run %d (%s, cache file %s): served counts differing from the truth: %v", i, mode, expect, wrong)
		}
		if scrapes == 0 && lived > crashStartBy {
			t.Errorf("run %d (%s): no scrape answered in %s: the exporter did not start\n%s", i, mode, lived.Round(time.Millisecond), logTail(logPath, 3000))
		}
		log, _ := os.ReadFile(logPath)
		ignored := strings.Count(string(log), "user id cache file ignored")
		if ignored > 1 {
			t.Errorf("run %d: %d lines say the cache file was ignored, want at most 1", i, ignored)
		}
		if got := crashLoadResult(last); got != "" {
			results[got]++
			if got != expect {
				t.Errorf("run %d (%s): cache file load %q, want %q (a kill must never leave a torn or stale file that passes, nor a good one that fails)", i, mode, got, expect)
			}
			if (got == "corrupt" || got == "user_count_changed") && ignored != 1 {
				t.Errorf("run %d: a %s file logged %d times, want once", i, got, ignored)
			}
			// The load is past: the temporaries of killed writes are gone.
			for _, tmp := range tempsBefore {
				if _, err := os.Stat(tmp); err == nil {
					t.Errorf("run %d: %s, left by an earlier kill, still there after the start", i, filepath.Base(tmp))
				}
			}
			cleaned += len(tempsBefore)
		}
		if testing.Verbose() {
			t.Logf("run %d: %s, file %s, lived %s, first answer %s, exact %s", i, mode, expect, lived.Round(time.Millisecond), w.firstAnswer.Sub(begun).Round(time.Millisecond), firstExact.Sub(begun).Round(time.Millisecond))
		}
		if !firstExact.IsZero() {
			worstBack = max(worstBack, firstExact.Sub(begun))
			if firstExact.Sub(begun) > crashBound {
				t.Errorf("run %d: exact counts %s after the start, bound %s", i, firstExact.Sub(begun).Round(time.Millisecond), crashBound)
			}
		} else if lived > crashBound && scrapes > 0 {
			t.Errorf("run %d: no exact counts in %s (bound %s)", i, lived.Round(time.Millisecond), crashBound)
		}
		if inWrite && len(crashTemps(cacheFile)) > 0 {
			tornTemps++
		}
		if t.Failed() {
			t.Logf("run %d log:\n%s", i, logTail(logPath, 3000))
			break
		}
	}
	total := 0
	for _, n := range killed {
		total += n
	}
	t.Logf("crash summary: %d SIGKILLs %v, %d killed writes left a torn temporary file (%d removed at the next start), cache file loads %v, world changes between runs %v, %d scrapes answered, %d served a count differing from the truth, exact counts at most %s after a start",
		total, killed, tornTemps, cleaned, results, planted, scrapesAll, wrongServed, worstBack.Round(time.Millisecond))
	if total < 50 || killed["walk"] < 15 || killed["write"] < 15 || tornTemps < 10 {
		t.Errorf("%d kills (%d during a walk, %d during a write, %d leaving a torn temporary): want 50, 15, 15 and 10 at least", total, killed["walk"], killed["write"], tornTemps)
	}
	for _, r := range []string{"loaded", "corrupt", "user_count_changed"} {
		if results[r] == 0 {
			t.Errorf("no run saw a cache file load %q: the test did not cover it (%v)", r, results)
		}
	}
}

// firstExactZero reads the watcher's firstExact under its lock.
func firstExactZero(w *soakWatcher, firstExact *time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return firstExact.IsZero()
}
