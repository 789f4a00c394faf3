package collector

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

var tlsFamilies = []string{
	"mattermost_tls_certificate_expiry_timestamp_seconds",
	"mattermost_tls_certificate_info",
	"mattermost_tls_version_info",
	"mattermost_tls_certificate_verified",
}

var tlsHelp = map[string]string{
	"mattermost_tls_certificate_expiry_timestamp_seconds": "When the earliest-expiring certificate of the chain the server presented in the exporter's last TLS handshake with it expires (NotAfter of the leaf or an intermediate), in seconds since the epoch. endpoint=mattermost is the Mattermost URL (through a proxy too), endpoint=idp_metadata the SAML IdP metadata URL. Absent for http:// URLs and before the first handshake.",
	"mattermost_tls_certificate_info":                     "The server's own (leaf) certificate of the exporter's last TLS handshake with it: subject and issuer common names and serial number (lower-case hex); always 1.",
	"mattermost_tls_version_info":                         "The TLS version negotiated in the exporter's last TLS handshake with the server; always 1. Absent when that handshake failed on the certificate.",
	"mattermost_tls_certificate_verified":                 "1 if the chain of the exporter's last TLS handshake with the server verifies for its host name against the configured roots (CA file and system pool), else 0. Checked by the exporter itself when verification is turned off (insecure-skip-verify), so a bad certificate shows there too.",
}

// tlsExporter returns an exporter (ping only) of a TLS fake serving chain,
// whose client has opts (BaseURL and Token set here).
func tlsExporter(t *testing.T, chain *mmtest.CertChain, opts mmclient.Options) scrapeAdapter {
	t.Helper()
	s := mmtest.NewTLSServer(mmtest.Config{CertChain: chain})
	t.Cleanup(s.Close)
	opts.BaseURL, opts.Token = s.URL, mmtest.AdminToken
	client, err := mmclient.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return scrapeAdapter{e: NewExporter(Deps{Client: client}, nil)}
}

func writeCAFile(t *testing.T, pem []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsExpo is the expected exposition of one endpoint's TLS metrics.
func tlsExpo(endpoint string, chain *mmtest.CertChain, notAfter time.Time, version string, verified int) string {
	samples := []string{
		fmt.Sprintf(`mattermost_tls_certificate_expiry_timestamp_seconds{endpoint=%q} %d`, endpoint, notAfter.Unix()),
		fmt.Sprintf(`mattermost_tls_certificate_info{endpoint=%q,issuer_cn=%q,serial=%q,subject_cn=%q} 1`,
			endpoint, mmtest.CertChainIntermediateCN, chain.Leaf.SerialNumber.Text(16), mmtest.CertChainLeafCN),
	}
	if version != "" {
		samples = append(samples, fmt.Sprintf(`mattermost_tls_version_info{endpoint=%q,version=%q} 1`, endpoint, version))
	}
	samples = append(samples, fmt.Sprintf(`mattermost_tls_certificate_verified{endpoint=%q} %d`, endpoint, verified))
	return expoWith(tlsHelp, samples...)
}

// Over https the scrape reports the chain of the connection's handshake:
// the earliest NotAfter of leaf and intermediate, whichever is earlier.
func TestTLSMetricsMattermost(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name               string
		leaf, intermediate time.Duration
		earliest           time.Duration
	}{
		{"leaf earliest", 5 * 24 * time.Hour, 400 * 24 * time.Hour, 5 * 24 * time.Hour},
		{"intermediate earliest", 90 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain := mmtest.MustCertChain(now.Add(tc.leaf), now.Add(tc.intermediate))
			sc := tlsExporter(t, chain, mmclient.Options{CAFile: writeCAFile(t, chain.RootPEM())})
			want := tlsExpo("mattermost", chain, now.Add(tc.earliest), "TLS 1.3", 1)
			if err := testutil.CollectAndCompare(sc, strings.NewReader(expo(`mattermost_up 1`)+want), append(tlsFamilies, "mattermost_up")...); err != nil {
				t.Error(err)
			}
		})
	}
}

// Verification off: the chain is still reported, and checked against the
// configured roots by the exporter; a handshake that fails on the
// certificate reports the chain it refused, without a version.
func TestTLSMetricsVerification(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	chain := mmtest.MustCertChain(now.Add(30*24*time.Hour), now.Add(365*24*time.Hour))
	expired := mmtest.MustCertChain(now.Add(-time.Hour), now.Add(365*24*time.Hour))
	for _, tc := range []struct {
		name  string
		chain *mmtest.CertChain
		opts  func() mmclient.Options
		up    int
		want  string
	}{
		{"insecure-skip-verify, no CA file", chain, func() mmclient.Options { return mmclient.Options{InsecureSkipVerify: true} },
			1, tlsExpo("mattermost", chain, chain.Leaf.NotAfter, "TLS 1.3", 0)},
		{"insecure-skip-verify with the CA file", chain, func() mmclient.Options {
			return mmclient.Options{InsecureSkipVerify: true, CAFile: writeCAFile(t, chain.RootPEM())}
		}, 1, tlsExpo("mattermost", chain, chain.Leaf.NotAfter, "TLS 1.3", 1)},
		{"insecure-skip-verify, expired", expired, func() mmclient.Options {
			return mmclient.Options{InsecureSkipVerify: true, CAFile: writeCAFile(t, expired.RootPEM())}
		}, 1, tlsExpo("mattermost", expired, expired.Leaf.NotAfter, "TLS 1.3", 0)},
		{"verifying, unknown authority", chain, func() mmclient.Options { return mmclient.Options{} },
			0, tlsExpo("mattermost", chain, chain.Leaf.NotAfter, "", 0)},
		{"verifying, expired", expired, func() mmclient.Options { return mmclient.Options{CAFile: writeCAFile(t, expired.RootPEM())} },
			0, tlsExpo("mattermost", expired, expired.Leaf.NotAfter, "", 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := tlsExporter(t, tc.chain, tc.opts())
			want := expo(fmt.Sprintf(`mattermost_up %d`, tc.up)) + tc.want
			if err := testutil.CollectAndCompare(sc, strings.NewReader(want), append(tlsFamilies, "mattermost_up")...); err != nil {
				t.Error(err)
			}
		})
	}
}

// Plain http: no TLS family at all.
func TestTLSMetricsAbsentForHTTP(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	sc := scrapeAdapter{e: NewExporter(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)}, nil)}
	if n := testutil.CollectAndCount(sc, tlsFamilies...); n != 0 {
		t.Errorf("%d TLS series over http, want none", n)
	}
	if n := testutil.CollectAndCount(sc, "mattermost_up"); n != 1 {
		t.Errorf("mattermost_up missing")
	}
}

// Label values from the certificate are bounded and valid UTF-8, cut on a
// rune boundary like every other server-supplied label.
func TestTLSMetricsLabelsBounded(t *testing.T) {
	long := strings.Repeat("é", 200) + "\xff"
	serial, _ := new(big.Int).SetString(strings.Repeat("f", 300), 16)
	leaf := &x509.Certificate{Subject: pkix.Name{CommonName: long}, Issuer: pkix.Name{CommonName: "\xffissuer"},
		SerialNumber: serial, NotAfter: time.Unix(2_000_000_000, 0)}
	// The recorder bounds the labels when it takes the chain.
	st := mmclient.NewTLSRecorder("https://mattermost.test", nil).Record(&http.Response{TLS: &tls.ConnectionState{
		Version: tls.VersionTLS12, PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}},
	}}, nil)
	if st == nil {
		t.Fatal("no TLS state recorded")
	}
	ch := make(chan prometheus.Metric, 10)
	emitTLS(ch, tlsEndpointMattermost, *st)
	close(ch)
	reg := prometheus.NewPedanticRegistry()
	var ms []prometheus.Metric
	for m := range ch {
		ms = append(ms, m)
	}
	if err := reg.Register(constCollector(ms)); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); len(v) > maxLabelValueLen || !utf8.ValidString(v) {
					t.Errorf("%s: label %s = %q (%d bytes)", mf.GetName(), l.GetName(), v, len(v))
				}
				if l.GetName() == "subject_cn" && l.GetValue() != strings.Repeat("é", maxLabelValueLen/2) {
					t.Errorf("subject_cn cut to %q", l.GetValue())
				}
			}
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if len(mfs) != 4 {
		t.Errorf("%d families, want 4", len(mfs))
	}
}

type constCollector []prometheus.Metric

func (c constCollector) Describe(chan<- *prometheus.Desc) {}
func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

// The IdP metadata URL's chain is reported with endpoint="idp_metadata",
// verified against --collector.saml.idp-metadata-ca-file, and kept
// between the (hourly) fetches.
func TestTLSMetricsIDPMetadata(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	chain := mmtest.MustCertChain(now.Add(60*24*time.Hour), now.Add(8*24*time.Hour))
	doc, err := mmtest.IDPMetadata(now.Add(300 * 24 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	idp := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(doc) }))
	idp.TLS = &tls.Config{Certificates: []tls.Certificate{chain.TLSCertificate()}}
	idp.StartTLS()
	t.Cleanup(idp.Close)

	s := mmtest.Start(t, mmtest.Config{SAMLEnabled: true})
	c, a := samlCollector(t, s, mmtest.AdminToken, SAMLConfig{
		IDPMetadataURL: idp.URL + "/metadata", IDPMetadataInterval: time.Hour, IDPMetadataCAFile: writeCAFile(t, chain.RootPEM()),
	})
	clock := newFakeClock()
	c.idp.now = clock.now
	want := tlsExpo("idp_metadata", chain, chain.Intermediate.NotAfter, "TLS 1.3", 1)
	for i := range 2 {
		if err := testutil.CollectAndCompare(a, strings.NewReader(want), tlsFamilies...); err != nil {
			t.Errorf("scrape %d: %v", i+1, err)
		}
		clock.add(10 * time.Minute)
	}
	if err := a.lastErr(); err != nil {
		t.Errorf("Update: %v", err)
	}

	// Over http: none.
	plain := startIDP(t, now.Add(300*24*time.Hour))
	_, a = samlCollector(t, s, mmtest.AdminToken, SAMLConfig{IDPMetadataURL: plain.URL, IDPMetadataInterval: time.Hour})
	if n := testutil.CollectAndCount(a, tlsFamilies...); n != 0 {
		t.Errorf("%d TLS series for an http:// IdP, want none", n)
	}
}
