package collector

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

var samlMetricNames = []string{"mattermost_saml_certificate_present", "mattermost_saml_enabled"}

func TestSAMLCollector(t *testing.T) {
	tests := []struct {
		name                      string
		idp, public, key, on      bool
		wantIDP, wantPub, wantKey string
		wantEnabled               string
	}{
		{name: "nothing configured (Team Edition)", wantIDP: "0", wantPub: "0", wantKey: "0", wantEnabled: "0"},
		{name: "idp only, SAML on", idp: true, on: true, wantIDP: "1", wantPub: "0", wantKey: "0", wantEnabled: "1"},
		{name: "all present, SAML off", idp: true, public: true, key: true, wantIDP: "1", wantPub: "1", wantKey: "1", wantEnabled: "0"},
		{name: "public and key", public: true, key: true, on: true, wantIDP: "0", wantPub: "1", wantKey: "1", wantEnabled: "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mmtest.Start(t, mmtest.Config{SAMLIDP: tc.idp, SAMLPublic: tc.public, SAMLPrivateKey: tc.key, SAMLEnabled: tc.on})
			c, err := NewSAMLCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
			if err != nil {
				t.Fatal(err)
			}
			a := &updateAdapter{c: c}
			want := expo(
				`mattermost_saml_certificate_present{certificate="idp"} `+tc.wantIDP,
				`mattermost_saml_certificate_present{certificate="private_key"} `+tc.wantKey,
				`mattermost_saml_certificate_present{certificate="public"} `+tc.wantPub,
				`mattermost_saml_enabled `+tc.wantEnabled,
			)
			if err := testutil.CollectAndCompare(a, strings.NewReader(want), samlMetricNames...); err != nil {
				t.Error(err)
			}
			if err := a.lastErr(); err != nil {
				t.Errorf("Update: %v", err)
			}
			if got := s.Requests(mmclient.EndpointSAMLCertificate); got != 1 {
				t.Errorf("certificate status requests = %d, want 1", got)
			}
			if got := s.Requests(mmclient.EndpointClientConfig); got != 1 {
				t.Errorf("client config requests = %d, want 1", got)
			}
		})
	}
}

// A non-admin token cannot read the certificates, but the anonymous client
// config still tells whether SAML is enabled; the collector fails (403).
func TestSAMLCollectorNonAdmin(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{SAMLIDP: true, SAMLEnabled: true})
	c := newFakeSAMLCollector(t, s.URL, mmtest.UserToken)
	if err := collectSAML(t, c, `mattermost_saml_enabled 1`); !mmclient.IsForbidden(err) {
		t.Errorf("Update error = %v, want a 403", err)
	}
}

// With SAML off (as on the real 5.37 with a plain user's token), the 403 of
// the certificate status is no failure: nothing is missed.
func TestSAMLCollectorNonAdminSAMLOff(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{SAMLIDP: true})
	c := newFakeSAMLCollector(t, s.URL, mmtest.UserToken)
	if err := collectSAML(t, c, `mattermost_saml_enabled 0`); err != nil {
		t.Errorf("Update error = %v, want none", err)
	}
	// Another error than a 403 still fails.
	s.SetFault(mmclient.EndpointSAMLCertificate, mmtest.Fault{Code: 500})
	if err := collectSAML(t, c, `mattermost_saml_enabled 0`); !hasCode(err, 500) {
		t.Errorf("Update error = %v, want the 500", err)
	}
}

// A failing client config call hides only mattermost_saml_enabled.
func TestSAMLCollectorClientConfigFails(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{SAMLIDP: true, SAMLEnabled: true})
	s.SetFault(mmclient.EndpointClientConfig, mmtest.Fault{Code: 503})
	c := newFakeSAMLCollector(t, s.URL, mmtest.AdminToken)
	err := collectSAML(t, c,
		`mattermost_saml_certificate_present{certificate="idp"} 1`,
		`mattermost_saml_certificate_present{certificate="private_key"} 0`,
		`mattermost_saml_certificate_present{certificate="public"} 0`,
	)
	if !hasCode(err, 503) || !strings.Contains(err.Error(), "client config") {
		t.Errorf("Update error = %v, want a client config 503", err)
	}
}

func TestSAMLCollectorMalformed(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{SAMLEnabled: true})
	s.SetFault(mmclient.EndpointSAMLCertificate, mmtest.Fault{Malformed: true})
	c := newFakeSAMLCollector(t, s.URL, mmtest.AdminToken)
	if err := collectSAML(t, c, `mattermost_saml_enabled 1`); err == nil || !strings.Contains(err.Error(), "saml certificate status") {
		t.Errorf("Update error = %v, want a saml certificate status decode error", err)
	}
}

// Both calls failing: one error (errors.Join) naming both, that still
// matches each cause.
func TestSAMLCollectorBothFail(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{SAMLIDP: true, SAMLEnabled: true})
	s.SetFault(mmclient.EndpointClientConfig, mmtest.Fault{Code: 503})
	c := newFakeSAMLCollector(t, s.URL, mmtest.UserToken)
	err := collectSAML(t, c)
	if err == nil {
		t.Fatal("Update error = nil, want the 403 and the 503")
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) != 2 || !mmclient.IsForbidden(joined.Unwrap()[0]) || !hasCode(joined.Unwrap()[1], 503) || !mmclient.IsForbidden(err) {
		t.Errorf("Update error = %#v, want both the 403 and the 503", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "saml certificate status: ") || !strings.Contains(msg, "client config: ") {
		t.Errorf("Update error = %q, want both parts", msg)
	}
}

// idpServer is an IdP metadata server on 127.0.0.1 that fails the test if
// a request carries an Authorization header (the exporter must never send
// its Mattermost token there).
type idpServer struct {
	*httptest.Server
	mu       sync.Mutex
	doc      []byte
	code     int
	requests int
}

func startIDP(t *testing.T, notAfters ...time.Time) *idpServer {
	t.Helper()
	doc, err := mmtest.IDPMetadata(notAfters...)
	if err != nil {
		t.Fatal(err)
	}
	s := &idpServer{doc: doc, code: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			t.Errorf("IdP metadata request with Authorization %q", h)
		}
		if r.Header.Get("Cookie") != "" {
			t.Error("IdP metadata request with a cookie")
		}
		s.mu.Lock()
		s.requests++
		code, doc := s.code, s.doc
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.WriteHeader(code)
		_, _ = w.Write(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *idpServer) set(code int, doc []byte) {
	s.mu.Lock()
	s.code = code
	if doc != nil {
		s.doc = doc
	}
	s.mu.Unlock()
}

func (s *idpServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// samlSamples gathers one Update into "name{labels}" -> value.
func samlSamples(t *testing.T, a *updateAdapter) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(a); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			if lp := m.GetLabel(); len(lp) > 0 {
				var parts []string
				for _, l := range lp {
					parts = append(parts, l.GetName()+"="+l.GetValue())
				}
				key += "{" + strings.Join(parts, ",") + "}"
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

const (
	keyPublic  = "mattermost_saml_certificate_expiry_timestamp_seconds{certificate=public}"
	keyIDP     = "mattermost_saml_certificate_expiry_timestamp_seconds{certificate=idp}"
	keyFetchOK = "mattermost_saml_idp_metadata_fetch_success"
)

func samlCollector(t *testing.T, s *mmtest.Server, token string, cfg SAMLConfig) (*SAMLCollector, *updateAdapter) {
	t.Helper()
	c, err := NewSAMLCollectorWithConfig(Deps{Client: fakeClient(t, s.URL, token, nil)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, &updateAdapter{c: c}
}

// The service provider certificate comes from /saml/metadata on every
// scrape; the IdP's signing certificates (the earliest of two; the
// encryption certificate, already expired, is ignored) from the IdP
// metadata, whose URL GET /config gives, both read once an hour.
func TestSAMLCertificateExpiry(t *testing.T) {
	for _, era := range []mmtest.Era{mmtest.Era537, mmtest.Era11} {
		t.Run(era.String(), func(t *testing.T) {
			spNotAfter := time.Now().Add(40 * 24 * time.Hour).Truncate(time.Second)
			idpA := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
			idpB := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Second)
			s := mmtest.Start(t, mmtest.Config{Era: era, SAMLIDP: true, SAMLPublic: true, SAMLPrivateKey: true, SAMLEnabled: true})
			if err := s.SetSAMLCertificate(spNotAfter); err != nil {
				t.Fatal(err)
			}
			idp := startIDP(t, idpA, idpB)
			s.SetSAMLIDPMetadataURL(idp.URL + "/metadata")
			c, a := samlCollector(t, s, mmtest.AdminToken, SAMLConfig{IDPMetadataInterval: time.Hour})
			clock := newFakeClock()
			c.idp.now = clock.now

			got := samlSamples(t, a)
			if err := a.lastErr(); err != nil {
				t.Fatalf("Update: %v", err)
			}
			want := map[string]float64{keyPublic: float64(spNotAfter.Unix()), keyIDP: float64(idpB.Unix()), keyFetchOK: 1}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			// Within the hour: /saml/metadata again, neither /config nor the IdP.
			clock.add(59 * time.Minute)
			newSP := spNotAfter.Add(24 * time.Hour)
			if err := s.SetSAMLCertificate(newSP); err != nil {
				t.Fatal(err)
			}
			got = samlSamples(t, a)
			if got[keyPublic] != float64(newSP.Unix()) || got[keyIDP] != float64(idpB.Unix()) {
				t.Errorf("second scrape: public %v idp %v", got[keyPublic], got[keyIDP])
			}
			if n := s.Requests(mmtest.EndpointConfig); n != 1 {
				t.Errorf("GET /config requests = %d, want 1", n)
			}
			if n := idp.count(); n != 1 {
				t.Errorf("IdP metadata requests = %d, want 1", n)
			}
			if n := s.Requests(mmtest.EndpointSAMLMetadata); n != 2 {
				t.Errorf("GET /saml/metadata requests = %d, want 2", n)
			}
			// After the hour: both read again.
			clock.add(2 * time.Minute)
			samlSamples(t, a)
			if n, m := s.Requests(mmtest.EndpointConfig), idp.count(); n != 2 || m != 2 {
				t.Errorf("after an hour: /config %d, IdP %d requests, want 2 and 2", n, m)
			}
		})
	}
}

// A URL given by flag is used as is: GET /config is never called.
func TestSAMLIDPMetadataURLFlag(t *testing.T) {
	notAfter := time.Now().Add(5 * 24 * time.Hour).Truncate(time.Second)
	s := mmtest.Start(t, mmtest.Config{SAMLEnabled: true})
	idp := startIDP(t, notAfter)
	s.SetSAMLIDPMetadataURL("http://127.0.0.1:1/never-used")
	_, a := samlCollector(t, s, mmtest.AdminToken, SAMLConfig{IDPMetadataURL: idp.URL, IDPMetadataInterval: time.Hour})
	got := samlSamples(t, a)
	if err := a.lastErr(); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got[keyIDP] != float64(notAfter.Unix()) || got[keyFetchOK] != 1 {
		t.Errorf("idp expiry %v success %v, want %d and 1", got[keyIDP], got[keyFetchOK], notAfter.Unix())
	}
	if _, ok := got[keyPublic]; ok {
		t.Error("public expiry exported without a public certificate file")
	}
	// No public certificate file: the SP metadata is not read.
	if n := s.Requests(mmtest.EndpointSAMLMetadata); n != 0 {
		t.Errorf("GET /saml/metadata requests = %d, want 0", n)
	}
	if n := s.Requests(mmtest.EndpointConfig); n != 0 {
		t.Errorf("GET /config requests = %d, want 0", n)
	}
}

// The fake's own IdP metadata path (used by the demo and e2e) is fetched
// without the Mattermost token even though it is on the Mattermost host.
func TestSAMLIDPOnMattermostHostGetsNoToken(t *testing.T) {
	notAfter := time.Now().Add(3 * 24 * time.Hour).Truncate(time.Second)
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, SAMLEnabled: true})
	if err := s.SetSAMLIDPCertificate(notAfter); err != nil {
		t.Fatal(err)
	}
	s.SetSAMLIDPMetadataURL(s.URL + mmtest.IDPMetadataPath)
	_, a := samlCollector(t, s, mmtest.AdminToken, SAMLConfig{})
	got := samlSamples(t, a)
	if got[keyIDP] != float64(notAfter.Unix()) || got[keyFetchOK] != 1 {
		t.Errorf("idp expiry %v success %v (err %v)", got[keyIDP], got[keyFetchOK], a.lastErr())
	}
	if n := s.Requests(mmtest.EndpointIDPMetadata); n != 1 {
		t.Errorf("IdP metadata requests = %d, want 1", n)
	}
	if n := s.IDPMetadataAuthorizationSeen(); n != 0 {
		t.Errorf("%d IdP metadata requests carried an Authorization header", n)
	}
}

// SAML off: no metadata call at all (and no audit record from /config).
func TestSAMLDisabledNoMetadataCalls(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{SAMLIDP: true})
	if err := s.SetSAMLCertificate(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, a := samlCollector(t, s, mmtest.AdminToken, SAMLConfig{})
	got := samlSamples(t, a)
	if err := a.lastErr(); err != nil {
		t.Fatalf("Update: %v", err)
	}
	for _, k := range []string{keyPublic, keyIDP, keyFetchOK} {
		if _, ok := got[k]; ok {
			t.Errorf("%s exported with SAML disabled", k)
		}
	}
	if n, m := s.Requests(mmtest.EndpointSAMLMetadata), s.Requests(mmtest.EndpointConfig); n+m != 0 {
		t.Errorf("/saml/metadata %d, /config %d requests, want none", n, m)
	}
}

// SAML enabled but not configured (501) and no IdP URL: not a failure, and
// no expiry series.
func TestSAMLNotConfiguredIsNotAFailure(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{SAMLEnabled: true, SAMLPublic: true})
	_, a := samlCollector(t, s, mmtest.AdminToken, SAMLConfig{})
	got := samlSamples(t, a)
	if err := a.lastErr(); err != nil {
		t.Fatalf("Update: %v", err)
	}
	for _, k := range []string{keyPublic, keyIDP, keyFetchOK} {
		if _, ok := got[k]; ok {
			t.Errorf("%s exported without SAML configured", k)
		}
	}
	if n := s.Requests(mmtest.EndpointSAMLMetadata); n != 1 {
		t.Errorf("/saml/metadata requests = %d, want 1", n)
	}
}

// A non-admin token cannot read /config: the collector fails, and does not
// ask again before the hour is up.
func TestSAMLConfigForbiddenReadHourly(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{SAMLEnabled: true, SAMLIDP: true})
	c, a := samlCollector(t, s, mmtest.UserToken, SAMLConfig{})
	clock := newFakeClock()
	c.idp.now = clock.now
	samlSamples(t, a)
	if err := a.lastErr(); err == nil || !strings.Contains(err.Error(), "saml idp metadata url") {
		t.Errorf("Update error = %v, want the /config 403", err)
	}
	clock.add(30 * time.Minute)
	samlSamples(t, a)
	if err := a.lastErr(); err == nil || !strings.Contains(err.Error(), "saml idp metadata url") {
		t.Errorf("second Update error = %v, want the remembered /config 403", err)
	}
	if n := s.Requests(mmtest.EndpointConfig); n != 1 {
		t.Errorf("GET /config requests = %d, want 1", n)
	}
}

// An IdP that fails: success 0, the last good expiry stays, the collector
// does not fail, and the fetch is retried after at most 5 minutes even with
// a 1h interval.
func TestSAMLIDPFetchFailure(t *testing.T) {
	notAfter := time.Now().Add(100 * 24 * time.Hour).Truncate(time.Second)
	s := mmtest.Start(t, mmtest.Config{SAMLEnabled: true})
	idp := startIDP(t, notAfter)
	var logs logBuffer
	c, err := NewSAMLCollectorWithConfig(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil), Logger: logs.Logger()},
		SAMLConfig{IDPMetadataURL: idp.URL + "/md?secret=hunter2", IDPMetadataInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	clock := newFakeClock()
	c.idp.now = clock.now
	if got := samlSamples(t, a); got[keyFetchOK] != 1 {
		t.Fatalf("first fetch: success %v (err %v)", got[keyFetchOK], a.lastErr())
	}
	idp.set(http.StatusInternalServerError, nil)
	clock.add(time.Hour)
	got := samlSamples(t, a)
	if err := a.lastErr(); err != nil {
		t.Errorf("Update: %v, want nil (the IdP is not Mattermost)", err)
	}
	if got[keyFetchOK] != 0 || got[keyIDP] != float64(notAfter.Unix()) {
		t.Errorf("after a failure: success %v, idp expiry %v (want 0 and the last good %d)", got[keyFetchOK], got[keyIDP], notAfter.Unix())
	}
	if l := logs.LinesContaining("SAML IdP metadata fetch failed", "HTTP 500"); len(l) != 1 {
		t.Errorf("want one warning, log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "hunter2") {
		t.Error("the log shows the URL's query")
	}
	idp.set(http.StatusOK, nil)
	clock.add(4 * time.Minute)
	samlSamples(t, a)
	if n := idp.count(); n != 2 {
		t.Errorf("IdP requests after 4 minutes = %d, want 2 (no retry yet)", n)
	}
	clock.add(time.Minute)
	if got := samlSamples(t, a); got[keyFetchOK] != 1 || idp.count() != 3 {
		t.Errorf("after 5 minutes: success %v, IdP requests %d; want 1 and 3", got[keyFetchOK], idp.count())
	}
}

// An IdP answer larger than 1 MiB is refused.
func TestSAMLIDPMetadataTooLarge(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{SAMLEnabled: true})
	idp := startIDP(t, time.Now().Add(time.Hour))
	idp.set(http.StatusOK, []byte("<md:EntityDescriptor>"+strings.Repeat(" ", maxIDPMetadataBytes)+"</md:EntityDescriptor>"))
	var logs logBuffer
	c, err := NewSAMLCollectorWithConfig(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil), Logger: logs.Logger()},
		SAMLConfig{IDPMetadataURL: idp.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got := samlSamples(t, &updateAdapter{c: c}); got[keyFetchOK] != 0 {
		t.Errorf("success = %v, want 0", got[keyFetchOK])
	}
	if !strings.Contains(logs.String(), "larger than 1048576 bytes") {
		t.Errorf("log does not name the cap:\n%s", logs.String())
	}
}

func TestMetadataCertificates(t *testing.T) {
	der, err := mmtest.SelfSignedCertificate("x", time.Unix(2_000_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	good := base64.StdEncoding.EncodeToString(der)
	// Line-wrapped like many IdPs send it.
	var wrapped strings.Builder
	for i := 0; i < len(good); i += 64 {
		wrapped.WriteString("\n    " + good[i:min(i+64, len(good))])
	}
	kd := func(use, text string) string {
		a := ""
		if use != "" {
			a = ` use="` + use + `"`
		}
		return `<md:KeyDescriptor` + a + `><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + text + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
	}
	doc := func(parts ...string) []byte {
		return []byte(`<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` +
			strings.Join(parts, "") + `</md:EntityDescriptor>`)
	}
	sig := `<ds:Signature><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + good + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>`
	tests := []struct {
		name        string
		doc         []byte
		signingOnly bool
		want        int
		wantErr     string
	}{
		{"wrapped signing", doc(kd("signing", wrapped.String())), true, 1, ""},
		{"no use attribute counts as signing", doc(kd("", good)), true, 1, ""},
		{"encryption only is no signing certificate", doc(kd("encryption", good)), true, 0, "no certificate"},
		{"the document signature is not a signing key", doc(sig), true, 0, "no certificate"},
		{"every certificate for the SP", doc(sig, kd("encryption", good)), false, 2, ""},
		{"a broken certificate is skipped", doc(kd("signing", "bm90IGEgY2VydA=="), kd("signing", good)), true, 1, ""},
		{"only broken certificates", doc(kd("signing", "!!!")), true, 0, "not base64"},
		{"not XML", []byte("<md:EntityDescriptor><unclosed"), false, 0, "parse metadata"},
		{"too many certificates", doc(strings.Repeat(kd("signing", good), maxMetadataCertificates+1)), true, 0, "more than 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := metadataCertificates(tc.doc, tc.signingOnly)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != tc.want {
				t.Fatalf("%d certificates, want %d", len(certs), tc.want)
			}
			if !certs[0].NotAfter.Equal(time.Unix(2_000_000_000, 0)) {
				t.Errorf("NotAfter = %v", certs[0].NotAfter)
			}
		})
	}
}

func TestSAMLConfigValidation(t *testing.T) {
	client := fakeClient(t, "http://127.0.0.1:1", mmtest.AdminToken, nil)
	for _, cfg := range []SAMLConfig{
		{IDPMetadataURL: "ftp://idp.example.test/md"},
		{IDPMetadataURL: "/relative"},
		{IDPMetadataInterval: -time.Second},
		{IDPMetadataCAFile: filepath.Join(t.TempDir(), "missing.pem")},
	} {
		if _, err := NewSAMLCollectorWithConfig(Deps{Client: client}, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// newFakeSAMLCollector is a SAML collector of the fake server at url,
// asking with token.
func newFakeSAMLCollector(t *testing.T, url, token string) Collector {
	t.Helper()
	c, err := NewSAMLCollector(Deps{Client: fakeClient(t, url, token, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collectSAML runs one Update of c, checks that the SAML metrics are
// exactly want (expo lines; none for no SAML metric) and returns the
// Update's error.
func collectSAML(t *testing.T, c Collector, want ...string) error {
	t.Helper()
	a := &updateAdapter{c: c}
	if err := testutil.CollectAndCompare(a, strings.NewReader(expo(want...)), samlMetricNames...); err != nil {
		t.Error(err)
	}
	return a.lastErr()
}
