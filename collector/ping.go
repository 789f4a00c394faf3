package collector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

var (
	upDesc = newDesc(
		prometheus.BuildFQName(namespace, "", "up"),
		"1 if Mattermost's API answered this scrape's GET /api/v4/system/ping with status OK, or refused it with HTTP 429 (rate limited, see mattermost_exporter_api_requests_total), else 0 (unreachable, error, or UNHEALTHY).",
		nil, nil,
	)
	serverInfoDesc = newDesc(
		prometheus.BuildFQName(namespace, "server", "info"),
		"Mattermost server version, from the X-Version-Id header of this scrape's answers; always 1. Absent when the server did not answer.",
		[]string{"version", "build_number", "licensed"}, nil,
	)
)

// ping emits mattermost_up, when the server answered with a version
// header mattermost_server_info, and over https the TLS certificate metrics
// of endpoint="mattermost" (tls.go). It is always on. A ping that fails is
// logged once per scrape.
//
// A 429 counts as up: Mattermost's rate limiter answered, so the server is
// there, and paging "Mattermost down" for throttling would be wrong (a real
// server drained by other clients gave up 0 on 9 of 19 scrapes before this).
// The ping is not retried after a 429: the answer is already known.
func (e *Exporter) ping(ctx context.Context, ch chan<- prometheus.Metric) {
	up := 0.0
	p, err := e.client.Ping(mmclient.WithoutRetries(ctx))
	switch {
	case err == nil && strings.EqualFold(p.Status, "OK"):
		up = 1
	case mmclient.IsTooManyRequests(err):
		up = 1
		level.Warn(e.logger).Log("msg", "Mattermost rate limited the ping; counted as up", "err", err)
	case p != nil:
		// Mattermost answered but reports itself unhealthy (HTTP 500 with
		// {"status":"UNHEALTHY"}); the client kept that answer's version.
		if err == nil {
			err = fmt.Errorf("ping answered status %q", serverString(p.Status))
		}
		level.Error(e.logger).Log("msg", "Mattermost reports itself unhealthy", "status", serverString(p.Status), "err", err)
	default:
		logPingError(e, err)
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up)
	// The certificate is known from a failed handshake too (it may be
	// what failed), so it does not wait for an answer.
	if st, ok := e.client.TLSState(); ok {
		emitTLS(ch, tlsEndpointMattermost, st)
	}
	if p == nil {
		return
	}
	version, hasVersion := p.Version, p.HasVersion
	if !hasVersion {
		version, hasVersion = e.client.ServerVersion()
	}
	if hasVersion && version.Version != "" {
		ch <- prometheus.MustNewConstMetric(serverInfoDesc, prometheus.GaugeValue, 1,
			serverString(version.Version), serverString(version.BuildNumber), strconv.FormatBool(version.Licensed))
	}
}

func logPingError(e *Exporter, err error) {
	switch {
	case errors.Is(err, context.Canceled):
		level.Debug(e.logger).Log("msg", "ping cancelled", "err", err)
	case errors.Is(err, context.DeadlineExceeded):
		level.Error(e.logger).Log("msg", "Mattermost did not answer the ping within the scrape deadline", "err", err)
	default:
		level.Error(e.logger).Log("msg", "Mattermost ping failed", "err", err)
	}
}
