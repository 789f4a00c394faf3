package e2e

// End-to-end test of the TLS certificate metrics, alert and dashboard panels with a real
// Prometheus: three fakes served over https with certificate chains of chosen expiry, one
// exporter each (CA file for Mattermost and for the IdP metadata URL, which the fakes serve over
// the same https), one Prometheus evaluating the shipped rules with `for` shortened.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

// promTLSDeployment is one https fake with its exporter.
type promTLSDeployment struct {
	name     string
	chain    *mmtest.CertChain
	earliest time.Time // the chain's earliest NotAfter
	severity string    // of the alert it must raise; "" = none
	fake     *mmtest.Server
	addr     string
}

func TestPrometheusTLSCertificateAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with a real Prometheus skipped in -short mode")
	}
	prometheusBin := promRequireTool(t, "prometheus")
	exporterBin := exporterBinary(t)
	dir := t.TempDir()
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	deps := []*promTLSDeployment{
		{name: "expiring", chain: mmtest.MustCertChain(now.Add(5*day), now.Add(365*day)), severity: "critical"},
		{name: "intermediate-expiring", chain: mmtest.MustCertChain(now.Add(90*day), now.Add(5*day)), severity: "critical"},
		{name: "valid", chain: mmtest.MustCertChain(now.Add(90*day), now.Add(365*day))},
	}
	deps[0].earliest, deps[1].earliest, deps[2].earliest = now.Add(5*day), now.Add(5*day), now.Add(90*day)

	var targets []string
	for _, d := range deps {
		d.fake = mmtest.NewTLSServer(mmtest.Config{CertChain: d.chain, SAMLEnabled: true, SAMLIDP: true, SAMLPublic: true, SAMLPrivateKey: true})
		t.Cleanup(d.fake.Close)
		// The IdP metadata on the fake's own https, a signing certificate far from expiry.
		if err := d.fake.SetSAMLIDPCertificate(now.Add(365 * day)); err != nil {
			t.Fatal(err)
		}
		d.fake.SetSAMLIDPMetadataURL(d.fake.URL + mmtest.IDPMetadataPath)
		ca := filepath.Join(dir, d.name+"-ca.pem")
		if err := os.WriteFile(ca, d.chain.RootPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		d.addr = freeAddr(t)
		promStart(t, filepath.Join(dir, d.name+"-exporter.log"), []string{"MATTERMOST_TOKEN=" + mmtest.AdminToken}, exporterBin,
			"--mattermost.url="+d.fake.URL,
			"--mattermost.tls.ca-file="+ca,
			"--collector.saml.idp-metadata-ca-file="+ca,
			"--collector.saml.idp-metadata-interval=1s",
			"--no-collector.users",
			"--web.listen-address="+d.addr,
		)
		promWaitHTTP(t, "http://"+d.addr+"/", 20*time.Second)
		targets = append(targets, strconv.Quote(d.addr))
	}

	api := promStartPrometheusConfig(t, prometheusBin, dir, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%s]
`, promShortenedRules(t, dir), promE2EJob, strings.Join(targets, ", ")))
	start := time.Now()

	// 1. Each exporter reports its chain's earliest NotAfter for both endpoints (Mattermost and
	// the IdP metadata URL, the same https server here).
	promWaitFor(t, 40*time.Second, "the TLS expiry of every deployment and endpoint in Prometheus", func() (bool, string) {
		got := map[string]string{}
		for _, s := range api.query(`mattermost_tls_certificate_expiry_timestamp_seconds`) {
			got[s.Metric["instance"]+" "+s.Metric["endpoint"]] = s.Value
		}
		for _, d := range deps {
			for _, ep := range []string{"mattermost", "idp_metadata"} {
				v, err := strconv.ParseFloat(got[d.addr+" "+ep], 64)
				if err != nil || int64(v) != d.earliest.Unix() {
					return false, fmt.Sprintf("%s %s = %q, want %d; all: %v", d.name, ep, got[d.addr+" "+ep], d.earliest.Unix(), got)
				}
			}
		}
		return true, ""
	})
	for _, q := range []string{`mattermost_tls_certificate_verified == 1`, `mattermost_tls_version_info{version="TLS 1.3"}`,
		`mattermost_tls_certificate_info{subject_cn="` + mmtest.CertChainLeafCN + `",issuer_cn="` + mmtest.CertChainIntermediateCN + `"}`} {
		if r := api.query(q); len(r) != 2*len(deps) {
			t.Errorf("%s: %d series, want %d", q, len(r), 2*len(deps))
		}
	}

	// 2. The alert fires, critical, for both endpoints of the two chains expiring in 5 days (the
	// leaf, or only the intermediate), and for nothing else.
	var fired time.Duration
	promWaitFor(t, 40*time.Second, "MattermostTLSCertificateExpiringSoon firing for the chains expiring in 5 days", func() (bool, string) {
		active := api.alerts()
		for _, d := range deps {
			for _, ep := range []string{"mattermost", "idp_metadata"} {
				as := promMatchAlerts(active, "MattermostTLSCertificateExpiringSoon", map[string]string{"instance": d.addr, "endpoint": ep})
				if d.severity == "" {
					if len(as) > 0 {
						t.Fatalf("%s (valid for 90 days): %s is %s", d.name, as[0].Labels["alertname"], as[0].State)
					}
					continue
				}
				if len(as) != 1 || as[0].State != "firing" || as[0].Labels["severity"] != d.severity {
					return false, fmt.Sprintf("%s %s: %s", d.name, ep, promAlertList(active))
				}
			}
		}
		fired = time.Since(start)
		return true, ""
	})
	for _, a := range promMatchAlerts(api.alerts(), "MattermostTLSCertificateExpiringSoon", nil) {
		promCheckAnnotations(t, a)
		if d := a.Annotations["description"]; !regexp.MustCompile(`expires in 4d 23h`).MatchString(d) {
			t.Errorf("description %q does not say 4d 23h left", d)
		}
	}

	// 3. The chain valid for 90 days never raised it, not even pending: no ALERTS series since
	// Prometheus started.
	valid := deps[2].addr
	if r := api.query(fmt.Sprintf(`count_over_time(ALERTS{alertname="MattermostTLSCertificateExpiringSoon",instance=%q}[10m])`, valid)); len(r) != 0 {
		t.Errorf("the chain valid for 90 days raised the alert: %v", r)
	}
	if r := api.query(`ALERTS{alertname="MattermostTLSCertificateExpiringSoon",severity="warning"}`); len(r) != 0 {
		t.Errorf("warning alerts for chains expiring in 5 days (critical only): %v", r)
	}

	// 4. The dashboard's TLS panels return data (TestPrometheusEndToEnd runs over http and
	// skips them).
	vars := map[string]string{"job": promE2EJob, "instance": ".*", "__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
	panels := 0
	for _, q := range grafanaQueries(t, promLoadDashboard(t, promDashboardFile)) {
		if !strings.Contains(q.Expr, "mattermost_tls_") {
			continue
		}
		panels++
		expr, err := promFillVariables(q.Expr, vars)
		if err != nil {
			t.Fatalf("%s: %v", q.Where, err)
		}
		if r := api.query(expr); len(r) != 2*len(deps) {
			t.Errorf("%s: %d series, want %d: %s", q.Where, len(r), 2*len(deps), expr)
		}
	}
	if panels == 0 {
		t.Error("no dashboard query uses the TLS metrics")
	}
	t.Logf("MattermostTLSCertificateExpiringSoon (for shortened to %s) firing for the 5-day leaf and the 5-day intermediate, both endpoints, %.1fs after Prometheus started; the 90-day chain raised nothing; %d dashboard TLS queries return data",
		promE2EFor, fired.Seconds(), panels)
}
