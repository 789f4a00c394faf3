package e2e

// The README's first command, `make demo`, is scripts/demo.sh: it builds the
// exporter and the standalone fake Mattermost, starts both and prints where to
// look. This test runs that script on free ports and checks that the exporter
// it starts shows every contract metric with plausible values, so the demo
// cannot silently break.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDemoScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and runs them")
	}
	for _, tool := range []string{"make", "curl", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			if promCI() { // .ci/run installs curl (scripts/install-prometheus.sh)
				t.Fatalf("the demo needs %s (CI is set, so a missing tool is an error): %v", tool, err)
			}
			t.Skipf("the demo needs %s: %v", tool, err)
		}
	}
	fakeAddr, exporterAddr := freeAddr(t), freeAddr(t)
	repo, err := filepath.Abs(promRepoPath())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(repo, "scripts", "demo.sh"))
	cmd.Dir = repo
	cmd.Env = append(os.Environ(),
		"FAKE_ADDR="+fakeAddr,
		"EXPORTER_ADDR="+exporterAddr,
		"USERS=300",
		"BIN="+t.TempDir(),
	)
	// Own process group, so the whole demo (script, fake, exporter) stops
	// with the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})

	// The script prints where to look once both processes answer.
	printed := make(chan string, 1)
	go func() {
		var out strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Press Ctrl-C to stop") {
				printed <- out.String()
			}
		}
		close(printed)
	}()
	var banner string
	select {
	case b, ok := <-printed:
		if !ok {
			t.Fatalf("demo exited before printing where to look; stderr:\n%s", stderr.String())
		}
		banner = b
	case <-time.After(3 * time.Minute):
		t.Fatalf("demo printed nothing within 3 minutes; stderr:\n%s", stderr.String())
	}
	if want := "http://" + exporterAddr + "/metrics"; !strings.Contains(banner, want) {
		t.Fatalf("demo banner does not say where to look (%s):\n%s", want, banner)
	}

	// The users collector succeeds once the background id walk is done.
	var body string
	deadline := time.Now().Add(time.Minute)
	for {
		body = mustScrape(t, "http://"+exporterAddr+"/metrics")
		if strings.Contains(body, `mattermost_exporter_collector_success{collector="users"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("users collector never succeeded in the demo:\n%s\nstderr:\n%s", body, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	for _, name := range promContractMetrics {
		if why, conditional := promConditionalMetrics[name]; conditional && name != "mattermost_cluster_expected_nodes" &&
			name != "mattermost_exporter_ratelimit_remaining" {
			t.Logf("%s not checked in the demo: %s", name, why)
			continue
		}
		if !regexp.MustCompile(`(?m)^` + name + `[{ ]`).MatchString(body) {
			t.Errorf("demo /metrics lacks %s", name)
		}
	}
	value := func(series string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("demo /metrics lacks %s", series)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Plausible values: the demo's fake is a healthy 3-node cluster with SAML
	// configured and 300 generated accounts.
	for series, want := range map[string]float64{
		"mattermost_up":                                              1,
		"mattermost_cluster_nodes":                                   3,
		"mattermost_cluster_versions":                                1,
		"mattermost_cluster_config_hashes":                           1,
		"mattermost_saml_enabled":                                    1,
		`mattermost_saml_certificate_present{certificate="idp"}`:     1,
		`mattermost_exporter_collector_success{collector="cluster"}`: 1,
		`mattermost_exporter_collector_success{collector="saml"}`:    1,
		`mattermost_exporter_collector_success{collector="health"}`:  1,
		`mattermost_exporter_collector_success{collector="license"}`: 1,
		`mattermost_exporter_collector_success{collector="jobs"}`:    1,
		`mattermost_exporter_collector_success{collector="plugins"}`: 1,
		`mattermost_health_status{component="database"}`:             1,
		"mattermost_license_licensed":                                1,
		"mattermost_plugins_enabled":                                 1,
		"mattermost_saml_idp_metadata_fetch_success":                 1,
	} {
		if got := value(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	total := 0.0
	for _, s := range []string{"online", "away", "dnd", "offline", "ooo"} {
		total += value(`mattermost_users{status="` + s + `"}`)
	}
	if cached := value("mattermost_exporter_users_cached"); total != cached || total < 250 || total > 300 {
		t.Errorf("users by status add up to %v, cached ids %v; want equal and between 250 and 300 of the 300 accounts", total, cached)
	}
	if value(`mattermost_users{status="online"}`) == 0 {
		t.Errorf("no user online in the demo")
	}
}
