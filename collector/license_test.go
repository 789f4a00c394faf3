package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mmexporter/mattermost_exporter/mmclient"
	"github.com/mmexporter/mattermost_exporter/mmclient/mmtest"
)

var licenseMetricNames = []string{
	"mattermost_license_licensed", "mattermost_license_expiry_timestamp_seconds", "mattermost_license_start_timestamp_seconds",
	"mattermost_license_users", "mattermost_license_info",
}

// Unlicensed servers of both eras, from the captured answers.
func TestLicenseCollectorFixtures(t *testing.T) {
	for _, era := range []string{"real-mattermost", "current-mattermost"} {
		t.Run(era, func(t *testing.T) {
			s := newFixtureReplay(t, map[string]fixtureRoute{"/api/v4/license/client": {era, "license_client_old_format_admin"}})
			c, err := NewLicenseCollector(Deps{Client: fakeClient(t, s.URL, "fixturetoken0000000000000a", nil)})
			if err != nil {
				t.Fatal(err)
			}
			a := &updateAdapter{c: c}
			if err := testutil.CollectAndCompare(a, strings.NewReader(sigExpo(`mattermost_license_licensed 0`)), licenseMetricNames...); err != nil {
				t.Error(err)
			}
			if err := a.lastErr(); err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
}

func TestLicenseCollectorLicensed(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	expiry := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, version := range []string{fakeVersion537, fakeVersion112} {
		t.Run(version[:4], func(t *testing.T) {
			s := mmtest.Start(t, mmtest.Config{Era: eraOf(version), Version: version})
			s.SetLicense(&mmtest.License{SkuShortName: "enterprise", Users: 5000, StartsAt: start, ExpiresAt: expiry, IsTrial: false})

			// Admin: everything.
			c, err := NewLicenseCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
			if err != nil {
				t.Fatal(err)
			}
			a := &updateAdapter{c: c}
			want := sigExpo(
				`mattermost_license_licensed 1`,
				`mattermost_license_users 5000`,
				`mattermost_license_info{is_trial="false",sku_short_name="enterprise"} 1`,
				`mattermost_license_start_timestamp_seconds 1.7672256e+09`,
				`mattermost_license_expiry_timestamp_seconds 1.7987616e+09`,
			)
			if err := testutil.CollectAndCompare(a, strings.NewReader(want), licenseMetricNames...); err != nil {
				t.Error(err)
			}
			if err := a.lastErr(); err != nil {
				t.Errorf("Update: %v", err)
			}

			// Plain user: the sanitized license, no dates (and no SKU on
			// 5.37), logged once, not a failure.
			var logs logBuffer
			cu, err := NewLicenseCollector(Deps{Client: fakeClient(t, s.URL, mmtest.UserToken, nil), Logger: logs.Logger()})
			if err != nil {
				t.Fatal(err)
			}
			au := &updateAdapter{c: cu}
			sku := "enterprise"
			if version == fakeVersion537 {
				sku = ""
			}
			want = sigExpo(
				`mattermost_license_licensed 1`,
				`mattermost_license_users 5000`,
				`mattermost_license_info{is_trial="false",sku_short_name="`+sku+`"} 1`,
			)
			for i := 0; i < 2; i++ {
				if err := testutil.CollectAndCompare(au, strings.NewReader(want), licenseMetricNames...); err != nil {
					t.Error(err)
				}
				if err := au.lastErr(); err != nil {
					t.Errorf("Update: %v", err)
				}
			}
			if n := len(logs.LinesContaining("dates are hidden", "system_admin")); n != 1 {
				t.Errorf("%d log lines about hidden dates, want 1:\n%s", n, logs.String())
			}
		})
	}
}

func TestLicenseCollectorTrial(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{Era: mmtest.Era11, Version: fakeVersion112})
	s.SetLicense(&mmtest.License{SkuShortName: "enterprise", Users: 50, ExpiresAt: time.Unix(1_800_000_000, 0), IsTrial: true})
	c, err := NewLicenseCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	// StartsAt 0 (unset) is not exported as 1970.
	want := sigExpo(
		`mattermost_license_licensed 1`,
		`mattermost_license_users 50`,
		`mattermost_license_info{is_trial="true",sku_short_name="enterprise"} 1`,
		`mattermost_license_expiry_timestamp_seconds 1.8e+09`,
	)
	if err := testutil.CollectAndCompare(&updateAdapter{c: c}, strings.NewReader(want), licenseMetricNames...); err != nil {
		t.Error(err)
	}
}

func TestLicenseCollectorErrors(t *testing.T) {
	s := mmtest.Start(t, mmtest.Config{})
	s.SetFault(mmtest.EndpointLicense, mmtest.Fault{Code: 503})
	c, err := NewLicenseCollector(Deps{Client: fakeClient(t, s.URL, mmtest.AdminToken, nil)})
	if err != nil {
		t.Fatal(err)
	}
	a := &updateAdapter{c: c}
	if n := testutil.CollectAndCount(a, licenseMetricNames...); n != 0 {
		t.Errorf("%d series after a failure", n)
	}
	if err := a.lastErr(); !hasCode(err, 503) || !strings.HasPrefix(err.Error(), "license: "+mmclient.EndpointLicense) {
		t.Errorf("Update error = %v", err)
	}
}
