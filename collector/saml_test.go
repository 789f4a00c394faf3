package collector

import (
	"strings"
	"testing"

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
			s := startFakeMattermost(t, mmtest.Config{SAMLIDP: tc.idp, SAMLPublic: tc.public, SAMLPrivateKey: tc.key, SAMLEnabled: tc.on})
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
	s := startFakeMattermost(t, mmtest.Config{SAMLIDP: true, SAMLEnabled: true})
	c, err := NewSAMLCollector(Deps{Client: fakeClient(t, s.URL, mmtest.UserToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	if err := testutil.CollectAndCompare(a, strings.NewReader(expo(`mattermost_saml_enabled 1`)), samlMetricNames...); err != nil {
		t.Error(err)
	}
	if err := a.lastErr(); !mmclient.IsForbidden(err) {
		t.Errorf("Update error = %v, want a 403", err)
	}
}

// A failing client config call hides only mattermost_saml_enabled.
func TestSAMLCollectorClientConfigFails(t *testing.T) {
	s := startFakeMattermost(t, mmtest.Config{SAMLIDP: true, SAMLEnabled: true})
	s.SetFault(mmclient.EndpointClientConfig, mmtest.Fault{Code: 503})
	c, err := NewSAMLCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	want := expo(
		`mattermost_saml_certificate_present{certificate="idp"} 1`,
		`mattermost_saml_certificate_present{certificate="private_key"} 0`,
		`mattermost_saml_certificate_present{certificate="public"} 0`,
	)
	if err := testutil.CollectAndCompare(a, strings.NewReader(want), samlMetricNames...); err != nil {
		t.Error(err)
	}
	err = a.lastErr()
	if !hasCode(err, 503) || !strings.Contains(err.Error(), "client config") {
		t.Errorf("Update error = %v, want a client config 503", err)
	}
}

func TestSAMLCollectorMalformed(t *testing.T) {
	s := startFakeMattermost(t, mmtest.Config{SAMLEnabled: true})
	s.SetFault(mmclient.EndpointSAMLCertificate, mmtest.Fault{Malformed: true})
	c, err := NewSAMLCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	if err := testutil.CollectAndCompare(a, strings.NewReader(expo(`mattermost_saml_enabled 1`)), samlMetricNames...); err != nil {
		t.Error(err)
	}
	if err := a.lastErr(); err == nil || !strings.Contains(err.Error(), "saml certificate status") {
		t.Errorf("Update error = %v, want a saml certificate status decode error", err)
	}
}

// Both calls failing: one error (errors.Join) naming both, that still
// matches each cause.
func TestSAMLCollectorBothFail(t *testing.T) {
	s := startFakeMattermost(t, mmtest.Config{SAMLIDP: true, SAMLEnabled: true})
	s.SetFault(mmclient.EndpointClientConfig, mmtest.Fault{Code: 503})
	c, err := NewSAMLCollector(Deps{Client: fakeClient(t, s.URL, mmtest.UserToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	if err := testutil.CollectAndCompare(a, strings.NewReader(""), samlMetricNames...); err != nil {
		t.Error(err)
	}
	err = a.lastErr()
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
