package collector

// TLS certificate metrics of the servers the exporter talks to over
// https: Mattermost itself (reported with the ping) and the SAML IdP
// metadata URL (reported by the saml collector). They describe the chain of
// the last TLS handshake of the exporter's own requests (see
// mmclient.TLSRecorder); no request is made for them.

import (
	"crypto/tls"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mmexporter/mattermost_exporter/mmclient"
)

// Values of the endpoint label of the TLS metrics.
const (
	tlsEndpointMattermost = "mattermost"
	tlsEndpointIDP        = "idp_metadata"
)

var (
	tlsExpiryDesc = newDesc(
		prometheus.BuildFQName(namespace, "tls", "certificate_expiry_timestamp_seconds"),
		"When the earliest-expiring certificate of the chain the server presented in the exporter's last TLS handshake with it expires (NotAfter of the leaf or an intermediate), in seconds since the epoch. endpoint=mattermost is the Mattermost URL (through a proxy too), endpoint=idp_metadata the SAML IdP metadata URL. Absent for http:// URLs and before the first handshake.",
		[]string{"endpoint"}, nil,
	)
	tlsInfoDesc = newDesc(
		prometheus.BuildFQName(namespace, "tls", "certificate_info"),
		"The server's own (leaf) certificate of the exporter's last TLS handshake with it: subject and issuer common names and serial number (lower-case hex); always 1.",
		[]string{"endpoint", "subject_cn", "issuer_cn", "serial"}, nil,
	)
	tlsVersionDesc = newDesc(
		prometheus.BuildFQName(namespace, "tls", "version_info"),
		"The TLS version negotiated in the exporter's last TLS handshake with the server; always 1. Absent when that handshake failed on the certificate.",
		[]string{"endpoint", "version"}, nil,
	)
	tlsVerifiedDesc = newDesc(
		prometheus.BuildFQName(namespace, "tls", "certificate_verified"),
		"1 if the chain of the exporter's last TLS handshake with the server verifies for its host name against the configured roots (CA file and system pool), else 0. Checked by the exporter itself when verification is turned off (insecure-skip-verify), so a bad certificate shows there too.",
		[]string{"endpoint"}, nil,
	)
)

// emitTLS sends the TLS metrics of one endpoint's last handshake.
func emitTLS(ch chan<- prometheus.Metric, endpoint string, st mmclient.TLSState) {
	ch <- prometheus.MustNewConstMetric(tlsExpiryDesc, prometheus.GaugeValue, float64(st.EarliestNotAfter.Unix()), endpoint)
	ch <- prometheus.MustNewConstMetric(tlsInfoDesc, prometheus.GaugeValue, 1, endpoint, st.SubjectCN, st.IssuerCN, st.Serial)
	if st.Version != 0 {
		ch <- prometheus.MustNewConstMetric(tlsVersionDesc, prometheus.GaugeValue, 1, endpoint, tls.VersionName(st.Version))
	}
	ch <- prometheus.MustNewConstMetric(tlsVerifiedDesc, prometheus.GaugeValue, boolToFloat(st.Verified), endpoint)
}
