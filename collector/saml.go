package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

func init() {
	registerCollector("saml", true, func(d Deps) (Collector, error) {
		return NewSAMLCollector(d)
	})
}

// SAMLCollector reports GET /api/v4/saml/certificate/status (system admins
// only) and EnableSaml from GET /api/v4/config/client?format=old (any caller).
//
// The two calls run in parallel and are reported independently: a failed
// certificate call (typically 403 for a token without system_admin) does not
// hide mattermost_saml_enabled, and a failed config call does not hide the
// certificates. Either failure makes the collector fail (success 0), so the
// operator is told something is missing.
type SAMLCollector struct {
	client *mmclient.Client
}

// NewSAMLCollector returns a SAML collector.
func NewSAMLCollector(deps Deps) (*SAMLCollector, error) {
	if deps.Client == nil {
		return nil, errors.New("saml collector: nil client")
	}
	return &SAMLCollector{client: deps.Client}, nil
}

var (
	samlCertificatePresentDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "saml", "certificate_present"),
		"1 if the SAML certificate file (idp, public, private_key) is configured and present in Mattermost's config store, else 0. Says nothing about validity or expiry.",
		[]string{"certificate"}, nil,
	)
	samlEnabledDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "saml", "enabled"),
		"1 if SAML login is enabled (EnableSaml in Mattermost's client config), else 0.",
		nil, nil,
	)
)

// PermissionHint implements PermissionHinter.
func (c *SAMLCollector) PermissionHint() string {
	return "the token's account needs the system_admin role for /saml/certificate/status"
}

// Update implements Collector.
func (c *SAMLCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	var (
		wg        sync.WaitGroup
		cfg       map[string]string
		cfgErr    error
		status    *mmclient.SAMLCertificateStatus
		statusErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		cfg, cfgErr = c.client.GetClientConfig(ctx)
	}()
	status, statusErr = c.client.GetSAMLCertificateStatus(ctx)
	wg.Wait()

	var errs []error
	if statusErr != nil {
		errs = append(errs, fmt.Errorf("saml certificate status: %w", statusErr))
	} else {
		for _, cert := range []struct {
			name    string
			present bool
		}{
			{"idp", status.IDPCertificateFile},
			{"public", status.PublicCertificateFile},
			{"private_key", status.PrivateKeyFile},
		} {
			ch <- prometheus.MustNewConstMetric(samlCertificatePresentDesc, prometheus.GaugeValue, boolToFloat(cert.present), cert.name)
		}
	}
	if cfgErr != nil {
		errs = append(errs, fmt.Errorf("client config: %w", cfgErr))
	} else {
		ch <- prometheus.MustNewConstMetric(samlEnabledDesc, prometheus.GaugeValue, boolToFloat(cfg["EnableSaml"] == "true"))
	}
	// errors.Join keeps both for errors.Is/As; the log line stays one
	// line because logfmt and JSON escape the newline between them.
	return errors.Join(errs...)
}

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
