package e2e

// End-to-end test of a fleet sharded over two exporter replicas by Prometheus' hashmod
// relabelling (docs/kubernetes.md, the Helm chart's fleet.shards): both replicas load the same
// list of deployments, Prometheus assigns each deployment to one replica, and lazy start means
// a replica only ever starts, and calls, the deployments it is probed for.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// shardCounter counts the requests one replica sends to one fake deployment, by path.
type shardCounter struct {
	mu     sync.Mutex
	byPath map[string]int
}

func (c *shardCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.byPath[r.Method+" "+r.URL.Path]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *shardCounter) snapshot() (total int, byPath map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byPath = map[string]int{}
	for p, n := range c.byPath {
		byPath[p] = n
		total += n
	}
	return total, byPath
}

func TestPrometheusShardedFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with a real Prometheus skipped in -short mode")
	}
	prometheusBin := promRequireTool(t, "prometheus")
	exporterBin := exporterBinary(t)
	dir := t.TempDir()
	const replicas = 2
	names := []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell"}

	tokenFile := filepath.Join(dir, "admin.token")
	promWriteFile(t, tokenFile, mmtest.AdminToken+"\n")

	// One fake Mattermost per deployment. Each replica reaches it through its own front
	// (the same fake's handler on another port), so that every request the fake serves is
	// counted against the replica that sent it.
	users := mmtest.GenerateUsers(50, 3)
	counters := make([]map[string]*shardCounter, replicas)
	configs := make([]map[string]string, replicas)
	for r := range replicas {
		counters[r] = map[string]*shardCounter{}
		configs[r] = map[string]string{}
	}
	for _, n := range names {
		fake := mmtest.NewServer(mmtest.Config{Nodes: promE2EHealthyNodes(), Users: users})
		t.Cleanup(fake.Close)
		for r := range replicas {
			c := &shardCounter{byPath: map[string]int{}}
			front := httptest.NewServer(c.wrap(fake.Handler()))
			t.Cleanup(front.Close)
			counters[r][n] = c
			configs[r][n] = front.URL
		}
	}

	addrs := make([]string, replicas)
	for r := range replicas {
		cfg := filepath.Join(dir, fmt.Sprintf("replica%d.yml", r))
		promFleetConfig(t, cfg, tokenFile, configs[r])
		addrs[r] = freeAddr(t)
		promStart(t, filepath.Join(dir, fmt.Sprintf("exporter%d.log", r)), nil, exporterBin,
			"--config.file="+cfg,
			"--web.listen-address="+addrs[r],
			"--log.level=debug",
		)
	}
	for _, a := range addrs {
		promWaitHTTP(t, "http://"+a+"/", 20*time.Second)
	}

	// The relabelling of docs/kubernetes.md for a Prometheus outside Kubernetes: hashmod of the
	// deployment's name picks the shard, one rule per shard maps it to that replica's address
	// (the Helm chart's ScrapeConfig maps it to the StatefulSet pod's DNS name instead).
	var shardRules strings.Builder
	for r, a := range addrs {
		fmt.Fprintf(&shardRules, "      - source_labels: [__tmp_shard]\n        regex: %q\n        target_label: __address__\n        replacement: %q\n", fmt.Sprint(r), a)
	}
	promCfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mattermost
    metrics_path: /probe
    static_configs:
      - targets: [%s]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - source_labels: [__param_target]
        modulus: %d
        target_label: __tmp_shard
        action: hashmod
%s`, strings.Join(names, ", "), replicas, shardRules.String())
	api := promStartPrometheusConfig(t, prometheusBin, dir, promCfg)

	// 1. Every deployment is exactly one active target, on one of the replicas, and both
	// replicas have some.
	owner := map[string]int{}
	promWaitFor(t, 20*time.Second, "one active target per deployment", func() (bool, string) {
		var data struct {
			ActiveTargets []struct {
				Labels    map[string]string `json:"labels"`
				ScrapeURL string            `json:"scrapeUrl"`
			} `json:"activeTargets"`
		}
		api.get("/api/v1/targets", url.Values{"state": {"active"}}, &data)
		seen := map[string]int{}
		owner = map[string]int{}
		for _, at := range data.ActiveTargets {
			inst := at.Labels["instance"]
			seen[inst]++
			u, err := url.Parse(at.ScrapeURL)
			if err != nil {
				return false, err.Error()
			}
			owner[inst] = -1
			for r, a := range addrs {
				if u.Host == a && u.Query().Get("target") == inst {
					owner[inst] = r
				}
			}
		}
		for _, n := range names {
			if seen[n] != 1 || owner[n] < 0 {
				return false, fmt.Sprintf("deployment %s: %d active targets, owner %d (targets %v)", n, seen[n], owner[n], data.ActiveTargets)
			}
		}
		return len(data.ActiveTargets) == len(names), fmt.Sprintf("%d active targets", len(data.ActiveTargets))
	})
	perReplica := make([][]string, replicas)
	for _, n := range names {
		perReplica[owner[n]] = append(perReplica[owner[n]], n)
	}
	for r := range replicas {
		sort.Strings(perReplica[r])
		if len(perReplica[r]) == 0 {
			t.Fatalf("replica %d owns no deployment: hashmod put all %d on one replica (pick other names)", r, len(names))
		}
	}
	t.Logf("hashmod assignment: replica 0 %v, replica 1 %v", perReplica[0], perReplica[1])

	// 2. Each deployment is up, counted by its own replica; the users collector (background
	// walk and status sweeps) has run everywhere.
	promWaitFor(t, 60*time.Second, "every deployment up with its users counted", func() (bool, string) {
		up := api.query(`mattermost_up{job="mattermost"} == 1`)
		ready := api.query(`mattermost_exporter_collector_success{job="mattermost",collector="users"} == 1`)
		return len(up) == len(names) && len(ready) == len(names),
			fmt.Sprintf("%d of %d up, %d users collectors ready", len(up), len(names), len(ready))
	})
	// A few more users refresh intervals (5s) of background work.
	time.Sleep(8 * time.Second)

	// 3. At the fakes: every request for a deployment came from its owner, background work
	// included; the other replica sent none.
	for _, n := range names {
		for r := range replicas {
			total, byPath := counters[r][n].snapshot()
			switch {
			case r == owner[n] && total == 0:
				t.Errorf("%s: its owner, replica %d, sent no request", n, r)
			case r == owner[n]:
				background := 0
				for p, c := range byPath {
					if strings.Contains(p, "/users") {
						background += c
					}
				}
				if background == 0 {
					t.Errorf("%s: replica %d sent no users request (walk or sweep): %v", n, r, byPath)
				}
			case total != 0:
				t.Errorf("%s: replica %d does not own it but sent %d requests: %v", n, r, total, byPath)
			}
		}
	}

	// 4. The other replica still serves a deployment it was not assigned when probed for it (a
	// re-shard moves targets without a config change): the first probe starts it there.
	n := names[0]
	if body := mustScrape(t, "http://"+addrs[1-owner[n]]+"/probe?target="+n); !strings.Contains(body, "\nmattermost_up 1\n") {
		t.Errorf("probe of %s on replica %d: no mattermost_up 1", n, 1-owner[n])
	}
}
