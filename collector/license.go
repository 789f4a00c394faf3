package collector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

func init() {
	registerCollector("license", true, func(d Deps) (Collector, error) {
		return NewLicenseCollector(d)
	})
}

// LicenseCollector reports GET /api/v4/license/client?format=old: whether a
// license is installed, its seats and, for a token allowed to read them
// (system admin), its start and expiry dates.
type LicenseCollector struct {
	client *mmclient.Client
	logger log.Logger

	datesHidden sync.Once // logs once that the token cannot read the dates
}

// NewLicenseCollector returns a license collector.
func NewLicenseCollector(deps Deps) (*LicenseCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("license collector: nil client")
	}
	logger := deps.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &LicenseCollector{client: deps.Client, logger: logger}, nil
}

// maxSKULen bounds the sku_short_name label.
const maxSKULen = 64

var (
	licenseLicensedDesc = newDesc(
		prometheus.BuildFQName(namespace, "license", "licensed"),
		"1 if a license is installed (Enterprise or Professional features), else 0.",
		nil, nil,
	)
	licenseExpiryDesc = newDesc(
		prometheus.BuildFQName(namespace, "license", "expiry_timestamp_seconds"),
		"When the installed license expires (ExpiresAt), in seconds since the epoch. Only with a token allowed to read the license dates (system admin).",
		nil, nil,
	)
	licenseStartDesc = newDesc(
		prometheus.BuildFQName(namespace, "license", "start_timestamp_seconds"),
		"When the installed license starts (StartsAt), in seconds since the epoch. Only with a token allowed to read the license dates (system admin).",
		nil, nil,
	)
	licenseUsersDesc = newDesc(
		prometheus.BuildFQName(namespace, "license", "users"),
		"User seats of the installed license.",
		nil, nil,
	)
	licenseInfoDesc = newDesc(
		prometheus.BuildFQName(namespace, "license", "info"),
		"The installed license's SKU (empty when the token may not read it) and whether it is a trial; always 1.",
		[]string{"sku_short_name", "is_trial"}, nil,
	)
)

// Update implements Collector.
func (c *LicenseCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	l, err := c.client.GetClientLicense(ctx)
	if err != nil {
		return fmt.Errorf("license: %w", err)
	}
	ch <- prometheus.MustNewConstMetric(licenseLicensedDesc, prometheus.GaugeValue, boolToFloat(l.IsLicensed))
	if !l.IsLicensed {
		return nil
	}
	if l.HasUsers {
		ch <- prometheus.MustNewConstMetric(licenseUsersDesc, prometheus.GaugeValue, float64(l.Users))
	}
	isTrial := ""
	if l.HasIsTrial {
		isTrial = strconv.FormatBool(l.IsTrial)
	}
	ch <- prometheus.MustNewConstMetric(licenseInfoDesc, prometheus.GaugeValue, 1, boundLabel(l.SkuShortName, maxSKULen), isTrial)
	if l.HasStartsAt {
		ch <- prometheus.MustNewConstMetric(licenseStartDesc, prometheus.GaugeValue, float64(l.StartsAt.UnixMilli())/1e3)
	}
	if l.HasExpiresAt {
		ch <- prometheus.MustNewConstMetric(licenseExpiryDesc, prometheus.GaugeValue, float64(l.ExpiresAt.UnixMilli())/1e3)
	} else {
		// Mattermost hands a caller without the license-reading
		// permission a sanitized license: no dates. Not a failure, but
		// expiry alerts cannot work; say so once.
		c.datesHidden.Do(func() {
			_ = level.Warn(c.logger).Log("msg", "the license's dates are hidden from this token: mattermost_license_expiry_timestamp_seconds is not exported; give the token's account the system_admin role to get it")
		})
	}
	return nil
}
